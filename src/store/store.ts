/**
 * Store — opening the embedded database, and the typed reads and writes of the records the
 * pipeline keeps: findings (detect), incidents and their timelines (incidents), action records
 * (respond) and the detectors' remembered state.
 *
 * Viem-style: every read and write is a plain function that takes the database first, so that it
 * composes inside a transaction, and the store's methods are one-line bindings of them (so a
 * `Store` is the engine's `IncidentRepository & ActionRepository` as it is):
 *
 * ```ts
 * const store = await openStore({ dataDir: '.firebreak/data' }, common);
 * await store.upsertIncident(incident);
 * await store.db.transaction().execute(async (trx) => {
 *   if (await insertFinding(trx, finding, incident.id)) await appendTimeline(trx, event);
 * });
 * await store.close();
 * ```
 *
 * No business logic here: what to write, and when, is the caller's decision.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite, type PGliteOptions, types } from '@electric-sql/pglite';
import { Kysely, type Selectable } from 'kysely';
import { type Common, createCommon } from '../common/common';
import { describeError, FirebreakError, isFirebreakError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { BlockRef, Finding, Subject } from '../detectors/types';
import type { Incident, IncidentStatus, TimelineEvent } from '../incidents/types';
import type { Approval, ApprovalStatus } from '../respond/approvals';
import type { GuardrailEntry } from '../respond/guardrails';
import type { ActionRecord } from '../respond/types';
import {
  clearInterruptedCopy,
  type DataFolderLock,
  fillFromTemplate,
  inspectDataFolder,
  lockDataFolder,
} from './data-folder';
import { migrateToLatest } from './migrations';
import { pgliteDialect } from './pglite-dialect';
import { defaultCacheDir, ensurePGliteTemplate } from './pglite-template';
import type { Database, FindingsTable, IncidentsTable, SubjectColumns } from './schema';

/** The database handle the read and write functions take: the store's `db`, or a transaction. */
export type StoreDb = Kysely<Database>;

export interface StoreCacheOptions {
  /**
   * Where the pristine-cluster template lives (see `pglite-template.ts`); `false` always runs
   * initdb. Default: `<project>/.firebreak/cache`.
   */
  templateCache?: string | false;
}

export type OpenStoreOptions = ({ dataDir: string } | { memory: true }) & StoreCacheOptions;

/** How the database came to be: found in the folder, copied from the template, or made by initdb. */
export type StoreOrigin = 'existing' | 'template' | 'initdb';

/** The reads and writes bound to one database handle (see `storeActions`). */
export interface StoreActions {
  insertFinding(finding: Finding, incidentId?: string | null): Promise<boolean>;
  getFinding(id: string): Promise<Finding | undefined>;
  upsertIncident(incident: Incident): Promise<void>;
  getIncident(id: string): Promise<Incident | undefined>;
  listIncidents(options?: ListIncidentsOptions): Promise<Incident[]>;
  listOpenIncidents(): Promise<Incident[]>;
  appendTimeline(event: TimelineEvent): Promise<void>;
  listTimeline(incidentId: string): Promise<TimelineEvent[]>;
  upsertAction(record: ActionRecord): Promise<void>;
  getAction(id: string): Promise<ActionRecord | undefined>;
  listActions(incidentId: string): Promise<ActionRecord[]>;
  getDetectorState<T>(detectorId: string, key: string): Promise<T | undefined>;
  setDetectorState(detectorId: string, key: string, value: unknown): Promise<void>;
  listDetectorState(detectorId: string): Promise<Map<string, unknown>>;
  recordGuardrailEntry(entry: GuardrailEntry): Promise<void>;
  listGuardrailEntries(chainId: number, since: bigint): Promise<GuardrailEntry[]>;
  upsertApproval(approval: Approval): Promise<void>;
  getApproval(actionId: string): Promise<Approval | undefined>;
  listApprovals(options?: ListApprovalsOptions): Promise<Approval[]>;
}

