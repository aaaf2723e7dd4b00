import type { Hex } from 'viem';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../common/common';
import { makeFinding } from '../detectors/finding';
import type { Finding, FindingKind, Severity } from '../detectors/types';
import { openStore, type Store, storeActions } from '../store/store';
import { createIncidentManager, subjectKey } from './manager';

const MARKET: Hex = '0x00000000000000000000000000000000000000aa';
const INV: Hex = '0x00000000000000000000000000000000000000c1';
const WETH: Hex = '0x00000000000000000000000000000000000000c2';

/** Wall time advances 1 s per reading, so every write has its own time. */
function steppingClock(start = 1_700_000_000_000): Clock {
  let t = start;
  return { now: () => (t += 1000), monotonic: () => t };
}

interface FindingInput {
  block?: bigint;
  asset?: Hex;
  severity?: Severity;
  kind?: FindingKind;
  instance?: string;
  title?: string;
}

function finding(input: FindingInput = {}): Finding {
  const {
    block = 100n,
    asset = INV,
    severity = 'high',
    kind = 'manipulation',
    instance = 'inv-oracle',
  } = input;
  return makeFinding({
    detector: 'oracle-deviation',
    detectorInstance: instance,
    severity,
    kind,
    subject: { chainId: 1, protocol: 'aave-v3', market: MARKET, asset },
    dedupeKey: `${instance}:1:${MARKET}:${asset}`,
    confidence: 0.9,
    title: input.title ?? `${severity} deviation at block ${block}`,
    evidence: { deviationBps: 5000 },
    block: {
      number: block,
      hash: `0x${block.toString(16).padStart(64, '0')}`,
      parentHash: `0x${(block - 1n).toString(16).padStart(64, '0')}`,
      timestamp: 1_648_890_000n + block * 12n,
    },
  });
}

const incidentOfFinding = async (store: Store, id: string) =>
  (await store.db.selectFrom('findings').select('incident_id').where('id', '=', id).executeTakeFirst())
    ?.incident_id;

