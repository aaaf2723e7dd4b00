/**
 * Store — ingestion's records: the checkpoint of each chain, the processed blocks with their
 * counter, and the retraction of findings whose block a reorg orphaned.
 *
 * Like the rest of the store, every function takes the database first, so the engine composes them
 * in one transaction with what a block produced:
 *
 * ```ts
 * await store.db.transaction().execute(async (trx) => {
 *   await incidents.ingest(findings, storeActions(trx));
 *   await recordBlockProcessed(trx, { chainId, block, at: Date.now() });
 * });
 * ```
 *
 * Inside a transaction use `trx`, never `store.db` (see `pglite-dialect.ts`: the outer handle
 * waits for the transaction's lock forever).
 */
import { type QueryCreator, sql } from 'kysely';
import type { Hex } from 'viem';
import type { BlockRef, Finding } from '../detectors/types';
import type { ActionStatus } from '../respond/types';
import type { Database } from './schema';
import { findingFromRow, guard, msColumn, type StoreDb } from './store';

export interface Checkpoint {
  chainId: number;
  /** The last block the engine finished on this chain. */
  block: BlockRef;
  /** The block's findings were written but their response had not run (yet) when it was written. */
  responsePending: boolean;
  updatedAt: number;
}

export interface ProcessedBlock {
  chainId: number;
  block: BlockRef;
  timesProcessed: number;
  firstProcessedAt: number;
  lastProcessedAt: number;
  /** When a reorg orphaned it; `null` while canonical. */
  orphanedAt: number | null;
}

/** A finding as stored: the incident it was filed under and whether (why) it was retracted. */
export interface StoredFinding {
  finding: Finding;
  incidentId: string | null;
  retractedAt: number | null;
  retractedBy: string | null;
}

// ── checkpoints ──────────────────────────────────────────────────────────────────────────────────

export function getCheckpoint(db: StoreDb, chainId: number): Promise<Checkpoint | undefined> {
  return guard('get checkpoint', async () => {
    const row = await db
      .selectFrom('checkpoints')
      .selectAll()
      .where('chain_id', '=', chainId)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return {
      chainId: row.chain_id,
      block: {
        number: row.block_number,
        hash: row.block_hash,
        parentHash: row.block_parent_hash,
        timestamp: row.block_timestamp,
      },
      responsePending: row.response_pending,
      updatedAt: Number(row.updated_at_ms),
    };
  });
}

/** Moves a chain's checkpoint to a block (forward, or back to a reorg's common ancestor). */
export function setCheckpoint(
  db: StoreDb,
  input: { chainId: number; block: BlockRef; at: number; responsePending?: boolean },
): Promise<void> {
  return guard('set checkpoint', async () => {
    const fields = {
      block_number: input.block.number,
      block_hash: input.block.hash,
      block_parent_hash: input.block.parentHash,
      block_timestamp: input.block.timestamp,
      response_pending: input.responsePending ?? false,
      updated_at_ms: msColumn(input.at),
    };
    await db
      .insertInto('checkpoints')
      .values({ chain_id: input.chainId, ...fields })
      .onConflict((oc) => oc.column('chain_id').doUpdateSet(fields))
      .execute();
  });
}

/** Clears `responsePending` once the response of the checkpoint's block has run (no-op if it moved on). */
export function clearResponsePending(db: StoreDb, chainId: number, blockHash: Hex): Promise<void> {
  return guard('clear pending response', async () => {
    await db
      .updateTable('checkpoints')
      .set({ response_pending: false })
      .where('chain_id', '=', chainId)
      .where('block_hash', '=', blockHash)
      .execute();
  });
}

// ── processed blocks ─────────────────────────────────────────────────────────────────────────────

/**
 * Counts one more processing of a block (canonical again if it had been orphaned) and moves the
 * chain's checkpoint to it. Call it in the transaction that writes what the block produced.
 *
 * @returns how many times the block has now been processed.
 */
export async function recordBlockProcessed(
  db: StoreDb,
  input: { chainId: number; block: BlockRef; at: number; responsePending?: boolean },
): Promise<number> {
  const counts = await recordBlocksProcessed(db, { ...input, blocks: [input.block] });
  return counts[0]!;
}

/** Rows per INSERT when a batch of blocks is counted (9 parameters a row). */
const BLOCKS_PER_INSERT = 1_000;

/**
 * Counts one more processing of each block of a batch (ascending; catch-up and replay write one
 * transaction per batch rather than per block) and moves the checkpoint to the last one, whose
 * response may still be pending.
 *
 * A batch of up to `BLOCKS_PER_INSERT` blocks is one statement (the counter upsert and the
 * checkpoint upsert as data-modifying CTEs), so it is atomic on its own: a quiet live block needs
 * no transaction around it, one round trip to the database instead of four.
 *
 * @returns how many times each block has now been processed, in order.
 */