/**
 * Binds every read and write to a database handle: the store's `db` or a transaction.
 *
 * @example await db.transaction().execute((trx) => storeActions(trx).upsertAction(record))
 */
export function storeActions(db: StoreDb): StoreActions {
  return {
    insertFinding: (finding, incidentId) => insertFinding(db, finding, incidentId),
    getFinding: (id) => getFinding(db, id),
    upsertIncident: (incident) => upsertIncident(db, incident),
    getIncident: (id) => getIncident(db, id),
    listIncidents: (options) => listIncidents(db, options),
    listOpenIncidents: () => listOpenIncidents(db),
    appendTimeline: (event) => appendTimeline(db, event),
    listTimeline: (incidentId) => listTimeline(db, incidentId),
    upsertAction: (record) => upsertAction(db, record),
    getAction: (id) => getAction(db, id),
    listActions: (incidentId) => listActions(db, incidentId),
    getDetectorState: (detectorId, key) => getDetectorState(db, detectorId, key),
    setDetectorState: (detectorId, key, value) => setDetectorState(db, detectorId, key, value),
    listDetectorState: (detectorId) => listDetectorState(db, detectorId),
    recordGuardrailEntry: (entry) => recordGuardrailEntry(db, entry),
    listGuardrailEntries: (chainId, since) => listGuardrailEntries(db, chainId, since),
    upsertApproval: (approval) => upsertApproval(db, approval),
    getApproval: (actionId) => getApproval(db, actionId),
    listApprovals: (options) => listApprovals(db, options),
  };
}

