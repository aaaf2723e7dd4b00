/**
 * Respond — the responder: ingested findings → playbook decisions → action plans → guardrails →
 * executor (simulate, send) → receipts → effect verification, every step on the incident timeline.
 *
 * Exactly once: an action's id is deterministic (incident, playbook, step, target) and its record
 * is written before anything is sent; a plan whose record exists is not sent again.
 */
import { join } from 'node:path';
import { type Hex, keccak256, toHex } from 'viem';
import { maxBig } from '../common/bigint';
import type { Common } from '../common/common';
import { describeError, isFirebreakError } from '../common/errors';
import type { PlaybookConfig } from '../config/schema';
import type { BlockEvent } from '../detectors/types';
import type { IncidentManager, IngestResult } from '../incidents/manager';
import type { TimelineEventType } from '../incidents/types';
import {
  APPROVALS_DIR,
  type Approval,
  applyDecision,
  approvalCommand,
  newApproval,
  rejection,
  removeDecision,
  takeDecisions,
  writeApprovalsState,
} from './approvals';
import { ON_CHAIN_APPROVAL } from './executors/safe';
import type {
  Executor,
  PendingSignatures,
  QuorumOutcome,
  QuorumProgress,
  SendContext,
  SentAction,
} from './executors/types';
import {
  checkGuardrails,
  checkPlan,
  type GuardrailSettings,
  type GuardrailVerdict,
  guardrailPolicy,
} from './guardrails';
import { type Cooldowns, createCooldowns, type Decision, decide } from './playbooks';
import { type Outbid, outbidDetails, outbidSummary } from './priority';
import type { ActionPlan, ActionRecord, ActionStatus } from './types';

export interface ActionRepository {
  getAction(id: string): Promise<ActionRecord | undefined>;
  upsertAction(record: ActionRecord): Promise<void>;
  getApproval(actionId: string): Promise<Approval | undefined>;
  upsertApproval(approval: Approval): Promise<void>;
  listApprovals(options?: { status?: Approval['status']; limit?: number }): Promise<Approval[]>;
  /**
   * The store's data folder (`memory` for an in-memory store): decisions from other processes
   * arrive in its `.firebreak-approvals/inbox` (see approvals.ts).
   */
  readonly location?: string;
}

/** Seconds an `approve` step waits for a decision when its playbook step names none. */
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 900;

/** Builds the plan for a decision, or returns null when there is nothing left to do. */
export type PlanBuilder = (
  decision: Decision,
  actionId: string,
  event: BlockEvent,
) => Promise<ActionPlan | null>;

export interface ResponderHooks {
  /** Called right after a plan's transactions are broadcast (the latency the loop bench measures). */
  onSent?(info: { plan: ActionPlan; txHashes: readonly string[]; event: BlockEvent; sentAt: number }): void;
  onVerified?(info: { plan: ActionPlan; ok: boolean; minedBlock: bigint | null }): void;
}

export interface ResponderOptions {
  playbooks: readonly PlaybookConfig[];
  /** The configured detector instance ids: a playbook naming one matches only that instance. */
  detectorIds?: readonly string[];
  executors: ReadonlyMap<string, Executor>;
  incidents: IncidentManager;
  actions: ActionRepository;
  buildPlan: PlanBuilder;
  guardrails: GuardrailSettings;
  /** Confirms a plan's evidence (block hash, state reads) with independent endpoints before anything is sent; throws to hold it. */
  confirm?(plan: ActionPlan, event: BlockEvent): Promise<void>;
  /**
   * Priority mode (`priority.ts`): the pending transactions this plan must beat into the block and
   * the price to beat, or undefined to price as the executor's fee policy says.
   */
  outbid?(plan: ActionPlan, decision: Decision): Outbid | undefined;
  /**
   * Priority mode after the send: follows the price this plan must beat while its transactions
   * wait (`SendContext.followOutbid`), or undefined where no mempool is followed.
   */
  followOutbid?(plan: ActionPlan, decision: Decision): SendContext['followOutbid'];
  common: Common;
  hooks?: ResponderHooks;
}

export interface Responder {
  respond(results: readonly IngestResult[], event: BlockEvent): Promise<void>;
  /**
   * Findings are about to be stored (`results` from `IncidentManager.preview`): the automatic steps
   * they would lead to are planned and simulated now, while the store writes, and `respond` for the
   * same block takes those plans up instead of starting over. Sends nothing, writes nothing.
   */
  anticipate(results: readonly IngestResult[], event: BlockEvent): void;
  /**
   * Every processed block: takes the decisions other processes left in the approvals inbox,
   * executes approved actions, ends rejected and expired ones, and hands owners' signatures to a
   * waiting Safe transaction.
   */
  onBlock(event: BlockEvent): Promise<void>;
  /** Resolves when every action sent so far has been mined and verified (or failed). */
  settled(): Promise<void>;
}

export function actionId(decision: Decision): string {
  const { playbook, stepIndex, step, result } = decision;
  // A timelock action acts on one queued operation: two operations on one subject are two actions.
  const operation = step.action.startsWith('timelock.') ? result.finding.evidence.operationId : undefined;
  const target = `${result.finding.subject.chainId}:${result.finding.subject.market ?? '-'}:${result.finding.subject.asset ?? '-'}${typeof operation === 'string' ? `:${operation.toLowerCase()}` : ''}`;
  return keccak256(
    toHex(`action|${result.incident.id}|${playbook.id}|${stepIndex}|${step.action}|${target}`),
  ).slice(0, 34);
}