export function recordBlocksProcessed(
  db: StoreDb,
  input: { chainId: number; blocks: readonly BlockRef[]; at: number; responsePending?: boolean },
): Promise<number[]> {
  return guard('record processed blocks', async () => {
    const last = input.blocks.at(-1);
    if (last === undefined) return [];
    const at = msColumn(input.at);
    const checkpoint = {
      block_number: last.number,
      block_hash: last.hash,
      block_parent_hash: last.parentHash,
      block_timestamp: last.timestamp,
      response_pending: input.responsePending ?? false,
      updated_at_ms: at,
    };
    const counts = new Map<string, number>();
    for (let i = 0; i < input.blocks.length; i += BLOCKS_PER_INSERT) {
      const chunk = input.blocks.slice(i, i + BLOCKS_PER_INSERT);
      const counted = (qb: QueryCreator<Database>) =>
        qb
          .insertInto('processed_blocks')
          .values(
            chunk.map((block) => ({
              chain_id: input.chainId,
              block_hash: block.hash,
              block_number: block.number,
              block_parent_hash: block.parentHash,
              block_timestamp: block.timestamp,
              times_processed: 1,
              first_processed_at_ms: at,
              last_processed_at_ms: at,
              orphaned_at_ms: null,
            })),
          )
          .onConflict((oc) =>
            oc.columns(['chain_id', 'block_hash']).doUpdateSet({
              times_processed: sql<number>`processed_blocks.times_processed + 1`,
              last_processed_at_ms: at,
              orphaned_at_ms: null,
            }),
          )
          .returning(['block_hash', 'times_processed']);
      const lastChunk = i + BLOCKS_PER_INSERT >= input.blocks.length;
      const rows = lastChunk
        ? await db
            .with('counted', counted)
            .with('moved', (qb) =>
              qb
                .insertInto('checkpoints')
                .values({ chain_id: input.chainId, ...checkpoint })
                .onConflict((oc) => oc.column('chain_id').doUpdateSet(checkpoint)),
            )
            .selectFrom('counted')
            .select(['block_hash', 'times_processed'])
            .execute()
        : await counted(db).execute();
      for (const r of rows) counts.set(r.block_hash, r.times_processed);
    }
    return input.blocks.map((b) => counts.get(b.hash) ?? 0);
  });
}

/**
 * Canonical (not orphaned) processed blocks of a chain with numbers in `from`..`to`, ascending:
 * what the ingestor's reorg window is rebuilt from after a restart.
 */
export function listCanonicalBlocks(
  db: StoreDb,
  chainId: number,
  range: { from: bigint; to: bigint },
): Promise<BlockRef[]> {
  return guard('list canonical blocks', async () => {
    const rows = await db
      .selectFrom('processed_blocks')
      .select(['block_number', 'block_hash', 'block_parent_hash', 'block_timestamp'])
      .where('chain_id', '=', chainId)
      .where('block_number', '>=', range.from)
      .where('block_number', '<=', range.to)
      .where('orphaned_at_ms', 'is', null)
      .orderBy('block_number')
      .orderBy('last_processed_at_ms')
      .execute();
    return rows.map((r) => ({
      number: r.block_number,
      hash: r.block_hash,
      parentHash: r.block_parent_hash,
      timestamp: r.block_timestamp,
    }));
  });
}

/** Every processed block of a chain (orphaned ones included), by number then first processing. */
export function listProcessedBlocks(db: StoreDb, chainId: number): Promise<ProcessedBlock[]> {
  return guard('list processed blocks', async () => {
    const rows = await db
      .selectFrom('processed_blocks')
      .selectAll()
      .where('chain_id', '=', chainId)
      .orderBy('block_number')
      .orderBy('first_processed_at_ms')
      .execute();
    return rows.map((r) => ({
      chainId: r.chain_id,
      block: {
        number: r.block_number,
        hash: r.block_hash,
        parentHash: r.block_parent_hash,
        timestamp: r.block_timestamp,
      },
      timesProcessed: r.times_processed,
      firstProcessedAt: Number(r.first_processed_at_ms),
      lastProcessedAt: Number(r.last_processed_at_ms),
      orphanedAt: r.orphaned_at_ms === null ? null : Number(r.orphaned_at_ms),
    }));
  });
}

