// The responder on the Inverse Finance drill's real Aave v3 market, with real guardrails and a real
// OpenZeppelin TimelockController: (1) a timelocked containment of INV is scheduled, is not in
// effect before the timelock's delay, executes once a block reaches the ready time and is verified;
// a cancelled one never executes. (2) Guardrail violations — an automatic unpause, a cap raise, an
// LTV cut beyond the configured bound, a transfer to an address that is not a recovery vault — are
// refused before anything is signed (the guardian's nonce does not move), with the reason on the
// incident timeline.
import { getAddress, type Hex, keccak256, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getBlock, getTransactionCount } from 'viem/actions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deployArtifact, packageArtifact } from '../src/chain/artifacts';
import { deriveKeys } from '../src/chain/embedded';
import { createCommon } from '../src/common/common';
import type { PlaybookConfig } from '../src/config/schema';
import type { BlockEvent, Finding } from '../src/detectors/types';
import { sendAndConfirm } from '../src/drills/market';
import { type PreparedDrill, prepareDrill } from '../src/drills/runner';
import { loadScenario } from '../src/drills/scenario';
import { createIncidentManager } from '../src/incidents/manager';
import { aclManagerAbi, erc20Abi, poolConfiguratorAbi } from '../src/protocols/aave-v3/abi';
import { freezeReserve } from '../src/protocols/aave-v3/actions';
import { resolveAaveMarket } from '../src/protocols/aave-v3/market';
import { readReserveConfiguration } from '../src/protocols/aave-v3/reader';
import { createPlanBuilder } from '../src/respond/actions';
import { applyDecision } from '../src/respond/approvals';
import { createEoaExecutor } from '../src/respond/executors/eoa';
import type { TxJournal } from '../src/respond/executors/nonce';
import {
  createTimelockExecutor,
  type TimelockExecutor,
  timelockOperation,
} from '../src/respond/executors/timelock';
import type { Executor } from '../src/respond/executors/types';
import { type GuardrailPolicy, guardrailPolicy } from '../src/respond/guardrails';
import { createResponder, type PlanBuilder } from '../src/respond/responder';
import type { ActionPlan } from '../src/respond/types';
import { storeTxJournal } from '../src/store/executor-txs';
import { openStore, type Store } from '../src/store/store';
import { waitFor } from './support/wait';

const TIMELOCK = packageArtifact('@openzeppelin/contracts/build/contracts/TimelockController.json');
const DELAY = 3600n;
const STRANGER: Hex = '0x000000000000000000000000000000000000bad0';
const VAULT: Hex = '0x000000000000000000000000000000000000fa17';

