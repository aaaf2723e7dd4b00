/**
 * Respond — the responder: ingested findings → playbook decisions → action plans → guardrails →
 * executor (simulate, send) → receipts → effect verification, every step on the incident timeline.
 *
 * Exactly once: an action's id is deterministic (incident, playbook, step, target) and its record
 * is written before anything is sent; a plan whose record exists is not sent again.
 */
import { keccak256, toHex } from 'viem';
import { maxBig } from '../common/bigint';
import type { Common } from '../common/common';
import { describeError } from '../common/errors';
import type { PlaybookConfig } from '../config/schema';
import type { BlockEvent } from '../detectors/types';
import type { IncidentManager, IngestResult } from '../incidents/manager';
import type { TimelineEventType } from '../incidents/types';
import type { Executor, QuorumOutcome, QuorumProgress, SentAction } from './executors/types';
import { checkGuardrails, type GuardrailSettings } from './guardrails';
import { type Cooldowns, createCooldowns, type Decision, decide } from './playbooks';
import type { ActionPlan, ActionRecord, ActionStatus } from './types';

export interface ActionRepository {
  getAction(id: string): Promise<ActionRecord | undefined>;
  upsertAction(record: ActionRecord): Promise<void>;
}

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
  common: Common;
  hooks?: ResponderHooks;
}

export interface Responder {
  respond(results: readonly IngestResult[], event: BlockEvent): Promise<void>;
  /** Resolves when every action sent so far has been mined and verified (or failed). */
  settled(): Promise<void>;
}

export function actionId(decision: Decision): string {
  const { playbook, stepIndex, step, result } = decision;
  const target = `${result.finding.subject.chainId}:${result.finding.subject.market ?? '-'}:${result.finding.subject.asset ?? '-'}`;
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

  const save = async (plan: ActionPlan, status: ActionStatus, patch: Partial<ActionRecord> = {}) => {
    const existing = await options.actions.getAction(plan.id);
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

  const execute = async (decision: Decision, event: BlockEvent) => {
    const id = actionId(decision);
    if (inProgress.has(id) || watching.has(id)) return;
    const previous = await options.actions.getAction(id);
    // Exactly once: sent, mined or verified actions are never sent again. A `planned` record left by
    // an earlier process was interrupted before its transactions were broadcast or recorded; it is
    // planned again from fresh state, which sends nothing if the effect is already in place. An
    // `awaiting-quorum` record that this process is not watching (it was written before a restart)
    // goes through again too: the quorum executor sends nothing for a call its agent already
    // confirmed, and picks up where the proposal stands.
    if (
      previous &&
      previous.status !== 'failed' &&
      previous.status !== 'refused' &&
      previous.status !== 'planned' &&
      previous.status !== 'awaiting-quorum'
    )
      return;
    inProgress.add(id);
    try {
      await executeOnce(decision, event, id);
    } finally {
      inProgress.delete(id);
    }
  };

  const executeOnce = async (decision: Decision, event: BlockEvent, id: string) => {
    const incidentId = decision.result.incident.id;
    const block = event.block.number;

    await incidents.record(
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
    if (decision.step.autonomy === 'notify') return;

    let plan: ActionPlan | null;
    try {
      plan = await options.buildPlan(decision, id, event);
    } catch (error) {
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
      await incidents.record(
        incidentId,
        'decision',
        `${decision.step.action}: already in effect, nothing to send`,
        {},
        block,
      );
      return;
    }
    const verdict = checkGuardrails(plan, decision, options.guardrails);
    if (!verdict.ok) {
      await stop(plan, 'refused', verdict.reason, {
        type: 'action-refused',
        summary: `${plan.action} refused: ${verdict.reason}`,
        block: block,
      });
      return;
    }
    const executor = options.executors.get(decision.step.executor);
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
    await save(plan, 'planned');
    let gas: bigint[];
    try {
      gas = await executor.simulate(plan);
    } catch (error) {
      retrySoon(decision, plan.id); // the state may change: retry next block, a few times
      await stop(plan, 'refused', describeError(error), {
        type: 'action-refused',
        summary: describeError(error),
        block: block,
      });
      return;
    }
    await incidents.record(
      incidentId,
      'simulated',
      `simulated ${plan.calls.map((c) => c.description).join(' + ')}: no revert`,
      { actionId: plan.id, gas: gas.map(String), blastRadius: plan.blastRadius },
      block,
    );
    if (executor.dryRun) {
      // Refused, not planned: a dry run must not block a real execution later.
      await stop(plan, 'refused', 'dry run: simulated, not sent', {
        type: 'decision',
        summary: `dry run: ${plan.action} not sent`,
        block: block,
      });
      return;
    }

    let sent: SentAction;
    try {
      sent = await executor.send(plan, gas, { baseFeePerGas: event.block.baseFeePerGas ?? null });
    } catch (error) {
      retrySoon(decision, plan.id); // a send can fail transiently: retry next block, a few times
      await stop(plan, 'failed', describeError(error), {
        type: 'action-refused',
        summary: describeError(error),
        block: block,
      });
      return;
    }
    if (sent.txHashes.length === 0) {
      // A quorum executor whose agent has confirmed every call already (before a restart, say).
      await incidents.record(
        incidentId,
        'decision',
        `no transaction from ${executor.id} (${executor.address}): ${sent.note ?? 'nothing left to send'}`,
        { actionId: plan.id },
        block,
      );
    } else {
      options.hooks?.onSent?.({ plan, txHashes: sent.txHashes, event, sentAt: sent.sentAt });
      await save(plan, 'sent', { txHashes: sent.txHashes, sentBlock: block });
      await incidents.record(
        incidentId,
        'tx-sent',
        `sent ${sent.txHashes.length} tx from ${executor.id} (${executor.address}): ${plan.calls.map((c) => c.description).join(', ')}`,
        { actionId: plan.id, txHashes: sent.txHashes },
        block,
      );
    }

    const finish = confirm(plan, sent, incidentId);
    inFlight.add(finish);
    void finish.finally(() => inFlight.delete(finish));
  };

  const confirm = async (plan: ActionPlan, sent: SentAction, incidentId: string) => {
    let minedBlock: bigint | null = null;
    try {
      const receipts = await sent.receipts;
      minedBlock = maxBig(receipts.map((r) => r.blockNumber));
      // A quorum executor says whether its confirmations made the calls or wait for more agents.
      const quorum: QuorumProgress | undefined = sent.quorum ? await sent.quorum : undefined;
      const waiting = quorum !== undefined && !quorum.executed;
      const status = waiting ? 'awaiting-quorum' : 'mined';
      await save(plan, status, { minedBlock, ...(waiting ? { reason: quorum.summary } : {}) });
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
        if (quorum.outcome) watchQuorum(plan, quorum.outcome, incidentId);
        return;
      }
      await verify(plan, incidentId, minedBlock);
    } catch (error) {
      await stop(plan, 'failed', describeError(error), {
        type: 'effect-failed',
        summary: `action failed after sending: ${describeError(error)}`,
        block: minedBlock,
      });
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

  return {
    async respond(results, event) {
      const decisions = decide(options.playbooks, results, cooldowns, instanceIds);
      for (const decision of decisions) await execute(decision, event);
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
