// Several chains in one engine, each with its own cursor: two embedded chains (ids 31337 and
// 31338), each served over HTTP, followed by one engine over one PGlite store. Chain beta's RPC
// endpoint (behind the fault proxy) drops every connection for a while, and later its loop fails
// outright: chain alpha keeps being processed meanwhile, and beta catches up from its own checkpoint
// with no block missed or repeated.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain, type ServedChain } from '../src/chain/embedded';
import { connectChain } from '../src/chain/rpc';
import { createCommon } from '../src/common/common';
import { firebreakConfig } from '../src/config/schema';
import { createEngine, type Engine } from '../src/engine/engine';
import { getCheckpoint, listProcessedBlocks } from '../src/store/ingestion';
import { openStore, type Store } from '../src/store/store';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy';
import { waitFor } from './support/wait';

describe('several chains: each its own cursor, one failing does not stop another', () => {
  let alpha: EmbeddedChain;
  let beta: EmbeddedChain;
  let alphaServed: ServedChain;
  let betaServed: ServedChain;
  let betaProxy: FaultProxy;
  let dir: string;
  let store: Store;
  let engine: Engine;
  const chainErrors: string[] = [];
  let failBetaAt: bigint | undefined;

  const checkpointOf = async (chain: EmbeddedChain) => (await getCheckpoint(store.db, chain.chainId))?.block;
  const caughtUp = async (chain: EmbeddedChain) => {
    const head = await chain.client.getBlock();
    await waitFor(`chain ${chain.chainId} to reach ${head.number}`, 15_000, async () =>
      (await checkpointOf(chain))?.hash === head.hash ? true : undefined,
    );
  };
  const mine = async (chain: EmbeddedChain, n: number) => {
    for (let i = 0; i < n; i++) await chain.mine();
  };

  beforeAll(async () => {
    alpha = await createEmbeddedChain({ chainId: 31337, accounts: 1 });
    beta = await createEmbeddedChain({ chainId: 31338, accounts: 1 });
    alphaServed = await alpha.serve();
    betaServed = await beta.serve();
    betaProxy = await startFaultProxy({ target: betaServed.url });
    dir = mkdtempSync(join(tmpdir(), 'firebreak-chains-'));
    store = await openStore({ dataDir: join(dir, 'store') });
    const config = firebreakConfig.parse({
      chains: [
        { id: alpha.chainId, name: 'alpha', rpc: [alphaServed.url], pollIntervalMs: 10, confirmations: 3 },
        { id: beta.chainId, name: 'beta', rpc: [betaProxy.url], pollIntervalMs: 10, confirmations: 3 },
      ],
    });
    const chains = new Map(
      await Promise.all(
        config.chains.map(async (c) => [c.name, { client: (await connectChain(c)).client }] as const),
      ),
    );
    engine = await createEngine({
      config,
      chains,
      store,
      common: createCommon(),
      hooks: {
        onBlockProcessed: ({ event }) => {
          if (event.chainId === beta.chainId && event.block.number === failBetaAt) {
            failBetaAt = undefined;
            throw new Error('injected failure after block');
          }
        },
        onChainError: ({ chain, error }) => chainErrors.push(`${chain}: ${(error as Error).message}`),
      },
    });
    await mine(alpha, 2);
    await mine(beta, 5);
    engine.start();
    await caughtUp(alpha);
    await caughtUp(beta);
  }, 60_000);

  afterAll(async () => {
    await engine?.stop();
    await store?.close();
    await betaProxy?.close();
    await alphaServed?.close();
    await betaServed?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('follows both chains, each with its own checkpoint', async () => {
    await mine(alpha, 4);
    await mine(beta, 2);
    await caughtUp(alpha);
    await caughtUp(beta);
    expect((await checkpointOf(alpha))?.number).toBe(await alpha.client.getBlockNumber());
    expect((await checkpointOf(beta))?.number).toBe(await beta.client.getBlockNumber());
  });

  it("keeps processing alpha while beta's endpoint is down, then beta catches up without a gap", async () => {
    betaProxy.setFault({ kind: 'drop' });
    const betaBefore = await checkpointOf(beta);
    await mine(beta, 6);
    await mine(alpha, 5);
    await caughtUp(alpha);
    expect((await checkpointOf(beta))?.hash).toBe(betaBefore?.hash);
    expect(betaProxy.stats().faults.drop).toBeGreaterThan(0);

    betaProxy.setFault(undefined);
    await caughtUp(beta);
  });

  it('restarts a chain whose loop failed from its checkpoint, while the other goes on', async () => {
    failBetaAt = (await beta.client.getBlockNumber()) + 2n;
    await mine(beta, 5);
    await mine(alpha, 3);
    await caughtUp(alpha);
    await caughtUp(beta);
    expect(chainErrors).toEqual(['beta: injected failure after block']);
  });

  it('processed every block of each chain exactly once', async () => {
    for (const chain of [alpha, beta]) {
      const rows = await listProcessedBlocks(store.db, chain.chainId);
      const head = await chain.client.getBlockNumber();
      const first = rows[0]!.block.number;
      expect(rows.map((r) => r.block.number)).toEqual(
        Array.from({ length: Number(head - first + 1n) }, (_, i) => first + BigInt(i)),
      );
      expect(rows.filter((r) => r.timesProcessed !== 1)).toEqual([]);
    }
  });
});
