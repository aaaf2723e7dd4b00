/**
 * Respond / executors — `eoa`: a guardian key that signs and sends containing transactions itself.
 *
 * For each plan: simulate its calls in order, in one execution against the latest state and one
 * against the pending state where the node offers it (`simulate.ts`; a revert in either is refused
 * with its decoded reason, before anything is signed), sign locally, send through the shared sender (`sender.ts`: journaled nonces that survive a
 * restart, nonce-gap healing, fee bumps for a stuck transaction, priority mode that outbids a
 * pending transaction), then hand back the receipts of whichever versions were mined. The key
 * never leaves this closure: it is not logged, stored or returned.
 */
import { type Client, encodeFunctionData, type Hex, type TransactionReceipt } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { Common } from '../../common/common';
import { FirebreakError } from '../../common/errors';
import { feePolicy } from './fees';
import { memoryTxJournal, type TxJournal } from './nonce';
import { createSender, type Sender, type SendItem } from './sender';
import { simulatePlan } from './simulate';
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
    async simulate(plan, pricing) {
      if (!options.dryRun) {
        // What sending begins with is read while the calls are simulated and, when every call has
        // a known gas limit (what the simulation hands back for it), its transactions are signed.
        sender.prefetch(plan.id);
        if (pricing && plan.calls.every((c) => c.gas !== undefined))
          sender.presign(
            plan.id,
            plan.calls.map((c) => sendItem(c, c.gas!)),
            pricing,
          );
      }
      return simulatePlan(client, plan, account.address);
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
