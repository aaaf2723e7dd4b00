/**
 * Store — the database schema as Kysely sees it: one interface per table, one row per record of
 * the detect, incidents and respond stages (findings, incidents, timeline events, action records)
 * plus the detectors' remembered state, and ingestion's checkpoints and processed blocks. The
 * tables themselves are created by `migrations.ts`.
 *
 * Column conventions, the same on PGlite and PostgreSQL:
 * - block numbers and millisecond times are `int8`, read back as `bigint` (the driver must parse
 *   int8 as bigint: `openStore` configures PGlite so; node-postgres needs `types.setTypeParser(20,
 *   BigInt)`). Times convert to `number` at the edge of the store, block numbers stay `bigint`.
 * - wei amounts outside evidence (a block's base fee) are `numeric`: any uint256 fits.
 * - evidence, timeline data, tx hashes and detector state are `jsonb`, written as a JSON string
 *   (so no driver turns a JS array into a Postgres array) and read back parsed.
 * - a subject is spread over columns (`chain_id`, `protocol`, `market`, `asset`, `account`) so
 *   that it can be filtered and indexed.
 */
import type { ColumnType, Generated } from 'kysely';
import type { Hex } from 'viem';
import type { FindingKind, Severity } from '../detectors/types';
import type { IncidentStatus, TimelineEventType } from '../incidents/types';
import type { ApprovalKind, ApprovalRequest, ApprovalSignature, ApprovalStatus } from '../respond/approvals';
import type { ExecutorTxStatus } from '../respond/executors/nonce';
import type { ActionStatus } from '../respond/types';

/** A `jsonb` column: read as `T`, written as a JSON string. */
export type Json<T> = ColumnType<T, string, string>;

/** The columns that hold a `Subject`. */
export interface SubjectColumns {
  chain_id: number;
  protocol: string | null;
  market: Hex | null;
  asset: Hex | null;
  account: Hex | null;
}

export interface FindingsTable extends SubjectColumns {
  id: string;
  /** The incident the finding was filed under, when there is one. */
  incident_id: string | null;
  detector: string;
  detector_instance: string;
  severity: Severity;
  kind: FindingKind;
  dedupe_key: string;
  confidence: number;
  title: string;
  evidence: Json<Record<string, string | number | boolean>>;
  block_number: bigint;
  block_hash: Hex;
  block_parent_hash: Hex;
  block_timestamp: bigint;
  /** Wei, `numeric`: read as a decimal string, written as a bigint. */
  block_base_fee: ColumnType<string | null, bigint | null, bigint | null>;
  /** Set when the finding's block was orphaned by a reorg (migration 0002). */
  retracted_at_ms: ColumnType<bigint | null, bigint | null | undefined, bigint | null>;
  /** Why, e.g. `reorg: ancestor 1234 0xabc…`. */
  retracted_by: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface IncidentsTable extends SubjectColumns {
  id: string;
  title: string;
  status: IncidentStatus;
  severity: Severity;
  opened_at_ms: bigint;
  opened_block: bigint;
  updated_at_ms: bigint;
}

export interface TimelineEventsTable {
  /** Append order; the timeline is read back in it. */
  seq: Generated<bigint>;
  incident_id: string;
  at_ms: bigint;
  block_number: bigint | null;
  type: TimelineEventType;
  summary: string;
  data: Json<Record<string, unknown>>;
}

export interface ActionsTable {
  id: string;
  incident_id: string;
  playbook_id: string;
  action: string;
  chain_id: number;
  status: ActionStatus;
  tx_hashes: Json<Hex[]>;
  sent_block: bigint | null;
  mined_block: bigint | null;
  reason: string | null;
  created_at_ms: bigint;
  updated_at_ms: bigint;
}

/** Actions waiting for people (migration 0003): see `respond/approvals.ts` for the JSON shapes. */
export interface ApprovalsTable {
  action_id: string;
  incident_id: string;
  chain_id: number;
  kind: ApprovalKind;
  status: ApprovalStatus;
  deadline_ms: bigint | null;
  request: Json<ApprovalRequest>;
  signatures: Json<ApprovalSignature[]>;
  decided_by: string | null;
  decided_at_ms: bigint | null;
  reason: string | null;
  created_at_ms: bigint;
  updated_at_ms: bigint;
}

export interface DetectorStateTable {
  detector_id: string;
  key: string;
  value: Json<unknown>;
}

/** Per chain: the last block the engine finished, written in the transaction that finished it. */
export interface CheckpointsTable {
  chain_id: number;
  block_number: bigint;
  block_hash: Hex;
  block_parent_hash: Hex;
  block_timestamp: bigint;
  /** The block produced findings whose response (playbooks) had not run when it was written. */
  response_pending: ColumnType<boolean, boolean | undefined, boolean>;
  updated_at_ms: bigint;
}

/**
 * One row per block the engine processed (by hash): how many times, and whether a reorg orphaned
 * it since. A canonical block processed exactly once has `times_processed = 1`.
 */
export interface ProcessedBlocksTable {
  chain_id: number;
  block_hash: Hex;
  block_number: bigint;
  block_parent_hash: Hex;
  block_timestamp: bigint;
  times_processed: number;
  first_processed_at_ms: bigint;
  last_processed_at_ms: bigint;
  orphaned_at_ms: bigint | null;
}

/**
 * One row per transaction an executor signed, by (chain, sender, nonce), written before it is
 * broadcast (migration 0003): the nonce manager's journal. `hashes` lists every version sent
 * under the nonce (replacements append), `mined_hash` the one that was mined.
 */
export interface ExecutorTxsTable {
  chain_id: number;
  address: Hex;
  nonce: bigint;
  /** The action the transaction belongs to; null for a nonce-gap filler. */
  action_id: string | null;
  /** Which call of the action (its target and calldata, hashed). */
  call_key: string | null;
  to_address: Hex;
  data: Hex;
  /** Wei, `numeric`: read as a decimal string. */
  value: ColumnType<string, bigint, bigint>;
  gas: ColumnType<string, bigint, bigint>;
  max_fee_per_gas: ColumnType<string, bigint, bigint>;
  max_priority_fee_per_gas: ColumnType<string, bigint, bigint>;
  hashes: Json<Hex[]>;
  /** `pending` (signed, maybe broadcast), `mined`, `superseded` (the nonce was used by another transaction), `filled` (a gap filler took the nonce). */
  status: ExecutorTxStatus;
  mined_hash: Hex | null;
  created_at_ms: bigint;
  updated_at_ms: bigint;
}

export interface Database {
  findings: FindingsTable;
  incidents: IncidentsTable;
  timeline_events: TimelineEventsTable;
  actions: ActionsTable;
  approvals: ApprovalsTable;
  detector_state: DetectorStateTable;
  checkpoints: CheckpointsTable;
  processed_blocks: ProcessedBlocksTable;
  executor_txs: ExecutorTxsTable;
  guardrail_ledger: GuardrailLedgerTable;
}

/** One row per automatic action the guardrails let through (migration 0004, `respond/guardrails.ts`). */
export interface GuardrailLedgerTable {
  action_id: string;
  chain_id: number;
  /** Chain time of the finding's block, seconds. */
  at_seconds: bigint;
  /** `param|target|asset` of every limit the action changes. */
  changes: Json<string[]>;
}
