/**
 * Respond / executors — the interface every executor implements (`eoa`, `guardian-hub`), as the
 * responder drives it: simulate a plan, send it, and hand back the receipts and, for an executor
 * whose transactions are only votes (a k-of-n quorum), whether the calls were made or still wait.
 */
import type { Hex, TransactionReceipt } from 'viem';
import type { ActionPlan } from '../types';

export interface SendContext {
  /** Base fee of the block being responded to, to price the next one. */
  baseFeePerGas: bigint | null;
}

/** Where a quorum executor's calls stand once its own transactions are mined. */
export interface QuorumProgress {
  /** True when every call of the plan has been made (by this agent's confirmation or another's). */
  executed: boolean;
  /** One line for the timeline, e.g. "freeze INV reserve: confirmation 1 of 2, waiting for 1 more agent". */
  summary: string;
  details: Record<string, unknown>;
  /**
   * When not executed: settles once the other agents have decided it. `executed` with the block
   * and a summary of who executed it; not executed with the reason (the proposal expired or was
   * voided); null when the executor stopped watching (shutdown, or the chain stopped answering).
   */
  outcome?: Promise<QuorumOutcome | null>;
}

export type QuorumOutcome =
  | { executed: true; block: bigint; summary: string; details: Record<string, unknown> }
  | { executed: false; reason: string };

export interface SentAction {
  /** The transactions broadcast; empty when there was nothing left for this executor to send. */
  txHashes: Hex[];
  /** Monotonic milliseconds (clock.monotonic) right after the last broadcast. */
  sentAt: number;
  /** Resolves when every transaction is mined; rejects if one reverts or is dropped. */
  receipts: Promise<TransactionReceipt[]>;
  /** Why nothing was sent, when `txHashes` is empty. */
  note?: string;
  /** Quorum executors only: after the receipts, whether the calls were made or wait for more agents. */
  quorum?: Promise<QuorumProgress>;
}

export interface Executor {
  id: string;
  type: 'eoa' | 'guardian-hub';
  /** The address that signs (the guardian, or this agent's key on the hub). */
  address: Hex;
  dryRun: boolean;
  /**
   * Simulates every call; throws ERR_SIMULATION_FAILED with the decoded reason if one would revert.
   * Returns gas per call; 0 for a call this executor has nothing left to send for (a quorum
   * executor whose agent already confirmed it, or whose proposal another agent already executed).
   */
  simulate(plan: ActionPlan): Promise<bigint[]>;
  /** Signs and broadcasts the plan's calls (after `simulate`). */
  send(plan: ActionPlan, gas: bigint[], ctx: SendContext): Promise<SentAction>;
}