describe('incident manager (on a real store)', () => {
  // One real store for the file, emptied before each test (opening one takes about half a second).
  let store: Store;
  beforeAll(async () => {
    store = await openStore({ memory: true });
  });
  beforeEach(async () => {
    for (const table of ['timeline_events', 'actions', 'findings', 'incidents', 'detector_state'] as const)
      await store.db.deleteFrom(table).execute();
  });
  afterAll(async () => {
    await store.close();
  });

  it('opens an incident for the first finding about a subject and files the finding under it', async () => {
    const manager = await createIncidentManager(store, steppingClock());
    const f = finding({ block: 100n, severity: 'high', title: 'INV oracle 1.5× its reference' });
    const [r] = await manager.ingest([f]);
    expect(r?.escalated).toBe(true);
    expect(r?.finding).toBe(f);
    const incident = r!.incident;
    expect(incident).toMatchObject({
      title: 'INV oracle 1.5× its reference',
      status: 'open',
      severity: 'high',
      subject: f.subject,
      openedBlock: 100n,
    });
    expect(incident.id).toMatch(/^0x[0-9a-f]{16}$/);
    expect(await store.getIncident(incident.id)).toEqual(incident);
    expect(manager.get(incident.id)).toEqual(incident);
    expect(await incidentOfFinding(store, f.id)).toBe(incident.id);
    const timeline = await manager.timeline(incident.id);
    expect(timeline.map((e) => [e.type, e.block, e.summary])).toEqual([
      ['finding', 100n, 'HIGH oracle-deviation: INV oracle 1.5× its reference'],
    ]);
    expect(timeline[0]?.data).toEqual({
      findingId: f.id,
      detector: 'oracle-deviation',
      dedupeKey: f.dedupeKey,
      severity: 'high',
      evidence: { deviationBps: 5000 },
    });
  });

  it('joins findings about the same subject into one incident, across detectors and blocks', async () => {
    const manager = await createIncidentManager(store, steppingClock());
    const a = finding({ block: 100n, instance: 'inv-oracle' });
    const b = finding({ block: 100n, instance: 'inv-oracle-backup' });
    const c = finding({ block: 101n, instance: 'inv-oracle' });
    const results = [...(await manager.ingest([a, b])), ...(await manager.ingest([c]))];
    const ids = new Set(results.map((r) => r.incident.id));
    expect(ids.size).toBe(1);
    expect(results.map((r) => r.escalated)).toEqual([true, false, false]);
    expect(await store.listIncidents()).toHaveLength(1);
    const [id] = [...ids];
    for (const f of [a, b, c]) expect(await incidentOfFinding(store, f.id)).toBe(id);
  });

  it('opens another incident for another asset', async () => {
    const manager = await createIncidentManager(store, steppingClock());
    const [inv, weth] = await manager.ingest([finding({ asset: INV }), finding({ asset: WETH })]);
    expect(inv?.incident.id).not.toBe(weth?.incident.id);
    expect(weth?.escalated).toBe(true);
    expect(weth?.incident.subject.asset).toBe(WETH);
    const stored = await store.listIncidents();
    expect(stored.map((i) => i.subject.asset).sort()).toEqual([INV, WETH].sort());
  });

  it('raises the incident severity and title when a more severe finding joins it', async () => {
    const manager = await createIncidentManager(store, steppingClock());
    const [first] = await manager.ingest([finding({ block: 100n, severity: 'high', title: 'drifting' })]);
    const [second] = await manager.ingest([
      finding({ block: 101n, severity: 'critical', title: 'INV oracle 56× its reference' }),
    ]);
    expect(second?.escalated).toBe(true);
    expect(second?.incident.id).toBe(first?.incident.id);
    expect(second?.incident).toMatchObject({
      severity: 'critical',
      title: 'INV oracle 56× its reference',
      openedBlock: 100n,
      openedAt: first?.incident.openedAt,
    });
    expect(second!.incident.updatedAt).toBeGreaterThan(first!.incident.updatedAt);
    expect(await store.getIncident(first!.incident.id)).toEqual(second?.incident);
    expect(manager.get(first!.incident.id)?.severity).toBe('critical');
    // The escalation of the same condition is on the timeline.
    const timeline = await manager.timeline(first!.incident.id);
    expect(timeline.map((e) => [e.type, e.block, e.data.severity])).toEqual([
      ['finding', 100n, 'high'],
      ['finding', 101n, 'critical'],
    ]);
  });

  it('previews what ingest will return (incident, escalation) without writing or remembering anything', async () => {
    const manager = await createIncidentManager(store, steppingClock());
    const [first] = await manager.ingest([finding({ block: 100n, severity: 'high' })]);
    const batch = [
      finding({ block: 101n, severity: 'critical', instance: 'a' }),
      finding({ block: 101n, severity: 'critical', instance: 'b' }),
      finding({ block: 101n, asset: WETH }),
      finding({ block: 101n, kind: 'degraded' }),
    ];
    const preview = manager.preview(batch);
    // Nothing written, nothing changed in memory.
    expect(await store.listIncidents()).toHaveLength(1);
    expect(manager.get(first!.incident.id)?.severity).toBe('high');
    const ingested = await manager.ingest(batch);
    const shape = (rs: typeof ingested) =>
      rs.map((r) => [r.finding.id, r.incident.id, r.incident.severity, r.escalated]);
    expect(shape(preview)).toEqual(shape(ingested));
    expect(preview.map((r) => r.escalated)).toEqual([true, false, true]);
  });

  it('never lowers the severity of an incident', async () => {
    const manager = await createIncidentManager(store, steppingClock());
    const [first] = await manager.ingest([finding({ block: 100n, severity: 'critical' })]);
    const [later] = await manager.ingest([finding({ block: 101n, severity: 'high' })]);
    expect(later?.escalated).toBe(false);
    expect(later?.incident.severity).toBe('critical');
    expect((await store.getIncident(first!.incident.id))?.severity).toBe('critical');
  });

  it('records the same finding once on the timeline when it is ingested twice', async () => {
    const manager = await createIncidentManager(store, steppingClock());
    const f = finding({ block: 100n });
    const [once] = await manager.ingest([f]);
    const [twice] = await manager.ingest([f]);
    expect(twice?.incident.id).toBe(once?.incident.id);
    expect(twice?.escalated).toBe(false);
    const timeline = await manager.timeline(once!.incident.id);
    expect(timeline.filter((e) => e.type === 'finding')).toHaveLength(1);
    const count = await store.db
      .selectFrom('findings')
      .select(store.db.fn.countAll().as('n'))
      .executeTakeFirst();
    expect(Number(count?.n)).toBe(1);
  });

  it('records a condition seen again on later blocks only once on the timeline', async () => {
    const manager = await createIncidentManager(store, steppingClock());
    const [r] = await manager.ingest([finding({ block: 100n })]);
    await manager.ingest([finding({ block: 101n })]);
    await manager.ingest([finding({ block: 102n })]);
    const timeline = await manager.timeline(r!.incident.id);
    expect(timeline.map((e) => [e.type, e.block])).toEqual([['finding', 100n]]);
  });

  it('opens no incident for a degraded finding (engine health, not a market)', async () => {
    const manager = await createIncidentManager(store, steppingClock());
    const results = await manager.ingest([finding({ kind: 'degraded', severity: 'critical' })]);
    expect(results).toEqual([]);
    expect(await store.listIncidents()).toEqual([]);
    const count = await store.db
      .selectFrom('findings')
      .select(store.db.fn.countAll().as('n'))
      .executeTakeFirst();
    expect(Number(count?.n)).toBe(0);
  });

  it('skips degraded findings but ingests the others of the same batch', async () => {
    const manager = await createIncidentManager(store, steppingClock());
    const results = await manager.ingest([finding({ kind: 'degraded' }), finding({ asset: WETH })]);
    expect(results.map((r) => r.finding.subject.asset)).toEqual([WETH]);
  });

  it('gives the same incident id to the same first finding (replays are deterministic)', async () => {
    const [a] = await (await createIncidentManager(store, steppingClock())).ingest([
      finding({ block: 100n }),
    ]);
    await store.db.deleteFrom('timeline_events').execute();
    await store.db.deleteFrom('findings').execute();
    await store.db.deleteFrom('incidents').execute();
    const replay = await createIncidentManager(store, steppingClock(5));
    const [b] = await replay.ingest([finding({ block: 100n })]);
    expect(b?.escalated).toBe(true);
    expect(b?.incident.id).toBe(a?.incident.id);
  });

  it('restores open incidents when a new manager opens the same store', async () => {
    const before = await createIncidentManager(store, steppingClock());
    const [inv] = await before.ingest([finding({ block: 100n, severity: 'critical' })]);
    const [weth] = await before.ingest([finding({ block: 100n, asset: WETH })]);
    await before.setStatus(weth!.incident.id, 'contained', 'frozen', 101n);

    const after = await createIncidentManager(store, steppingClock(1_800_000_000_000));
    expect(after.get(inv!.incident.id)).toEqual(inv?.incident);
    expect(after.get(weth!.incident.id)?.status).toBe('contained');
    // A new finding about the same subject joins the restored incident instead of opening another.
    const [joined] = await after.ingest([finding({ block: 102n, severity: 'critical' })]);
    expect(joined?.incident.id).toBe(inv?.incident.id);
    expect(joined?.escalated).toBe(false);
    expect(await store.listIncidents()).toHaveLength(2);
  });

  it('does not restore a resolved incident: the next finding opens a new one', async () => {
    const before = await createIncidentManager(store, steppingClock());
    const [r] = await before.ingest([finding({ block: 100n })]);
    await before.setStatus(r!.incident.id, 'resolved', 'price back to normal', 110n);

    const after = await createIncidentManager(store, steppingClock(1_800_000_000_000));
    expect(after.get(r!.incident.id)).toBeUndefined();
    const [next] = await after.ingest([finding({ block: 120n })]);
    expect(next?.incident.id).not.toBe(r?.incident.id);
    expect(next?.escalated).toBe(true);
  });

  it('records a condition seen before a restart only once on the timeline', async () => {
    const before = await createIncidentManager(store, steppingClock());
    const [r] = await before.ingest([finding({ block: 100n })]);
    const after = await createIncidentManager(store, steppingClock(1_800_000_000_000));
    await after.ingest([finding({ block: 101n })]);
    const timeline = await after.timeline(r!.incident.id);
    expect(timeline.map((e) => [e.type, e.block])).toEqual([['finding', 100n]]);
  });

  it('records status changes on the timeline and ignores a change to the same status', async () => {
    const manager = await createIncidentManager(store, steppingClock());
    const [r] = await manager.ingest([finding({ block: 100n })]);
    const id = r!.incident.id;
    await manager.setStatus(id, 'contained', 'reserve frozen', 101n);
    await manager.setStatus(id, 'contained', 'again', 102n);
    await manager.record(id, 'decision', 'note', { x: 1 }, 103n);
    const timeline = await manager.timeline(id);
    expect(timeline.map((e) => [e.type, e.block, e.summary])).toEqual([
      ['finding', 100n, 'HIGH oracle-deviation: high deviation at block 100'],
      ['status', 101n, 'incident contained: reserve frozen'],
      ['decision', 103n, 'note'],
    ]);
    expect((await store.getIncident(id))?.status).toBe('contained');
  });

  const cause = { summary: 'reorg: blocks 100..101 orphaned', block: 99n, data: { reorg: 'reorg' } };

  it('retracts: a timeline entry, the incident resolved when nothing is left, the condition news again', async () => {
    const manager = await createIncidentManager(store, steppingClock());
    const found = [finding({ block: 100n }), finding({ block: 101n })];
    const [r] = await manager.ingest(found);
    const id = r!.incident.id;
    await manager.retract([{ incidentId: id, findings: found, remaining: 0, actionsTaken: [] }], cause);
    const timeline = await manager.timeline(id);
    expect(timeline.map((e) => [e.type, e.block, e.summary])).toEqual([
      ['finding', 100n, 'HIGH oracle-deviation: high deviation at block 100'],
      [
        'retracted',
        99n,
        '2 finding(s) retracted (blocks 100, 101): reorg: blocks 100..101 orphaned; no action had been taken',
      ],
      ['status', 99n, 'incident resolved: every finding was retracted (orphaned by a reorg)'],
    ]);
    expect(timeline[1]?.data).toMatchObject({
      reorg: 'reorg',
      findingIds: found.map((f) => f.id),
      dedupeKeys: [found[0]!.dedupeKey],
      remaining: 0,
      actionsTaken: [],
    });
    expect((await store.getIncident(id))?.status).toBe('resolved');
    // The replacing branch raises the condition again (another block): a new incident, a new sighting.
    const [again] = await manager.ingest([finding({ block: 102n, title: 'on the new branch' })]);
    expect(again?.incident.id).not.toBe(id);
    expect(again?.escalated).toBe(true);
    expect((await manager.timeline(again!.incident.id)).map((e) => e.type)).toEqual(['finding']);
  });

  it('keeps an incident with findings left or actions taken, and says actions are not undone', async () => {
    const manager = await createIncidentManager(store, steppingClock());
    const found = [finding({ block: 100n }), finding({ block: 101n })];
    const [r] = await manager.ingest(found);
    const id = r!.incident.id;
    await manager.retract(
      [{ incidentId: id, findings: [found[1]!], remaining: 1, actionsTaken: ['0xaction'] }],
      cause,
    );
    const last = (await manager.timeline(id)).at(-1)!;
    expect(last.type).toBe('retracted');
    expect(last.summary).toContain('1 action(s) already sent are NOT undone');
    expect((await store.getIncident(id))?.status).toBe('open');
    // The dedupe key was forgotten: the condition seen again is on the timeline again.
    await manager.ingest([finding({ block: 102n })]);
    expect((await manager.timeline(id)).map((e) => e.type)).toEqual(['finding', 'retracted', 'finding']);
  });

  it('a restarted manager knows a retracted condition is not on the timeline any more', async () => {
    const before = await createIncidentManager(store, steppingClock());
    const found = [finding({ block: 100n })];
    const [r] = await before.ingest(found);
    await before.retract(
      [{ incidentId: r!.incident.id, findings: found, remaining: 1, actionsTaken: [] }],
      cause,
    );
    const after = await createIncidentManager(store, steppingClock(1_800_000_000_000));
    await after.ingest([finding({ block: 105n })]);
    expect((await after.timeline(r!.incident.id)).map((e) => [e.type, e.block])).toEqual([
      ['finding', 100n],
      ['retracted', 99n],
      ['finding', 105n],
    ]);
  });

  it('writes through the repository it is given, and reload() forgets what a rollback took away', async () => {
    const manager = await createIncidentManager(store, steppingClock());
    const f = finding({ block: 100n });
    await expect(
      store.db.transaction().execute(async (trx) => {
        await manager.ingest([f], storeActions(trx));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await store.listOpenIncidents()).toEqual([]);
    await manager.reload();
    // Without the reload the manager would file the finding under an incident that is not stored.
    const [r] = await manager.ingest([f]);
    expect(r?.escalated).toBe(true);
    expect(await incidentOfFinding(store, f.id)).toBe(r?.incident.id);
  });
});

describe('subjectKey', () => {
  it('joins chain, protocol, market and asset, lower-cased, with - for what is missing', () => {
    expect(subjectKey({ chainId: 1, protocol: 'aave-v3', market: MARKET, asset: INV })).toBe(
      `1:aave-v3:${MARKET}:${INV}`,
    );
    expect(subjectKey({ chainId: 1, asset: '0x00000000000000000000000000000000000000AB' })).toBe(
      '1:-:-:0x00000000000000000000000000000000000000ab',
    );
  });

  it('ignores the account', () => {
    expect(subjectKey({ chainId: 1, account: INV })).toBe('1:-:-:-');
  });
});
