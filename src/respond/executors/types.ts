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
  /**
   * Priority mode: a pending transaction to beat into the block (an exploit seen in the mempool).
   * The transactions are priced strictly above both its fee cap (what anvil and geth-style pools
   * order by) and its tip (what block builders order by), within the configured `maxFeeGwei`.
   */
  outbid?: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
  /**
   * Priority mode after the broadcast: subscribes `listener` to the price to beat while the
   * transactions wait (a threatening transaction that arrives later, or one replaced with a higher
   * bid); returns the unsubscribe. A price the transactions no longer beat has them replaced at
   * once (same nonce) above it, within `maxFeeGwei`.
   */
  followOutbid?(
    listener: (outbid: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }) => void,
  ): () => void;
  /** Told what happens to the transactions after the broadcast: replaced with higher fees, or stopped by the fee cap. */
  onProgress?(event: SendProgress): void;
}

/** A step of the sending after the broadcast, for the incident timeline. */
export interface SendProgress {
  type: 'replaced' | 'fee-capped' | 'rebroadcast';
  /** One line for the timeline, e.g. "nonce 7 not mined after 3 blocks: replaced 0xab… with 0xcd… (fee cap 3 → 21 gwei, tip 1 → 1.125 gwei)". */
  summary: string;
  nonce: number;
  /** The hash now standing for the transaction (after a replacement, the new one). */
  txHash: Hex;
  details: Record<string, unknown>;
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
  /** When the quorum waits for people's signatures (a Safe's owners): what they sign, and where theirs go. */
  signatures?: PendingSignatures;
  /**
   * When a person may call the wait off (an operation waiting for its timelock's delay): cancels
   * it on-chain and resolves with the cancelling transaction (null: nothing was pending any more).
   * `outcome` then settles, not executed.
   */
  cancel?: () => Promise<Hex | null>;
}

/** Signatures a quorum waits for from people (`firebreak approve <id> --key-env VAR`). */
export interface PendingSignatures {
  /** What the signers sign (a Safe transaction: its EIP-712 message, owners and threshold). */
  request: SafeSigningRequest;
  /** The signatures so far (the agents' first). */
  collected: { signer: Hex; signature: Hex }[];
  /**
   * Hands in a signature already checked (`checkDecision`: an owner's, of this hash, new); once the
   * threshold is met the transaction is executed and `outcome` settles.
   */
  add(signer: Hex, signature: Hex): Promise<void>;
  /**
   * The owners not counted yet who approved the hash on-chain (the Safe's `approveHash`, as the Safe
   * app does), read at `blockNumber` (default: latest), each with the signature `execTransaction`
   * takes for it (pre-validated: v = 1, r = the owner). Hand them to `add`. Empty once the threshold
   * is met or the wait ended.
   */
  approvedOnChain(blockNumber?: bigint): Promise<{ signer: Hex; signature: Hex }[]>;
  /** Ends the wait unexecuted (a rejection): `outcome` settles with the reason. */
  cancel(reason: string): void;
  /**
   * Ends the wait unexecuted because its deadline passed; `outcome` settles null (as when the
   * executor stops watching), the caller records the end itself. Returns false, changing nothing,
   * when the threshold was met already (the transaction is being executed) or the wait had ended.
   */
  expire(): boolean;
}

export type QuorumOutcome =
  | { executed: true; block: bigint; summary: string; details: Record<string, unknown> }
  | { executed: false; reason: string };

export interface SentAction {
  /** The transactions broadcast; empty when there was nothing left for this executor to send. */
  txHashes: Hex[];
  /** Monotonic milliseconds (clock.monotonic) right after the last broadcast. */
  sentAt: number;
  /**
   * Resolves when every transaction is mined, with the receipt of whichever version of each was
   * mined (the original or a fee-bumped replacement); rejects if one reverts, or its nonce is
   * taken by another transaction.
   */
  receipts: Promise<TransactionReceipt[]>;
  /** Why nothing was sent, when `txHashes` is empty; or why the price could not outbid `SendContext.outbid`. */
  note?: string;
  /**
   * Every hash broadcast for this action so far, in nonce order, replacements included (a stuck
   * transaction's replacement appears here after `txHashes` was returned). Record these once the
   * receipts resolve.
   */
  allTxHashes?(): Hex[];
  /** True when every transaction was signed before (by an earlier process) and is only followed now. */
  resumed?: boolean;
  /** Quorum executors only: after the receipts, whether the calls were made or wait for more agents. */
  quorum?: Promise<QuorumProgress>;
}

export interface Executor {
  id: string;
  type: 'eoa' | 'guardian-hub' | 'safe' | 'timelock';
  /** The address that signs (the guardian, or this agent's key on the hub). */
  address: Hex;
  dryRun: boolean;
  /**
   * Simulates every call; throws ERR_SIMULATION_FAILED with the decoded reason if one would revert.
   * Returns gas per call; 0 for a call this executor has nothing left to send for (a quorum
   * executor whose agent already confirmed it, or whose proposal another agent already executed).
   * `pricing`, the send's fee context when known: an executor may sign ahead while it simulates.
   */
  simulate(plan: ActionPlan, pricing?: Pick<SendContext, 'baseFeePerGas' | 'outbid'>): Promise<bigint[]>;
  /** Signs and broadcasts the plan's calls (after `simulate`). */
  send(plan: ActionPlan, gas: bigint[], ctx: SendContext): Promise<SentAction>;
  /**
   * Reconciles the nonce journal with the chain (at start; `send` does it too, first): heals a
   * nonce gap a crash left, rebroadcasts and watches (fee-bumping) transactions an earlier process
   * left pending.
   */
  resume?(): Promise<void>;
}

/** What an owner signs to approve a Safe transaction (`firebreak approve … --key-env`), as stored with the approval. */
export interface SafeSigningRequest {
  safe: Hex;
  chainId: number;
  safeTxHash: Hex;
  /** The SafeTx message, amounts as decimal strings. */
  tx: SafeTxFields;
  owners: Hex[];
  threshold: number;
}

/** A SafeTx message (EIP-712), JSON-safe: amounts as decimal strings. */
export interface SafeTxFields {
  to: Hex;
  value: string;
  data: Hex;
  /** 0 CALL, 1 DELEGATECALL (MultiSendCallOnly). */
  operation: 0 | 1;
  safeTxGas: string;
  baseGas: string;
  gasPrice: string;
  gasToken: Hex;
  refundReceiver: Hex;
  nonce: string;
}