export interface Store extends StoreActions {
  readonly db: StoreDb;
  /** The absolute data folder, or `memory`. */
  readonly location: string;
  readonly origin: StoreOrigin;
  /** Migrations this open applied (empty when the schema was current). */
  readonly migrated: readonly string[];
  /** Wall time of `openStore`, migrations included, in milliseconds. */
  readonly openMs: number;
  /** Closes the database and releases the data folder. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * PGlite parses int8 as a `number` when it fits and a `bigint` when it does not (checked: 5 came
 * back as 5, 2^53+1 as 9007199254740993n). Block numbers must not change type with their size.
 */
const PGLITE_OPTIONS = {
  parsers: { [types.INT8]: (value: string) => BigInt(value) },
} satisfies PGliteOptions;

interface OpenedClient {
  client: PGlite;
  origin: StoreOrigin;
  release(): void;
}

/**
 * Opens (creating if needed) the embedded store and brings its schema up to date. A data folder is
 * created when missing and locked while open; one that holds a database is opened as it is.
 *
 * @throws FirebreakError `ERR_STORE`: the folder is in use (retryable), holds files that are not a
 * database, cannot be opened, or a migration failed.
 */
export async function openStore(options: OpenStoreOptions, common: Common = createCommon()): Promise<Store> {
  const started = common.clock.monotonic();
  const logger = common.logger.child({ module: 'store' });
  const cacheDir = options.templateCache === undefined ? defaultCacheDir() : options.templateCache;
  const location = 'dataDir' in options ? resolve(options.dataDir) : 'memory';
  const opened =
    'dataDir' in options ? await openFolder(location, cacheDir, logger) : await openMemory(cacheDir, logger);
  const db = new Kysely<Database>({ dialect: pgliteDialect(opened.client) });
  let migrated: string[];
  try {
    migrated = (await migrateToLatest(db)).applied;
  } catch (error) {
    await db.destroy().catch(() => undefined);
    opened.release();
    throw error;
  }
  const openMs = common.clock.monotonic() - started;
  logger.debug({ location, origin: opened.origin, migrated, ms: Math.round(openMs) }, 'store open');
  let closing: Promise<void> | undefined;
  return {
    ...storeActions(db),
    db,
    location,
    origin: opened.origin,
    migrated,
    openMs,
    close() {
      closing ??= db.destroy().finally(() => opened.release());
      return closing;
    },
  };
}

/**
 * The template's tarball, read once per process and path. PGlite reads `loadDataDir` only through
 * `arrayBuffer()`, and Node's `Blob.arrayBuffer()` of a 40 MB blob streams it in chunks: with the
 * file read, 120–160 ms per in-memory store (drills and tests open one per run), against 30–110 ms
 * for a copy of the bytes read once. Each open gets its own copy: PGlite owns what it is given.
 * Only `arrayBuffer()` and `type` are read (PGlite 0.5; the store tests open through this path).
 */
const tarballs = new Map<string, Uint8Array>();
function templateTarball(path: string): Blob {
  let bytes = tarballs.get(path);
  if (!bytes) {
    bytes = readFileSync(path);
    tarballs.set(path, bytes);
  }
  const copy = new Uint8Array(bytes); // a copy, with its own exactly sized buffer
  return { type: 'application/x-tar', size: copy.byteLength, arrayBuffer: async () => copy.buffer } as Blob;
}

async function openMemory(cacheDir: string | false, logger: Logger): Promise<OpenedClient> {
  const release = () => undefined;
  if (cacheDir !== false) {
    try {
      const template = await ensurePGliteTemplate(cacheDir, logger);
      const loadDataDir = templateTarball(template.tarball);
      return { client: await PGlite.create({ ...PGLITE_OPTIONS, loadDataDir }), origin: 'template', release };
    } catch (error) {
      logger.warn({ err: describeError(error) }, 'PGlite template unusable; running initdb');
    }
  }
  return { client: await createPGlite({ ...PGLITE_OPTIONS }, 'memory'), origin: 'initdb', release };
}

async function openFolder(dir: string, cacheDir: string | false, logger: Logger): Promise<OpenedClient> {
  let lock: DataFolderLock;
  try {
    lock = lockDataFolder(dir);
  } catch (error) {
    throw asStoreError(error, `cannot use data folder ${dir}`);
  }
  try {
    let state = inspectDataFolder(dir);
    if (state === 'foreign') {
      throw new FirebreakError(
        'ERR_STORE',
        `data folder ${dir} holds files but no database; give an empty or new folder, or the folder of an existing store`,
        { details: { dataDir: dir } },
      );
    }
    if (state === 'interrupted-copy') {
      logger.warn({ dataDir: dir }, 'clearing an unfinished template copy');
      clearInterruptedCopy(dir);
      state = 'empty';
    }
    let origin: StoreOrigin = state === 'database' ? 'existing' : 'initdb';
    if (state === 'empty' && cacheDir !== false) {
      try {
        fillFromTemplate(dir, (await ensurePGliteTemplate(cacheDir, logger)).dir);
        origin = 'template';
      } catch (error) {
        logger.warn({ err: describeError(error) }, 'PGlite template unusable; running initdb');
        if (inspectDataFolder(dir) === 'interrupted-copy') clearInterruptedCopy(dir);
      }
    }
    const client = await createPGlite({ ...PGLITE_OPTIONS, dataDir: dir }, dir);
    return { client, origin, release: () => lock.release() };
  } catch (error) {
    lock.release();
    throw asStoreError(error, `cannot use data folder ${dir}`);
  }
}

function asStoreError(error: unknown, context: string): FirebreakError {
  if (isFirebreakError(error)) return error;
  return new FirebreakError('ERR_STORE', `${context}: ${describeError(error)}`, { cause: error });
}

async function createPGlite(options: PGliteOptions, location: string): Promise<PGlite> {
  try {
    return await PGlite.create(options);
  } catch (error) {
    throw new FirebreakError(
      'ERR_STORE',
      `cannot open the PGlite database at ${location}: ${describeError(error)}`,
      {
        cause: error,
        details: { location },
      },
    );
  }
}

// ── findings ─────────────────────────────────────────────────────────────────────────────────────

/**
 * Records a finding, filed under an incident (stored first) when there is one, unless a finding
 * with its id is already stored: ids are deterministic, so replicas and replays write the same
 * finding more than once. The first write wins, incident included, except over a finding that was
 * retracted (its block orphaned, then canonical again): that one is restored, under `incidentId`.
 *
 * @returns `true` when the finding is new (or restored), `false` when it was already there.
 */
export function insertFinding(
  db: StoreDb,
  finding: Finding,
  incidentId: string | null = null,
): Promise<boolean> {
  return guard('insert finding', async () => {
    const inserted = await db
      .insertInto('findings')
      .values({
        id: finding.id,
        incident_id: incidentId,
        detector: finding.detector,
        detector_instance: finding.detectorInstance,
        severity: finding.severity,
        kind: finding.kind,
        ...subjectColumns(finding.subject),
        dedupe_key: finding.dedupeKey,
        confidence: finding.confidence,
        title: finding.title,
        evidence: toJson(finding.evidence),
        block_number: finding.block.number,
        block_hash: finding.block.hash,
        block_parent_hash: finding.block.parentHash,
        block_timestamp: finding.block.timestamp,
        block_base_fee: finding.block.baseFeePerGas ?? null,
      })
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet({
            retracted_at_ms: null,
            retracted_by: null,
            incident_id: (eb) => eb.ref('excluded.incident_id'),
          })
          .where('findings.retracted_at_ms', 'is not', null),
      )
      .returning('id')
      .execute();
    return inserted.length > 0;
  });
}

