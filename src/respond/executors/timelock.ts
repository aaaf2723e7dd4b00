/**
 * Respond / executors — `timelock`: non-emergency changes through an OpenZeppelin
 * `TimelockController` (v5). The executor's key is one of the timelock's proposers and executors;
 * the timelock holds the market role the calls need (RISK_ADMIN, say).
 *
 * `send` schedules the plan's calls as one batch (`scheduleBatch`), with a salt derived from the
 * plan's deterministic action id, so the operation id is deterministic too: a restart finds its
 * operation scheduled and sends nothing again. The action then waits, as a quorum executor's does
 * (`awaiting-quorum`): the executor watches new blocks, and once a block's timestamp reaches the
 * operation's ready time it executes the batch (`executeBatch`), and the responder verifies the
 * effect. `cancel` removes a scheduled operation: the responder calls it when a person rejects the
 * waiting action (`firebreak reject <action-id>`); the watch then ends with "not executed".
 *
 * Before scheduling, each call is simulated as the timelock would make it (a call that would revert
 * when its time comes — the timelock lacks the role, say — is refused now, not after the delay).
 * The schedule, the execution and a cancellation go out through the shared sender (nonce journal,
 * fee bumps while stuck, gap healing): after a restart a journaled schedule still pending is
 * followed, not sent again. The key stays in this closure.
 */
