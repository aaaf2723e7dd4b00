// The mempool source on the embedded chain with automine off: transactions sent to the node are
// seen as `pending-tx` events before any block holds them, over HTTP (pending-transaction filter),
// over the in-process provider and over a WebSocket (both `newPendingTransactions` subscriptions).
import { createClient, type Hex, http, parseGwei } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain, type ServedChain } from '../src/chain/embedded';
import { createMempoolSource, type MempoolSource, type PendingTxEvent } from '../src/chain/mempool';
import { connectChain } from '../src/chain/rpc';
import { connectWebSocket, type WebSocketProvider } from '../src/chain/ws';
import { createCommon } from '../src/common/common';
import { chainConfig, type FirebreakConfig } from '../src/config/schema';
import { createPriorityFeeds } from '../src/engine/priority-feed';
import { waitFor } from './support/wait';

/** Takes events from the source until `count` arrived (or throws after `timeoutMs`). */
async function take(source: MempoolSource, count: number, timeoutMs = 5_000): Promise<PendingTxEvent[]> {
  const out: PendingTxEvent[] = [];
  const iterator = source[Symbol.asyncIterator]();
  const deadline = setTimeout(() => source.stop(), timeoutMs);
  try {
    while (out.length < count) {
      const next = await iterator.next();
      if (next.done) throw new Error(`source ended after ${out.length} of ${count} events`);
      out.push(next.value);
    }
  } finally {
    clearTimeout(deadline);
  }
  return out;
}