export function getFinding(db: StoreDb, id: string): Promise<Finding | undefined> {
  return guard('get finding', async () => {
    const row = await db.selectFrom('findings').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : findingFromRow(row);
  });
}

/** The finding a `findings` row holds (its incident and retraction are columns of the row). */
export function findingFromRow(row: Selectable<FindingsTable>): Finding {
  const block: BlockRef = {
    number: row.block_number,
    hash: row.block_hash,
    parentHash: row.block_parent_hash,
    timestamp: row.block_timestamp,
  };
  if (row.block_base_fee !== null) block.baseFeePerGas = BigInt(row.block_base_fee);
  return {
    id: row.id,
    detector: row.detector,
    detectorInstance: row.detector_instance,
    severity: row.severity,
    kind: row.kind,
    subject: subjectFromColumns(row),
    dedupeKey: row.dedupe_key,
    confidence: row.confidence,
    title: row.title,
    evidence: row.evidence,
    block,
  };
}

// ── incidents ────────────────────────────────────────────────────────────────────────────────────

/** Inserts the incident, or replaces every field of the stored one with the same id. */
export function upsertIncident(db: StoreDb, incident: Incident): Promise<void> {
  return guard('upsert incident', async () => {
    const fields = {
      title: incident.title,
      status: incident.status,
      severity: incident.severity,
      ...subjectColumns(incident.subject),
      opened_at_ms: msColumn(incident.openedAt),
      opened_block: incident.openedBlock,
      updated_at_ms: msColumn(incident.updatedAt),
    };
    await db
      .insertInto('incidents')
      .values({ id: incident.id, ...fields })
      .onConflict((oc) => oc.column('id').doUpdateSet(fields))
      .execute();
  });
}

export function getIncident(db: StoreDb, id: string): Promise<Incident | undefined> {
  return guard('get incident', async () => {
    const row = await db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : incidentFromRow(row);
  });
}

export interface ListIncidentsOptions {
  status?: IncidentStatus | readonly IncidentStatus[];
  limit?: number;
}

