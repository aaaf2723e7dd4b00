import { type Client, createClient, custom, type EIP1193Provider, type Hex } from 'viem';
import { getBlock } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommon } from '../common/common';
import { createEmbeddedChain, type EmbeddedChain } from './embedded';
import type { BlockRef } from './events';
import { pollHeads } from './heads';
import { createIngestor, type Ingestor, type IngestorOptions } from './ingest';
import type { TrackedEvent } from './reorg';

/** Runtime `PUSH1 0 PUSH1 0 LOG0 STOP` behind an init code that returns it: every call logs once. */
const LOGGER_INIT: Hex = '0x6006600c60003960066000f360006000a000';

/** A client over the embedded chain's provider that counts requests and can fail some. */
function instrumented(provider: EIP1193Provider) {
  const stats = { inFlight: 0, maxInFlight: 0, calls: new Map<string, number>(), logRanges: [] as bigint[] };
  let failures = 0;
  const transport = custom(
    {
      async request({ method, params }: { method: string; params?: unknown }) {
        stats.calls.set(method, (stats.calls.get(method) ?? 0) + 1);
        if (method === 'eth_getLogs') {
          const [filter] = params as [{ fromBlock?: Hex; toBlock?: Hex }];
          if (filter.fromBlock && filter.toBlock)
            stats.logRanges.push(BigInt(filter.toBlock) - BigInt(filter.fromBlock) + 1n);
        }
        if (failures > 0 && method === 'eth_getBlockByNumber') {
          failures--;
          throw new Error('injected failure');
        }
        stats.inFlight++;
        stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
        try {
          await new Promise((resolve) => setTimeout(resolve, 1));
          return await provider.request({ method, params } as never);
        } finally {
          stats.inFlight--;
        }
      },
    },
    { retryCount: 0 },
  );
  return {
    client: createClient({ transport }) as Client,
    stats,
    failNext(n: number) {
      failures = n;
    },
  };
}

/** Pulls events until `until` holds, then stops the ingestor. */
async function collect(
  ingestor: Ingestor,
  until: (events: TrackedEvent[]) => boolean,
): Promise<TrackedEvent[]> {
  const events: TrackedEvent[] = [];
  const timer = setTimeout(() => ingestor.stop(), 20_000);
  try {
    for await (const event of ingestor) {
      events.push(event);
      if (until(events)) break;
    }
  } finally {
    clearTimeout(timer);
    ingestor.stop();
  }
  return events;
}

const blockNumbers = (events: TrackedEvent[]) =>
  events.flatMap((e) => (e.type === 'block' ? [e.block.number] : []));

