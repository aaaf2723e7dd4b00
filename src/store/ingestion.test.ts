import type { Hex } from 'viem';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeFinding } from '../detectors/finding';
import type { BlockRef, Finding } from '../detectors/types';
import type { Incident } from '../incidents/types';
import {
  clearResponsePending,
  countLiveFindings,
  getCheckpoint,
  listActionsTaken,
  listCanonicalBlocks,
  listFindingsOfBlock,
  listProcessedBlocks,
  markBlocksOrphaned,
  pruneProcessedBlocks,
  recordBlockProcessed,
  recordBlocksProcessed,
  retractFindingsOfBlocks,
  setCheckpoint,
} from './ingestion';
import { migrations } from './migrations';
import { openStore, type Store } from './store';

const hash = (fork: string, n: bigint): Hex =>
  `0x${Buffer.from(`${fork}${n}`).toString('hex').padEnd(64, '0')}`;
const block = (n: bigint, fork = 'a', parentFork = fork): BlockRef => ({
  number: n,
  hash: hash(fork, n),
  parentHash: hash(parentFork, n - 1n),
  timestamp: 1_700_000_000n + n,
});

const incident = (id: string): Incident => ({
  id,
  title: id,
  status: 'open',
  severity: 'high',
  subject: { chainId: 1 },
  openedAt: 1,
  openedBlock: 1n,
  updatedAt: 1,
});

const finding = (b: BlockRef, key = 'k'): Finding =>
  makeFinding({
    detector: 'test',
    detectorInstance: 'test',
    severity: 'high',
    kind: 'anomaly',
    subject: { chainId: 1 },
    dedupeKey: key,
    confidence: 1,
    title: `at ${b.number}`,
    evidence: {},
    block: b,
  });