/** Incidents, most recently opened first, optionally only those in the given status(es). */
export function listIncidents(db: StoreDb, options: ListIncidentsOptions = {}): Promise<Incident[]> {
  return guard('list incidents', async () => {
    let query = db.selectFrom('incidents').selectAll().orderBy('opened_at_ms', 'desc').orderBy('id');
    if (options.status !== undefined) {
      const statuses: readonly IncidentStatus[] =
        typeof options.status === 'string' ? [options.status] : options.status;
      if (statuses.length === 0) return [];
      query = query.where('status', 'in', statuses);
    }
    if (options.limit !== undefined) query = query.limit(options.limit);
    return (await query.execute()).map(incidentFromRow);
  });
}

/** Incidents not yet resolved (open or contained), most recently opened first. */
export function listOpenIncidents(db: StoreDb): Promise<Incident[]> {
  return listIncidents(db, { status: ['open', 'contained'] });
}

function incidentFromRow(row: Selectable<IncidentsTable>): Incident {
  return {
    id: row.id,
    title: row.title,
    status: row.status,
    severity: row.severity,
    subject: subjectFromColumns(row),
    openedAt: Number(row.opened_at_ms),
    openedBlock: row.opened_block,
    updatedAt: Number(row.updated_at_ms),
  };
}

// ── timeline ─────────────────────────────────────────────────────────────────────────────────────

/**
 * Appends an event to its incident's timeline (the incident must be stored first). Append-only:
 * the same event appended twice is there twice.
 */
export function appendTimeline(db: StoreDb, event: TimelineEvent): Promise<void> {
  return guard('append timeline event', async () => {
    await db
      .insertInto('timeline_events')
      .values({
        incident_id: event.incidentId,
        at_ms: msColumn(event.at),
        block_number: event.block,
        type: event.type,
        summary: event.summary,
        data: toJson(event.data),
      })
      .execute();
  });
}

/** An incident's timeline in the order it was appended. */
export function listTimeline(db: StoreDb, incidentId: string): Promise<TimelineEvent[]> {
  return guard('list timeline', async () => {
    const rows = await db
      .selectFrom('timeline_events')
      .selectAll()
      .where('incident_id', '=', incidentId)
      .orderBy('seq')
      .execute();
    return rows.map((row) => ({
      incidentId: row.incident_id,
      at: Number(row.at_ms),
      block: row.block_number,
      type: row.type,
      summary: row.summary,
      data: row.data,
    }));
  });
}

// ── actions ──────────────────────────────────────────────────────────────────────────────────────

/** Inserts the action record, or replaces every field of the stored one with the same id. */
export function upsertAction(db: StoreDb, record: ActionRecord): Promise<void> {
  return guard('upsert action', async () => {
    const fields = {
      incident_id: record.incidentId,
      playbook_id: record.playbookId,
      action: record.action,
      chain_id: record.chainId,
      status: record.status,
      tx_hashes: toJson(record.txHashes),
      sent_block: record.sentBlock,
      mined_block: record.minedBlock,
      reason: record.reason,
      created_at_ms: msColumn(record.createdAt),
      updated_at_ms: msColumn(record.updatedAt),
    };
    await db
      .insertInto('actions')
      .values({ id: record.id, ...fields })
      .onConflict((oc) => oc.column('id').doUpdateSet(fields))
      .execute();
  });
}

type ActionRow = Selectable<Database['actions']>;

function actionFromRow(row: ActionRow): ActionRecord {
  return {
    id: row.id,
    incidentId: row.incident_id,
    playbookId: row.playbook_id,
    action: row.action,
    chainId: row.chain_id,
    status: row.status,
    txHashes: row.tx_hashes,
    sentBlock: row.sent_block,
    minedBlock: row.mined_block,
    reason: row.reason,
    createdAt: Number(row.created_at_ms),
    updatedAt: Number(row.updated_at_ms),
  };
}

export function getAction(db: StoreDb, id: string): Promise<ActionRecord | undefined> {
  return guard('get action', async () => {
    const row = await db.selectFrom('actions').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : actionFromRow(row);
  });
}

