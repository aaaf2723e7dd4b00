import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isFirebreakError } from '../common/errors';
import type { Finding } from '../detectors/types';
import type { IncidentRepository } from '../incidents/manager';
import type { Incident, TimelineEvent } from '../incidents/types';
import type { ActionRepository } from '../respond/responder';
import type { ActionRecord } from '../respond/types';
import { COPY_MARKER, LOCK_FILE } from './data-folder';
import { migrateToLatest, migrations } from './migrations';
import {
  appendTimeline,
  getAction,
  getFinding,
  insertFinding,
  listTimeline,
  openStore,
  type Store,
  toJson,
  upsertIncident,
} from './store';

const BIG = 2n ** 53n + 1n; // the first integer a double cannot hold
const HASH_A = `0x${'a'.repeat(64)}` as const;
const HASH_B = `0x${'b'.repeat(64)}` as const;
const MARKET = '0x2f39d218133afab8f2b819b1066c7e434ad94e9e' as const;
const ASSET = '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2' as const;

function finding(overrides: Partial<Finding> = {}): Finding {
  return {
    id: '0xf1',
    detector: 'oracle-deviation',
    detectorInstance: 'weth-oracle',
    severity: 'critical',
    kind: 'manipulation',
    subject: { chainId: 1, protocol: 'aave-v3', market: MARKET, asset: ASSET },
    dedupeKey: 'oracle-deviation:1:weth',
    confidence: 0.93,
    title: 'WETH oracle moved 41% in one block',
    evidence: { price: '123456789012345678901234567890', deviationBps: 4100, twapStale: false },
    block: {
      number: BIG,
      hash: HASH_A,
      parentHash: HASH_B,
      timestamp: 1_700_000_000n,
      baseFeePerGas: 2n ** 70n,
    },
    ...overrides,
  };
}

function incident(overrides: Partial<Incident> = {}): Incident {
  return {
    id: 'inc-1',
    title: 'WETH oracle manipulation',
    status: 'open',
    severity: 'high',
    subject: { chainId: 1, protocol: 'aave-v3', market: MARKET, asset: ASSET },
    openedAt: 1_700_000_000_123,
    openedBlock: BIG,
    updatedAt: 1_700_000_000_456,
    ...overrides,
  };
}

function action(overrides: Partial<ActionRecord> = {}): ActionRecord {
  return {
    id: 'act-1',
    incidentId: 'inc-1',
    playbookId: 'contain-collateral',
    action: 'aave-v3.contain-collateral',
    chainId: 1,
    status: 'planned',
    txHashes: [],
    sentBlock: null,
    minedBlock: null,
    reason: null,
    createdAt: 1_700_000_001_000,
    updatedAt: 1_700_000_001_000,
    ...overrides,
  };
}

async function expectStoreError(promise: Promise<unknown>, message: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isFirebreakError(error, 'ERR_STORE'), `expected ERR_STORE, got ${String(error)}`).toBe(true);
  expect((error as Error).message).toMatch(message);
  return error as Error;
}

