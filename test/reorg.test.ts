// Reorgs, end to end: the engine follows the embedded chain through a real JSON-RPC server (HTTP,
// polling), with a real PGlite store on disk. For each depth 1..12 the test snapshots the chain,
// mines a branch whose blocks each carry a transaction to a marker address (a detector raises a
// finding on each), lets the engine process it, reverts the snapshot and mines a longer branch of
// other transactions. The engine must report one reorg naming exactly the orphaned blocks, retract
// their findings (the incident they opened is resolved, the timeline says why), and process every
// block of the new branch exactly once (`processed_blocks`). Then: a reorg deeper than the window
// is logged as an error, and a reorg that happens while the engine is down is seen at restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Hex } from 'viem';
import { getBlock } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain, type ServedChain } from '../src/chain/embedded';
import type { BlockEvent } from '../src/chain/events';
import { connectChain } from '../src/chain/rpc';
import { createCommon } from '../src/common/common';
import { createLogger } from '../src/common/logger';
import { type FirebreakConfig, firebreakConfig } from '../src/config/schema';
import { instantiate } from '../src/detectors/types';
import { createEngine, type Engine, type ReorgProcessed } from '../src/engine/engine';
import { getCheckpoint, listProcessedBlocks } from '../src/store/ingestion';
import { openStore, type Store } from '../src/store/store';
import { markerTx } from './support/test-detectors';
import { waitFor } from './support/wait';

const MARKER: Hex = '0x000000000000000000000000000000000000dEaD';
const OTHER: Hex = '0x000000000000000000000000000000000000bEEF';
const CONFIRMATIONS = 12;

