/**
 * Store — schema migrations, in code, numbered, forward only.
 *
 * One SQL dialect (PostgreSQL) for both stores: the same list runs on embedded PGlite and, through
 * Kysely's `PostgresDialect`, on a PostgreSQL server. Kysely's `Migrator` records what ran in
 * `firebreak_migration` and takes a lock while it runs, so running them again (every open does)
 * is a no-op and two processes cannot apply them at once. Add a migration by appending a new
 * number; never edit one that has shipped.
 */
import { type Kysely, type Migration, type MigrationResultSet, Migrator, sql } from 'kysely';
import { describeError, FirebreakError } from '../common/errors';
import type { Database } from './schema';

export const MIGRATION_TABLE = 'firebreak_migration';
export const MIGRATION_LOCK_TABLE = 'firebreak_migration_lock';

/** Every migration, by name; names sort in the order they run. */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('incidents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('chain_id', 'int4', (c) => c.notNull())
        .addColumn('protocol', 'text')
        .addColumn('market', 'text')
        .addColumn('asset', 'text')
        .addColumn('account', 'text')
        .addColumn('opened_at_ms', 'int8', (c) => c.notNull())
        .addColumn('opened_block', 'int8', (c) => c.notNull())
        .addColumn('updated_at_ms', 'int8', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('incidents_status_opened_idx')
        .on('incidents')
        .columns(['status', 'opened_at_ms'])
        .execute();

      await db.schema
        .createTable('findings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('incident_id', 'text', (c) => c.references('incidents.id').onDelete('set null'))
        .addColumn('detector', 'text', (c) => c.notNull())
        .addColumn('detector_instance', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('chain_id', 'int4', (c) => c.notNull())
        .addColumn('protocol', 'text')
        .addColumn('market', 'text')
        .addColumn('asset', 'text')
        .addColumn('account', 'text')
        .addColumn('dedupe_key', 'text', (c) => c.notNull())
        .addColumn('confidence', 'float8', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('evidence', 'jsonb', (c) => c.notNull())
        .addColumn('block_number', 'int8', (c) => c.notNull())
        .addColumn('block_hash', 'text', (c) => c.notNull())
        .addColumn('block_parent_hash', 'text', (c) => c.notNull())
        .addColumn('block_timestamp', 'int8', (c) => c.notNull())
        .addColumn('block_base_fee', 'numeric')
        .execute();
      await db.schema.createIndex('findings_incident_idx').on('findings').column('incident_id').execute();
      await db.schema.createIndex('findings_dedupe_key_idx').on('findings').column('dedupe_key').execute();
      await db.schema
        .createIndex('findings_chain_block_idx')
        .on('findings')
        .columns(['chain_id', 'block_number'])
        .execute();

      await db.schema
        .createTable('timeline_events')
        .addColumn('seq', 'int8', (c) => c.generatedAlwaysAsIdentity().primaryKey())
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
        .addColumn('at_ms', 'int8', (c) => c.notNull())
        .addColumn('block_number', 'int8')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('data', 'jsonb', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('timeline_events_incident_seq_idx')
        .on('timeline_events')
        .columns(['incident_id', 'seq'])
        .execute();

      await db.schema
        .createTable('actions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
        .addColumn('playbook_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('chain_id', 'int4', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('tx_hashes', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
        .addColumn('sent_block', 'int8')
        .addColumn('mined_block', 'int8')
        .addColumn('reason', 'text')
        .addColumn('created_at_ms', 'int8', (c) => c.notNull())
        .addColumn('updated_at_ms', 'int8', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('actions_incident_idx').on('actions').column('incident_id').execute();

      await db.schema
        .createTable('detector_state')
        .addColumn('detector_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'jsonb', (c) => c.notNull())
        .addPrimaryKeyConstraint('detector_state_pkey', ['detector_id', 'key'])
        .execute();
    },
  },
  /**
   * Ingestion (the Watch issue): a checkpoint per chain, a row per processed block with how many
   * times it was processed (written in the same transaction as the block's findings), and findings
   * retracted when their block is orphaned by a reorg.
   */
  '0002_ingestion': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('checkpoints')
        .addColumn('chain_id', 'int4', (c) => c.primaryKey())
        .addColumn('block_number', 'int8', (c) => c.notNull())
        .addColumn('block_hash', 'text', (c) => c.notNull())
        .addColumn('block_parent_hash', 'text', (c) => c.notNull())
        .addColumn('block_timestamp', 'int8', (c) => c.notNull())
        .addColumn('response_pending', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('updated_at_ms', 'int8', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('processed_blocks')
        .addColumn('chain_id', 'int4', (c) => c.notNull())
        .addColumn('block_hash', 'text', (c) => c.notNull())
        .addColumn('block_number', 'int8', (c) => c.notNull())
        .addColumn('block_parent_hash', 'text', (c) => c.notNull())
        .addColumn('block_timestamp', 'int8', (c) => c.notNull())
        .addColumn('times_processed', 'int4', (c) => c.notNull())
        .addColumn('first_processed_at_ms', 'int8', (c) => c.notNull())
        .addColumn('last_processed_at_ms', 'int8', (c) => c.notNull())
        .addColumn('orphaned_at_ms', 'int8')
        .addPrimaryKeyConstraint('processed_blocks_pkey', ['chain_id', 'block_hash'])
        .execute();
      await db.schema
        .createIndex('processed_blocks_chain_number_idx')
        .on('processed_blocks')
        .columns(['chain_id', 'block_number'])
        .execute();

      await db.schema.alterTable('findings').addColumn('retracted_at_ms', 'int8').execute();
      await db.schema.alterTable('findings').addColumn('retracted_by', 'text').execute();
      await db.schema
        .createIndex('findings_chain_block_hash_idx')
        .on('findings')
        .columns(['chain_id', 'block_hash'])
        .execute();
    },
  },
  /**
   * Sending (the Respond issue): every transaction an executor signed, by (chain, sender, nonce),
   * written before it is broadcast: the nonce manager's memory across restarts (which nonces are
   * taken, by which action's call, at which fees, under which hashes).
   */
  '0003_executor_txs': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('executor_txs')
        .addColumn('chain_id', 'int4', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('nonce', 'int8', (c) => c.notNull())
        .addColumn('action_id', 'text')
        .addColumn('call_key', 'text')
        .addColumn('to_address', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('value', 'numeric', (c) => c.notNull())
        .addColumn('gas', 'numeric', (c) => c.notNull())
        .addColumn('max_fee_per_gas', 'numeric', (c) => c.notNull())
        .addColumn('max_priority_fee_per_gas', 'numeric', (c) => c.notNull())
        .addColumn('hashes', 'jsonb', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('mined_hash', 'text')
        .addColumn('created_at_ms', 'int8', (c) => c.notNull())
        .addColumn('updated_at_ms', 'int8', (c) => c.notNull())
        .addPrimaryKeyConstraint('executor_txs_pkey', ['chain_id', 'address', 'nonce'])
        .execute();
      await db.schema
        .createIndex('executor_txs_action_idx')
        .on('executor_txs')
        .columns(['chain_id', 'address', 'action_id'])
        .execute();
    },
  },
  /**
   * Guardrails (the Respond issue): one row per automatic action the guardrails let through, with
   * its chain time and the parameters it changes: the memory of the minimum delays between changes
   * and of the rate limit, across restarts.
   */
  '0004_guardrail_ledger': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('guardrail_ledger')
        .addColumn('action_id', 'text', (c) => c.primaryKey())
        .addColumn('chain_id', 'int4', (c) => c.notNull())
        .addColumn('at_seconds', 'int8', (c) => c.notNull())
        .addColumn('changes', 'jsonb', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('guardrail_ledger_chain_at_idx')
        .on('guardrail_ledger')
        .columns(['chain_id', 'at_seconds'])
        .execute();
    },
  },
  /**
   * Approvals (the Respond issue): one row per action that waits for people, an `approve` step
   * waiting for a decision or a Safe transaction waiting for owners' signatures, with its deadline,
   * what to sign, the signatures collected (never a key) and who decided.
   */
  '0005_approvals': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('approvals')
        .addColumn('action_id', 'text', (c) => c.primaryKey())
        .addColumn('incident_id', 'text', (c) => c.notNull())
        .addColumn('chain_id', 'int4', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('deadline_ms', 'int8')
        .addColumn('request', 'jsonb', (c) => c.notNull())
        .addColumn('signatures', 'jsonb', (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at_ms', 'int8')
        .addColumn('reason', 'text')
        .addColumn('created_at_ms', 'int8', (c) => c.notNull())
        .addColumn('updated_at_ms', 'int8', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('approvals_status_idx').on('approvals').column('status').execute();
    },
  },
};

export interface MigrateResult {
  /** The migrations this call applied, in order; empty when the schema was already current. */
  applied: string[];
}

/** A Kysely `Migrator` over Firebreak's migrations. */
export function createMigrator(db: Kysely<Database>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...migrations }) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
}

/**
 * Brings the schema up to date. Safe to call on every open: what already ran is skipped.
 *
 * @throws FirebreakError `ERR_STORE` when a migration fails (nothing of it is kept: PostgreSQL
 * runs them in one transaction) or when the database holds migrations this build does not know,
 * i.e. a newer Firebreak wrote it.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<MigrateResult> {
  let outcome: MigrationResultSet;
  try {
    outcome = await createMigrator(db).migrateToLatest();
  } catch (error) {
    throw migrationError(error, undefined);
  }
  const results = outcome.results ?? [];
  if (outcome.error !== undefined) {
    throw migrationError(outcome.error, results.find((r) => r.status === 'Error')?.migrationName);
  }
  return { applied: results.filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

function migrationError(cause: unknown, migration: string | undefined): FirebreakError {
  const message = describeError(cause);
  const newer = /previously executed migration .* is missing/.test(message);
  return new FirebreakError(
    'ERR_STORE',
    newer
      ? `the database was written by a newer Firebreak (${message}); upgrade Firebreak or use another data folder`
      : `store migration${migration === undefined ? 's' : ` ${migration}`} failed: ${message}`,
    { cause, details: { migration: migration ?? null, known: Object.keys(migrations) } },
  );
}