describe('store in memory', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore({ memory: true });
  });
  afterAll(async () => {
    await store.close();
  });

  it('is, as it is, the repository the incident manager and the responder take', () => {
    const repository: IncidentRepository & ActionRepository = store;
    expect(typeof repository.listOpenIncidents).toBe('function');
  });

  it('applies every migration on a new database, and none when run again', async () => {
    expect(store.migrated).toEqual(Object.keys(migrations));
    expect(await migrateToLatest(store.db)).toEqual({ applied: [] });
    expect(await migrateToLatest(store.db)).toEqual({ applied: [] });
  });

  it('round-trips a finding, bigint block fields included, whatever their size', async () => {
    const big = finding();
    expect(await store.insertFinding(big, null)).toBe(true);
    expect(await store.getFinding(big.id)).toStrictEqual(big);

    // A small int8 must come back as a bigint too (PGlite's default gives a number).
    const small = finding({
      id: '0xf2',
      subject: { chainId: 10 },
      evidence: {},
      block: { number: 5n, hash: HASH_B, parentHash: HASH_A, timestamp: 7n },
    });
    expect(await insertFinding(store.db, small)).toBe(true);
    const back = await getFinding(store.db, small.id);
    expect(back).toStrictEqual(small);
    expect(typeof back?.block.number).toBe('bigint');
  });

  it('inserts a finding once: a second insert with the same id is refused and changes nothing', async () => {
    const first = finding({ id: '0xf3' });
    expect(await store.insertFinding(first)).toBe(true);
    expect(await store.insertFinding({ ...first, title: 'a replica wrote this' })).toBe(false);
    expect((await store.getFinding(first.id))?.title).toBe(first.title);
  });

  it('upserts an incident and lists incidents newest first, by status', async () => {
    const a = incident();
    await store.upsertIncident(a);
    expect(await store.getIncident(a.id)).toStrictEqual(a);

    const escalated = {
      ...a,
      severity: 'critical' as const,
      status: 'contained' as const,
      updatedAt: a.updatedAt + 1,
    };
    await store.upsertIncident(escalated);
    expect(await store.getIncident(a.id)).toStrictEqual(escalated);

    const b = incident({
      id: 'inc-2',
      openedAt: a.openedAt + 10,
      openedBlock: 3n,
      subject: { chainId: 8453 },
    });
    const c = incident({ id: 'inc-3', openedAt: a.openedAt + 20, status: 'resolved' });
    await store.upsertIncident(b);
    await store.upsertIncident(c);

    expect((await store.listIncidents()).map((i) => i.id)).toEqual(['inc-3', 'inc-2', 'inc-1']);
    expect((await store.listIncidents({ limit: 1 })).map((i) => i.id)).toEqual(['inc-3']);
    expect((await store.listIncidents({ status: 'resolved' })).map((i) => i.id)).toEqual(['inc-3']);
    expect((await store.listOpenIncidents()).map((i) => i.id)).toEqual(['inc-2', 'inc-1']);
    expect(await store.getIncident('inc-2')).toStrictEqual(b);
  });

  it('keeps a timeline in the order it was appended, not by time', async () => {
    await store.upsertIncident(incident({ id: 'inc-t' }));
    const events: TimelineEvent[] = Array.from({ length: 25 }, (_, i) => ({
      incidentId: 'inc-t',
      at: 1_700_000_000_000 - i, // clocks go backwards; append order still wins
      block: i % 3 === 0 ? null : BIG + BigInt(i),
      type: i % 2 === 0 ? 'finding' : 'decision',
      summary: `event ${i}`,
      data: { i, nested: { ok: true, list: [1, 'two'] } },
    }));
    for (const event of events) await store.appendTimeline(event);
    await appendTimeline(store.db, { ...events[0]!, incidentId: 'inc-1', summary: 'another incident' });

    expect(await listTimeline(store.db, 'inc-t')).toStrictEqual(events);
    expect(await store.listTimeline('nope')).toEqual([]);
  });

  it('refuses a timeline event for an incident it does not have', async () => {
    const error = await expectStoreError(
      store.appendTimeline({
        incidentId: 'missing',
        at: 1,
        block: null,
        type: 'status',
        summary: 'x',
        data: {},
      }),
      /append timeline event failed/,
    );
    expect(error.cause).toBeDefined();
  });

  it('stores bigints inside JSON as decimal strings, and refuses what JSON cannot hold', async () => {
    await store.appendTimeline({
      incidentId: 'inc-1',
      at: 1,
      block: 1n,
      type: 'tx-sent',
      summary: 'amount as bigint',
      data: { amount: 10n ** 30n },
    });
    const last = (await store.listTimeline('inc-1')).at(-1);
    expect(last?.data).toEqual({ amount: '1000000000000000000000000000000' });
    expect(() => toJson(undefined)).toThrow(/undefined/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => toJson(cycle)).toThrow(/JSON/);
  });

  it('upserts an action record by id and reads it back', async () => {
    const planned = action();
    await store.upsertAction(planned);
    expect(await store.getAction(planned.id)).toStrictEqual(planned);

    const mined = {
      ...planned,
      status: 'mined' as const,
      txHashes: [HASH_A, HASH_B],
      sentBlock: BIG,
      minedBlock: BIG + 1n,
      reason: 'oracle deviation 41%',
      updatedAt: planned.updatedAt + 12_000,
    };
    await store.upsertAction(mined);
    expect(await getAction(store.db, planned.id)).toStrictEqual(mined);
    expect(await store.getAction('nope')).toBeUndefined();
  });

  it('gets and sets detector state per detector and key', async () => {
    expect(await store.getDetectorState('twap', 'weth')).toBeUndefined();
    await store.setDetectorState('twap', 'weth', { samples: ['1', '2'], last: 3 });
    await store.setDetectorState('twap', 'usdc', 7);
    await store.setDetectorState('other', 'weth', 'x');
    expect(await store.getDetectorState('twap', 'weth')).toEqual({ samples: ['1', '2'], last: 3 });
    await store.setDetectorState('twap', 'weth', null);
    expect(await store.getDetectorState('twap', 'weth')).toBeNull();
    expect(await store.listDetectorState('twap')).toEqual(
      new Map<string, unknown>([
        ['usdc', 7],
        ['weth', null],
      ]),
    );
  });

  it('refuses times that are not whole milliseconds', async () => {
    await expectStoreError(
      store.upsertIncident(incident({ id: 'inc-f', openedAt: 1.5 })),
      /whole milliseconds/,
    );
  });

  it('keeps a query made during someone else’s transaction out of that transaction', async () => {
    await store.upsertIncident(incident({ id: 'inc-x' }));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const rolledBack = store.db
      .transaction()
      .execute(async (trx) => {
        await upsertIncident(trx, incident({ id: 'inc-rolled-back' }));
        entered();
        await finished;
        throw new Error('roll back');
      })
      .catch((e: unknown) => e);
    await inside;
    // Issued while the transaction is open: it must wait for it, not join it.
    const outside = store.appendTimeline({
      incidentId: 'inc-x',
      at: 1,
      block: null,
      type: 'status',
      summary: 'outside',
      data: {},
    });
    finish();
    await outside;
    expect(await rolledBack).toBeInstanceOf(Error);
    expect(await store.getIncident('inc-rolled-back')).toBeUndefined();
    expect((await store.listTimeline('inc-x')).map((e) => e.summary)).toEqual(['outside']);
  });

  it('reports numAffectedRows for writes through raw Kysely', async () => {
    const result = await store.db
      .updateTable('incidents')
      .set({ title: 'renamed' })
      .where('id', 'in', ['inc-1', 'inc-2'])
      .executeTakeFirst();
    expect(result.numUpdatedRows).toBe(2n);
  });
});

