/**
 * Respond / executors — `eoa`: a guardian key that signs and sends containing transactions itself.
 *
 * For each plan: simulate every call against the pending state where the node offers it and the
 * latest state (a revert in either is refused with its decoded reason, before anything is signed),
 * sign locally, send through the shared sender (`sender.ts`: journaled nonces that survive a
 * restart, nonce-gap healing, fee bumps for a stuck transaction, priority mode that outbids a
 * pending transaction), then hand back the receipts of whichever versions were mined. The key
 * never leaves this closure: it is not logged, stored or returned.
 */
import {
  BaseError,
  type Client,
  ContractFunctionRevertedError,
  ExecutionRevertedError,
  encodeFunctionData,
  type Hex,
  type StateOverride,
  type TransactionReceipt,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { simulateContract as callContract, estimateContractGas } from 'viem/actions';
import type { Common } from '../../common/common';
import { describeError, FirebreakError } from '../../common/errors';
import { feePolicy } from './fees';
import { memoryTxJournal, type TxJournal } from './nonce';
import { createSender, type Sender, type SendItem } from './sender';
import type { Executor, SentAction } from './types';

// The interface lives in ./types (shared with the guardian-hub executor); re-exported for existing importers.
export type { Executor, SendContext, SentAction } from './types';

export interface EoaExecutorOptions {
  id: string;
  client: Client;
  chainId: number;
  privateKey: Hex;
  priorityFeeGwei: number;
  maxFeeGwei: number;
  /** Replace a transaction not mined after this many blocks (default 2). */
  bumpAfterBlocks?: number;
  /** Raise of both fee fields per replacement, percent (default 12.5; nodes require ≥ 10). */
  bumpPercent?: number;
  dryRun: boolean;
  /** How often to ask for receipts (the chain's poll interval). */
  receiptPollMs: number;
  /** Where nonces and signed transactions are journaled; in memory when not given (then nonces do not survive a restart). */
  journal?: TxJournal;
  common: Common;
}

export function createEoaExecutor(options: EoaExecutorOptions): Executor {
  const account = privateKeyToAccount(options.privateKey);
  const { client } = options;
  const sender = keySender(options, account);

  return {
    id: options.id,
    type: 'eoa',
    address: account.address,
    dryRun: options.dryRun,
    async simulate(plan) {
      // What sending begins with is read while the calls are simulated.
      if (!options.dryRun) sender.prefetch(plan.id);
      return Promise.all(
        plan.calls.map(async (call) => {
          try {
            return await gasLimitFor(client, call, account);
          } catch (error) {
            throw new FirebreakError(
              'ERR_SIMULATION_FAILED',
              `simulation of "${call.description}" reverted${stateOf(error)}: ${firstLine(error)}`,
              {
                cause: error,
                details: { action: plan.action, call: call.description },
              },
            );
          }
        }),
      );
    },
    async send(plan, gas, ctx) {
      const items = plan.calls.map((call, i) => sendItem(call, gas[i] ?? 1_000_000n));
      const sent = await sender.send(plan.id, items, ctx);
      const sentAt = options.common.clock.monotonic();
      const receipts = Promise.all(sent.receipts.map((r) => r.then(succeeded)));
      receipts.catch(() => undefined); // the caller handles it; never an unhandled rejection
      const result: SentAction = {
        txHashes: sent.txHashes,
        sentAt,
        receipts,
        allTxHashes: sent.allTxHashes,
      };
      if (sent.capped) result.note = sent.capped;
      if (sent.reused.length > 0 && sent.reused.every(Boolean)) result.resumed = true;
      return result;
    },
    async resume() {
      await sender.resume();
    },
  };
}

/** The sender of an executor that signs with its own key (`eoa`, `guardian-hub`), from its options. */
export function keySender(
  options: Pick<
    EoaExecutorOptions,
    | 'id'
    | 'client'
    | 'chainId'
    | 'priorityFeeGwei'
    | 'maxFeeGwei'
    | 'bumpAfterBlocks'
    | 'bumpPercent'
    | 'receiptPollMs'
    | 'journal'
    | 'common'
  >,
  account: ReturnType<typeof privateKeyToAccount>,
): Sender {
  return createSender({
    client: options.client,
    chainId: options.chainId,
    account,
    journal: options.journal ?? memoryTxJournal(),
    policy: feePolicy({
      priorityFeeGwei: options.priorityFeeGwei,
      maxFeeGwei: options.maxFeeGwei,
      bumpPercent: options.bumpPercent ?? 12.5,
    }),
    bumpAfterBlocks: options.bumpAfterBlocks ?? 2,
    receiptPollMs: options.receiptPollMs,
    label: options.id,
    common: options.common,
  });
}

/** A planned contract call as a transaction to send. */
export function sendItem(
  call: {
    to: Hex;
    abi: readonly unknown[];
    functionName: string;
    args: readonly unknown[];
    description: string;
  },
  gas: bigint,
): SendItem {
  return {
    to: call.to,
    data: encodeFunctionData({
      abi: call.abi,
      functionName: call.functionName,
      args: call.args,
    } as Parameters<typeof encodeFunctionData>[0]),
    gas,
    description: call.description,
  };
}

/** A mined receipt, or ERR_TX_FAILED when the transaction reverted on-chain. */
function succeeded(receipt: TransactionReceipt): TransactionReceipt {
  if (receipt.status !== 'success') {
    throw new FirebreakError(
      'ERR_TX_FAILED',
      `transaction ${receipt.transactionHash} reverted on-chain (block ${receipt.blockNumber})`,
    );
  }
  return receipt;
}

/** Clients known to refuse `pending` as a block tag of `eth_estimateGas` (then only `latest` is simulated). */
const noPendingState = new WeakSet<Client>();

/** Marks which state a simulation reverted against, for the refusal's message. */
class RevertedAgainst extends Error {
  constructor(
    readonly state: 'pending' | 'latest',
    override readonly cause: unknown,
  ) {
    super(describeError(cause));
  }
}

/** The node's error behind a simulation failure (what `gasLimitFor` wrapped). */
export function simulationCause(error: unknown): unknown {
  return error instanceof RevertedAgainst ? error.cause : error;
}

function stateOf(error: unknown): string {
  return error instanceof RevertedAgainst
    ? error.state === 'pending'
      ? ' against the pending state (with the transactions waiting in the mempool)'
      : ' against the latest block'
    : '';
}

/** True when an error is the call reverting (not the node refusing the request). */
export function isRevert(error: unknown): boolean {
  if (error instanceof BaseError) {
    const found = error.walk(
      (e) => e instanceof ContractFunctionRevertedError || e instanceof ExecutionRevertedError,
    );
    if (found) return true;
  }
  return /revert/i.test(describeError(error));
}

/** The revert reason (or first line) of an error, for a timeline entry. */
/**
 * Simulates a call against the latest state and, where the node offers it, the pending state (the
 * next block as the node would build it, with the transactions in its mempool): a gas estimate
 * reverts when the call would. Throws the revert (a `RevertedAgainst` naming the state) if either
 * reverts; a node that refuses `pending` is remembered and simulated against `latest` only.
 * Returns the gas limit to send with: the larger estimate plus 30 % and 10,000, for state that
 * moves before it is mined. Every executor sends with this margin.
 */
export async function gasLimitFor(
  client: Client,
  call: {
    to: Hex;
    abi: readonly unknown[];
    functionName: string;
    args: readonly unknown[];
    gas?: bigint;
    stateOverride?: StateOverride;
  },
  account: { address: Hex } | Hex,
): Promise<bigint> {
  const request = {
    address: call.to,
    abi: call.abi as never,
    functionName: call.functionName as never,
    args: call.args as never,
    account: account as never,
    // What an earlier call of the plan leaves in place (`PlannedCall.stateOverride`).
    ...(call.stateOverride ? { stateOverride: call.stateOverride } : {}),
  };
  // Against the pending state one execution (eth_call) tells whether it would revert. The gas limit
  // is the call's known one (`PlannedCall.gas`: then the latest state gets one execution with it
  // too), or the latest state's estimate (a binary search of executions) plus the margin.
  const known = call.gas;
  const latest =
    known !== undefined
      ? callContract(client, { ...request, gas: known, blockTag: 'latest' }).then(() => known)
      : estimateContractGas(client, { ...request, blockTag: 'latest' }).then(
          (g) => (g * 13n) / 10n + 10_000n,
        );
  const tryPending = !noPendingState.has(client);
  const [limit, pending] = await Promise.allSettled([
    latest,
    tryPending
      ? callContract(client, { ...request, ...(known ? { gas: known } : {}), blockTag: 'pending' })
      : null,
  ]);
  if (limit.status === 'rejected') throw new RevertedAgainst('latest', limit.reason);
  if (pending.status === 'rejected') {
    if (isRevert(pending.reason)) throw new RevertedAgainst('pending', pending.reason);
    noPendingState.add(client); // the node does not simulate against its pending block
  }
  return limit.value;
}

export function firstLine(error: unknown): string {
  const text = describeError(simulationCause(error));
  const reason =
    /reverted with the following reason:\s*\n?(.*)/.exec(text)?.[1] ?? /Error: (.*)/.exec(text)?.[1];
  return (reason ?? text.split('\n')[0] ?? text).trim();
}