describe('store: checkpoints, processed blocks, retraction', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore({ memory: true });
  });
  beforeEach(async () => {
    for (const table of [
      'timeline_events',
      'actions',
      'findings',
      'incidents',
      'checkpoints',
      'processed_blocks',
    ] as const)
      await store.db.deleteFrom(table).execute();
  });
  afterAll(async () => {
    await store.close();
  });

  it('migration 0002_ingestion is part of the schema', () => {
    expect(Object.keys(migrations).slice(0, 2)).toEqual(['0001_initial', '0002_ingestion']);
    expect(store.migrated).toContain('0002_ingestion');
  });

  it('counts each processing of a block and moves the checkpoint with it, per chain', async () => {
    expect(await getCheckpoint(store.db, 1)).toBeUndefined();
    expect(await recordBlockProcessed(store.db, { chainId: 1, block: block(10n), at: 1_000 })).toBe(1);
    expect(
      await recordBlockProcessed(store.db, {
        chainId: 1,
        block: block(11n),
        at: 2_000,
        responsePending: true,
      }),
    ).toBe(1);
    expect(await recordBlockProcessed(store.db, { chainId: 2, block: block(500n), at: 2_500 })).toBe(1);
    expect(await getCheckpoint(store.db, 1)).toEqual({
      chainId: 1,
      block: block(11n),
      responsePending: true,
      updatedAt: 2_000,
    });
    await clearResponsePending(store.db, 1, block(10n).hash); // not the checkpoint's block: no-op
    expect((await getCheckpoint(store.db, 1))?.responsePending).toBe(true);
    await clearResponsePending(store.db, 1, block(11n).hash);
    expect((await getCheckpoint(store.db, 1))?.responsePending).toBe(false);
    expect(await recordBlockProcessed(store.db, { chainId: 1, block: block(11n), at: 3_000 })).toBe(2);
    const rows = await listProcessedBlocks(store.db, 1);
    expect(
      rows.map((r) => [r.block.number, r.timesProcessed, r.firstProcessedAt, r.lastProcessedAt]),
    ).toEqual([
      [10n, 1, 1_000, 1_000],
      [11n, 2, 2_000, 3_000],
    ]);
    expect((await getCheckpoint(store.db, 2))?.block.number).toBe(500n);
  });

  it('counts a batch of blocks in one call, in order, with the checkpoint on the last; prunes below a height', async () => {
    const batch = Array.from({ length: 1_500 }, (_, i) => block(BigInt(100 + i)));
    expect(await recordBlocksProcessed(store.db, { chainId: 1, blocks: batch.slice(0, 10), at: 1 })).toEqual(
      Array(10).fill(1),
    );
    // Overlapping a batch already counted: those count twice, the rest once (more than one INSERT).
    const counts = await recordBlocksProcessed(store.db, { chainId: 1, blocks: batch, at: 2 });
    expect(counts.slice(0, 10)).toEqual(Array(10).fill(2));
    expect(counts.slice(10).every((c) => c === 1)).toBe(true);
    expect(counts).toHaveLength(1_500);
    expect((await getCheckpoint(store.db, 1))?.block).toEqual(batch.at(-1));
    await recordBlockProcessed(store.db, { chainId: 2, block: block(100n), at: 3 });
    expect(await pruneProcessedBlocks(store.db, 1, 1_000n)).toBe(900);
    const left = await listProcessedBlocks(store.db, 1);
    expect(left).toHaveLength(600);
    expect(left[0]?.block.number).toBe(1_000n);
    expect(await listProcessedBlocks(store.db, 2)).toHaveLength(1); // other chains untouched
  });

  it('keeps orphaned blocks but leaves them out of the canonical window; canonical again when reprocessed', async () => {
    for (const n of [10n, 11n, 12n])
      await recordBlockProcessed(store.db, { chainId: 1, block: block(n), at: 1 });
    expect(await markBlocksOrphaned(store.db, 1, [block(11n).hash, block(12n).hash], 5)).toBe(2);
    expect(await markBlocksOrphaned(store.db, 1, [block(12n).hash], 6)).toBe(0);
    await setCheckpoint(store.db, { chainId: 1, block: block(10n), at: 7 });
    await recordBlockProcessed(store.db, { chainId: 1, block: block(11n, 'b', 'a'), at: 8 });
    expect((await listCanonicalBlocks(store.db, 1, { from: 0n, to: 20n })).map((b) => b.hash)).toEqual([
      block(10n).hash,
      block(11n, 'b', 'a').hash,
    ]);
    const rows = await listProcessedBlocks(store.db, 1);
    expect(rows.map((r) => [r.block.hash, r.orphanedAt])).toEqual([
      [block(10n).hash, null],
      [block(11n).hash, 5],
      [block(11n, 'b', 'a').hash, null],
      [block(12n).hash, 5],
    ]);
    // The old branch back (a flip-flop): canonical again, processed twice.
    expect(await recordBlockProcessed(store.db, { chainId: 1, block: block(11n), at: 9 })).toBe(2);
    expect(
      (await listProcessedBlocks(store.db, 1)).find((r) => r.block.hash === block(11n).hash)?.orphanedAt,
    ).toBe(null);
  });

  it("retracts only the given blocks' live findings, once, and restores a finding written again", async () => {
    await store.upsertIncident(incident('i1'));
    await store.upsertIncident(incident('i2'));
    const kept = finding(block(10n));
    const gone = [finding(block(11n)), finding(block(12n)), finding(block(12n), 'other')];
    await store.insertFinding(kept, 'i1');
    await store.insertFinding(gone[0]!, 'i1');
    await store.insertFinding(gone[1]!, 'i2');
    await store.insertFinding(gone[2]!, 'i2');
    const hashes = [block(11n).hash, block(12n).hash];
    const retracted = await retractFindingsOfBlocks(store.db, {
      chainId: 1,
      blockHashes: hashes,
      at: 50,
      by: 'reorg',
    });
    expect(retracted.map((r) => [r.finding.block.number, r.incidentId, r.retractedBy])).toEqual([
      [11n, 'i1', 'reorg'],
      [12n, 'i2', 'reorg'],
      [12n, 'i2', 'reorg'],
    ]);
    expect(
      await retractFindingsOfBlocks(store.db, { chainId: 1, blockHashes: hashes, at: 60, by: 'again' }),
    ).toEqual([]);
    expect(await countLiveFindings(store.db, ['i1', 'i2'])).toEqual(new Map([['i1', 1]]));
    const stored = await listFindingsOfBlock(store.db, 1, block(11n).hash);
    expect(stored.map((s) => [s.finding.id, s.retractedAt, s.retractedBy])).toEqual([
      [gone[0]!.id, 50, 'reorg'],
    ]);
    expect(await store.getFinding(gone[0]!.id)).toEqual(gone[0]);

    // Written again (its block canonical again): restored, under the incident it is filed under now.
    expect(await store.insertFinding(gone[0]!, 'i2')).toBe(true);
    expect(await store.insertFinding(gone[0]!, 'i1')).toBe(false);
    const restored = await listFindingsOfBlock(store.db, 1, block(11n).hash);
    expect(restored.map((s) => [s.incidentId, s.retractedAt])).toEqual([['i2', null]]);
  });

  it('lists the actions already sent per incident', async () => {
    await store.upsertIncident(incident('i1'));
    const action = (id: string, status: 'planned' | 'sent' | 'verified' | 'refused') =>
      store.upsertAction({
        id,
        incidentId: 'i1',
        playbookId: 'p',
        action: 'a',
        chainId: 1,
        status,
        txHashes: [],
        sentBlock: null,
        minedBlock: null,
        reason: null,
        createdAt: 1,
        updatedAt: 1,
      });
    await action('x1', 'planned');
    await action('x2', 'sent');
    await action('x3', 'verified');
    await action('x4', 'refused');
    expect(await listActionsTaken(store.db, ['i1', 'i9'])).toEqual(new Map([['i1', ['x2', 'x3']]]));
    expect(await listActionsTaken(store.db, [])).toEqual(new Map());
  });
});
