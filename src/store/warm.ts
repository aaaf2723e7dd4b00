/**
 * Store — warming a new database session for the first response.
 *
 * A session that has not yet touched a table pays, on its first statement there, for loading the
 * table's catalog entries and its indexes; its first insert under a foreign key also plans the
 * key's check. Measured on PGlite: 2–7 ms for the first select on a table against 0.6–1 ms after,
 * for each of the half dozen tables the first incident's response writes (its incident, finding
 * and timeline; the action record, the guardrail ledger, the executor's transaction journal). Left
 * alone, that cost falls on the first response of the process: on the path from a finding to its
 * transaction.
 *
 * So a process that may respond writes one row through each of those statements once, at start, in
 * a transaction it then rolls back: no row stays (an identity column may skip a number), the
 * session's caches do.
 */
import type { Hex } from 'viem';
import type { Finding } from '../detectors/types';
import {
  listActionExecutorTxs,
  listPendingExecutorTxs,
  maxExecutorNonce,
  putExecutorTxs,
} from './executor-txs';
import {
  appendTimeline,
  getAction,
  insertFinding,
  listGuardrailEntries,
  recordGuardrailEntry,
  type StoreDb,
  upsertAction,
  upsertIncident,
} from './store';

/** Thrown inside the warm-up's transaction to roll it back. */
class RollBack extends Error {}

const ZERO = `0x${'0'.repeat(40)}` as Hex;
const HASH = `0x${'0'.repeat(64)}` as Hex;

/**
 * Runs the response path's statements once in a rolled-back transaction (see the module's doc).
 * Never throws: a warm-up that fails leaves the store as it was, and the first response pays.
 *
 * @returns the milliseconds it took, or the error it met.
 */
export async function warmStore(db: StoreDb): Promise<{ ms: number } | { error: unknown }> {
  const started = performance.now();
  const id = `warm-up-${Date.now()}`;
  const block = { number: 0n, hash: HASH, parentHash: HASH, timestamp: 0n };
  const subject = { chainId: 0, asset: ZERO };
  const finding: Finding = {
    id,
    detector: 'warm-up',
    detectorInstance: 'warm-up',
    severity: 'info',
    kind: 'anomaly',
    subject,
    dedupeKey: id,
    confidence: 0,
    title: 'warm-up',
    evidence: {},
    block,
  };
  try {
    await db.transaction().execute(async (trx) => {
      await upsertIncident(trx, {
        id,
        title: 'warm-up',
        status: 'open',
        severity: 'info',
        subject,
        openedAt: 0,
        openedBlock: 0n,
        updatedAt: 0,
      });
      await insertFinding(trx, finding, id);
      await appendTimeline(trx, {
        incidentId: id,
        at: 0,
        block: 0n,
        type: 'decision',
        summary: '',
        data: {},
      });
      await getAction(trx, id);
      await upsertAction(trx, {
        id,
        incidentId: id,
        playbookId: 'warm-up',
        action: 'warm-up',
        chainId: 0,
        status: 'planned',
        txHashes: [],
        sentBlock: null,
        minedBlock: null,
        reason: null,
        createdAt: 0,
        updatedAt: 0,
      });
      await listGuardrailEntries(trx, 0, 0n);
      await recordGuardrailEntry(trx, { actionId: id, chainId: 0, at: 0n, changes: [] });
      await listPendingExecutorTxs(trx, 0, ZERO);
      await listActionExecutorTxs(trx, 0, ZERO, id);
      await maxExecutorNonce(trx, 0, ZERO);
      await putExecutorTxs(trx, [
        {
          chainId: 0,
          address: ZERO,
          nonce: 0,
          actionId: id,
          callKey: null,
          to: ZERO,
          data: '0x',
          value: 0n,
          gas: 0n,
          maxFeePerGas: 0n,
          maxPriorityFeePerGas: 0n,
          hashes: [],
          status: 'pending',
          minedHash: null,
          createdAt: 0,
          updatedAt: 0,
        },
      ]);
      throw new RollBack();
    });
  } catch (error) {
    if (!(error instanceof RollBack)) return { error };
  }
  return { ms: performance.now() - started };
}