/** An incident's actions, oldest first. */
export function listActions(db: StoreDb, incidentId: string): Promise<ActionRecord[]> {
  return guard('list actions', async () => {
    const rows = await db
      .selectFrom('actions')
      .selectAll()
      .where('incident_id', '=', incidentId)
      .orderBy('created_at_ms')
      .orderBy('id')
      .execute();
    return rows.map(actionFromRow);
  });
}

// ── guardrail ledger ─────────────────────────────────────────────────────────────────────────────

/** Inserts the guardrails' entry of an automatic action, or replaces the one of the same action. */
export function recordGuardrailEntry(db: StoreDb, entry: GuardrailEntry): Promise<void> {
  return guard('record guardrail entry', async () => {
    const fields = { chain_id: entry.chainId, at_seconds: entry.at, changes: toJson(entry.changes) };
    await db
      .insertInto('guardrail_ledger')
      .values({ action_id: entry.actionId, ...fields })
      .onConflict((oc) => oc.column('action_id').doUpdateSet(fields))
      .execute();
  });
}

/** A chain's guardrail entries at or after `since` (chain seconds), oldest first. */
export function listGuardrailEntries(db: StoreDb, chainId: number, since: bigint): Promise<GuardrailEntry[]> {
  return guard('list guardrail entries', async () => {
    const rows = await db
      .selectFrom('guardrail_ledger')
      .selectAll()
      .where('chain_id', '=', chainId)
      .where('at_seconds', '>=', since)
      .orderBy('at_seconds')
      .execute();
    return rows.map((r) => ({
      actionId: r.action_id,
      chainId: r.chain_id,
      at: BigInt(r.at_seconds),
      changes: r.changes,
    }));
  });
}

// ── approvals ────────────────────────────────────────────────────────────────────────────────────

/** Inserts the approval, or replaces every field of the stored one of the same action. */
export function upsertApproval(db: StoreDb, approval: Approval): Promise<void> {
  return guard('upsert approval', async () => {
    const fields = {
      incident_id: approval.incidentId,
      chain_id: approval.chainId,
      kind: approval.kind,
      status: approval.status,
      deadline_ms: approval.deadline === null ? null : msColumn(approval.deadline),
      request: toJson(approval.request),
      signatures: toJson(approval.signatures),
      decided_by: approval.decidedBy,
      decided_at_ms: approval.decidedAt === null ? null : msColumn(approval.decidedAt),
      reason: approval.reason,
      created_at_ms: msColumn(approval.createdAt),
      updated_at_ms: msColumn(approval.updatedAt),
    };
    await db
      .insertInto('approvals')
      .values({ action_id: approval.actionId, ...fields })
      .onConflict((oc) => oc.column('action_id').doUpdateSet(fields))
      .execute();
  });
}

function approvalFromRow(row: Selectable<Database['approvals']>): Approval {
  return {
    actionId: row.action_id,
    incidentId: row.incident_id,
    chainId: row.chain_id,
    kind: row.kind,
    status: row.status,
    deadline: row.deadline_ms === null ? null : Number(row.deadline_ms),
    request: row.request,
    signatures: row.signatures,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at_ms === null ? null : Number(row.decided_at_ms),
    reason: row.reason,
    createdAt: Number(row.created_at_ms),
    updatedAt: Number(row.updated_at_ms),
  };
}

export function getApproval(db: StoreDb, actionId: string): Promise<Approval | undefined> {
  return guard('get approval', async () => {
    const row = await db
      .selectFrom('approvals')
      .selectAll()
      .where('action_id', '=', actionId)
      .executeTakeFirst();
    return row === undefined ? undefined : approvalFromRow(row);
  });
}

export interface ListApprovalsOptions {
  status?: ApprovalStatus;
  limit?: number;
}