describe('mempool source on the embedded chain (automine off)', () => {
  let chain: EmbeddedChain;
  let served: ServedChain;
  let nonce = 0;

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 3, automine: false });
    served = await chain.serve();
  });
  afterAll(async () => {
    await served?.close();
    await chain?.close();
  });

  /** Sends `n` transfers from account 0 (pending: nothing mines them) and returns their hashes. */
  async function sendPending(n: number): Promise<Hex[]> {
    const [a, b] = chain.accounts;
    const hashes: Hex[] = [];
    for (let i = 0; i < n; i++) {
      hashes.push(
        await chain.client.sendTransaction({
          account: a!.account,
          chain: chain.chain,
          to: b!.address,
          value: BigInt(i + 1),
          data: '0xfeed',
          nonce: nonce++,
          gas: 50_000n,
          maxFeePerGas: parseGwei('20'),
          maxPriorityFeePerGas: parseGwei('3'),
        }),
      );
    }
    return hashes;
  }

  async function expectSeenBeforeMined(source: MempoolSource, expectedMode: MempoolSource['mode']) {
    await source.ready();
    expect(source.mode).toBe(expectedMode);
    const before = await chain.client.getBlockNumber();
    const hashes = await sendPending(3);
    const events = await take(source, 3);
    // Nothing was mined: the events came from the mempool.
    expect(await chain.client.getBlockNumber()).toBe(before);
    expect(new Set(events.map((e) => e.hash))).toEqual(new Set(hashes));
    const [a, b] = chain.accounts;
    for (const e of events) {
      expect(e).toMatchObject({
        type: 'pending-tx',
        chainId: 31337,
        from: a!.address.toLowerCase(),
        to: b!.address.toLowerCase(),
        input: '0xfeed',
        maxFeePerGas: parseGwei('20'),
        maxPriorityFeePerGas: parseGwei('3'),
      });
      expect(typeof e.nonce).toBe('number');
      expect(e.seenAt).toBeGreaterThan(0);
    }
    expect(events.map((e) => e.nonce).sort((x, y) => x - y)).toEqual(
      [nonce - 3, nonce - 2, nonce - 1].sort((x, y) => x - y),
    );
    // Mining them adds no event: each hash once.
    await chain.mine();
    const more = await Promise.race([
      take(source, 1, 300).then(
        () => 'event',
        () => 'none',
      ),
      new Promise((r) => setTimeout(() => r('none'), 250)),
    ]);
    expect(more).toBe('none');
    source.stop();
  }

  it('over HTTP: a pending-transaction filter, polled', async () => {
    const client = createClient({ transport: http(served.url, { retryCount: 0 }) });
    await expectSeenBeforeMined(
      createMempoolSource({ client, common: createCommon(), pollIntervalMs: 20 }),
      'filter',
    );
  });

  it('in-process: an eth_subscribe subscription on the provider', async () => {
    await expectSeenBeforeMined(
      createMempoolSource({ provider: chain.provider as never, chainId: 31337, common: createCommon() }),
      'subscription',
    );
  });

  it('over WebSocket: an eth_subscribe subscription on the socket', async () => {
    const ws = await connectWebSocket(served.wsUrl);
    try {
      await expectSeenBeforeMined(
        createMempoolSource({ provider: ws, common: createCommon() }),
        'subscription',
      );
    } finally {
      ws.close();
    }
  });

  it("priority mode's feed: a chain with ws and mempool follows its pending transactions over a socket of its own, and forgets them once mined", async () => {
    const config = chainConfig.parse({
      id: 31337,
      name: 'local',
      rpc: [served.url],
      ws: served.wsUrl,
      mempool: true,
      pollIntervalMs: 60_000, // a filter polled this slowly would not see them within the test
    });
    const abort = new AbortController();
    const common = createCommon({ signal: abort.signal });
    const connected = await connectChain(config, {}, 5_000, common);
    try {
      expect(connected.mempool).toBeDefined();
      expect(connected.reopenMempool).toBeDefined();
      const feeds = createPriorityFeeds({
        config: { chains: [config], markets: [], executors: [] } as unknown as FirebreakConfig,
        chains: new Map([
          [
            'local',
            {
              client: connected.client,
              mempool: connected.mempool!,
              reopenMempool: connected.reopenMempool!,
            },
          ],
        ]),
        markets: new Map(),
        executors: new Map(),
        common,
      });
      await new Promise((r) => setTimeout(r, 200)); // the subscription is installed
      await sendPending(2);
      await waitFor('two pending transactions in the book', 5_000, async () =>
        feeds.held(31337) === 2 ? true : undefined,
      );
      const number = await chain.mine();
      const block = await chain.client.getBlock({ blockNumber: number });
      feeds.blockSeen('local', {
        type: 'block',
        chainId: 31337,
        block: { number, hash: block.hash, parentHash: block.parentHash, timestamp: block.timestamp },
        receivedAt: 0,
      });
      await waitFor('the mined transactions to leave the book', 5_000, async () =>
        feeds.held(31337) === 0 ? true : undefined,
      );
    } finally {
      abort.abort();
      connected.close();
    }
  });

  it('falls back to the filter when the socket drops', async () => {
    const ws = await connectWebSocket(served.wsUrl);
    const client = createClient({ transport: http(served.url, { retryCount: 0 }) });
    const source = createMempoolSource({ provider: ws, client, common: createCommon(), pollIntervalMs: 20 });
    await source.ready();
    expect(source.mode).toBe('subscription');
    // Kill the server: the socket drops under the source, which must notice and poll the filter
    // (installing it once the node answers again).
    const dropped = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (source.mode === 'filter') {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    await served.close();
    await dropped;
    served = await chain.serve({ port: Number(new URL(served.url).port) });
    const hashes = await sendPending(2);
    const events = await take(source, 2);
    expect(new Set(events.map((e) => e.hash))).toEqual(new Set(hashes));
    source.stop();
    await chain.mine();
  });

  it('subscribes again on a new socket once the node is back (reopen), and stops polling', async () => {
    // The methods the source asks over HTTP, to see the polling stop.
    const overHttp: string[] = [];
    const client = createClient({
      transport: http(served.url, {
        retryCount: 0,
        onFetchRequest: async (request) => {
          overHttp.push((JSON.parse(await request.clone().text()) as { method: string }).method);
        },
      }),
    });
    const opened: WebSocketProvider[] = [];
    const reopen = async () => {
      const ws = await connectWebSocket(served.wsUrl);
      opened.push(ws);
      return ws;
    };
    const first = await connectWebSocket(served.wsUrl);
    const source = createMempoolSource({
      provider: first,
      client,
      reopen,
      resubscribeMs: 30,
      common: createCommon(),
      pollIntervalMs: 20,
    });
    await source.ready();
    expect(source.mode).toBe('subscription');
    await served.close();
    await waitFor('the source to poll after the drop', 5_000, async () =>
      source.mode === 'filter' ? true : undefined,
    );
    // While the node is down, new sockets cannot open: the source keeps polling (and retrying).
    served = await chain.serve({ port: Number(new URL(served.url).port) });
    await waitFor('the source to subscribe again', 5_000, async () =>
      source.mode === 'subscription' ? true : undefined,
    );
    expect(opened.length).toBeGreaterThan(0);
    // The filter is uninstalled and polled no more.
    await waitFor('the filter to be uninstalled', 2_000, async () =>
      overHttp.includes('eth_uninstallFilter') ? true : undefined,
    );
    const polls = overHttp.filter((m) => m === 'eth_getFilterChanges').length;
    expect(polls).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200)); // ten poll intervals
    expect(overHttp.filter((m) => m === 'eth_getFilterChanges').length).toBe(polls);
    const hashes = await sendPending(2);
    const events = await take(source, 2);
    expect(new Set(events.map((e) => e.hash))).toEqual(new Set(hashes));
    source.stop();
    // The socket the source opened is closed with it.
    await waitFor('the reopened socket to close', 2_000, async () =>
      opened.every((ws) => ws.closed) ? true : undefined,
    );
    await chain.mine();
  });
});