describe('responder: timelock executor and guardrails on a real Aave v3 market', () => {
  let drill: PreparedDrill;
  let timelock: Hex;
  let inv: Hex;
  let snapshot: Hex;
  const [proposerKey] = deriveKeys('respond-timelock/proposer', 1) as [Hex];
  const proposer = privateKeyToAccount(proposerKey).address;
  const client = () => drill.chain.client;
  const invConfig = () => readReserveConfiguration(client(), drill.market.aave.pool, inv);
  const opened: { store: Store; abort: AbortController }[] = [];

  beforeAll(async () => {
    drill = await prepareDrill(loadScenario('scenarios/inverse-finance-2022.yaml'));
    await drill.chain.setAutomine(true);
    const { market, chain } = drill;
    inv = market.tokens.get('INV')!.address;
    await chain.setBalance(proposer, 10n ** 20n);
    // Governance's timelock: the proposer key proposes, executes (and, as OpenZeppelin grants every
    // proposer, cancels); it holds RISK_ADMIN on the market.
    timelock = (
      await deployArtifact(client(), TIMELOCK, {
        account: market.deployer.account,
        args: [DELAY, [proposer], [proposer], market.deployer.address],
      })
    ).toLowerCase() as Hex;
    await sendAndConfirm(chain, market.deployer, market.aave.aclManager, aclManagerAbi, 'addRiskAdmin', [
      timelock,
    ]);
    snapshot = await chain.snapshot();
  }, 120_000);

  beforeEach(async () => {
    await drill.chain.revert(snapshot);
    snapshot = await drill.chain.snapshot();
  });

  afterAll(async () => {
    for (const o of opened) {
      o.abort.abort();
      await o.store.close();
    }
    await drill?.chain.close();
  });

  /** A responder over a fresh store, one playbook step on `executor`, and an INV finding at the head. */
  const setup = async (options: {
    executor: Executor;
    policy?: GuardrailPolicy;
    buildPlan?: PlanBuilder;
    action?: PlaybookConfig['do'][number]['action'];
    onSent?: (plan: ActionPlan) => void;
    /** The store of an earlier process (a restart); default: a fresh one. */
    store?: Store;
  }) => {
    const abort = new AbortController();
    const common = createCommon({ signal: abort.signal });
    const store = options.store ?? (await openStore({ memory: true }));
    if (!options.store) opened.push({ store, abort });
    const incidents = await createIncidentManager(store, common.clock);
    const market = await resolveAaveMarket(client(), drill.market.aave.addressesProvider);
    const playbook = {
      id: 'contain-inv',
      when: { severity: 'critical', minConfidence: 0 },
      do: [
        {
          action: options.action ?? 'aave-v3.contain-collateral',
          executor: options.executor.id,
          autonomy: 'auto',
        },
      ],
      cooldownBlocks: 0,
    } as PlaybookConfig;
    const responder = createResponder({
      playbooks: [playbook],
      executors: new Map([[options.executor.id, options.executor]]),
      incidents,
      actions: store,
      buildPlan:
        options.buildPlan ??
        createPlanBuilder({
          clientFor: () => client(),
          marketsByAddress: new Map([[market.addressesProvider.toLowerCase() as Hex, market]]),
        }),
      guardrails: { killSwitch: false, policy: options.policy ?? guardrailPolicy(undefined), ledger: store },
      common,
      hooks: { onSent: ({ plan }) => options.onSent?.(plan) },
    });
    const head = await getBlock(client());
    const block = {
      number: head.number,
      hash: head.hash,
      parentHash: head.parentHash,
      timestamp: head.timestamp,
      baseFeePerGas: head.baseFeePerGas ?? null,
    };
    const finding: Finding = {
      id: keccak256(toHex(`finding|${head.hash}`)),
      detector: 'oracle-deviation',
      detectorInstance: 'oracle-deviation',
      severity: 'critical',
      kind: 'manipulation',
      subject: {
        chainId: drill.chain.chainId,
        protocol: 'aave-v3',
        market: market.addressesProvider.toLowerCase() as Hex,
        asset: inv,
      },
      dedupeKey: `oracle-deviation:INV`,
      confidence: 1,
      title: 'INV oracle price far from its reference',
      evidence: { symbol: 'INV' },
      block,
    };
    const event: BlockEvent = { type: 'block', chainId: drill.chain.chainId, block, receivedAt: 0 };
    const respond = async () => {
      const results = await incidents.ingest([finding]);
      await responder.respond(results, event);
      await responder.settled();
      return results[0]!.incident.id;
    };
    return { store, respond, common, responder, event };
  };

  const timelockExecutor = (common = createCommon(), journal?: TxJournal): TimelockExecutor =>
    createTimelockExecutor({
      id: 'timelock',
      client: client(),
      chainId: drill.chain.chainId,
      timelock,
      privateKey: proposerKey,
      priorityFeeGwei: 2,
      maxFeeGwei: 1000,
      ...(journal ? { journal } : {}),
      dryRun: false,
      receiptPollMs: 5,
      common,
    });

  const mineAt = (timestamp: bigint) => drill.chain.mine({ timestamp });
  const actionOf = async (store: Store) => {
    const rows = await store.db.selectFrom('actions').selectAll().execute();
    expect(rows).toHaveLength(1);
    return rows[0]!;
  };
  const timeline = (store: Store) =>
    store.db.selectFrom('timeline_events').selectAll().orderBy('seq').execute();

  describe('timelock executor', () => {
    it('a restart while the schedule is pending follows the journaled transaction instead of scheduling again', async () => {
      const abort = new AbortController();
      const common = createCommon({ signal: abort.signal });
      const store = await openStore({ memory: true });
      opened.push({ store, abort });
      const make = () => timelockExecutor(common, storeTxJournal(store.db));
      const plan: ActionPlan = {
        id: 'timelock-restart-freeze',
        action: 'aave-v3.freeze-reserve',
        chainId: drill.chain.chainId,
        incidentId: 'incident',
        playbookId: 'playbook',
        riskReducing: true,
        calls: [freezeReserve(drill.market.aave, inv) as ActionPlan['calls'][number]],
        effects: [],
        blastRadius: '',
      };
      const pendingCount = () => getTransactionCount(client(), { address: proposer, blockTag: 'pending' });
      await drill.chain.setAutomine(false);
      try {
        const before = await pendingCount();
        const first = make();
        const sent = await first.send(plan, await first.simulate(plan), { baseFeePerGas: null });
        expect(sent.txHashes).toHaveLength(1);
        // The process restarts before the schedule is mined: against the pending state the operation
        // is scheduled already, so only the journal knows this action sent it.
        const second = make();
        await second.resume!();
        const again = await second.send(plan, await second.simulate(plan), { baseFeePerGas: null });
        expect(again.txHashes).toEqual(sent.txHashes);
        expect(again.resumed).toBe(true);
        expect(await pendingCount()).toBe(before + 1);
        await drill.chain.mine();
        const progress = await again.quorum!;
        expect(progress.executed).toBe(false);
        expect(progress.summary).toContain(`scheduled as operation ${timelockOperation(plan).id}`);
      } finally {
        abort.abort();
        await drill.chain.setAutomine(true);
      }
    }, 60_000);

    it('schedules the change, keeps it out of effect until the delay has passed, then executes and verifies it', async () => {
      const abort = new AbortController();
      const executor = timelockExecutor(createCommon({ signal: abort.signal }));
      const sent: ActionPlan[] = [];
      const { store, respond } = await setup({ executor, onSent: (p) => sent.push(p) });
      try {
        expect(await invConfig()).toMatchObject({ isFrozen: false, ltvBps: 6000 });
        await respond();
        const [plan] = sent;
        const op = timelockOperation(plan!);
        // The operation id the executor derives is the timelock's own.
        expect(
          await client().readContract({
            address: timelock,
            abi: TIMELOCK.abi,
            functionName: 'hashOperationBatch',
            args: [op.targets, op.values, op.payloads, `0x${'00'.repeat(32)}`, op.salt],
          }),
        ).toBe(op.id);
        const readyAt = (await client().readContract({
          address: timelock,
          abi: TIMELOCK.abi,
          functionName: 'getTimestamp',
          args: [op.id],
        })) as bigint;
        const scheduledAt = (await getBlock(client())).timestamp;
        expect(readyAt).toBe(scheduledAt + DELAY);
        expect((await actionOf(store)).status).toBe('awaiting-quorum');

        // Blocks inside the delay: the watch sees them and does not execute; nothing changes.
        for (const t of [scheduledAt + 60n, readyAt - 1n]) {
          await mineAt(t);
          const head = (await getBlock(client())).number;
          await new Promise((r) => setTimeout(r, 200)); // several watch polls see this head
          expect((await getBlock(client())).number).toBe(head); // the watch sent nothing
          expect(await invConfig()).toMatchObject({ isFrozen: false, ltvBps: 6000 });
          expect((await actionOf(store)).status).toBe('awaiting-quorum');
        }

        // The first block at the ready time: executed, then verified by the responder.
        await mineAt(readyAt);
        // The record turns verified just before its effect-verified entry is written: wait for both.
        await waitFor('the action verified', 30_000, async () =>
          (await actionOf(store)).status === 'verified' &&
          (await timeline(store)).some((e) => e.type === 'effect-verified')
            ? true
            : undefined,
        );
        expect(await invConfig()).toMatchObject({ isFrozen: true, ltvBps: 0 });
        const record = await actionOf(store);
        const executedIn = await getBlock(client(), { blockNumber: record.mined_block! });
        expect(executedIn.timestamp).toBeGreaterThanOrEqual(readyAt);
        const types = (await timeline(store)).map((e) => e.type);
        expect(types).toEqual(expect.arrayContaining(['tx-sent', 'tx-mined', 'effect-verified']));
        expect(types.indexOf('tx-sent')).toBeLessThan(types.indexOf('effect-verified'));
      } finally {
        abort.abort();
      }
    }, 60_000);

    it('a cancelled operation never executes, and the action says why', async () => {
      const abort = new AbortController();
      const executor = timelockExecutor(createCommon({ signal: abort.signal }));
      const sent: ActionPlan[] = [];
      const { store, respond } = await setup({ executor, onSent: (p) => sent.push(p) });
      try {
        await respond();
        expect((await actionOf(store)).status).toBe('awaiting-quorum');
        const hash = await executor.cancel(sent[0]!);
        expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
        expect(await executor.cancel(sent[0]!)).toBeNull(); // nothing pending any more
        const failed = await waitFor('the action failed', 30_000, async () => {
          const a = await actionOf(store);
          return a.status === 'failed' ? a : undefined;
        });
        expect(failed.reason).toMatch(/was cancelled before it executed/);
        await mineAt((await getBlock(client())).timestamp + DELAY + 10n);
        await new Promise((r) => setTimeout(r, 100));
        expect(await invConfig()).toMatchObject({ isFrozen: false, ltvBps: 6000 });
        expect((await timeline(store)).map((e) => e.summary).join('\n')).toMatch(
          /effect NOT reached: .*was cancelled before it executed/,
        );
      } finally {
        abort.abort();
      }
    }, 60_000);

    it('a rejection (`firebreak reject`) cancels the scheduled operation: it never executes, and the action is rejected, not failed', async () => {
      const abort = new AbortController();
      const executor = timelockExecutor(createCommon({ signal: abort.signal }));
      const sent: ActionPlan[] = [];
      const { store, respond, responder, event } = await setup({ executor, onSent: (p) => sent.push(p) });
      try {
        await respond();
        const plan = sent[0]!;
        const op = timelockOperation(plan);
        expect((await actionOf(store)).status).toBe('awaiting-quorum');
        const waiting = await store.getApproval(plan.id);
        expect(waiting).toMatchObject({ kind: 'timelock', status: 'awaiting', deadline: null });
        expect((await timeline(store)).map((e) => e.summary).join('\n')).toContain(
          `to call it off: firebreak reject ${plan.id}`,
        );
        // Nothing to approve: it executes by itself once the delay has passed.
        await expect(
          applyDecision(
            store,
            { actionId: plan.id, decision: 'approve', by: 'bob', at: Date.now() },
            Date.now(),
          ),
        ).rejects.toThrow(/nothing to approve[\s\S]*firebreak reject/);

        await applyDecision(
          store,
          {
            actionId: plan.id,
            decision: 'reject',
            by: 'alice',
            at: Date.now(),
            reason: 'governance objects',
          },
          Date.now(),
        );
        const readyAt = () =>
          client().readContract({
            address: timelock,
            abi: TIMELOCK.abi,
            functionName: 'getTimestamp',
            args: [op.id],
          }) as Promise<bigint>;
        expect(await readyAt()).toBeGreaterThan(1n); // scheduled, until the engine's next block
        await responder.onBlock(event);
        expect(await readyAt()).toBe(0n); // cancelled on-chain
        const rejected = await waitFor('the action rejected', 30_000, async () => {
          const a = await actionOf(store);
          return a.status === 'rejected' && (await timeline(store)).some((e) => e.type === 'action-refused')
            ? a
            : undefined;
        });
        expect(rejected.reason).toMatch(/rejected by alice: governance objects \(operation cancelled\)/);
        expect(await store.getApproval(plan.id)).toMatchObject({ status: 'rejected', decidedBy: 'alice' });
        const entries = await timeline(store);
        const summaries = entries.map((e) => e.summary).join('\n');
        expect(summaries).toMatch(
          /cancelled in the timelock \(tx 0x[0-9a-f]{64}\), rejected by alice: governance objects/,
        );
        expect(entries.some((e) => e.type === 'effect-failed')).toBe(false);
        // Past the delay, nothing executes.
        await mineAt((await getBlock(client())).timestamp + DELAY + 10n);
        await new Promise((r) => setTimeout(r, 100));
        expect(await invConfig()).toMatchObject({ isFrozen: false, ltvBps: 6000 });
        // A second block does not cancel again (nothing is pending; the action is settled).
        await responder.onBlock(event);
        expect((await timeline(store)).length).toBe(entries.length);
      } finally {
        abort.abort();
      }
    }, 60_000);

    it('a rejection given while the engine is down cancels the operation after the restart', async () => {
      const first = new AbortController();
      const sent: ActionPlan[] = [];
      const { store, respond } = await setup({
        executor: timelockExecutor(createCommon({ signal: first.signal })),
        onSent: (p) => sent.push(p),
      });
      const second = new AbortController();
      try {
        await respond();
        const plan = sent[0]!;
        expect((await store.getApproval(plan.id))?.status).toBe('awaiting');
        first.abort(); // the process stops; its watch ends, the records stay
        // `firebreak reject` with no engine running writes the decision into the store.
        await applyDecision(
          store,
          { actionId: plan.id, decision: 'reject', by: 'carol', at: Date.now(), reason: 'not now' },
          Date.now(),
        );
        const restarted = await setup({
          executor: timelockExecutor(createCommon({ signal: second.signal })),
          store,
        });
        await restarted.respond(); // the awaiting-quorum action is taken up again: nothing is re-scheduled
        await restarted.responder.onBlock(restarted.event);
        expect(
          await client().readContract({
            address: timelock,
            abi: TIMELOCK.abi,
            functionName: 'getTimestamp',
            args: [timelockOperation(plan).id],
          }),
        ).toBe(0n);
        const rejected = await waitFor('the action rejected', 30_000, async () => {
          const a = await actionOf(store);
          return a.status === 'rejected' ? a : undefined;
        });
        expect(rejected.reason).toMatch(/rejected by carol: not now \(operation cancelled\)/);
        const summaries = (await timeline(store)).map((e) => e.summary).join('\n');
        expect(summaries).toMatch(
          /cancelled in the timelock \(tx 0x[0-9a-f]{64}\), rejected by carol: not now/,
        );
        // Scheduled once: the restarted process found the operation and sent nothing.
        expect(summaries.match(/^sent \d+ tx/gm)).toHaveLength(1);
        expect(summaries).toMatch(/no transaction from timelock .*is scheduled in timelock/);
      } finally {
        first.abort();
        second.abort();
      }
    }, 60_000);

    it('refuses to schedule a call the timelock could not make (no role), before anything is signed', async () => {
      await sendAndConfirm(
        drill.chain,
        drill.market.deployer,
        drill.market.aave.aclManager,
        aclManagerAbi,
        'removeRiskAdmin',
        [timelock],
      );
      const { store, respond } = await setup({ executor: timelockExecutor() });
      const nonce = await getTransactionCount(client(), { address: proposer });
      await respond();
      const action = await actionOf(store);
      expect(action.status).toBe('refused');
      expect(action.reason).toMatch(/as timelock .* reverted: .*does the timelock hold the role/);
      expect(await getTransactionCount(client(), { address: proposer })).toBe(nonce);
    }, 60_000);
  });

  describe('guardrails, through the responder, before signing', () => {
    const guardian = () => drill.market.guardian;
    const eoa = (): Executor =>
      createEoaExecutor({
        id: 'guardian',
        client: client(),
        chainId: drill.chain.chainId,
        privateKey: guardian().privateKey,
        priorityFeeGwei: 2,
        maxFeeGwei: 1000,
        dryRun: false,
        receiptPollMs: 5,
        common: createCommon(),
      });
    /** A plan builder returning one hand-made plan (the shapes no built-in action makes). */
    const planned =
      (make: (id: string) => Omit<ActionPlan, 'id' | 'incidentId' | 'playbookId' | 'chainId'>): PlanBuilder =>
      async (decision, id) => ({
        id,
        incidentId: decision.result.incident.id,
        playbookId: decision.playbook.id,
        chainId: drill.chain.chainId,
        ...make(id),
      });
    const configurator = () => drill.market.aave.poolConfigurator.toLowerCase() as Hex;

    /** Runs the responder; expects the action refused with `reason`, nothing signed, the reason on the timeline. */
    const expectRefused = async (setupArgs: Parameters<typeof setup>[0], reason: RegExp) => {
      const { store, respond } = await setup(setupArgs);
      const nonce = await getTransactionCount(client(), { address: guardian().address, blockTag: 'pending' });
      const head = await getBlock(client());
      await respond();
      const action = await actionOf(store);
      expect(action.status).toBe('refused');
      expect(action.reason).toMatch(reason);
      const refusal = (await timeline(store)).find((e) => e.type === 'action-refused');
      expect(refusal?.summary).toMatch(reason);
      expect(await getTransactionCount(client(), { address: guardian().address, blockTag: 'pending' })).toBe(
        nonce,
      );
      expect((await getBlock(client())).number).toBe(head.number);
      expect((await timeline(store)).map((e) => e.type)).not.toContain('simulated');
    };

    it('refuses an automatic unpause of a paused reserve', async () => {
      await sendAndConfirm(
        drill.chain,
        guardian(),
        drill.market.aave.poolConfigurator,
        poolConfiguratorAbi,
        'setReservePause',
        [inv, true],
      );
      await expectRefused(
        {
          executor: eoa(),
          buildPlan: planned(() => ({
            action: 'test.unpause',
            riskReducing: true,
            calls: [
              {
                to: configurator(),
                abi: poolConfiguratorAbi,
                functionName: 'setReservePause',
                args: [inv, false],
                description: 'Unpause INV',
              },
            ],
            changes: [{ param: 'reservePaused', target: configurator(), asset: inv, from: true, to: false }],
            effects: [],
            blastRadius: 'INV',
          })),
        },
        /would unpause the reserve of 0x[0-9a-f]+: the automatic path never undoes a containment/,
      );
      expect((await invConfig()).isPaused).toBe(true);
    }, 60_000);

    it('refuses a borrow-cap raise', async () => {
      const before = (await invConfig()).borrowCap;
      const from = before === 0n ? 1000n : before;
      if (before === 0n)
        await sendAndConfirm(
          drill.chain,
          guardian(),
          drill.market.aave.poolConfigurator,
          poolConfiguratorAbi,
          'setBorrowCap',
          [inv, from],
        );
      await expectRefused(
        {
          executor: eoa(),
          buildPlan: planned(() => ({
            action: 'test.raise-cap',
            riskReducing: true,
            calls: [
              {
                to: configurator(),
                abi: poolConfiguratorAbi,
                functionName: 'setBorrowCap',
                args: [inv, from * 2n],
                description: 'Raise the INV borrow cap',
              },
            ],
            changes: [{ param: 'borrowCap', target: configurator(), asset: inv, from, to: from * 2n }],
            effects: [],
            blastRadius: 'INV',
          })),
        },
        new RegExp(
          `would raise borrowCap of 0x[0-9a-f]+ from ${from} to ${from * 2n}: the automatic path never raises a limit`,
        ),
      );
      expect((await invConfig()).borrowCap).toBe(from);
    }, 60_000);

    it("refuses the built-in containment's LTV cut to 0 when the LTV bound is 50 %", async () => {
      const policy = guardrailPolicy(
        {
          parameters: { ltv: { maxDecreaseBps: 5000 } },
          rateLimit: { maxActions: 10, windowSeconds: 3600 },
          vaults: [],
        },
        [],
      );
      await expectRefused(
        { executor: eoa(), policy },
        /cut ltv of 0x[0-9a-f]+ from 6000 to 0 \(100 %\), beyond the bound of 50 % per change/,
      );
      expect(await invConfig()).toMatchObject({ isFrozen: false, ltvBps: 6000 });
    }, 60_000);

    it('refuses a migration of funds to an address that is not a configured recovery vault', async () => {
      const policy = guardrailPolicy(
        {
          parameters: {},
          rateLimit: { maxActions: 10, windowSeconds: 3600 },
          vaults: [{ chain: 'embedded', address: VAULT }],
        },
        [{ name: 'embedded', id: drill.chain.chainId }],
      );
      const balance = () =>
        client().readContract({ address: inv, abi: erc20Abi, functionName: 'balanceOf', args: [STRANGER] });
      const before = await balance();
      await expectRefused(
        {
          executor: eoa(),
          policy,
          buildPlan: planned(() => ({
            action: 'test.migrate',
            riskReducing: true,
            calls: [
              {
                to: inv,
                abi: erc20Abi,
                functionName: 'transfer',
                args: [STRANGER, 1n],
                description: 'Move the INV treasury',
              },
            ],
            transfers: [{ asset: inv, amount: 1n, destination: STRANGER, description: 'the INV treasury' }],
            effects: [],
            blastRadius: 'INV treasury',
          })),
        },
        new RegExp(
          `to ${getAddress(STRANGER).toLowerCase()}, which is not a recovery vault of chain \\d+ \\(configured: ${VAULT}`,
        ),
      );
      expect(await balance()).toBe(before);
    }, 60_000);
  });
});
