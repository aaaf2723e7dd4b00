import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from './store';
import { warmStore } from './warm';

const TABLES = ['incidents', 'findings', 'timeline_events', 'actions', 'guardrail_ledger', 'executor_txs'];

describe('warmStore', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore({ memory: true });
  });
  afterAll(() => store.close());

  const counts = async () =>
    Object.fromEntries(
      await Promise.all(
        TABLES.map(async (t) => {
          const r = await sql<{ n: bigint }>`select count(*) as n from ${sql.table(t)}`.execute(store.db);
          return [t, Number(r.rows[0]!.n)] as const;
        }),
      ),
    );

  it('runs every statement of the response path and leaves no row behind', async () => {
    const result = await warmStore(store.db);
    expect(result).toHaveProperty('ms');
    expect(await counts()).toEqual(Object.fromEntries(TABLES.map((t) => [t, 0])));
  });

  it('can run again, and leaves the store usable', async () => {
    expect(await warmStore(store.db)).toHaveProperty('ms');
    expect(await store.listOpenIncidents()).toEqual([]);
  });

  it('reports, never throws, when the store cannot take it', async () => {
    const closed = await openStore({ memory: true });
    await closed.close();
    const result = await warmStore(closed.db);
    expect(result).toHaveProperty('error');
  });
});
