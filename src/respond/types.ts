/**
 * Respond — action plans and their records.
 *
 * An action is built as a plan (the calls, the expected effect, the blast radius) before anything
 * is signed; an executor then simulates, sends, waits and verifies it. Every plan has a
 * deterministic id (incident, playbook step, target) so that nothing executes it twice.
 */
import type { Abi, Hex, StateOverride } from 'viem';

export interface PlannedCall {
  to: Hex;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  /** One line a human reads on the timeline, e.g. "freeze WETH reserve". */
  description: string;
  /**
   * A gas limit known to be ample for this call (a PoolConfigurator setter). Executors then simulate
   * the call with it (one execution per state) instead of estimating (a binary search of
   * executions): the fast path of a containing action.
   */
  gas?: bigint;
  /**
   * State an earlier call of the same plan leaves in place and this call's simulation assumes
   * (the allowance the plan's `approve` gives a router): executors simulate each call on its own,
   * before any is mined. Used only to simulate; a call with one carries a known `gas`, since
   * nodes do not estimate gas over overridden state.
   */
  stateOverride?: StateOverride;
}

/** A state read that must give `expected` once the action has landed. */
export interface EffectCheck {
  description: string;
  read: () => Promise<unknown>;
  expected: unknown;
}

export interface ActionPlan {
  id: string;
  /** e.g. `aave-v3.contain-collateral`. */
  action: string;
  chainId: number;
  incidentId: string;
  playbookId: string;
  /** True when the action can only reduce risk (freeze, pause, lower a limit): the automatic path requires it. */
  riskReducing: boolean;
  calls: PlannedCall[];
  effects: EffectCheck[];
  blastRadius: string;
  /** Every parameter the calls set, from what to what: what the guardrails bound (guardrails.ts). */
  changes?: PlannedChange[];
  /** Every movement of funds the calls make, and where to: only a configured vault may receive them. */
  transfers?: PlannedTransfer[];
}

/**
 * Numeric limits, lower is safer: LTV and liquidation threshold (bps), caps and the debt ceiling
 * (whole tokens, where 0 means no limit at all).
 */
export type LimitParameter = 'ltv' | 'liquidationThreshold' | 'supplyCap' | 'borrowCap' | 'debtCeiling';
/** Switches, each with one safe side: frozen, paused, tripped are safe when true; borrowing when false. */
export type SwitchParameter =
  | 'reserveFrozen'
  | 'reservePaused'
  | 'poolPaused'
  | 'borrowingEnabled'
  | 'breakerTripped';

/** One parameter of one contract (and asset) a plan sets, from the value read before to the new one. */
export type PlannedChange =
  | { param: LimitParameter; target: Hex; asset: Hex | null; from: bigint; to: bigint }
  | { param: SwitchParameter; target: Hex; asset: Hex | null; from: boolean; to: boolean };

/** Funds a plan moves (a migration to a recovery vault): the token, the amount (null: all) and the receiver. */
export interface PlannedTransfer {
  asset: Hex;
  amount: bigint | null;
  destination: Hex;
  description: string;
}

/**
 * `awaiting-quorum`: a quorum executor's confirmations are mined (or a Safe's agents have signed)
 * but fewer than k signers have, so the calls have not been made yet (the record's `reason` says
 * how many). `awaiting-approval`: an `approve` step, planned and simulated, waiting for a human's
 * `firebreak approve` until its deadline. `rejected`: a human rejected it (final: never re-asked).
 */
export type ActionStatus =
  | 'planned'
  | 'refused'
  | 'awaiting-approval'
  | 'rejected'
  | 'sent'
  | 'mined'
  | 'awaiting-quorum'
  | 'verified'
  | 'failed';

export interface ActionRecord {
  id: string;
  incidentId: string;
  playbookId: string;
  action: string;
  chainId: number;
  status: ActionStatus;
  txHashes: Hex[];
  sentBlock: bigint | null;
  minedBlock: bigint | null;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
}