describe('reorgs on a served chain: seen, retracted, the new branch processed exactly once', () => {
  let chain: EmbeddedChain;
  let served: ServedChain;
  let dir: string;
  let store: Store;
  let config: FirebreakConfig;
  const errors: string[] = [];
  const reorgs: ReorgProcessed[] = [];
  const processed: BlockEvent[] = [];
  let engine: Engine | undefined;

  const startEngine = async () => {
    const connected = await connectChain(config.chains[0]!);
    const logger = createLogger({
      level: 'error',
      destination: new Writable({
        write(chunk, _encoding, done) {
          errors.push(String(chunk));
          done();
        },
      }),
    });
    engine = await createEngine({
      config,
      chains: new Map([['local', { client: connected.client }]]),
      store,
      common: createCommon({ logger }),
      extraDetectors: {
        local: [instantiate('marker', markerTx, { client: connected.client, marker: MARKER })],
      },
      hooks: {
        onReorg: (info) => reorgs.push(info),
        onBlockProcessed: ({ event }) => processed.push(event),
      },
    });
    engine.start();
  };

  const head = async () => getBlock(chain.client);
  /** The checkpoint reaches the chain's head block. */
  const caughtUp = async () => {
    const tip = await head();
    await waitFor(`the checkpoint to reach block ${tip.number}`, 10_000, async () => {
      const checkpoint = await getCheckpoint(store.db, chain.chainId);
      return checkpoint?.block.hash === tip.hash ? true : undefined;
    });
    return tip;
  };
  /** Mines `n` blocks, each with one transaction to `to`; returns their hashes. */
  const mineWithTxs = async (n: number, to: Hex): Promise<Hex[]> => {
    const hashes: Hex[] = [];
    for (let i = 0; i < n; i++) {
      const tx = await chain.client.sendTransaction({
        account: chain.accounts[0]!.account,
        chain: chain.chain,
        to,
        value: BigInt(i + 1),
      });
      const receipt = await chain.client.waitForTransactionReceipt({ hash: tx, pollingInterval: 1 });
      hashes.push(receipt.blockHash);
    }
    return hashes;
  };

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 2 });
    served = await chain.serve();
    dir = mkdtempSync(join(tmpdir(), 'firebreak-reorg-'));
    store = await openStore({ dataDir: join(dir, 'store') });
    config = firebreakConfig.parse({
      chains: [
        {
          id: chain.chainId,
          name: 'local',
          rpc: [served.url],
          pollIntervalMs: 10,
          confirmations: CONFIRMATIONS,
        },
      ],
    });
    await chain.mine();
    await startEngine();
    await caughtUp();
  }, 60_000);

  afterAll(async () => {
    await engine?.stop();
    await store?.close();
    await served?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Mines a branch of `depth` marker blocks, processes it, replaces it by `depth + 1` other blocks. */
  const reorgOfDepth = async (depth: number) => {
    const ancestor = await caughtUp();
    const snapshot = await chain.snapshot();
    const orphaned = await mineWithTxs(depth, MARKER);
    await caughtUp();
    const findingsBefore = await store.db
      .selectFrom('findings')
      .selectAll()
      .where('block_hash', 'in', orphaned)
      .execute();
    expect(findingsBefore.map((f) => f.block_hash).sort()).toEqual([...orphaned].sort());
    expect(findingsBefore.every((f) => f.retracted_at_ms === null)).toBe(true);

    const reorgsBefore = reorgs.length;
    const processedBefore = processed.length;
    await chain.revert(snapshot);
    const branch = await mineWithTxs(depth + 1, OTHER);
    await caughtUp();
    return { ancestor, orphaned, branch, findingsBefore, seen: reorgs.slice(reorgsBefore), processedBefore };
  };

  for (let depth = 1; depth <= 12; depth++) {
    it(`depth ${depth}: one reorg naming the orphaned blocks, their findings retracted, the new branch once`, async () => {
      const { ancestor, orphaned, branch, findingsBefore, seen, processedBefore } = await reorgOfDepth(depth);

      // One reorg, naming exactly the orphaned blocks (highest first) and the common ancestor.
      expect(seen).toHaveLength(1);
      const event = seen[0]!.event;
      expect(event.type).toBe('reorg');
      expect(event.orphaned.map((b) => b.hash)).toEqual([...orphaned].reverse());
      expect(event.type === 'reorg' && event.ancestor.hash).toBe(ancestor.hash);

      // The orphaned blocks' findings are retracted, and only they.
      expect(seen[0]!.retracted.map((r) => r.finding.id).sort()).toEqual(
        findingsBefore.map((f) => f.id).sort(),
      );
      const findingsAfter = await store.db
        .selectFrom('findings')
        .selectAll()
        .where(
          'id',
          'in',
          findingsBefore.map((f) => f.id),
        )
        .execute();
      expect(
        findingsAfter.every((f) => f.retracted_at_ms !== null && f.retracted_by?.startsWith('reorg')),
      ).toBe(true);
      const live = await store.db
        .selectFrom('findings')
        .select('id')
        .where('retracted_at_ms', 'is', null)
        .execute();
      expect(live).toEqual([]);

      // The incident they opened: resolved, with the retraction on its timeline.
      const incidentId = findingsBefore[0]!.incident_id!;
      expect(findingsBefore.every((f) => f.incident_id === incidentId)).toBe(true);
      expect((await store.getIncident(incidentId))?.status).toBe('resolved');
      const timeline = await store.listTimeline(incidentId);
      const retracted = timeline.filter((e) => e.type === 'retracted');
      expect(retracted).toHaveLength(1);
      expect(retracted[0]!.summary).toContain(`${depth} finding(s) retracted`);
      expect(retracted[0]!.summary).toContain('no action had been taken');
      expect(timeline.at(-1)?.summary).toContain('every finding was retracted');

      // Every block of the new branch processed exactly once, the orphaned ones kept but marked.
      const rows = new Map(
        (await listProcessedBlocks(store.db, chain.chainId)).map((r) => [r.block.hash, r]),
      );
      for (const hash of branch) {
        expect(rows.get(hash)?.timesProcessed).toBe(1);
        expect(rows.get(hash)?.orphanedAt).toBeNull();
      }
      for (const hash of orphaned) {
        expect(rows.get(hash)?.timesProcessed).toBe(1);
        expect(rows.get(hash)?.orphanedAt).not.toBeNull();
      }
      const afterReorg = processed.slice(processedBefore).map((e) => e.block.hash);
      expect(afterReorg).toEqual(branch);
    });
  }

  it('every canonical block from the first to the head was processed exactly once', async () => {
    const tip = await caughtUp();
    const rows = await listProcessedBlocks(store.db, chain.chainId);
    const canonical = rows.filter((r) => r.orphanedAt === null);
    const first = canonical[0]!.block.number;
    expect(canonical.map((r) => r.block.number)).toEqual(
      Array.from({ length: Number(tip.number - first + 1n) }, (_, i) => first + BigInt(i)),
    );
    for (const row of canonical) {
      expect(row.timesProcessed).toBe(1);
      expect(row.block.hash).toBe((await getBlock(chain.client, { blockNumber: row.block.number })).hash);
    }
    expect(errors).toEqual([]);
  });

  it('logs a reorg deeper than the window as an error, and still retracts what it held', async () => {
    const depth = CONFIRMATIONS + 1;
    const { orphaned, branch, seen, processedBefore } = await reorgOfDepth(depth);
    expect(seen.map((s) => s.event.type)).toEqual(['deep-reorg']);
    const event = seen[0]!.event;
    // The window held every orphaned block here (base = the block above the ancestor).
    expect(event.orphaned.map((b) => b.hash)).toEqual([...orphaned].reverse());
    expect(seen[0]!.retracted).toHaveLength(depth);
    expect(errors.join('')).toContain('REORG DEEPER THAN THE WINDOW');
    expect(processed.slice(processedBefore).map((e) => e.block.hash)).toEqual(branch);
    errors.length = 0;
  });

  it('sees a reorg that happened while it was down, before anything else, after a restart', async () => {
    await caughtUp();
    const snapshot = await chain.snapshot();
    const orphaned = await mineWithTxs(3, MARKER);
    await caughtUp();
    await engine!.stop();

    // While the engine is down: the marker blocks are replaced by a longer branch.
    await chain.revert(snapshot);
    const branch = await mineWithTxs(4, OTHER);
    const reorgsBefore = reorgs.length;
    const processedBefore = processed.length;
    await startEngine();
    await caughtUp();

    const seen = reorgs.slice(reorgsBefore);
    expect(seen.map((s) => s.event.type)).toEqual(['reorg']);
    expect(seen[0]!.event.orphaned.map((b) => b.hash)).toEqual([...orphaned].reverse());
    expect(seen[0]!.retracted).toHaveLength(3);
    expect(processed.slice(processedBefore).map((e) => e.block.hash)).toEqual(branch);
    const rows = new Map((await listProcessedBlocks(store.db, chain.chainId)).map((r) => [r.block.hash, r]));
    for (const hash of branch) expect(rows.get(hash)?.timesProcessed).toBe(1);
    expect(errors).toEqual([]);
  });
});
