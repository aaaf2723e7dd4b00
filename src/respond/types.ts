/**
 * Respond — action plans and their records.
 *
 * An action is built as a plan (the calls, the expected effect, the blast radius) before anything
 * is signed; an executor then simulates, sends, waits and verifies it. Every plan has a
 * deterministic id (incident, playbook step, target) so that nothing executes it twice.
 */
import type { Abi, Hex } from 'viem';

export interface PlannedCall {
  to: Hex;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  /** One line a human reads on the timeline, e.g. "freeze WETH reserve". */
  description: string;
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
}

/**
 * `awaiting-quorum`: a quorum executor's confirmations are mined but fewer than k agents have
 * confirmed, so the calls have not been made yet (the record's `reason` says how many).
 */
export type ActionStatus =
  | 'planned'
  | 'refused'
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