import {
  type Address,
  type Client,
  encodeAbiParameters,
  encodeFunctionData,
  type Hex,
  keccak256,
  parseAbi,
  type TransactionReceipt,
  toHex,
  zeroHash,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { estimateGas, getBlock, getContractEvents, readContract } from 'viem/actions';
import type { Common } from '../../common/common';
import { describeError, FirebreakError } from '../../common/errors';
import { abortableSleep } from '../../common/sleep';
import type { ActionPlan } from '../types';
import { keySender, sendItem } from './eoa';
import type { TxJournal } from './nonce';
import { firstLine, gasLimitFor } from './simulate';
import type { Executor, QuorumOutcome, QuorumProgress, SentAction } from './types';

/** The part of OpenZeppelin's TimelockController v5 the executor uses. */
export const timelockExecutorAbi = parseAbi([
  'function scheduleBatch(address[] targets, uint256[] values, bytes[] payloads, bytes32 predecessor, bytes32 salt, uint256 delay)',
  'function executeBatch(address[] targets, uint256[] values, bytes[] payloads, bytes32 predecessor, bytes32 salt) payable',
  'function cancel(bytes32 id)',
  'function getTimestamp(bytes32 id) view returns (uint256)',
  'function getMinDelay() view returns (uint256)',
  'event CallExecuted(bytes32 indexed id, uint256 indexed index, address target, uint256 value, bytes data)',
]);

/** `getTimestamp` of an operation that has executed (OpenZeppelin's `_DONE_TIMESTAMP`). */
const DONE = 1n;
/** Poll at least this far apart while waiting for the delay. */
const MIN_WATCH_POLL_MS = 50;
/** Consecutive failed reads after which a watch gives up (the record stays `awaiting-quorum`). */
const MAX_WATCH_READ_FAILURES = 20;
/** How far back to look for the execution of an operation executed by someone else. */
const LOOKBACK = 5_000n;

export interface TimelockExecutorOptions {
  id: string;
  client: Client;
  chainId: number;
  timelock: Address;
  privateKey: Hex;
  /** Delay to schedule with; default (and at least) the timelock's `getMinDelay()`. */
  delaySeconds?: number | undefined;
  priorityFeeGwei: number;
  maxFeeGwei: number;
  /** Replace a stuck transaction not mined after this many blocks (default 2). */
  bumpAfterBlocks?: number;
  /** Raise of both fee fields per replacement, percent (default 12.5). */
  bumpPercent?: number;
  /** Where the key's transactions are journaled before their broadcast (default: in memory). */
  journal?: TxJournal;
  dryRun: boolean;
  receiptPollMs: number;
  common: Common;
}

/** A plan's calls as one timelock batch. */
export interface TimelockOperation {
  id: Hex;
  targets: Address[];
  values: bigint[];
  payloads: Hex[];
  salt: Hex;
}

/** The salt of an action's operation: a hash of its deterministic id. */
export const timelockSalt = (actionId: string): Hex => keccak256(toHex(`firebreak-timelock|${actionId}`));

/** A plan as a timelock batch, with its operation id as `hashOperationBatch` computes it (no predecessor). */
export function timelockOperation(plan: ActionPlan): TimelockOperation {
  const targets = plan.calls.map((c) => c.to);
  const values = plan.calls.map(() => 0n);
  const payloads = plan.calls.map((c) =>
    encodeFunctionData({ abi: c.abi, functionName: c.functionName, args: c.args as unknown[] }),
  );
  const salt = timelockSalt(plan.id);
  const id = keccak256(
    encodeAbiParameters(
      [
        { type: 'address[]' },
        { type: 'uint256[]' },
        { type: 'bytes[]' },
        { type: 'bytes32' },
        { type: 'bytes32' },
      ],
      [targets, values, payloads, zeroHash, salt],
    ),
  );
  return { id, targets, values, payloads, salt };
}

export interface TimelockExecutor extends Executor {
  type: 'timelock';
  timelock: Address;
  /**
   * Cancels the operation a plan scheduled (the key needs the timelock's CANCELLER_ROLE, which
   * OpenZeppelin gives every proposer). Resolves with the mined cancel transaction, or null when
   * nothing of the plan is pending (never scheduled, cancelled already, or executed).
   */
  cancel(plan: ActionPlan): Promise<Hex | null>;
}

export function createTimelockExecutor(options: TimelockExecutorOptions): TimelockExecutor {
  const account = privateKeyToAccount(options.privateKey);
  const { client, timelock, common } = options;
  const me = account.address;
  const sender = keySender(options, account);

  const timestampOf = (id: Hex, blockNumber?: bigint) =>
    readContract(client, {
      address: timelock,
      abi: timelockExecutorAbi,
      functionName: 'getTimestamp',
      args: [id],
      ...(blockNumber === undefined ? {} : { blockNumber }),
    });

  const delay = async (): Promise<bigint> => {
    const min = await readContract(client, {
      address: timelock,
      abi: timelockExecutorAbi,
      functionName: 'getMinDelay',
    });
    const wanted = options.delaySeconds === undefined ? min : BigInt(options.delaySeconds);
    return wanted > min ? wanted : min;
  };

  /**
   * Sends one call to the timelock for the action `actionId` through the sender. The receipt is of
   * whichever version was mined (a fee-bumped replacement's included); it fails if it reverted.
   */
  const sendToTimelock = async (
    actionId: string,
    functionName: 'scheduleBatch' | 'executeBatch' | 'cancel',
    args: readonly unknown[],
    gas: bigint,
    baseFeePerGas: bigint | null | undefined,
    what: string,
  ) => {
    const call = { to: timelock, abi: timelockExecutorAbi, functionName, args, description: what };
    let sent: Awaited<ReturnType<typeof sender.send>>;
    try {
      sent = await sender.send(actionId, [sendItem(call, gas)], { baseFeePerGas: baseFeePerGas ?? null });
    } catch (error) {
      throw new FirebreakError(
        'ERR_TX_FAILED',
        `sending ${what} to timelock ${timelock} failed: ${firstLine(error)}`,
        { cause: error, retryable: true },
      );
    }
    const receipt = sent.receipts[0]!.then((r): TransactionReceipt => {
      if (r.status !== 'success')
        throw new FirebreakError(
          'ERR_TX_FAILED',
          `${what} ${r.transactionHash} to timelock ${timelock} reverted on-chain (block ${r.blockNumber})`,
          { details: { receipt: r } },
        );
      return r;
    });
    receipt.catch(() => undefined);
    return { sent, hash: sent.txHashes[0]!, receipt };
  };

  /** The block an operation executed in (someone's `executeBatch`), when found in the lookback. */
  const executedIn = async (id: Hex, head: bigint): Promise<bigint | null> => {
    const logs = await getContractEvents(client, {
      address: timelock,
      abi: timelockExecutorAbi,
      eventName: 'CallExecuted',
      args: { id },
      fromBlock: head > LOOKBACK ? head - LOOKBACK : 0n,
      toBlock: head,
    });
    return logs[0]?.blockNumber ?? null;
  };

  const describe = (plan: ActionPlan) => plan.calls.map((c) => c.description).join(' + ');

  /** Cancels the plan's operation (see `TimelockExecutor.cancel`). */
  const cancel = async (plan: ActionPlan): Promise<Hex | null> => {
    const op = timelockOperation(plan);
    const readyAt = await timestampOf(op.id);
    if (readyAt === 0n || readyAt === DONE) return null;
    const head = await getBlock(client, { blockTag: 'latest' });
    const call = { to: timelock, abi: timelockExecutorAbi, functionName: 'cancel', args: [op.id] } as const;
    let gas: bigint;
    try {
      gas = await gasLimitFor(client, call, account);
    } catch (error) {
      throw new FirebreakError(
        'ERR_SIMULATION_FAILED',
        `cancelling operation ${op.id} in timelock ${timelock} would revert: ${firstLine(error)} (does ${me} hold CANCELLER_ROLE?)`,
        { cause: error },
      );
    }
    const { receipt } = await sendToTimelock(
      plan.id,
      'cancel',
      [op.id],
      gas,
      head.baseFeePerGas,
      `the cancellation of ${op.id}`,
    );
    return (await receipt).transactionHash;
  };

  /** Where the operation stands after scheduling: executed already (by anyone), or waiting with a watch. */
  const progress = async (plan: ActionPlan, op: TimelockOperation, at: bigint): Promise<QuorumProgress> => {
    const readyAt = await timestampOf(op.id, at);
    const details = { timelock, operation: op.id, salt: op.salt, readyAt: readyAt.toString() };
    if (readyAt === DONE) {
      return {
        executed: true,
        summary: `timelock ${timelock}: operation ${op.id} (${describe(plan)}) has executed already`,
        details,
      };
    }
    if (readyAt === 0n)
      throw new FirebreakError(
        'ERR_TX_FAILED',
        `timelock ${timelock}: operation ${op.id} is not scheduled after the scheduling transaction (cancelled already?)`,
      );
    return {
      executed: false,
      summary: `timelock ${timelock}: ${describe(plan)} scheduled as operation ${op.id}, executable from ${new Date(Number(readyAt) * 1000).toISOString()} (chain time ${readyAt})`,
      details,
      outcome: watch(plan, op),
      cancel: () => cancel(plan),
    };
  };

  /**
   * Follows new blocks until one's timestamp reaches the operation's ready time, then executes it;
   * ends when it has executed (by this executor or anyone), was cancelled, the executor stops, or
   * the chain stops answering.
   */
  const watch = async (plan: ActionPlan, op: TimelockOperation): Promise<QuorumOutcome | null> => {
    const every = Math.max(options.receiptPollMs, MIN_WATCH_POLL_MS);
    let failures = 0;
    while (!common.signal.aborted) {
      try {
        const head = await getBlock(client, { blockTag: 'latest' });
        const readyAt = await timestampOf(op.id, head.number);
        if (readyAt === 0n)
          return {
            executed: false,
            reason: `timelock ${timelock}: operation ${op.id} was cancelled before it executed`,
          };
        if (readyAt === DONE) {
          const block = (await executedIn(op.id, head.number)) ?? head.number;
          return {
            executed: true,
            block,
            summary: `timelock ${timelock}: operation ${op.id} (${describe(plan)}) executed in block ${block} by another executor`,
            details: { timelock, operation: op.id },
          };
        }
        if (head.timestamp >= readyAt) return await execute(plan, op, head.baseFeePerGas);
        failures = 0;
      } catch (error) {
        failures += 1;
        common.logger.warn(
          { timelock, err: describeError(error), failures },
          'watching a timelock operation failed',
        );
        if (failures >= MAX_WATCH_READ_FAILURES) return null;
      }
      await abortableSleep(every, common.signal);
    }
    return null;
  };

  /** Executes a ready operation; a revert because someone else executed it first is not a failure. */
  const execute = async (
    plan: ActionPlan,
    op: TimelockOperation,
    baseFee: bigint | null,
  ): Promise<QuorumOutcome> => {
    const args = [op.targets, op.values, op.payloads, zeroHash, op.salt] as const;
    let gas: bigint;
    try {
      gas = await gasLimitFor(
        client,
        { to: timelock, abi: timelockExecutorAbi, functionName: 'executeBatch', args },
        account,
      );
    } catch (error) {
      return {
        executed: false,
        reason: `timelock ${timelock}: executing operation ${op.id} (${describe(plan)}) would revert: ${firstLine(error)}`,
      };
    }
    const sent = await sendToTimelock(
      plan.id,
      'executeBatch',
      args,
      gas,
      baseFee,
      `the execution of ${op.id}`,
    );
    const receipt = await sent.sent.receipts[0]!;
    const hash = receipt.transactionHash;
    if (receipt.status !== 'success' && (await timestampOf(op.id, receipt.blockNumber)) !== DONE)
      return {
        executed: false,
        reason: `timelock ${timelock}: execution ${hash} of operation ${op.id} reverted on-chain (block ${receipt.blockNumber})`,
      };
    return {
      executed: true,
      block: receipt.blockNumber,
      summary: `timelock ${timelock}: operation ${op.id} (${describe(plan)}) executed by ${me} in block ${receipt.blockNumber} (tx ${hash})`,
      details: { timelock, operation: op.id, tx: hash },
    };
  };

  return {
    id: options.id,
    type: 'timelock',
    address: me,
    timelock,
    dryRun: options.dryRun,
    /** One gas figure: the `scheduleBatch` transaction's (0 when the operation is scheduled or done already). */
    async simulate(plan) {
      const op = timelockOperation(plan);
      if ((await timestampOf(op.id)) !== 0n) return [0n];
      // Scheduled by this key before a restart and not mined yet: the send follows that transaction
      // (estimating another against the pending state would revert: the operation is scheduled there).
      const journaled = await sender.pendingTo(plan.id, timelock);
      if (journaled) return [journaled.gas];
      // Each call as the timelock will make it: refused now rather than after the delay.
      for (const call of plan.calls) {
        try {
          await estimateGas(client, {
            account: timelock,
            to: call.to,
            data: encodeFunctionData({
              abi: call.abi,
              functionName: call.functionName,
              args: call.args as unknown[],
            }),
          });
        } catch (error) {
          throw new FirebreakError(
            'ERR_SIMULATION_FAILED',
            `simulation of "${call.description}" as timelock ${timelock} reverted: ${firstLine(error)} (does the timelock hold the role it needs?)`,
            { cause: error, details: { action: plan.action, call: call.description, timelock } },
          );
        }
      }
      const args = [op.targets, op.values, op.payloads, zeroHash, op.salt, await delay()] as const;
      try {
        return [
          await gasLimitFor(
            client,
            { to: timelock, abi: timelockExecutorAbi, functionName: 'scheduleBatch', args },
            account,
          ),
        ];
      } catch (error) {
        throw new FirebreakError(
          'ERR_SIMULATION_FAILED',
          `simulation of scheduling ${plan.action} in timelock ${timelock} reverted: ${firstLine(error)} (is ${me} a proposer of the timelock?)`,
          { cause: error, details: { action: plan.action, timelock } },
        );
      }
    },
    async send(plan, gas, ctx): Promise<SentAction> {
      const op = timelockOperation(plan);
      const scheduled = (await timestampOf(op.id)) !== 0n;
      let schedule: Awaited<ReturnType<typeof sendToTimelock>> | undefined;
      if (!scheduled && (gas[0] ?? 1n) !== 0n) {
        const args = [op.targets, op.values, op.payloads, zeroHash, op.salt, await delay()] as const;
        schedule = await sendToTimelock(
          plan.id,
          'scheduleBatch',
          args,
          gas[0] ?? 1_000_000n,
          ctx.baseFeePerGas,
          `the schedule of ${plan.action}`,
        );
      }
      const txHashes: Hex[] = schedule ? [schedule.hash] : [];
      const sentAt = common.clock.monotonic();
      const receipts = schedule ? schedule.receipt.then((r) => [r]) : Promise.resolve([]);
      receipts.catch(() => undefined); // the caller handles it; never an unhandled rejection
      const quorum = receipts.then(async (rs) =>
        progress(plan, op, rs[0]?.blockNumber ?? (await getBlock(client, { blockTag: 'latest' })).number),
      );
      quorum.catch(() => undefined);
      const sent: SentAction = { txHashes, sentAt, receipts, quorum };
      if (schedule) {
        sent.allTxHashes = schedule.sent.allTxHashes;
        if (schedule.sent.reused[0]) sent.resumed = true;
      }
      if (txHashes.length === 0)
        sent.note = `operation ${op.id} of ${plan.action} is scheduled in timelock ${timelock} already: nothing to send`;
      return sent;
    },
    async resume() {
      await sender.resume();
    },
    cancel,
  };
}
