/**
 * Respond — guardrails: what an action may never do, checked before anything is signed.
 *
 * The automatic path runs only risk-reducing actions, and never one that undoes a containment
 * (unpause, unfreeze, re-enable borrowing) or raises a limit (a cap set to 0 is no cap at all: a
 * raise). Parameter cuts are bounded per parameter, in the style of Aave's risk stewards: a largest
 * cut relative to the current value, and a minimum delay (chain time) between two automatic changes
 * of one parameter of one asset. At most `rateLimit.maxActions` automatic actions per chain in any
 * `rateLimit.windowSeconds`. A global kill-switch stops them all.
 *
 * On every path, whoever approved it: funds go only to a configured recovery vault (an allowance
 * only to a vault, or to the contract a later call of the same plan makes), and every
 * parameter a call of the plan sets must be declared in the plan's `changes` (with the value the
 * call sets), so that no call slips past the bounds undeclared.
 *
 * The delays and the rate limit remember past automatic actions in a ledger (the store's
 * `guardrail_ledger`), so a restart resets neither. A remembered action counts unless it was
 * refused, or failed before anything was sent.
 */
import type { Abi, AbiFunction, Hex } from 'viem';
import type { GuardrailsConfig } from '../config/schema';
import type { Decision } from './playbooks';
import type { ActionPlan, ActionRecord, LimitParameter, PlannedChange, SwitchParameter } from './types';

export interface ParameterBound {
  /** Largest cut in one change, relative to the current value, bps (10000: down to 0, or from no limit). */
  maxDecreaseBps: number;
  /** Seconds of chain time between two automatic changes of the parameter of one asset. */
  minDelaySeconds: number;
}

/**
 * The bounds when the config names none: what a DAO guardian already does by hand. LTV to 0 and a
 * cap cut to the usage (from no cap) are the containing moves, so a full cut is allowed, but not
 * twice within an hour; a cut of the liquidation threshold makes positions liquidatable, so it is
 * held to 5 % of its value a day.
 */
export const DEFAULT_BOUNDS: Readonly<Record<LimitParameter, ParameterBound>> = {
  ltv: { maxDecreaseBps: 10_000, minDelaySeconds: 3600 },
  liquidationThreshold: { maxDecreaseBps: 500, minDelaySeconds: 86_400 },
  supplyCap: { maxDecreaseBps: 10_000, minDelaySeconds: 3600 },
  borrowCap: { maxDecreaseBps: 10_000, minDelaySeconds: 3600 },
  debtCeiling: { maxDecreaseBps: 10_000, minDelaySeconds: 3600 },
};

export interface GuardrailPolicy {
  bounds: Readonly<Record<LimitParameter, ParameterBound>>;
  rateLimit: { maxActions: number; windowSeconds: number };
  /** Recovery vaults by chain id, lower-case. */
  vaults: ReadonlyMap<number, ReadonlySet<string>>;
}

/** The policy a `guardrails:` config section gives (defaults filled in), with vaults by chain id. */
export function guardrailPolicy(
  config: GuardrailsConfig | undefined,
  chains: readonly { name: string; id: number }[] = [],
): GuardrailPolicy {
  const bounds = { ...DEFAULT_BOUNDS };
  for (const param of Object.keys(bounds) as LimitParameter[]) {
    const given = config?.parameters[param];
    bounds[param] = {
      maxDecreaseBps: given?.maxDecreaseBps ?? DEFAULT_BOUNDS[param].maxDecreaseBps,
      minDelaySeconds: given?.minDelaySeconds ?? DEFAULT_BOUNDS[param].minDelaySeconds,
    };
  }
  const ids = new Map(chains.map((c) => [c.name, c.id]));
  const vaults = new Map<number, Set<string>>();
  for (const v of config?.vaults ?? []) {
    const id = ids.get(v.chain);
    if (id === undefined) continue; // the config's cross-references name the unknown chain
    if (!vaults.has(id)) vaults.set(id, new Set());
    vaults.get(id)!.add(v.address.toLowerCase());
  }
  return {
    bounds,
    rateLimit: config?.rateLimit ?? { maxActions: 10, windowSeconds: 3600 },
    vaults,
  };
}

/** An automatic action the guardrails let through, remembered for the delays and the rate limit. */
export interface GuardrailEntry {
  actionId: string;
  chainId: number;
  /** Chain time (the finding's block timestamp), seconds. */
  at: bigint;
  /** `param|target|asset` of every limit the action changes (see `changeKey`). */
  changes: string[];
}

