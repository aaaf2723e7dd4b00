/**
 * Store — the Kysely dialect for the embedded PGlite database.
 *
 * PGlite is one Postgres session. A Kysely transaction is `BEGIN` … `COMMIT` on that session, so
 * any query issued meanwhile from elsewhere in the process would run inside the transaction (and
 * vanish with its rollback). This driver hands the session out under a mutex, as Kysely's own
 * SQLite driver does: a transaction holds it from `BEGIN` to `COMMIT`, other queries wait.
 *
 * We do not use `kysely-pglite`'s dialect: its driver has no such lock (checked: a concurrent
 * insert was rolled back with someone else's transaction), it drops `numAffectedRows`, and
 * importing the package costs ~0.5 s (it pulls its codegen CLI).
 *
 * Inside `db.transaction().execute(async (trx) => …)` use `trx`, never the outer `db`: the outer
 * handle waits for the lock that the transaction holds, forever.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

const WRITE_COMMANDS: ReadonlySet<string> = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** A Kysely dialect over one PGlite instance. `db.destroy()` closes the PGlite instance. */
export function pgliteDialect(client: PGlite): Dialect {
  return {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => createPGliteDriver(client),
    createIntrospector: (db: Kysely<unknown>) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  };
}

function createPGliteDriver(client: PGlite): Driver {
  const mutex = createMutex();
  const connection: DatabaseConnection = {
    async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
      const result = await client.query<R>(compiled.sql, [...compiled.parameters]);
      // PGlite runs in this thread and its queries resolve as microtasks: statements would run back
      // to back without letting the event loop take I/O. A turn of the loop after each statement
      // lets answers that arrived meanwhile (a chain node's, the response's simulation) be handled
      // while a block's findings and the response's records are being written. Work that must not
      // wait for the loop (a quiet block's checkpoint, on the live path) runs `withoutYielding`.
      if (!unhurried.getStore()) await yieldToIo();
      if (result.command !== undefined && WRITE_COMMANDS.has(result.command)) {
        const count = result.rowCount ?? result.affectedRows ?? 0;
        return { rows: result.rows, numAffectedRows: BigInt(count) };
      }
      return { rows: result.rows };
    },
    // biome-ignore lint/correctness/useYield: PGlite cannot stream; this only refuses.
    async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
      throw new Error('PGlite does not support streaming queries');
    },
  };
  return {
    async init() {},
    async acquireConnection() {
      await mutex.lock();
      return connection;
    },
    async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings) {
      const sql = settings.isolationLevel
        ? `start transaction isolation level ${settings.isolationLevel}`
        : 'begin';
      await conn.executeQuery(CompiledQuery.raw(sql));
    },
    async commitTransaction(conn: DatabaseConnection) {
      await conn.executeQuery(CompiledQuery.raw('commit'));
    },
    async rollbackTransaction(conn: DatabaseConnection) {
      await conn.executeQuery(CompiledQuery.raw('rollback'));
    },
    async releaseConnection() {
      mutex.unlock();
    },
    async destroy() {
      // Let the holder (a transaction, a query) finish before the database goes away.
      await mutex.lock();
      try {
        if (!client.closed) await client.close();
      } finally {
        mutex.unlock();
      }
    },
  };
}

const unhurried = new AsyncLocalStorage<true>();

/** Runs `work` with its statements not waiting a turn of the event loop after each (see the driver). */
export function withoutYielding<T>(work: () => Promise<T>): Promise<T> {
  return unhurried.run(true, work);
}

/** Resolves after the event loop has polled for I/O once. */
function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface Mutex {
  lock(): Promise<void>;
  unlock(): void;
}

/** A FIFO lock: `lock()` resolves once every earlier holder has called `unlock()`. */
function createMutex(): Mutex {
  let tail: Promise<void> = Promise.resolve();
  const releases: Array<() => void> = [];
  return {
    lock() {
      const previous = tail;
      let release!: () => void;
      tail = new Promise<void>((resolve) => {
        release = resolve;
      });
      releases.push(release);
      return previous;
    },
    unlock() {
      releases.shift()?.();
    },
  };
}