export function createResponder(options: ResponderOptions): Responder {
  const { incidents, common } = options;
  const cooldowns: Cooldowns = createCooldowns();
  const instanceIds = new Set(options.detectorIds ?? []);
  /** Consecutive failures per action id: a transient failure retries next block, a lasting one waits out the cooldown. */
  const failures = new Map<string, number>();
  const MAX_QUICK_RETRIES = 3;
  /** How a response to this block's findings prices its transactions (the send's fee context). */
  const pricing = (
    event: BlockEvent,
    plan: ActionPlan,
    decision: Decision,
  ): { baseFeePerGas: bigint | null; outbid?: Outbid } => {
    const outbid = options.outbid?.(plan, decision);
    return { baseFeePerGas: event.block.baseFeePerGas ?? null, ...(outbid ? { outbid } : {}) };
  };
  const retrySoon = (decision: Decision, id: string) => {
    const n = (failures.get(id) ?? 0) + 1;
    failures.set(id, n);
    if (n <= MAX_QUICK_RETRIES) cooldowns.clear(decision.playbook, decision.result);
  };
  const inFlight = new Set<Promise<void>>();
  /** Action ids being planned or sent by this process right now. */
  const inProgress = new Set<string>();
  /** Action ids whose confirmations are mined and whose quorum this process is watching. */
  const watching = new Set<string>();
  /** `approve` steps planned, simulated and waiting for a decision, by action id. */
  const awaitingApproval = new Map<
    string,
    { decision: Decision; plan: ActionPlan; executor: Executor; deadline: number }
  >();
  /** Safe transactions waiting for owners' signatures, by action id. */
  const awaitingSignatures = new Map<string, { plan: ActionPlan; pending: PendingSignatures }>();
  /** Scheduled operations a person may call off (`firebreak reject`), by action id. */
  const cancellable = new Map<
    string,
    { plan: ActionPlan; cancel: () => Promise<Hex | null>; cancelling: boolean; failures: number }
  >();
  const inbox =
    options.actions.location !== undefined && options.actions.location !== 'memory'
      ? join(options.actions.location, APPROVALS_DIR)
      : undefined;
  let statePublished = false;

  /**
   * Writes the action's record. `known` is the record as last read by the caller, when nothing can
   * have changed it since (this process holds the action: `inProgress`); otherwise it is read.
   */
  const save = async (
    plan: ActionPlan,
    status: ActionStatus,
    patch: Partial<ActionRecord> = {},
    known?: { record: ActionRecord | undefined },
  ) => {
    const existing = known ? known.record : await options.actions.getAction(plan.id);
    const now = common.clock.now();
    await options.actions.upsertAction({
      id: plan.id,
      incidentId: plan.incidentId,
      playbookId: plan.playbookId,
      action: plan.action,
      chainId: plan.chainId,
      status,
      txHashes: existing?.txHashes ?? [],
      sentBlock: existing?.sentBlock ?? null,
      minedBlock: existing?.minedBlock ?? null,
      reason: existing?.reason ?? null,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      ...patch,
    });
  };

  /** Ends an action that will not (or did not) take effect: its record and the timeline say why. */
  const stop = async (
    plan: ActionPlan,
    status: 'refused' | 'failed',
    reason: string,
    entry: { type: TimelineEventType; summary: string; block: bigint | null },
  ) => {
    await save(plan, status, { reason });
    await incidents.record(plan.incidentId, entry.type, entry.summary, { actionId: plan.id }, entry.block);
  };

  /** Action ids whose receipts and effects this process is waiting for. */
  const confirming = new Set<string>();

  /** Plans and simulations `anticipate` started, by action id, for one block (by hash). */
  const early = new Map<
    string,
    { blockHash: string; plan: Promise<ActionPlan | null>; simulation: Promise<bigint[]> }
  >();
  /** What `anticipate` started for this action at this block, taken once. */
  const takeEarly = (id: string, event: BlockEvent) => {
    const entry = early.get(id);
    if (entry === undefined || entry.blockHash !== event.block.hash) return undefined;
    early.delete(id);
    return entry;
  };

  const execute = async (decision: Decision, event: BlockEvent) => {
    const id = actionId(decision);
    if (inProgress.has(id) || confirming.has(id)) {
      // Still in hand (its failure being recorded, say, after a retry cleared the cooldown): not a
      // firing, so the cooldown is not spent on it and the next block's findings can take it up.
      cooldowns.clear(decision.playbook, decision.result);
      return;
    }
    if (watching.has(id) || awaitingApproval.has(id)) return;
    const previous = await options.actions.getAction(id);
    // Exactly once: sent, mined or verified actions are never sent again. A `planned` record left by
    // an earlier process was interrupted before its transactions were broadcast or recorded; it is
    // planned again from fresh state, which sends nothing if the effect is already in place. An
    // `awaiting-quorum` record that this process is not watching (it was written before a restart)
    // goes through again too: the quorum executor sends nothing for a call its agent already
    // confirmed, and picks up where the proposal stands. A `sent` or `mined` record this process is
    // not confirming (a process died between broadcast and verification) goes through again as
    // well: the executors' nonce journal hands back the transaction already signed for each call
    // (rebroadcast, fee-bumped, followed to its receipt) instead of signing a second one, and a plan
    // whose effect is already in place ends verified without sending.
    if (previous && (previous.status === 'verified' || previous.status === 'rejected')) return;
    inProgress.add(id);
    try {
      await executeOnce(decision, event, id, previous);
    } finally {
      inProgress.delete(id);
    }
  };

  const executeOnce = async (
    decision: Decision,
    event: BlockEvent,
    id: string,
    /** The action's record as `execute` read it (this process has held the action since). */
    previous: ActionRecord | undefined,
  ) => {
    const incidentId = decision.result.incident.id;
    const block = event.block.number;

    // Written while the plan's state is read: the store takes writes in turn, so every later entry
    // of this action follows it on the timeline; it is awaited before anything is decided on.
    const decided = incidents.record(
      incidentId,
      'decision',
      `playbook ${decision.playbook.id}: ${decision.step.action} (${decision.step.autonomy}) via ${decision.step.executor}`,
      {
        playbook: decision.playbook.id,
        step: decision.stepIndex,
        action: decision.step.action,
        autonomy: decision.step.autonomy,
      },
      block,
    );
    if (decision.step.autonomy === 'notify') {
      await decided;
      return;
    }
    decided.catch(() => undefined); // awaited below

    const ahead = takeEarly(id, event);
    let plan: ActionPlan | null;
    try {
      plan = await (ahead?.plan ?? options.buildPlan(decision, id, event));
    } catch (error) {
      await decided;
      await incidents.record(
        incidentId,
        'action-refused',
        `could not plan ${decision.step.action}: ${describeError(error)}`,
        {},
        block,
      );
      return;
    }
    if (!plan) {
      await decided;
      await incidents.record(
        incidentId,
        'decision',
        `${decision.step.action}: already in effect, nothing to send`,
        {},
        block,
      );
      // An earlier attempt of this action that never reached `verified` (a process that died after
      // sending, or a quorum another agent completed): its effect is in place, so it is.
      const previous = await options.actions.getAction(id);
      if (previous && ['planned', 'sent', 'mined', 'awaiting-quorum'].includes(previous.status)) {
        await options.actions.upsertAction({
          ...previous,
          status: 'verified',
          reason: 'effect found in place when the action was taken up again',
          updatedAt: common.clock.now(),
        });
        await incidents.record(
          incidentId,
          'effect-verified',
          `effect verified: ${decision.step.action} already in effect`,
          { actionId: id },
          block,
        );
        await incidents.setStatus(incidentId, 'contained', `${decision.step.action} in effect`, block);
      }
      return;
    }
    const executor = options.executors.get(decision.step.executor);
    // The simulation only reads: it runs while the guardrails, the evidence quorum and the action's
    // record are checked and written (the kill-switch refuses everything, so nothing runs then).
    const simulation =
      executor && !options.guardrails.killSwitch
        ? (ahead?.simulation ?? executor.simulate(plan, pricing(event, plan, decision)))
        : undefined;
    simulation?.catch(() => undefined);
    await decided;
    const verdict = await guardrails(plan, decision);
    if (!verdict.ok) {
      await stop(plan, 'refused', verdict.reason, {
        type: 'action-refused',
        summary: `${plan.action} refused: ${verdict.reason}`,
        block: block,
      });
      return;
    }
    if (!executor) {
      await incidents.record(
        incidentId,
        'action-refused',
        `executor ${decision.step.executor} is not available`,
        {},
        block,
      );
      return;
    }

    if (options.confirm) {
      try {
        await options.confirm(plan, event);
      } catch (error) {
        retrySoon(decision, plan.id); // a lagging or lying endpoint: try again next block
        await stop(plan, 'refused', describeError(error), {
          type: 'action-refused',
          summary: `${plan.action} held: ${describeError(error)}`,
          block: block,
        });
        return;
      }
    }
    await save(plan, 'planned', {}, { record: previous });
    let gas: bigint[];
    try {
      gas = await (simulation ?? executor.simulate(plan, pricing(event, plan, decision)));
    } catch (error) {
      retrySoon(decision, plan.id); // the state may change: retry next block, a few times
      await stop(plan, 'refused', describeError(error), {
        type: 'action-refused',
        summary: describeError(error),
        block: block,
      });
      return;
    }
    const recordSimulated = () =>
      incidents.record(
        incidentId,
        'simulated',
        `simulated ${plan.calls.map((c) => c.description).join(' + ')}: no revert`,
        { actionId: plan.id, gas: gas.map(String), blastRadius: plan.blastRadius },
        block,
      );
    if (executor.dryRun || decision.step.autonomy === 'approve') await recordSimulated();
    if (executor.dryRun) {
      // Refused, not planned: a dry run must not block a real execution later.
      await stop(plan, 'refused', 'dry run: simulated, not sent', {
        type: 'decision',
        summary: `dry run: ${plan.action} not sent`,
        block: block,
      });
      return;
    }
    if (decision.step.autonomy === 'approve') {
      await requestApproval(decision, plan, executor, event);
      return;
    }
    // The simulation's entry is written once the transactions are out (before their own entries).
    await sendPlan(decision, plan, executor, gas, event, recordSimulated);
  };

  /** A human decides: the checks of every path (recipients, declared changes) and the kill-switch; the automatic path's own rules otherwise. */
  const guardrails = async (plan: ActionPlan, decision: Decision): Promise<GuardrailVerdict> => {
    if (decision.step.autonomy !== 'approve') return checkGuardrails(plan, decision, options.guardrails);
    if (options.guardrails.killSwitch)
      return { ok: false, reason: 'the global kill-switch is on: no action is executed, approved or not' };
    if (plan.calls.length === 0) return { ok: false, reason: 'the plan has no calls' };
    return checkPlan(plan, options.guardrails.policy ?? guardrailPolicy(undefined), { automatic: false });
  };

  /** Sends a simulated plan and follows it to its receipts and effect (in the background). */
  const sendPlan = async (
    decision: Decision,
    plan: ActionPlan,
    executor: Executor,
    gas: bigint[],
    event: BlockEvent,
    /** A timeline entry to write once the transactions are out, before this send's own entries. */
    before?: () => Promise<unknown>,
  ) => {
    const incidentId = plan.incidentId;
    const block = event.block.number;
    let sent: SentAction;
    // Read again at the send: pending transactions seen since the simulation count too.
    const priced = pricing(event, plan, decision);
    const followOutbid = options.followOutbid?.(plan, decision);
    try {
      sent = await executor.send(plan, gas, {
        ...priced,
        ...(followOutbid ? { followOutbid } : {}),
        // Replacements, rebroadcasts and a fee cap that stops a bump go on the timeline as they happen.
        onProgress: (e) =>
          void incidents
            .record(
              incidentId,
              e.type === 'fee-capped' ? 'decision' : 'tx-sent',
              e.summary,
              { actionId: plan.id, txHash: e.txHash, nonce: e.nonce },
              null,
            )
            .catch((error) =>
              common.logger.error({ err: describeError(error) }, 'recording a send step failed'),
            ),
      });
    } catch (error) {
      await before?.().catch(() => undefined);
      retrySoon(decision, plan.id); // a send can fail transiently: retry next block, a few times
      await stop(plan, 'failed', describeError(error), {
        type: 'action-refused',
        summary: describeError(error),
        block: block,
      });
      return;
    }
    await before?.().catch((error) =>
      common.logger.error({ err: describeError(error) }, 'recording a simulation failed'),
    );
    if (sent.txHashes.length === 0) {
      // A quorum executor whose agent has confirmed every call already (before a restart, say).
      await incidents.record(
        incidentId,
        'decision',
        `no transaction from ${executor.id} (${executor.address}): ${sent.note ?? 'nothing left to send'}`,
        { actionId: plan.id },
        block,
      );
    } else if (sent.resumed) {
      // Signed and broadcast by an earlier process (its journal says so): followed, not sent again.
      await save(plan, 'sent', { txHashes: sent.allTxHashes?.() ?? sent.txHashes });
      await incidents.record(
        incidentId,
        'decision',
        `following ${sent.txHashes.length} tx already sent from ${executor.id} (${executor.address}) before a restart`,
        { actionId: plan.id, txHashes: sent.txHashes },
        block,
      );
    } else {
      options.hooks?.onSent?.({ plan, txHashes: sent.txHashes, event, sentAt: sent.sentAt });
      await save(plan, 'sent', { txHashes: sent.txHashes, sentBlock: block });
      await incidents.record(
        incidentId,
        'tx-sent',
        `sent ${sent.txHashes.length} tx from ${executor.id} (${executor.address}): ${plan.calls.map((c) => c.description).join(', ')}${sent.note ? ` (${sent.note})` : priced.outbid ? ` (${outbidSummary(priced.outbid)})` : ''}`,
        {
          actionId: plan.id,
          txHashes: sent.txHashes,
          ...(priced.outbid ? { outbid: outbidDetails(priced.outbid) } : {}),
        },
        block,
      );
    }

    confirming.add(plan.id);
    const finish = confirm(plan, sent, incidentId, decision).finally(() => confirming.delete(plan.id));
    inFlight.add(finish);
    void finish.finally(() => inFlight.delete(finish));
  };

  const confirm = async (plan: ActionPlan, sent: SentAction, incidentId: string, decision: Decision) => {
    let minedBlock: bigint | null = null;
    try {
      const receipts = await sent.receipts.catch((error: unknown) => {
        // Reverted on-chain (the state moved between the simulation and the block: a pool's
        // reserves under a migration's minimums, say), or never mined: planned afresh next block.
        retrySoon(decision, plan.id);
        throw error;
      });
      minedBlock = maxBig(receipts.map((r) => r.blockNumber));
      // A quorum executor says whether its confirmations made the calls or wait for more agents.
      const quorum: QuorumProgress | undefined = sent.quorum ? await sent.quorum : undefined;
      const waiting = quorum !== undefined && !quorum.executed;
      const status = waiting ? 'awaiting-quorum' : 'mined';
      await save(plan, status, {
        minedBlock,
        // Every version broadcast: a fee-bumped replacement's hash as well as the first.
        txHashes: sent.allTxHashes?.() ?? sent.txHashes,
        ...(waiting ? { reason: quorum.summary } : {}),
      });
      if (receipts.length > 0) {
        await incidents.record(
          incidentId,
          'tx-mined',
          `mined in block ${minedBlock}: ${receipts.map((r) => `${r.transactionHash.slice(0, 10)}… (index ${r.transactionIndex})`).join(', ')}${quorum ? ` — ${quorum.summary}` : ''}`,
          {
            actionId: plan.id,
            blocks: receipts.map((r) => r.blockNumber.toString()),
            indexes: receipts.map((r) => r.transactionIndex),
            ...(quorum ? { quorum: quorum.details } : {}),
          },
          minedBlock,
        );
      } else if (quorum) {
        await incidents.record(
          incidentId,
          'decision',
          quorum.summary,
          { actionId: plan.id, quorum: quorum.details },
          null,
        );
      }
      if (waiting) {
        if (quorum.signatures) await awaitSignatures(plan, quorum.signatures);
        else if (quorum.cancel) await offerCancellation(plan, quorum, quorum.cancel);
        if (quorum.outcome) watchQuorum(plan, quorum.outcome, incidentId);
        return;
      }
      await verify(plan, incidentId, minedBlock);
    } catch (error) {
      // In the background: a store that fails (or is closed at shutdown) is logged, never unhandled.
      await stop(plan, 'failed', describeError(error), {
        type: 'effect-failed',
        summary: `action failed after sending: ${describeError(error)}`,
        block: minedBlock,
      }).catch((e) => common.logger.error({ err: describeError(e) }, 'recording a failed action failed'));
      options.hooks?.onVerified?.({ plan, ok: false, minedBlock });
    }
  };

  /**
   * Follows an action waiting for other agents, outside `settled()` (it can wait for as long as the
   * proposal lives): once the calls are made, the effect is verified as for any mined action.
   */
  const watchQuorum = (plan: ActionPlan, outcome: Promise<QuorumOutcome | null>, incidentId: string) => {
    watching.add(plan.id);
    void (async () => {
      let block: bigint | null = null;
      try {
        const result = await outcome;
        if (result === null) return; // shutdown or an unreachable chain: the record stays awaiting-quorum
        const signed = awaitingSignatures.delete(plan.id);
        const offered = cancellable.delete(plan.id);
        if (signed || offered) await closeApproval(plan.id, result);
        const approval = signed || offered ? await options.actions.getApproval(plan.id) : undefined;
        if (!result.executed && approval?.status === 'rejected') {
          // A Safe transaction an owner rejected, or a timelock operation cancelled on a person's
          // rejection: final, as a rejected step.
          const reason = signed ? result.reason : `${rejection(approval)} (operation cancelled)`;
          await save(plan, 'rejected', { reason });
          await incidents.record(incidentId, 'action-refused', `${plan.action} ${reason}: not executed`, {
            actionId: plan.id,
            approval: 'rejected',
          });
          options.hooks?.onVerified?.({ plan, ok: false, minedBlock: null });
          return;
        }
        if (!result.executed) {
          await stop(plan, 'failed', result.reason, {
            type: 'effect-failed',
            summary: `effect NOT reached: ${result.reason}`,
            block: null,
          });
          options.hooks?.onVerified?.({ plan, ok: false, minedBlock: null });
          return;
        }
        block = result.block;
        await save(plan, 'mined', { minedBlock: block, reason: null });
        await incidents.record(
          incidentId,
          'tx-mined',
          result.summary,
          { actionId: plan.id, quorum: result.details },
          block,
        );
        await verify(plan, incidentId, block);
      } catch (error) {
        await stop(plan, 'failed', describeError(error), {
          type: 'effect-failed',
          summary: `action failed while waiting for the quorum: ${describeError(error)}`,
          block,
        }).catch((e) => common.logger.error({ err: describeError(e) }, 'recording a failed action failed'));
      } finally {
        watching.delete(plan.id);
      }
    })();
  };

  /** Reads the planned effects back once the calls are made: `verified` and contained, or `failed`. */
  const verify = async (plan: ActionPlan, incidentId: string, minedBlock: bigint | null) => {
    const failures: string[] = [];
    for (const check of plan.effects) {
      const actual = await check.read();
      if (actual !== check.expected)
        failures.push(`${check.description}: expected ${String(check.expected)}, read ${String(actual)}`);
    }
    if (failures.length > 0) {
      await stop(plan, 'failed', failures.join('; '), {
        type: 'effect-failed',
        summary: `effect NOT verified: ${failures.join('; ')}`,
        block: minedBlock,
      });
      options.hooks?.onVerified?.({ plan, ok: false, minedBlock });
      return;
    }
    await save(plan, 'verified');
    await incidents.record(
      incidentId,
      'effect-verified',
      `effect verified: ${plan.effects.map((e) => e.description).join('; ')}`,
      { actionId: plan.id },
      minedBlock,
    );
    await incidents.setStatus(incidentId, 'contained', `${plan.action} landed and verified`, minedBlock);
    options.hooks?.onVerified?.({ plan, ok: true, minedBlock });
  };

  /** Rewrites the approvals state file the CLI reads while this process holds the store. */
  const publishState = async () => {
    if (!inbox) return;
    try {
      const approvals = await options.actions.listApprovals({ limit: 200 });
      writeApprovalsState(inbox, { pid: process.pid, writtenAt: common.clock.now(), approvals });
      statePublished = true;
    } catch (error) {
      common.logger.warn({ err: describeError(error) }, 'writing the approvals state file failed');
    }
  };

  /** Records an `approve` step as waiting (or, after a restart, waiting still) and says what to run. */
  const requestApproval = async (
    decision: Decision,
    plan: ActionPlan,
    executor: Executor,
    event: BlockEvent,
  ) => {
    const now = common.clock.now();
    const timeout = decision.step.approvalTimeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS;
    const existing = await options.actions.getApproval(plan.id);
    if (existing?.status === 'rejected' && existing.kind === 'step') {
      // Rejected while this process was not watching (a restart): final, never asked again.
      await save(plan, 'rejected', { reason: `rejected by ${existing.decidedBy ?? 'unknown'}` });
      return;
    }
    const resumed =
      existing !== undefined && (existing.status === 'awaiting' || existing.status === 'approved');
    const approval: Approval = resumed
      ? existing
      : newApproval(
          plan,
          'step',
          {
            deadline: now + timeout * 1000,
            executor: executor.id,
            summary: plan.calls.map((c) => c.description).join(' + '),
          },
          now,
        );
    if (!resumed) await options.actions.upsertApproval(approval);
    const deadline = approval.deadline ?? now + timeout * 1000;
    const until = new Date(deadline).toISOString();
    await save(plan, 'awaiting-approval', { reason: `awaiting approval until ${until}` });
    await incidents.record(
      plan.incidentId,
      'decision',
      `${resumed ? 'still awaiting' : 'awaiting'} approval until ${until}: ${plan.action} (${approval.request.summary}) via ${executor.id} — run \`firebreak approve ${plan.id}\` to execute it, or \`firebreak reject ${plan.id}\``,
      {
        actionId: plan.id,
        approval: resumed ? 'resumed' : 'requested',
        deadline: until,
        command: approvalCommand(plan.id, 'step'),
      },
      event.block.number,
    );
    awaitingApproval.set(plan.id, { decision, plan, executor, deadline });
    await publishState();
  };

  /** An approved step: simulated again against the latest state, then sent like any action. */
  const executeApproved = async (
    entry: { decision: Decision; plan: ActionPlan; executor: Executor },
    approval: Approval,
    event: BlockEvent,
  ) => {
    const { decision, plan, executor } = entry;
    const block = event.block.number;
    const by = approval.decidedBy ?? 'unknown';
    await incidents.record(
      plan.incidentId,
      'decision',
      `approved by ${by} at ${new Date(approval.decidedAt ?? common.clock.now()).toISOString()}: executing ${plan.action}`,
      { actionId: plan.id, approval: 'approved', by },
      block,
    );
    inProgress.add(plan.id);
    try {
      await save(plan, 'planned', { reason: `approved by ${by}` });
      let gas: bigint[];
      try {
        gas = await executor.simulate(plan);
      } catch (error) {
        await stop(plan, 'refused', describeError(error), {
          type: 'action-refused',
          summary: `${plan.action} approved by ${by} but refused: ${describeError(error)}`,
          block,
        });
        return;
      }
      await incidents.record(
        plan.incidentId,
        'simulated',
        `simulated ${plan.calls.map((c) => c.description).join(' + ')} again after the approval: no revert`,
        { actionId: plan.id, gas: gas.map(String), blastRadius: plan.blastRadius },
        block,
      );
      await sendPlan(decision, plan, executor, gas, event);
    } finally {
      inProgress.delete(plan.id);
    }
  };

  /**
   * The `approvalTimeoutSeconds` of the playbook step whose plan waits for this Safe's owners (the
   * step of the plan's playbook and action whose executor is this Safe); default 900.
   */
  const signaturesTimeout = (plan: ActionPlan, pending: PendingSignatures): number => {
    const safe = pending.request.safe.toLowerCase();
    const step = options.playbooks
      .find((p) => p.id === plan.playbookId)
      ?.do.find(
        (s) => s.action === plan.action && options.executors.get(s.executor)?.address.toLowerCase() === safe,
      );
    return step?.approvalTimeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS;
  };

  /**
   * A Safe transaction waiting for owners: recorded with its signatures and a deadline (the step's
   * `approvalTimeoutSeconds`); after a restart, the stored row (deadline, owner signatures) is taken
   * up again.
   */
  const awaitSignatures = async (plan: ActionPlan, pending: PendingSignatures) => {
    const now = common.clock.now();
    const existing = await options.actions.getApproval(plan.id);
    const same =
      existing?.status === 'awaiting' &&
      existing.request.safe?.safeTxHash.toLowerCase() === pending.request.safeTxHash.toLowerCase();
    const deadline = now + signaturesTimeout(plan, pending) * 1000;
    const agents = pending.collected.map((c) => ({ ...c, by: 'agent', at: now }));
    const approval: Approval = same
      ? // A row written before Safe transactions had deadlines gets one from now.
        { ...existing, deadline: existing.deadline ?? deadline }
      : newApproval(
          plan,
          'safe-signatures',
          {
            deadline,
            executor: pending.request.safe,
            summary: plan.calls.map((c) => c.description).join(' + '),
            safe: pending.request,
            signatures: agents,
          },
          now,
        );
    if (!same || existing.deadline === null) await options.actions.upsertApproval(approval);
    awaitingSignatures.set(plan.id, { plan, pending });
    const missing = pending.request.threshold - approval.signatures.length;
    const until = new Date(approval.deadline ?? deadline).toISOString();
    await incidents.record(
      plan.incidentId,
      'decision',
      `Safe ${pending.request.safe} needs ${missing} more owner signature${missing === 1 ? '' : 's'} of Safe tx ${pending.request.safeTxHash} until ${until}: run \`firebreak approve ${plan.id} --key-env <VAR holding an owner's key>\`, or an owner approves the hash on the Safe (approveHash)`,
      {
        actionId: plan.id,
        approval: 'signatures-requested',
        safeTxHash: pending.request.safeTxHash,
        deadline: until,
        command: approvalCommand(plan.id, 'safe-signatures'),
      },
      null,
    );
    await publishState();
    await handSignatures(plan.id, null);
  };

  /**
   * Brings a waiting Safe transaction up to date, at a block (null: the latest): a rejection cancels
   * it; the stored owner signatures given by the deadline that the executor does not hold yet are
   * handed in; owners' on-chain approvals (`approveHash`) are read, stored with the signatures (a
   * restart keeps them) and handed in; past the deadline, unless the threshold was met, the wait ends:
   * `failed`, escalated on the timeline and in the log, as an expired `approve` step. One at a time
   * per action (a block's and the first wait's may overlap): the other call returns at once.
   */
  const handSignatures = async (id: string, block: bigint | null) => {
    if (handing.has(id)) return;
    handing.add(id);
    try {
      await refreshSignatures(id, block);
    } finally {
      handing.delete(id);
    }
  };
  /** Action ids whose waiting Safe transaction `handSignatures` is bringing up to date. */
  const handing = new Set<string>();

  const refreshSignatures = async (id: string, block: bigint | null) => {
    const entry = awaitingSignatures.get(id);
    const approval = await options.actions.getApproval(id);
    if (!entry || !approval) return;
    if (approval.status === 'rejected') {
      entry.pending.cancel(rejection(approval));
      return;
    }
    const { plan, pending } = entry;
    const { safeTxHash, threshold } = pending.request;
    const { deadline } = approval;
    const now = common.clock.now();
    const held = new Set(pending.collected.map((c) => c.signer.toLowerCase()));
    const record = (s: { signer: string; by: string }) =>
      incidents.record(
        plan.incidentId,
        'decision',
        s.by === ON_CHAIN_APPROVAL
          ? `owner ${s.signer} approved Safe tx ${safeTxHash} on-chain: ${pending.collected.length + 1} of ${threshold}`
          : `owner ${s.signer} signed Safe tx ${safeTxHash} (approved by ${s.by}): ${pending.collected.length + 1} of ${threshold}`,
        {
          actionId: id,
          approval: s.by === ON_CHAIN_APPROVAL ? 'approved-on-chain' : 'signed',
          signer: s.signer,
          by: s.by,
        },
        block,
      );
    for (const s of approval.signatures) {
      // A signature given after the deadline (the engine took it late) does not count.
      if (held.has(s.signer.toLowerCase()) || (deadline !== null && s.at > deadline)) continue;
      held.add(s.signer.toLowerCase());
      await record(s);
      await pending.add(s.signer as Hex, s.signature as Hex);
    }
    if (deadline === null || now <= deadline) {
      let approved: { signer: Hex; signature: Hex }[];
      try {
        approved = await pending.approvedOnChain(block ?? undefined);
      } catch (error) {
        common.logger.warn(
          { actionId: id, safeTxHash, err: describeError(error) },
          "reading Safe owners' on-chain approvals failed; trying again next block",
        );
        return;
      }
      const fresh = approved
        .filter((s) => !held.has(s.signer.toLowerCase()))
        .map((s) => ({ ...s, by: ON_CHAIN_APPROVAL, at: now }));
      if (fresh.length === 0) return;
      // Stored first: a restart hands them in again (their pre-validated signature stays valid on-chain).
      await options.actions.upsertApproval({
        ...approval,
        signatures: [...approval.signatures, ...fresh],
        updatedAt: now,
      });
      for (const s of fresh) {
        await record(s);
        await pending.add(s.signer, s.signature);
      }
      await publishState();
      return;
    }
    if (!pending.expire()) return; // the threshold was met in time: the transaction is being executed
    awaitingSignatures.delete(id);
    const until = new Date(deadline).toISOString();
    const have = pending.collected.length;
    const reason = `waited for Safe owners until ${until} with ${have} of ${threshold} signatures of Safe tx ${safeTxHash}: not executed`;
    await options.actions.upsertApproval({ ...approval, status: 'expired', reason, updatedAt: now });
    await save(plan, 'failed', { reason });
    common.logger.error(
      {
        actionId: id,
        incident: plan.incidentId,
        action: plan.action,
        safe: pending.request.safe,
        safeTxHash,
        deadline: until,
      },
      `ESCALATION: the Safe transaction of ${plan.action} (action ${id}, Safe tx ${safeTxHash}) expired at ${until} with ${have} of ${threshold} owner signatures: nothing was executed; decide by hand`,
    );
    await incidents.record(
      plan.incidentId,
      'action-refused',
      `ESCALATION: ${plan.action} ${reason}; the incident needs a human`,
      { actionId: id, approval: 'expired', deadline: until, safeTxHash },
      block,
    );
    await publishState();
  };

  /**
   * A scheduled operation that executes by itself when its delay has passed: recorded as waiting
   * (kind `timelock`, no deadline) so that a person can call it off with `firebreak reject`, which
   * `onBlock` turns into the executor's cancellation. After a restart the stored row is kept (a
   * rejection taken meanwhile is acted on at the next block).
   */
  const offerCancellation = async (
    plan: ActionPlan,
    progress: QuorumProgress,
    cancel: () => Promise<Hex | null>,
  ) => {
    const now = common.clock.now();
    const existing = await options.actions.getApproval(plan.id);
    if (existing?.kind !== 'timelock') {
      // An `approve` step's row (approved, then scheduled) becomes the operation's; who approved it
      // stays in the summary (and on the timeline).
      const approved =
        existing?.decidedBy != null
          ? ` (approved by ${existing.decidedBy}${existing.decidedAt ? ` at ${new Date(existing.decidedAt).toISOString()}` : ''})`
          : '';
      await options.actions.upsertApproval(
        newApproval(
          plan,
          'timelock',
          {
            deadline: null,
            executor: String(progress.details.timelock ?? 'timelock'),
            summary: `${progress.summary}${approved}`,
          },
          now,
        ),
      );
      await incidents.record(
        plan.incidentId,
        'decision',
        `${plan.action} executes by itself once the timelock's delay has passed; to call it off: ${approvalCommand(plan.id, 'timelock')}`,
        { actionId: plan.id, approval: 'cancellable', command: approvalCommand(plan.id, 'timelock') },
        null,
      );
    }
    cancellable.set(plan.id, { plan, cancel, cancelling: false, failures: 0 });
    await publishState();
  };

  /**
   * Cancels a scheduled operation a person rejected. A failure is logged every time and tried again
   * next block; the timeline says so once.
   */
  const cancelRejected = async (id: string, block: bigint) => {
    const entry = cancellable.get(id);
    if (!entry || entry.cancelling) return;
    const approval = await options.actions.getApproval(id);
    if (approval?.status !== 'rejected') return;
    entry.cancelling = true;
    const { plan } = entry;
    const rejected = rejection(approval);
    try {
      const hash = await entry.cancel();
      await incidents.record(
        plan.incidentId,
        'decision',
        hash
          ? `${plan.action} cancelled in the timelock (tx ${hash}), ${rejected}`
          : `${plan.action} ${rejected}, but nothing was pending in the timelock any more`,
        { actionId: id, approval: 'rejected', by: approval.decidedBy, ...(hash ? { txHash: hash } : {}) },
        block,
      );
    } catch (error) {
      entry.cancelling = false;
      entry.failures += 1;
      common.logger.error(
        { actionId: id, err: describeError(error), failures: entry.failures },
        `cancelling the timelock operation of ${plan.action} failed; trying again next block`,
      );
      if (entry.failures > 1) return;
      await incidents.record(
        plan.incidentId,
        'action-refused',
        `${plan.action} was ${rejected}, but cancelling its timelock operation failed: ${describeError(error)}; trying again next block`,
        { actionId: id, approval: 'rejected' },
        block,
      );
    }
  };

  /** Closes the approval row of a Safe transaction or a timelock operation whose wait ended. */
  const closeApproval = async (id: string, result: QuorumOutcome) => {
    const approval = await options.actions.getApproval(id);
    if (!approval) return;
    if (approval.status === 'awaiting' || approval.status === 'approved')
      await options.actions.upsertApproval({
        ...approval,
        status: result.executed ? 'done' : 'expired',
        reason: result.executed ? null : result.reason,
        updatedAt: common.clock.now(),
      });
    await publishState();
  };

  /** Takes the decisions other processes dropped in the inbox: checked, recorded in the store, removed. */
  const ingestInbox = async (): Promise<boolean> => {
    if (!inbox) return false;
    const entries = takeDecisions(inbox);
    for (const entry of entries) {
      if ('error' in entry) {
        common.logger.warn(
          { file: entry.file, err: entry.error },
          'approvals inbox: unreadable decision ignored',
        );
        removeDecision(entry.file);
        continue;
      }
      try {
        await applyDecision(options.actions, entry.decision, common.clock.now());
      } catch (error) {
        if (!isFirebreakError(error)) throw error;
        common.logger.warn(
          { actionId: entry.decision.actionId, by: entry.decision.by, err: describeError(error) },
          'approvals inbox: decision refused',
        );
      }
      removeDecision(entry.file);
    }
    return entries.length > 0;
  };

  const onBlock = async (event: BlockEvent) => {
    let changed = await ingestInbox();
    const now = common.clock.now();
    for (const [id, entry] of awaitingApproval) {
      if (entry.plan.chainId !== event.chainId) continue;
      const approval = await options.actions.getApproval(id);
      const { plan } = entry;
      if (approval?.status === 'approved') {
        awaitingApproval.delete(id);
        await options.actions.upsertApproval({ ...approval, status: 'done', updatedAt: now });
        changed = true;
        await executeApproved(entry, approval, event);
      } else if (approval?.status === 'rejected') {
        awaitingApproval.delete(id);
        changed = true;
        const reason = rejection(approval);
        await save(plan, 'rejected', { reason });
        await incidents.record(
          plan.incidentId,
          'action-refused',
          `${plan.action} ${reason}: not sent`,
          { actionId: id, approval: 'rejected', by: approval.decidedBy },
          event.block.number,
        );
      } else if (now > entry.deadline) {
        awaitingApproval.delete(id);
        changed = true;
        const until = new Date(entry.deadline).toISOString();
        const reason = `approval expired at ${until} with nobody deciding: not executed`;
        if (approval)
          await options.actions.upsertApproval({ ...approval, status: 'expired', reason, updatedAt: now });
        await save(plan, 'failed', { reason });
        common.logger.error(
          { actionId: id, incident: plan.incidentId, action: plan.action, deadline: until },
          `ESCALATION: the approval of ${plan.action} (action ${id}) expired at ${until}: nothing was sent; decide by hand`,
        );
        await incidents.record(
          plan.incidentId,
          'action-refused',
          `ESCALATION: ${plan.action} ${reason}; the incident needs a human`,
          { actionId: id, approval: 'expired', deadline: until },
          event.block.number,
        );
      }
    }
    for (const [id, entry] of awaitingSignatures) {
      if (entry.plan.chainId === event.chainId) await handSignatures(id, event.block.number);
    }
    for (const [id, entry] of cancellable) {
      if (entry.plan.chainId === event.chainId) await cancelRejected(id, event.block.number);
    }
    if (changed || (!statePublished && inbox)) await publishState();
  };

  return {
    anticipate(results, event) {
      if (options.guardrails.killSwitch) return;
      for (const [id, entry] of early) if (entry.blockHash !== event.block.hash) early.delete(id);
      // The decisions `respond` would make, without marking the playbooks fired.
      const peek: Cooldowns = { ready: cooldowns.ready, fired: () => {}, clear: () => {} };
      for (const decision of decide(options.playbooks, results, peek, instanceIds)) {
        if (decision.step.autonomy !== 'auto') continue;
        const id = actionId(decision);
        if (early.has(id) || inProgress.has(id) || watching.has(id) || confirming.has(id)) continue;
        const executor = options.executors.get(decision.step.executor);
        if (!executor) continue;
        const plan = options.buildPlan(decision, id, event);
        const simulation = plan.then((p) => (p ? executor.simulate(p, pricing(event, p, decision)) : []));
        plan.catch(() => undefined); // `respond` sees the failure when it takes the plan up
        simulation.catch(() => undefined);
        early.set(id, { blockHash: event.block.hash, plan, simulation });
      }
    },
    async respond(results, event) {
      const decisions = decide(options.playbooks, results, cooldowns, instanceIds);
      for (const decision of decisions) await execute(decision, event);
    },
    onBlock,
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
