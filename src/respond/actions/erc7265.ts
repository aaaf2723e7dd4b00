/**
 * Respond / actions — `erc7265.trip`: trip an ERC-7265 circuit breaker (Firebreak's
 * `CircuitBreaker.trip()`), so that every later outflow of its registered assets from every
 * contract it protects is locked for its recipient instead of paid. The move for a logic-exploit
 * drain (SCENARIOS.md §6): the first drain transaction is seen, the later ones find the breaker
 * tripped and — a flash-loan-financed attack needing its proceeds within the transaction — revert.
 *
 * The breaker is named by the playbook step's `target` (findings name the drained contract, not
 * its breaker). The executor's account must be the breaker's admin or guardian, directly or as a
 * GuardianHub allow-listed for `trip()`. Reversible by governance only (`overrideRateLimit`), or by
 * anyone once the breaker's cooldown has passed.
 */
import type { Client, Hex } from 'viem';
import { tripBreaker } from '../../protocols/erc7265/actions';
import { readBreakerState } from '../../protocols/erc7265/reader';
import type { PlanBuilder } from '../responder';
import type { ActionPlan } from '../types';

export interface BreakerPlanBuilderOptions {
  clientFor(chainId: number): Client | undefined;
}

export function createBreakerPlanBuilder(options: BreakerPlanBuilderOptions): PlanBuilder {
  return async (decision, id) => {
    const { subject } = decision.result.finding;
    const breaker = decision.step.target as Hex | undefined;
    if (decision.step.action !== 'erc7265.trip') throw new Error(`unknown action ${decision.step.action}`);
    if (!breaker)
      throw new Error("erc7265.trip needs the breaker's address: give the playbook step a `target`");
    const client = options.clientFor(subject.chainId);
    if (!client) throw new Error(`erc7265.trip: no client for chain ${subject.chainId}`);
    // The latest state, not the finding's block: a trip sent for an earlier block may have landed since.
    const state = await readBreakerState(client, breaker);
    // A breaker already rate limited (by a breach or an earlier trip) or stopped locks outflows: nothing to do.
    if (state.isRateLimited || !state.isOperational) return null;
    const plan: ActionPlan = {
      id,
      action: decision.step.action,
      chainId: subject.chainId,
      incidentId: decision.result.incident.id,
      playbookId: decision.playbook.id,
      riskReducing: true,
      calls: [tripBreaker(breaker)],
      changes: [{ param: 'breakerTripped', target: breaker, asset: null, from: false, to: true }],
      effects: [
        {
          description: 'breaker rate limited',
          read: async () => (await readBreakerState(client, breaker)).isRateLimited,
          expected: true,
        },
      ],
      blastRadius: `circuit breaker ${breaker}: every outflow of its registered assets, from every contract it protects, is locked for its recipient until governance overrides the limit (or the ${state.rateLimitCooldownPeriod} s cooldown passes); deposits and repayments continue`,
    };
    return plan;
  };
}