describe('ingestor on the embedded chain', () => {
  let chain: EmbeddedChain;
  let loggerAddress: Hex;
  const options = (client: Client, extra: Partial<IngestorOptions> = {}): IngestorOptions => ({
    client,
    chainId: chain.chainId,
    confirmations: 5,
    pollIntervalMs: 5,
    maxBlockRange: 7,
    concurrency: 3,
    common: createCommon(),
    ...extra,
  });
  const mine = async (n: number) => {
    for (let i = 0; i < n; i++) await chain.mine();
  };
  const refOf = async (number: bigint): Promise<BlockRef> => {
    const b = await getBlock(chain.client, { blockNumber: number });
    return { number: b.number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp };
  };

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 2 });
    const hash = await chain.client.sendTransaction({
      account: chain.accounts[0]!.account,
      chain: chain.chain,
      data: LOGGER_INIT,
    });
    loggerAddress = (await chain.client.waitForTransactionReceipt({ hash })).contractAddress!;
  });

  afterAll(async () => {
    await chain?.close();
  });

  it('catches up in order from a start block with bounded concurrency, then follows live, each block once', async () => {
    const start = (await chain.client.getBlockNumber()) + 1n;
    await mine(40);
    const { client, stats } = instrumented(chain.provider);
    const ingestor = createIngestor(options(client, { fromBlock: start }));
    const target = start + 44n;
    const live = (async () => {
      // Blocks mined while it catches up and after: found by polling.
      for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setTimeout(resolve, 15));
        await chain.mine();
      }
    })();
    const events = await collect(ingestor, (e) => blockNumbers(e).includes(target));
    await live;
    const numbers = blockNumbers(events);
    expect(numbers).toEqual(Array.from({ length: 45 }, (_, i) => start + BigInt(i)));
    expect(events.some((e) => e.type === 'reorg' || e.type === 'deep-reorg')).toBe(false);
    expect(stats.maxInFlight).toBeLessThanOrEqual(3);
    // Every block linked to the one before it.
    const blocks = events.flatMap((e) => (e.type === 'block' ? [e.block] : []));
    for (let i = 1; i < blocks.length; i++) expect(blocks[i]!.parentHash).toBe(blocks[i - 1]!.hash);
    // Finality follows 5 blocks behind (the target's own `finalized` comes after it: not pulled).
    const finalized = events.flatMap((e) => (e.type === 'finalized' ? [e.block.number] : []));
    expect(finalized.at(-1)).toBe(target - 6n);
  });

  it('starts at the head without a start block', async () => {
    await mine(3);
    const head = await chain.client.getBlockNumber();
    const ingestor = createIngestor(options(chain.client));
    const events = await collect(ingestor, (e) => blockNumbers(e).length > 0);
    expect(blockNumbers(events)).toEqual([head]);
  });

  it('wakes on a head signal from chain/heads.ts instead of its own timer', async () => {
    const start = (await chain.client.getBlockNumber()) + 1n;
    const heads = pollHeads(5);
    const ingestor = createIngestor(
      options(chain.client, { fromBlock: start, heads, pollIntervalMs: 60_000 }),
    );
    const mining = (async () => {
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        await chain.mine();
      }
    })();
    const events = await collect(ingestor, (e) => blockNumbers(e).includes(start + 2n));
    await mining;
    heads.close();
    expect(blockNumbers(events)).toEqual([start, start + 1n, start + 2n]);
  });

  it('attaches every log of each block, over getLogs ranges of at most maxBlockRange', async () => {
    const start = (await chain.client.getBlockNumber()) + 1n;
    const txBlocks: bigint[] = [];
    for (let i = 0; i < 12; i++) {
      if (i % 3 === 0) {
        const hash = await chain.client.sendTransaction({
          account: chain.accounts[1]!.account,
          chain: chain.chain,
          to: loggerAddress,
        });
        txBlocks.push((await chain.client.waitForTransactionReceipt({ hash })).blockNumber);
      } else await chain.mine();
    }
    const end = await chain.client.getBlockNumber();
    const { client, stats } = instrumented(chain.provider);
    const ingestor = createIngestor(options(client, { fromBlock: start, logs: true }));
    const events = await collect(ingestor, (e) => blockNumbers(e).includes(end));
    const withLogs = events.flatMap((e) =>
      e.type === 'block' ? [{ number: e.block.number, hash: e.block.hash, logs: e.logs }] : [],
    );
    expect(withLogs.every((b) => b.logs !== undefined)).toBe(true);
    expect(withLogs.filter((b) => b.logs!.length > 0).map((b) => b.number)).toEqual(txBlocks);
    for (const b of withLogs)
      for (const log of b.logs!) {
        expect(log.blockHash).toBe(b.hash);
        expect(log.address.toLowerCase()).toBe(loggerAddress.toLowerCase());
      }
    expect(stats.logRanges.length).toBeGreaterThan(0);
    expect(stats.logRanges.every((n) => n <= 7n)).toBe(true);
  });

  it('retries failing reads with backoff and skips nothing', async () => {
    const start = (await chain.client.getBlockNumber()) + 1n;
    await mine(10);
    const { client, failNext } = instrumented(chain.provider);
    failNext(4);
    const ingestor = createIngestor(options(client, { fromBlock: start }));
    const events = await collect(ingestor, (e) => blockNumbers(e).includes(start + 9n));
    expect(blockNumbers(events)).toEqual(Array.from({ length: 10 }, (_, i) => start + BigInt(i)));
  });

  it('resumes after a checkpoint, and a reorg while it was down comes first', async () => {
    // A canonical checkpoint: the next event is the block after it.
    await mine(5);
    const checkpoint = await chain.client.getBlockNumber();
    const below = await Promise.all([3n, 2n, 1n].map((d) => refOf(checkpoint - d)));
    await chain.mine();
    const resumed = createIngestor(
      options(chain.client, { checkpoint: { block: await refOf(checkpoint), window: below } }),
    );
    const first = await collect(resumed, (e) => blockNumbers(e).length > 0);
    expect(first.map((e) => e.type)).toEqual(['block']);
    expect(blockNumbers(first)).toEqual([checkpoint + 1n]);

    // A checkpoint on a branch that was replaced while the ingestor was down.
    const base = await chain.client.getBlockNumber();
    const snapshot = await chain.snapshot();
    await mine(3);
    const stale = await Promise.all([0n, 1n, 2n, 3n].map((d) => refOf(base + d)));
    await chain.revert(snapshot);
    for (let i = 0; i < 4; i++)
      await chain.client.sendTransaction({
        account: chain.accounts[0]!.account,
        chain: chain.chain,
        to: chain.accounts[1]!.address,
        value: 1n,
      });
    const newHead = await chain.client.getBlockNumber();
    const after = createIngestor(
      options(chain.client, { checkpoint: { block: stale[3]!, window: stale.slice(0, 3) } }),
    );
    const events = await collect(after, (e) => blockNumbers(e).includes(newHead));
    const reorg = events[0];
    expect(reorg?.type).toBe('reorg');
    if (reorg?.type !== 'reorg') return;
    expect(reorg.ancestor.hash).toBe(stale[0]!.hash);
    expect(reorg.orphaned.map((b) => b.hash)).toEqual([stale[3]!.hash, stale[2]!.hash, stale[1]!.hash]);
    expect(blockNumbers(events)).toEqual([base + 1n, base + 2n, base + 3n, base + 4n]);
  });
});
