/**
 * Respond / executors — `eoa`: a guardian key that signs and sends containing transactions itself.
 *
 * For each plan: simulate every call against the latest state (a revert is refused with its decoded
 * reason, before anything is signed), sign locally, send with an urgent tip so the transactions
 * beat an attacker's next ones to the block, then wait for the receipts and verify the planned
 * effect by reading state back. The key never leaves this closure: it is not logged, stored or
 * returned.
 */
import { type Client, type Hex, parseGwei } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  estimateContractGas,
  getTransactionCount,
  sendRawTransaction,
  waitForTransactionReceipt,
} from 'viem/actions';
import { signCall } from '../../chain/transactions';
import type { Common } from '../../common/common';
import { describeError, FirebreakError } from '../../common/errors';
import type { Executor } from './types';

// The interface lives in ./types (shared with the guardian-hub executor); re-exported for existing importers.
export type { Executor, SendContext, SentAction } from './types';

export interface EoaExecutorOptions {
  id: string;
  client: Client;
  chainId: number;
  privateKey: Hex;
  priorityFeeGwei: number;
  maxFeeGwei: number;
  dryRun: boolean;
  /** How often to ask for receipts (the chain's poll interval). */
  receiptPollMs: number;
  common: Common;
}

export function createEoaExecutor(options: EoaExecutorOptions): Executor {
  const account = privateKeyToAccount(options.privateKey);
  const { client } = options;
  let nextNonce: number | undefined;
  const tip = parseGwei(String(options.priorityFeeGwei));
  const feeCap = parseGwei(String(options.maxFeeGwei));

  const nonce = async (): Promise<number> => {
    if (nextNonce === undefined)
      nextNonce = await getTransactionCount(client, { address: account.address, blockTag: 'pending' });
    return nextNonce++;
  };

  return {
    id: options.id,
    type: 'eoa',
    address: account.address,
    dryRun: options.dryRun,
    async simulate(plan) {
      return Promise.all(
        plan.calls.map(async (call) => {
          try {
            return await gasLimitFor(client, call, account);
          } catch (error) {
            throw new FirebreakError(
              'ERR_SIMULATION_FAILED',
              `simulation of "${call.description}" reverted: ${firstLine(error)}`,
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
      const baseFee = ctx.baseFeePerGas ?? parseGwei('1');
      // Enough for the base fee to double and still pay the full tip; never above the configured cap.
      let maxFeePerGas = baseFee * 2n + tip;
      if (maxFeePerGas > feeCap) maxFeePerGas = feeCap;
      const maxPriorityFeePerGas = tip < maxFeePerGas ? tip : maxFeePerGas;
      const txHashes: Hex[] = [];
      for (const [i, call] of plan.calls.entries()) {
        const serialized = await signCall(account, call, {
          chainId: options.chainId,
          nonce: await nonce(),
          gas: gas[i] ?? 1_000_000n,
          maxFeePerGas,
          maxPriorityFeePerGas,
        });
        try {
          txHashes.push(await sendRawTransaction(client, { serializedTransaction: serialized }));
        } catch (error) {
          nextNonce = undefined; // re-read from the node next time: the nonce may not have been used
          throw new FirebreakError(
            'ERR_TX_FAILED',
            `sending "${call.description}" failed: ${firstLine(error)}`,
            {
              cause: error,
              retryable: true,
            },
          );
        }
      }
      const sentAt = options.common.clock.monotonic();
      const receipts = Promise.all(
        txHashes.map(async (hash) => {
          const receipt = await waitForTransactionReceipt(client, {
            hash,
            pollingInterval: options.receiptPollMs,
            timeout: 600_000,
          });
          if (receipt.status !== 'success') {
            throw new FirebreakError(
              'ERR_TX_FAILED',
              `transaction ${hash} reverted on-chain (block ${receipt.blockNumber})`,
            );
          }
          return receipt;
        }),
      );
      receipts.catch(() => undefined); // the caller handles it; never an unhandled rejection
      return { txHashes, sentAt, receipts };
    },
  };
}

/** The revert reason (or first line) of an error, for a timeline entry. */
/**
 * Simulates a call against the latest state (a gas estimate reverts when the call would) and returns
 * the gas limit to send it with: the estimate plus 30 % and 10,000, for state that moves before it
 * is mined. Every executor sends with this margin.
 */
export async function gasLimitFor(
  client: Client,
  call: { to: Hex; abi: readonly unknown[]; functionName: string; args: readonly unknown[] },
  account: { address: Hex } | Hex,
): Promise<bigint> {
  const gas = await estimateContractGas(client, {
    address: call.to,
    abi: call.abi as never,
    functionName: call.functionName as never,
    args: call.args as never,
    account: account as never,
    blockTag: 'latest',
  });
  return (gas * 13n) / 10n + 10_000n;
}

export function firstLine(error: unknown): string {
  const text = describeError(error);
  const reason =
    /reverted with the following reason:\s*\n?(.*)/.exec(text)?.[1] ?? /Error: (.*)/.exec(text)?.[1];
  return (reason ?? text.split('\n')[0] ?? text).trim();
}