/** Marks processed blocks orphaned (kept, so the counter still shows they were processed). */
export function markBlocksOrphaned(
  db: StoreDb,
  chainId: number,
  blockHashes: readonly Hex[],
  at: number,
): Promise<number> {
  return guard('mark blocks orphaned', async () => {
    if (blockHashes.length === 0) return 0;
    const result = await db
      .updateTable('processed_blocks')
      .set({ orphaned_at_ms: msColumn(at) })
      .where('chain_id', '=', chainId)
      .where('block_hash', 'in', blockHashes)
      .where('orphaned_at_ms', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  });
}

/**
 * Forgets the processed-block rows of a chain below `belowNumber`: finalized history that no reorg
 * can reach and no restart reads. The engine keeps the last `PROCESSED_BLOCKS_KEPT` blocks.
 *
 * @returns how many rows were deleted.
 */
export function pruneProcessedBlocks(db: StoreDb, chainId: number, belowNumber: bigint): Promise<number> {
  return guard('prune processed blocks', async () => {
    const result = await db
      .deleteFrom('processed_blocks')
      .where('chain_id', '=', chainId)
      .where('block_number', '<', belowNumber)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}

// ── findings of blocks ───────────────────────────────────────────────────────────────────────────

/**
 * Retracts every finding raised on the given blocks (they were orphaned) that is not retracted yet.
 *
 * @returns the findings retracted by this call, with their incidents.
 */
export function retractFindingsOfBlocks(
  db: StoreDb,
  input: { chainId: number; blockHashes: readonly Hex[]; at: number; by: string },
): Promise<StoredFinding[]> {
  return guard('retract findings', async () => {
    if (input.blockHashes.length === 0) return [];
    const rows = await db
      .updateTable('findings')
      .set({ retracted_at_ms: msColumn(input.at), retracted_by: input.by })
      .where('chain_id', '=', input.chainId)
      .where('block_hash', 'in', input.blockHashes)
      .where('retracted_at_ms', 'is', null)
      .returningAll()
      .execute();
    return rows
      .map((row) => ({
        finding: findingFromRow(row),
        incidentId: row.incident_id,
        retractedAt: input.at,
        retractedBy: input.by,
      }))
      .sort((a, b) => (a.finding.block.number < b.finding.block.number ? -1 : 1));
  });
}

/** A block's findings as stored (retracted ones included), by id. */
export function listFindingsOfBlock(db: StoreDb, chainId: number, blockHash: Hex): Promise<StoredFinding[]> {
  return guard('list findings of block', async () => {
    const rows = await db
      .selectFrom('findings')
      .selectAll()
      .where('chain_id', '=', chainId)
      .where('block_hash', '=', blockHash)
      .orderBy('id')
      .execute();
    return rows.map((row) => ({
      finding: findingFromRow(row),
      incidentId: row.incident_id,
      retractedAt: row.retracted_at_ms === null ? null : Number(row.retracted_at_ms),
      retractedBy: row.retracted_by,
    }));
  });
}

/**
 * The live (not retracted) findings of a chain at a block height, whatever its hash: what a restart
 * takes up when it only knows the height an action was sent at.
 */
export function listLiveFindingsAtHeight(
  db: StoreDb,
  chainId: number,
  blockNumber: bigint,
): Promise<Finding[]> {
  return guard('list live findings at a height', async () => {
    const rows = await db
      .selectFrom('findings')
      .selectAll()
      .where('chain_id', '=', chainId)
      .where('block_number', '=', blockNumber)
      .where('retracted_at_ms', 'is', null)
      .orderBy('id')
      .execute();
    return rows.map((row) => findingFromRow(row));
  });
}

/** How many findings of each incident are not retracted (incidents with none are absent). */
export function countLiveFindings(db: StoreDb, incidentIds: readonly string[]): Promise<Map<string, number>> {
  return guard('count live findings', async () => {
    if (incidentIds.length === 0) return new Map();
    const rows = await db
      .selectFrom('findings')
      .select(['incident_id', (eb) => eb.fn.countAll<string>().as('n')])
      .where('incident_id', 'in', incidentIds)
      .where('retracted_at_ms', 'is', null)
      .groupBy('incident_id')
      .execute();
    return new Map(rows.map((r) => [r.incident_id!, Number(r.n)]));
  });
}

// A confirmation on a quorum's proposal is on-chain already: taken, though the call may not have run.
const TAKEN: readonly ActionStatus[] = ['sent', 'awaiting-quorum', 'mined', 'verified'];

/** Ids of the actions already sent for each incident (sent, mined or verified): a reorg does not undo them. */
export function listActionsTaken(
  db: StoreDb,
  incidentIds: readonly string[],
): Promise<Map<string, string[]>> {
  return guard('list actions taken', async () => {
    const taken = new Map<string, string[]>();
    if (incidentIds.length === 0) return taken;
    const rows = await db
      .selectFrom('actions')
      .select(['id', 'incident_id'])
      .where('incident_id', 'in', incidentIds)
      .where('status', 'in', TAKEN)
      .orderBy('created_at_ms')
      .orderBy('id')
      .execute();
    for (const row of rows) taken.set(row.incident_id, [...(taken.get(row.incident_id) ?? []), row.id]);
    return taken;
  });
}