describe('store in a data folder', () => {
  const roots: string[] = [];
  const newRoot = () => {
    const root = mkdtempSync(join(tmpdir(), 'firebreak-store-'));
    roots.push(root);
    return root;
  };
  afterEach(() => {
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });

  it('creates the folder, and a reopened folder keeps its data without migrating again', async () => {
    const dataDir = join(newRoot(), 'nested', 'data');
    const first = await openStore({ dataDir });
    expect(first.origin).toBe('template');
    expect(first.migrated).toEqual(Object.keys(migrations));
    await first.upsertIncident(incident());
    await first.insertFinding(finding(), 'inc-1');
    await first.appendTimeline({
      incidentId: 'inc-1',
      at: 5,
      block: BIG,
      type: 'finding',
      summary: 's',
      data: {},
    });
    await first.upsertAction(action({ sentBlock: BIG }));
    await first.setDetectorState('twap', 'weth', { n: '1' });
    await first.close();
    await first.close(); // twice is fine
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);

    const second = await openStore({ dataDir });
    try {
      expect(second.origin).toBe('existing');
      expect(second.migrated).toEqual([]);
      expect(await second.getIncident('inc-1')).toStrictEqual(incident());
      expect(await second.getFinding(finding().id)).toStrictEqual(finding());
      expect(await second.listTimeline('inc-1')).toHaveLength(1);
      expect((await second.getAction('act-1'))?.sentBlock).toBe(BIG);
      expect(await second.getDetectorState('twap', 'weth')).toEqual({ n: '1' });
      const filed = await second.db.selectFrom('findings').select('incident_id').executeTakeFirstOrThrow();
      expect(filed.incident_id).toBe('inc-1');
    } finally {
      await second.close();
    }
  });

  it('refuses a folder that another open store holds, until it is closed', async () => {
    const dataDir = join(newRoot(), 'data');
    const holder = await openStore({ dataDir });
    const error = await expectStoreError(openStore({ dataDir }), /in use by process/);
    expect((error as { retryable?: boolean }).retryable).toBe(true);
    await holder.close();
    const next = await openStore({ dataDir });
    expect(next.origin).toBe('existing');
    await next.close();
  });

  it('takes over the lock of a process that died', async () => {
    const dataDir = join(newRoot(), 'data');
    await (await openStore({ dataDir })).close();
    const { hostname } = await import('node:os');
    writeFileSync(
      join(dataDir, LOCK_FILE),
      JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), since: 'then' }),
    );
    const store = await openStore({ dataDir });
    expect(store.origin).toBe('existing');
    await store.close();
  });

  it('refuses a folder that holds files but no database', async () => {
    const dataDir = join(newRoot(), 'data');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'notes.txt'), 'mine');
    await expectStoreError(openStore({ dataDir }), /holds files but no database/);
    expect(readdirSync(dataDir)).toEqual(['notes.txt']);
  });

  it('refuses a data folder path that is a file', async () => {
    const dataDir = join(newRoot(), 'data');
    writeFileSync(dataDir, 'not a folder');
    await expectStoreError(openStore({ dataDir }), /cannot use data folder/);
  });

  it('clears a template copy that was interrupted, and makes the database again', async () => {
    const dataDir = join(newRoot(), 'data');
    mkdirSync(join(dataDir, 'base'), { recursive: true });
    writeFileSync(join(dataDir, COPY_MARKER), 'template');
    writeFileSync(join(dataDir, 'postgresql.conf'), '# half copied');
    const store = await openStore({ dataDir });
    expect(store.origin).toBe('template');
    await store.upsertIncident(incident());
    await store.close();
    expect(existsSync(join(dataDir, COPY_MARKER))).toBe(false);
  });
});