/** Approvals, most recently updated first, optionally only those in one status. */
export function listApprovals(db: StoreDb, options: ListApprovalsOptions = {}): Promise<Approval[]> {
  return guard('list approvals', async () => {
    let query = db.selectFrom('approvals').selectAll().orderBy('updated_at_ms', 'desc').orderBy('action_id');
    if (options.status !== undefined) query = query.where('status', '=', options.status);
    if (options.limit !== undefined) query = query.limit(options.limit);
    return (await query.execute()).map(approvalFromRow);
  });
}

// ── detector state ───────────────────────────────────────────────────────────────────────────────

/** A detector's remembered value, or `undefined`. Values are JSON: see `toJson`. */
export function getDetectorState<T>(db: StoreDb, detectorId: string, key: string): Promise<T | undefined> {
  return guard('get detector state', async () => {
    const row = await db
      .selectFrom('detector_state')
      .select('value')
      .where('detector_id', '=', detectorId)
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value as T | undefined;
  });
}

export function setDetectorState(
  db: StoreDb,
  detectorId: string,
  key: string,
  value: unknown,
): Promise<void> {
  return guard('set detector state', async () => {
    const json = toJson(value);
    await db
      .insertInto('detector_state')
      .values({ detector_id: detectorId, key, value: json })
      .onConflict((oc) => oc.columns(['detector_id', 'key']).doUpdateSet({ value: json }))
      .execute();
  });
}

/** Everything a detector remembers, to load into its in-memory `ctx.state` at start. */
export function listDetectorState(db: StoreDb, detectorId: string): Promise<Map<string, unknown>> {
  return guard('list detector state', async () => {
    const rows = await db
      .selectFrom('detector_state')
      .select(['key', 'value'])
      .where('detector_id', '=', detectorId)
      .orderBy('key')
      .execute();
    return new Map(rows.map((row) => [row.key, row.value]));
  });
}

// ── conversions ──────────────────────────────────────────────────────────────────────────────────

/**
 * Serialises a value for a jsonb column. A bigint becomes its decimal string (the convention for
 * amounts), so it reads back as a string; `undefined` and cycles are refused. Note that jsonb
 * does not keep object key order.
 */
export function toJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch (error) {
    throw new FirebreakError('ERR_STORE', `cannot store a value as JSON: ${describeError(error)}`, {
      cause: error,
    });
  }
  if (text === undefined) throw new FirebreakError('ERR_STORE', 'cannot store undefined as JSON');
  return text;
}

export function msColumn(ms: number): bigint {
  if (!Number.isSafeInteger(ms)) {
    throw new FirebreakError('ERR_STORE', `a time must be whole milliseconds, got ${ms}`);
  }
  return BigInt(ms);
}

function subjectColumns(subject: Subject): SubjectColumns {
  return {
    chain_id: subject.chainId,
    protocol: subject.protocol ?? null,
    market: subject.market ?? null,
    asset: subject.asset ?? null,
    account: subject.account ?? null,
  };
}

function subjectFromColumns(row: SubjectColumns): Subject {
  const subject: Subject = { chainId: row.chain_id };
  if (row.protocol !== null) subject.protocol = row.protocol;
  if (row.market !== null) subject.market = row.market;
  if (row.asset !== null) subject.asset = row.asset;
  if (row.account !== null) subject.account = row.account;
  return subject;
}

/** PostgreSQL error classes after which the same statement may well succeed. */
const RETRYABLE_SQLSTATE = /^(08|40001|40P01|53|57P0[123])/;

/** Runs a store operation, turning a driver error into `ERR_STORE` (retryable when the SQLSTATE says so). */
export async function guard<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isFirebreakError(error)) throw error;
    const sqlstate = (error as { code?: unknown } | null)?.code;
    throw new FirebreakError('ERR_STORE', `store: ${what} failed: ${describeError(error)}`, {
      cause: error,
      retryable: typeof sqlstate === 'string' && RETRYABLE_SQLSTATE.test(sqlstate),
      details: { operation: what, ...(typeof sqlstate === 'string' ? { sqlstate } : {}) },
    });
  }
}
