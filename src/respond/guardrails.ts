/**
 * Respond — guardrails: what the automatic path may never do, checked before anything is signed.
 *
 * Only risk-reducing actions run without a human; a global kill-switch stops every automatic
 * action. (Bounds on parameter changes, rate limits and approvals deepen this in the Respond issue.)
 */
import type { Decision } from './playbooks';
import type { ActionPlan } from './types';

export interface GuardrailSettings {
  /** When set, no action is executed automatically; decisions are recorded only. */
  killSwitch: boolean;
}

export type GuardrailVerdict = { ok: true } | { ok: false; reason: string };

export function checkGuardrails(
  plan: ActionPlan,
  decision: Decision,
  settings: GuardrailSettings,
): GuardrailVerdict {
  if (decision.step.autonomy !== 'auto') {
    return { ok: false, reason: `step autonomy is "${decision.step.autonomy}": not executed automatically` };
  }
  if (settings.killSwitch)
    return { ok: false, reason: 'the global kill-switch is on: automatic actions are disabled' };
  if (!plan.riskReducing) {
    return {
      ok: false,
      reason: `${plan.action} is not risk-reducing: only risk-reducing actions run on the automatic path`,
    };
  }
  if (plan.calls.length === 0) return { ok: false, reason: 'the plan has no calls' };
  return { ok: true };
}