/** Where the guardrails remember past automatic actions; the store implements it. */
export interface GuardrailLedger {
  /** The entries of a chain with `at >= since`. */
  listGuardrailEntries(chainId: number, since: bigint): Promise<GuardrailEntry[]>;
  /** Inserts the entry, or replaces the one of the same action. */
  recordGuardrailEntry(entry: GuardrailEntry): Promise<void>;
  getAction(id: string): Promise<ActionRecord | undefined>;
}

export interface GuardrailSettings {
  /** When set, no action is executed automatically; decisions are recorded only. */
  killSwitch: boolean;
  /** Bounds, rate limit and vaults; default: `guardrailPolicy(undefined)` (no vaults). */
  policy?: GuardrailPolicy;
  /** Past automatic actions; without one, the delays and the rate limit are not checked (tests of the rest). */
  ledger?: GuardrailLedger;
}

export type GuardrailVerdict = { ok: true } | { ok: false; reason: string };

const refuse = (reason: string): GuardrailVerdict => ({ ok: false, reason });

/**
 * Every guardrail, in order: autonomy, kill-switch, risk-reducing, the plan's changes and
 * transfers (`checkPlan`), then the delays and the rate limit against the ledger. A plan that
 * passes is written to the ledger before the verdict is returned.
 */
export async function checkGuardrails(
  plan: ActionPlan,
  decision: Decision,
  settings: GuardrailSettings,
): Promise<GuardrailVerdict> {
  if (decision.step.autonomy !== 'auto') {
    return refuse(`step autonomy is "${decision.step.autonomy}": not executed automatically`);
  }
  if (settings.killSwitch) return refuse('the global kill-switch is on: automatic actions are disabled');
  if (!plan.riskReducing) {
    return refuse(
      `${plan.action} is not risk-reducing: only risk-reducing actions run on the automatic path`,
    );
  }
  if (plan.calls.length === 0) return refuse('the plan has no calls');
  const policy = settings.policy ?? guardrailPolicy(undefined);
  const verdict = checkPlan(plan, policy, { automatic: true });
  if (!verdict.ok || !settings.ledger) return verdict;
  return checkHistory(plan, decision.result.finding.block.timestamp, policy, settings.ledger);
}

/** Which value of a switch contains: the automatic path only ever moves a switch to it. */
const SAFE_SIDE: Record<SwitchParameter, boolean> = {
  reserveFrozen: true,
  reservePaused: true,
  poolPaused: true,
  borrowingEnabled: false,
  breakerTripped: true,
};
const UNDO: Record<SwitchParameter, string> = {
  reserveFrozen: 'unfreeze the reserve',
  reservePaused: 'unpause the reserve',
  poolPaused: 'unpause the pool',
  borrowingEnabled: 're-enable borrowing',
  breakerTripped: 'reset the circuit breaker',
};
/** Limits where 0 means "no limit". */
const CAPS: ReadonlySet<LimitParameter> = new Set(['supplyCap', 'borrowCap', 'debtCeiling']);
/** Functions that undo a containment by their name alone (OpenZeppelin Pausable, breakers). */
const UNDOING_FUNCTIONS = new Set(['unpause', 'unfreeze', 'resume', 'overrideRateLimit']);
/** Argument names that receive funds or an allowance: the value must be a recovery vault. */
const RECIPIENT_ARGS = new Set([
  'to',
  'recipient',
  'receiver',
  'onbehalfof',
  'spender',
  'dst',
  'destination',
  'beneficiary',
]);
/** Of those, the names that give an allowance rather than funds. */
const ALLOWANCE_ARGS = new Set(['spender']);

const lower = (v: unknown) => String(v).toLowerCase();

/** The key of one parameter of one contract and asset, in the ledger. */
export function changeKey(change: Pick<PlannedChange, 'param' | 'target' | 'asset'>): string {
  return `${change.param}|${lower(change.target)}|${change.asset === null ? '-' : lower(change.asset)}`;
}

const isCap = (param: LimitParameter) => CAPS.has(param);
/** A limit's value on one scale, lower is safer: a cap of 0 is no cap. */
const rank = (param: LimitParameter, v: bigint) => (isCap(param) && v === 0n ? Number.POSITIVE_INFINITY : v);
const show = (param: LimitParameter, v: bigint) => (isCap(param) && v === 0n ? 'no limit' : String(v));
const where = (c: PlannedChange) => (c.asset === null ? `(${c.target})` : `of ${c.asset}`);

