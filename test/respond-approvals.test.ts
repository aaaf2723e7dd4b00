import type { Hex } from 'viem';
import { getTransactionCount } from 'viem/actions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decideAction } from '../src/cli/approve';
import { createCommon } from '../src/common/common';
import { readReserveConfiguration } from '../src/protocols/aave-v3/reader';
import { DEFAULT_APPROVAL_TIMEOUT_SECONDS } from '../src/respond/responder';
import { openStore, type Store } from '../src/store/store';
import {
  actionsOf,
  approvalRefusal,
  captureLogger,
  drillSession,
  type ManipulatedDrill,
  manipulatedDrill,
  type RunningEngine,
  respondConfig,
  shiftableClock,
  startEngine,
  timelineOf,
} from './support/respond-drill';
import { waitFor } from './support/wait';

describe('approve autonomy: an eoa step that waits for a human', () => {
  let d: ManipulatedDrill;
  const session = drillSession();
  const { running } = session;
  const common = createCommon();
  const client = () => d.drill.chain.client;
  const invConfig = () => readReserveConfiguration(client(), d.drill.market.aave.pool, d.inv);
  const guardianTxs = () =>
    getTransactionCount(client(), { address: d.drill.market.guardian.address, blockTag: 'pending' });
  const secrets = () => ({ FIREBREAK_GUARDIAN_KEY: d.drill.market.guardian.privateKey });
  const dataDir = () => session.dataDir('firebreak-approve-');
  const refusal = approvalRefusal;

  /** A restarted engine mines until INV is frozen; the approved action must end verified. */
  const untilVerified = async (restarted: RunningEngine) => {
    running.push(restarted);
    for (let i = 0; i < 4 && (await invConfig()).isFrozen === false; i++)
      await restarted.processedBlock(await d.drill.chain.mine());
    await restarted.engine.settled();
    await waitFor('the approved action to be verified', 10_000, async () =>
      (await actionsOf(restarted.store))[0]?.status === 'verified' ? true : undefined,
    );
    expect(await invConfig()).toMatchObject({ isFrozen: true, ltvBps: 0 });
  };

  /** An engine with the playbook's step at `approve`, waiting at the detection block. */
  const awaiting = async (
    store: Store,
    dir?: string,
    extra: Parameters<typeof startEngine>[4] = { secrets: secrets() },
    timeout?: number,
  ) => {
    const config = respondConfig(
      d,
      undefined,
      { executor: 'guardian', autonomy: 'approve', ...(timeout ? { approvalTimeoutSeconds: timeout } : {}) },
      dir,
    );
    const engine = await startEngine(d, config, store, d.detection, extra);
    running.push(engine);
    await engine.processedBlock(d.detection);
    const [action] = await actionsOf(store);
    expect(action?.status).toBe('awaiting-approval');
    return { engine, action: action! };
  };

  beforeAll(async () => {
    d = await manipulatedDrill();
    await session.ready(d);
  }, 120_000);

  beforeEach(session.reset);

  afterAll(session.close);

  it('waits without sending, then executes at the next block once approved through the CLI; verified, with who approved', async () => {
    const dir = dataDir();
    const store = await openStore({ dataDir: dir });
    const sentBefore = await guardianTxs();
    const before = Date.now();
    const { engine, action } = await awaiting(store, dir);

    // Planned and simulated, not sent; the timeline says what to run.
    expect(await guardianTxs()).toBe(sentBefore);
    const timeline = await timelineOf(store);
    expect(timeline.some((e) => e.type === 'simulated')).toBe(true);
    const asked = timeline.find((e) => e.summary.startsWith('awaiting approval until'))!;
    expect(asked.summary).toContain(`run \`firebreak approve ${action.id}\``);
    const approval = (await store.getApproval(action.id))!;
    expect(approval).toMatchObject({ kind: 'step', status: 'awaiting', decidedBy: null });
    expect(approval.deadline! - before).toBeGreaterThanOrEqual(DEFAULT_APPROVAL_TIMEOUT_SECONDS * 1000);
    expect(approval.deadline! - Date.now()).toBeLessThanOrEqual(DEFAULT_APPROVAL_TIMEOUT_SECONDS * 1000);

    // Refusals name what awaits; a signature is not what this step waits for.
    const decide = (actionId: string, extra: { ownerKey?: Hex } = {}) =>
      decideAction({ dataDir: dir, actionId, decision: 'approve', by: 'bob', common, ...extra });
    expect(await refusal(decide('0x1234'))).toMatch(
      new RegExp(
        `no action 0x1234 awaits approval\\n\\s+awaiting: ${action.id} \\(aave-v3.contain-collateral, approval\\)`,
      ),
    );
    expect(await refusal(decide(action.id, { ownerKey: d.drill.market.guardian.privateKey }))).toContain(
      'waits for an approval, not a signature',
    );

    const result = await decide(action.id);
    expect(result.via).toBe('inbox');
    expect(result.message).toContain(`approved aave-v3.contain-collateral (action ${action.id}) by bob`);
    expect(await guardianTxs()).toBe(sentBefore); // the engine acts at its next block, not before

    const next = await d.drill.chain.mine();
    await engine.processedBlock(next);
    expect(await guardianTxs()).toBe(sentBefore + 2); // freeze + LTV 0
    const minedIn = await d.drill.chain.mine();
    await engine.processedBlock(minedIn);
    await engine.engine.settled();
    expect(await invConfig()).toMatchObject({ isFrozen: true, ltvBps: 0 });
    expect((await actionsOf(store)).map((a) => a.status)).toEqual(['verified']);
    const after = await timelineOf(store);
    const approved = after.find((e) => e.summary.startsWith('approved by bob'))!;
    expect(approved.block_number).toBe(next);
    expect(after.some((e) => e.summary.includes('again after the approval: no revert'))).toBe(true);
    expect(after.findIndex((e) => e.type === 'tx-sent')).toBeGreaterThan(after.indexOf(approved));
    expect(after.some((e) => e.type === 'effect-verified')).toBe(true);
    expect((await store.getApproval(action.id))?.decidedBy).toBe('bob');
    // Decided: a second decision says by whom.
    expect(await refusal(decide(action.id))).toContain(`action ${action.id} was already approved by bob`);
    await engine.stop();
  }, 60_000);

  it('rejected, it is never sent, and the rejection says who and why', async () => {
    const dir = dataDir();
    const store = await openStore({ dataDir: dir });
    const sentBefore = await guardianTxs();
    const { engine, action } = await awaiting(store, dir);
    const result = await decideAction({
      dataDir: dir,
      actionId: action.id,
      decision: 'reject',
      by: 'carol',
      reason: 'false alarm: the feed is being migrated',
      common,
    });
    expect(result.message).toContain('rejected aave-v3.contain-collateral');
    for (let i = 0; i < 3; i++) await engine.processedBlock(await d.drill.chain.mine());
    await engine.engine.settled();
    expect(await guardianTxs()).toBe(sentBefore);
    expect(await invConfig()).toMatchObject({ isFrozen: false, ltvBps: 6000 });
    const [record] = await actionsOf(store);
    expect(record).toMatchObject({
      status: 'rejected',
      reason: 'rejected by carol: false alarm: the feed is being migrated',
    });
    const refused = (await timelineOf(store)).filter((e) => e.type === 'action-refused');
    expect(refused.map((e) => e.summary)).toEqual([
      'aave-v3.contain-collateral rejected by carol: false alarm: the feed is being migrated: not sent',
    ]);
    expect(
      await refusal(decideAction({ dataDir: dir, actionId: action.id, decision: 'approve', common })),
    ).toContain('was already rejected by carol');
    await engine.stop();
  }, 60_000);

  it('undecided past its deadline, it fails and is escalated on the timeline and in the log at error level', async () => {
    const store = await openStore({ memory: true });
    const clock = shiftableClock();
    const { logger, lines } = captureLogger();
    const sentBefore = await guardianTxs();
    const { engine, action } = await awaiting(store, undefined, { secrets: secrets(), clock, logger }, 60);
    // One block inside the deadline changes nothing.
    await engine.processedBlock(await d.drill.chain.mine());
    expect((await actionsOf(store))[0]?.status).toBe('awaiting-approval');
    clock.shift(61_000);
    await engine.processedBlock(await d.drill.chain.mine());
    const [record] = await actionsOf(store);
    expect(record?.status).toBe('failed');
    expect(record?.reason).toMatch(/^approval expired at \S+ with nobody deciding: not executed$/);
    const escalation = (await timelineOf(store)).filter((e) => e.summary.startsWith('ESCALATION'));
    expect(escalation).toHaveLength(1);
    expect(escalation[0]!.summary).toContain('the incident needs a human');
    const errors = lines.filter((l) => l.level === 50);
    expect(errors.map((l) => l.msg)).toEqual([
      expect.stringContaining(
        `ESCALATION: the approval of aave-v3.contain-collateral (action ${action.id}) expired`,
      ),
    ]);
    expect((await store.getApproval(action.id))?.status).toBe('expired');
    expect(await guardianTxs()).toBe(sentBefore);
    await engine.stop();
  }, 60_000);

  it('approved while no engine runs: written into the store, executed after a restart', async () => {
    const dir = dataDir();
    const store = await openStore({ dataDir: dir });
    const { engine, action } = await awaiting(store, dir);
    await engine.stop();
    await store.close();
    const result = await decideAction({
      dataDir: dir,
      actionId: action.id,
      decision: 'approve',
      by: 'dave',
      common,
    });
    expect(result.via).toBe('store');
    expect(result.approval).toMatchObject({ status: 'approved', decidedBy: 'dave' });

    // Restarted after the detection block: the detector still sees the manipulation, the playbook
    // fires again for the same action, which resumes waiting (same deadline) and finds the approval.
    const reopened = await openStore({ dataDir: dir });
    const restarted = await startEngine(
      d,
      respondConfig(d, undefined, { executor: 'guardian', autonomy: 'approve' }, dir),
      reopened,
      d.detection + 1n,
      { secrets: secrets() },
    );
    await untilVerified(restarted);
    const timeline = await timelineOf(reopened);
    expect(timeline.some((e) => e.summary.startsWith('still awaiting approval until'))).toBe(true);
    expect(timeline.some((e) => e.summary.startsWith('approved by dave'))).toBe(true);
    await restarted.stop();
  }, 60_000);

  it('a step left waiting is taken up at restart even when nothing fires again, and executes once approved', async () => {
    const dir = dataDir();
    const store = await openStore({ dataDir: dir });
    const { engine, action } = await awaiting(store, dir);
    await engine.stop();
    await store.close();
    await decideAction({ dataDir: dir, actionId: action.id, decision: 'approve', by: 'erin', common });

    // Restarted with the detector's lines out of reach: no finding, so no playbook fires again. The
    // waiting step is taken up from the block of its decision on the timeline.
    const config = respondConfig(d, undefined, { executor: 'guardian', autonomy: 'approve' }, dir);
    const quiet = {
      ...config,
      detectors: config.detectors.map((x) =>
        x.type === 'oracle-deviation'
          ? { ...x, params: { ...x.params, thresholdBps: 1_000_000, criticalBps: 1_000_000 } }
          : x,
      ),
    };
    const reopened = await openStore({ dataDir: dir });
    const restarted = await startEngine(d, quiet, reopened, d.detection + 1n, { secrets: secrets() });
    await untilVerified(restarted);
    const findings = await reopened.db.selectFrom('findings').select('block_number').execute();
    expect(findings.every((f) => f.block_number <= d.detection)).toBe(true);
    const timeline = await timelineOf(reopened);
    expect(timeline.some((e) => e.summary.startsWith('approved by erin'))).toBe(true);
    await restarted.stop();
  }, 60_000);
});