/**
 * The relative cut of a limit change, bps, rounded up (a cut from no limit is 10000). Only for a
 * decrease (`to` safer than `from`).
 */
export function cutBps(param: LimitParameter, from: bigint, to: bigint): number {
  if (isCap(param) && from === 0n) return 10_000;
  if (from === 0n) return 0;
  return Number(((from - to) * 10_000n + from - 1n) / from);
}

/**
 * The checks that need no history: on the automatic path the direction and size of every
 * declared change; on every path the recipients of funds and the declaration of every parameter
 * a call sets.
 */
export function checkPlan(
  plan: ActionPlan,
  policy: GuardrailPolicy,
  options: { automatic: boolean },
): GuardrailVerdict {
  const changes = plan.changes ?? [];
  const undeclared = undeclaredChange(plan, changes);
  if (undeclared) return refuse(undeclared);
  const vaults = policy.vaults.get(plan.chainId) ?? new Set<string>();
  const known = vaults.size === 0 ? 'none is configured' : `configured: ${[...vaults].join(', ')}`;
  for (const t of plan.transfers ?? []) {
    if (!vaults.has(lower(t.destination)))
      return refuse(
        `${plan.action} would move funds (${t.description}) to ${t.destination}, which is not a recovery vault of chain ${plan.chainId} (${known}; guardrails.vaults)`,
      );
  }
  for (const [i, call] of plan.calls.entries()) {
    for (const recipient of recipients(call)) {
      // An allowance may also go to the contract a later call of the plan makes (a router pulling
      // LP tokens to pay a vault): that call's own receivers are checked here like any other.
      const pulledByLaterCall =
        ALLOWANCE_ARGS.has(recipient.name.replace(/^_+/, '').toLowerCase()) &&
        plan.calls.slice(i + 1).some((later) => lower(later.to) === lower(recipient.value));
      if (!vaults.has(lower(recipient.value)) && !pulledByLaterCall)
        return refuse(
          `"${call.description}" names ${recipient.value} as \`${recipient.name}\`, which is not a recovery vault of chain ${plan.chainId} (${known}; guardrails.vaults)`,
        );
    }
  }
  if (!options.automatic) return { ok: true };

  for (const call of plan.calls) {
    if (UNDOING_FUNCTIONS.has(call.functionName))
      return refuse(
        `"${call.description}" calls ${call.functionName}(): the automatic path never undoes a containment`,
      );
  }
  for (const c of changes) {
    if (typeof c.from === 'boolean') {
      const safe = SAFE_SIDE[c.param as SwitchParameter];
      if (c.to !== safe && c.from !== c.to)
        return refuse(
          `${plan.action} would ${UNDO[c.param as SwitchParameter]} ${where(c)}: the automatic path never undoes a containment`,
        );
      continue;
    }
    const param = c.param as LimitParameter;
    const to = c.to as bigint;
    if (rank(param, to) > rank(param, c.from))
      return refuse(
        `${plan.action} would raise ${param} ${where(c)} from ${show(param, c.from)} to ${show(param, to)}: the automatic path never raises a limit`,
      );
    if (rank(param, to) === rank(param, c.from)) continue;
    const cut = cutBps(param, c.from, to);
    const bound = policy.bounds[param];
    if (cut > bound.maxDecreaseBps)
      return refuse(
        `${plan.action} would cut ${param} ${where(c)} from ${show(param, c.from)} to ${show(param, to)} (${cut / 100} %), beyond the bound of ${bound.maxDecreaseBps / 100} % per change (guardrails.parameters.${param}.maxDecreaseBps)`,
      );
  }
  return { ok: true };
}

/** The minimum delays and the rate limit; a plan that passes is written to the ledger. */
export async function checkHistory(
  plan: ActionPlan,
  now: bigint,
  policy: GuardrailPolicy,
  ledger: GuardrailLedger,
): Promise<GuardrailVerdict> {
  const changed = (plan.changes ?? []).filter(
    (c): c is Extract<PlannedChange, { from: bigint }> => typeof c.from === 'bigint' && c.from !== c.to,
  );
  const longest = Math.max(
    policy.rateLimit.windowSeconds,
    ...changed.map((c) => policy.bounds[c.param].minDelaySeconds),
  );
  const since = now - BigInt(longest);
  const entries: GuardrailEntry[] = [];
  for (const e of await ledger.listGuardrailEntries(plan.chainId, since < 0n ? 0n : since)) {
    if (e.actionId !== plan.id && (await counts(e, ledger))) entries.push(e);
  }
  for (const c of changed) {
    const delay = BigInt(policy.bounds[c.param].minDelaySeconds);
    const key = changeKey(c);
    const last = entries
      .filter((e) => e.changes.includes(key) && e.at > now - delay)
      .sort((a, b) => (a.at < b.at ? 1 : -1))[0];
    if (last)
      return refuse(
        `${c.param} ${where(c)} was changed by action ${last.actionId} ${now - last.at} s ago: at most one automatic change per ${delay} s (guardrails.parameters.${c.param}.minDelaySeconds)`,
      );
  }
  const window = BigInt(policy.rateLimit.windowSeconds);
  const recent = entries.filter((e) => e.at > now - window).length;
  if (recent >= policy.rateLimit.maxActions)
    return refuse(
      `rate limit: ${recent} automatic actions on chain ${plan.chainId} in the last ${window} s, at most ${policy.rateLimit.maxActions} (guardrails.rateLimit)`,
    );
  await ledger.recordGuardrailEntry({
    actionId: plan.id,
    chainId: plan.chainId,
    at: now,
    changes: changed.map(changeKey),
  });
  return { ok: true };
}

/** An entry counts unless its action was refused, or failed before a transaction was sent, or never got a record. */
async function counts(entry: GuardrailEntry, ledger: GuardrailLedger): Promise<boolean> {
  const record = await ledger.getAction(entry.actionId);
  if (!record || record.status === 'refused') return false;
  return record.status !== 'failed' || record.txHashes.length > 0;
}

/** What a call sets, read from its arguments, for the known setters (Aave's PoolConfigurator, a breaker's trip). */
function settings(
  call: ActionPlan['calls'][number],
): { param: PlannedChange['param']; asset: Hex | null; to: unknown }[] {
  const a = call.args;
  switch (call.functionName) {
    case 'setReserveFreeze':
      return [{ param: 'reserveFrozen', asset: a[0] as Hex, to: a[1] }];
    case 'setReservePause':
      return [{ param: 'reservePaused', asset: a[0] as Hex, to: a[1] }];
    case 'setPoolPause':
      return [{ param: 'poolPaused', asset: null, to: a[0] }];
    case 'setReserveBorrowing':
      return [{ param: 'borrowingEnabled', asset: a[0] as Hex, to: a[1] }];
    case 'setSupplyCap':
      return [{ param: 'supplyCap', asset: a[0] as Hex, to: a[1] }];
    case 'setBorrowCap':
      return [{ param: 'borrowCap', asset: a[0] as Hex, to: a[1] }];
    case 'setDebtCeiling':
      return [{ param: 'debtCeiling', asset: a[0] as Hex, to: a[1] }];
    case 'configureReserveAsCollateral':
      return [
        { param: 'ltv', asset: a[0] as Hex, to: a[1] },
        { param: 'liquidationThreshold', asset: a[0] as Hex, to: a[2] },
      ];
    case 'trip':
      return [{ param: 'breakerTripped', asset: null, to: true }];
    default:
      return [];
  }
}

/** A parameter a call sets that the plan does not declare (with that target, asset and value), if any. */
function undeclaredChange(plan: ActionPlan, changes: readonly PlannedChange[]): string | undefined {
  for (const call of plan.calls) {
    for (const s of settings(call)) {
      const declared = changes.some(
        (c) =>
          c.param === s.param &&
          lower(c.target) === lower(call.to) &&
          (c.asset === null ? s.asset === null : s.asset !== null && lower(c.asset) === lower(s.asset)) &&
          String(c.to) === String(s.to),
      );
      if (!declared)
        return `"${call.description}" sets ${s.param} to ${String(s.to)} but the plan does not declare that change: the guardrails cannot bound it`;
    }
  }
  return undefined;
}

/** The address arguments of a call that receive funds or an allowance, by their ABI names. */
function recipients(call: { abi: Abi; functionName: string; args: readonly unknown[] }) {
  const fn = call.abi.find(
    (item): item is AbiFunction =>
      item.type === 'function' && item.name === call.functionName && item.inputs.length === call.args.length,
  );
  if (!fn) return [];
  return fn.inputs.flatMap((input, i) =>
    input.type === 'address' && RECIPIENT_ARGS.has((input.name ?? '').replace(/^_+/, '').toLowerCase())
      ? [{ name: input.name ?? `arg ${i}`, value: call.args[i] as Hex }]
      : [],
  );
}
