/**
 * Respond / executors — `guardian-hub`: one agent of a k-of-n `GuardianHub` (contracts/GuardianHub.sol).
 *
 * The agent's key never calls the market itself. For each call of a plan it signs the hub's
 * `proposeOrConfirm(target, data, salt)`, with the salt derived from the plan's deterministic
 * action id, so that k independent Firebreak agents (separate processes, stores and keys) meet on
 * one proposal id without talking to each other; the k-th confirmation makes the call in the same
 * transaction. An agent whose action id differs (it first saw the condition a block later) joins a
 * pending proposal of exactly the same call instead of opening one nobody else would confirm. Like `eoa`, it simulates before signing (a revert is refused with the hub's reason
 * spelled out), sends with an urgent tip, and waits for the receipts; then it reads the proposals
 * back and says whether its confirmation executed the calls or waits for more agents, and keeps
 * watching a waiting proposal until it is executed, expires or is voided.
 *
 * Idempotent across crashes: before sending, each proposal is read; a call this agent already
 * confirmed, or that another agent already executed, is not sent again (the hub would refuse a
 * second confirmation by the same agent with `AlreadyConfirmed`, which is read as "already
 * confirmed", never as a failure). The key stays in this closure.
 */
import {
  type Address,
  BaseError,
  type Client,
  ContractFunctionRevertedError,
  decodeErrorResult,
  encodeFunctionData,
  type Hex,
  parseEventLogs,
  type TransactionReceipt,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getBlockNumber, getContractEvents, readContract } from 'viem/actions';
import type { Common } from '../../common/common';
import { describeError, FirebreakError } from '../../common/errors';
import { abortableSleep } from '../../common/sleep';
import type { ContractCall } from '../../protocols/aave-v3/actions';
import { guardianHubAbi } from '../../protocols/firebreak/abi';
import {
  actionSalt,
  hubProposalId,
  hubProposeOrConfirm,
  PROPOSAL_STATES,
  type ProposalState,
} from '../../protocols/firebreak/guardian-hub';
import type { ActionPlan, PlannedCall } from '../types';
import { keySender, sendItem } from './eoa';
import type { TxJournal } from './nonce';
import type { Sender, SendItem } from './sender';
import { firstLine, gasLimitFor, simulationCause } from './simulate';
import type { Executor, QuorumOutcome, QuorumProgress, SentAction } from './types';

export interface GuardianHubExecutorOptions {
  id: string;
  client: Client;
  chainId: number;
  /** The GuardianHub contract this agent confirms on. */
  hub: Address;
  /** This agent's key (one of the hub's agents). */
  privateKey: Hex;
  priorityFeeGwei: number;
  maxFeeGwei: number;
  bumpAfterBlocks?: number;
  bumpPercent?: number;
  dryRun: boolean;
  /** How often to ask for receipts and proposal states (the chain's poll interval). */
  receiptPollMs: number;
  /** Where nonces and signed transactions are journaled (see eoa). */
  journal?: TxJournal;
  common: Common;
}

/** One call of a plan as a hub proposal. */
interface HubCall {
  call: PlannedCall;
  /** `proposeOrConfirm(call.to, data, salt)` on the hub. */
  wrapped: ContractCall;
  proposal: Hex;
  /** Set when this call joins another agent's pending proposal of the same call under another salt. */
  joined?: { proposer: Address; salt: Hex };
}

interface ProposalView {
  state: ProposalState;
  confirmations: number;
  threshold: number;
  mine: boolean;
}

/** Poll at least this far apart while watching a waiting proposal (two reads per call each time). */
const MIN_WATCH_POLL_MS = 50;
/** How far back to look for another agent's `Executed` event (one `eth_getLogs` range). */
const LOOKBACK = 5_000n;
/** Consecutive failed reads after which a watch gives up (the status stays `awaiting-quorum`). */
const MAX_WATCH_READ_FAILURES = 20;

export function createGuardianHubExecutor(options: GuardianHubExecutorOptions): Executor {
  const account = privateKeyToAccount(options.privateKey);
  const { client, hub, common } = options;
  const me = account.address;
  // Nonces, fees, replacement and receipts: the same sender as `eoa` (journaled under this agent's address).
  const sender = keySender(options, account);

  const hubCall = (call: PlannedCall, data: Hex, salt: Hex): HubCall => ({
    call,
    wrapped: hubProposeOrConfirm(hub, call as unknown as ContractCall, salt),
    proposal: hubProposalId({ chainId: options.chainId, hub, target: call.to, data, salt }),
  });

  /**
   * The plan's calls as hub proposals. Every agent that saw the incident from the same block
   * derives the same salt from the action id. An agent whose action id differs (it first saw the
   * condition a block later, or restarted with a new store after an incident was closed) would
   * otherwise open a proposal of its own that nobody else confirms: when its own proposal is not
   * open, it joins a pending proposal of exactly the same call (target and calldata) that another
   * agent made within the lookback, if there is one.
   */
  const hubCalls = async (plan: ActionPlan): Promise<HubCall[]> => {
    const salt = actionSalt(plan.id);
    return Promise.all(
      plan.calls.map(async (call) => {
        const data = encodeFunctionData({
          abi: call.abi,
          functionName: call.functionName,
          args: call.args as unknown[],
        });
        const own = hubCall(call, data, salt);
        const state = (await read(own.proposal)).state;
        if (state === 'pending' || state === 'executed') return own;
        const other = await pendingProposalOf(call.to, data);
        return other ? { ...hubCall(call, data, other.salt), joined: other } : own;
      }),
    );
  };

  /** The earliest pending proposal of `target.call(data)` in the lookback, with its salt and proposer. */
  const pendingProposalOf = async (target: Address, data: Hex) => {
    const head = await getBlockNumber(client, { cacheTime: 0 });
    const logs = await getContractEvents(client, {
      address: hub,
      abi: guardianHubAbi,
      eventName: 'Proposed',
      args: { target },
      fromBlock: head > LOOKBACK ? head - LOOKBACK : 0n,
      toBlock: 'latest',
    });
    for (const log of logs) {
      const { id, data: proposed, salt, proposer } = log.args;
      if (!id || !salt || !proposer || proposed?.toLowerCase() !== data.toLowerCase()) continue;
      if ((await read(id)).state === 'pending') return { salt, proposer };
    }
    return undefined;
  };

  /** Calls fixed by `simulate`, by plan id, so that `send` confirms the very proposals simulated. */
  const simulated = new Map<string, HubCall[]>();

  const read = async (proposal: Hex, blockNumber?: bigint): Promise<ProposalView> => {
    const at = blockNumber === undefined ? {} : { blockNumber };
    const [[state, , confirmations], mine, threshold] = await Promise.all([
      readContract(client, {
        address: hub,
        abi: guardianHubAbi,
        functionName: 'getProposal',
        args: [proposal],
        ...at,
      }),
      readContract(client, {
        address: hub,
        abi: guardianHubAbi,
        functionName: 'hasConfirmed',
        args: [proposal, me],
        ...at,
      }),
      readContract(client, { address: hub, abi: guardianHubAbi, functionName: 'threshold', ...at }),
    ]);
    return { state: PROPOSAL_STATES[state] ?? 'unknown', confirmations, threshold, mine };
  };

  /** Nothing left for this agent to send: it confirmed already, or the call was made. */
  const done = (v: ProposalView) => v.state === 'executed' || (v.state === 'pending' && v.mine);

  /** The `Executed` event of a proposal, with who executed it (one lookup, `fromBlock` to the head). */
  const executedEvent = async (proposal: Hex, fromBlock: bigint) => {
    const logs = await getContractEvents(client, {
      address: hub,
      abi: guardianHubAbi,
      eventName: 'Executed',
      args: { id: proposal },
      fromBlock,
      toBlock: 'latest',
    });
    const log = logs[0];
    if (!log) return undefined;
    const { executor } = log.args as { executor?: Address };
    return { block: log.blockNumber, tx: log.transactionHash, executor: executor ?? null };
  };

  /** Where the plan's proposals stand at `blockNumber` (after this agent's receipts). */
  const progress = async (
    calls: HubCall[],
    receipts: TransactionReceipt[],
    blockNumber: bigint,
  ): Promise<QuorumProgress> => {
    const executedByMe = new Set<string>();
    for (const r of receipts) {
      for (const log of parseEventLogs({ abi: guardianHubAbi, eventName: 'Executed', logs: r.logs })) {
        if (log.address.toLowerCase() === hub.toLowerCase()) executedByMe.add(log.args.id);
      }
    }
    const parts: string[] = [];
    const proposals: Record<string, unknown>[] = [];
    let executed = true;
    for (const c of calls) {
      const v = await read(c.proposal, blockNumber);
      let line: string;
      if (v.state === 'executed') {
        if (executedByMe.has(c.proposal)) line = `executed by this agent's confirmation`;
        else {
          const ev = await executedEvent(c.proposal, blockNumber > LOOKBACK ? blockNumber - LOOKBACK : 0n);
          line = ev
            ? `executed by agent ${ev.executor}'s confirmation (block ${ev.block}, tx ${ev.tx})`
            : 'executed by another agent';
        }
      } else if (v.state === 'pending') {
        executed = false;
        const missing = v.threshold - v.confirmations;
        line = `confirmation ${v.confirmations} of ${v.threshold}${v.mine ? '' : ' (not this agent)'}, waiting for ${missing} more agent${missing === 1 ? '' : 's'}`;
      } else {
        throw new FirebreakError(
          'ERR_TX_FAILED',
          `guardian hub ${hub} proposal ${c.proposal} (${c.call.description}) is ${v.state} after this agent's confirmation`,
          { details: { proposal: c.proposal, state: v.state } },
        );
      }
      const joined = c.joined ? ` (joined agent ${c.joined.proposer}'s proposal ${c.proposal})` : '';
      parts.push(`${c.call.description}${joined}: ${line}`);
      proposals.push({
        proposal: c.proposal,
        call: c.call.description,
        state: v.state,
        confirmations: v.confirmations,
        threshold: v.threshold,
        confirmedByThisAgent: v.mine,
        ...(c.joined ? { joined: { proposer: c.joined.proposer, salt: c.joined.salt } } : {}),
      });
    }
    // A confirmation that reverted because an earlier one of this agent (or the k-th agent's
    // execution) got there first: said, not hidden.
    const superseded = receipts.filter((r) => r.status !== 'success').map((r) => r.transactionHash);
    const note =
      superseded.length > 0
        ? ` (${superseded.join(', ')} reverted: the call was already confirmed by this agent or executed)`
        : '';
    const summary = `guardian hub ${hub}, agent ${me}: ${parts.join('; ')}${note}`;
    const details = { hub, agent: me, proposals, superseded };
    if (executed) return { executed, summary, details };
    return { executed, summary, details, outcome: watch(calls, blockNumber) };
  };

  /**
   * Polls the waiting proposals until each is executed (by any agent), or one expires or is voided
   * by a change of agents, or the shutdown signal fires, or the chain stops answering.
   */
  const watch = async (calls: HubCall[], since: bigint): Promise<QuorumOutcome | null> => {
    const every = Math.max(options.receiptPollMs, MIN_WATCH_POLL_MS);
    const waiting = new Map(calls.map((c) => [c.proposal, c]));
    let failures = 0;
    while (!common.signal.aborted) {
      try {
        const head = await getBlockNumber(client, { cacheTime: 0 });
        for (const [proposal, c] of waiting) {
          const v = await read(proposal, head);
          if (v.state === 'executed') waiting.delete(proposal);
          else if (v.state !== 'pending') {
            const why =
              v.state === 'stale' ? 'was voided by a change of agents or threshold' : `is ${v.state}`;
            return {
              executed: false,
              reason: `guardian hub proposal ${proposal} (${c.call.description}) ${why} with ${v.confirmations} of ${v.threshold} confirmations: the call was not made`,
            };
          }
        }
        failures = 0;
        if (waiting.size === 0) {
          const events = await Promise.all(calls.map((c) => executedEvent(c.proposal, since)));
          const block = events.reduce((m, e) => (e && e.block > m ? e.block : m), since);
          const who = [...new Set(events.map((e) => e?.executor).filter((e) => e))].join(', ');
          return {
            executed: true,
            block,
            summary: `guardian hub ${hub}: ${calls.map((c) => c.call.description).join(' + ')} executed by ${who ? `agent ${who}'s` : "another agent's"} confirmation in block ${block}`,
            details: {
              hub,
              executions: events.map((e, i) => ({
                proposal: calls[i]!.proposal,
                block: e?.block.toString() ?? null,
                tx: e?.tx ?? null,
                executor: e?.executor ?? null,
              })),
            },
          };
        }
      } catch (error) {
        failures += 1;
        common.logger.warn(
          { hub, err: describeError(error), failures },
          'reading guardian hub proposals failed',
        );
        if (failures >= MAX_WATCH_READ_FAILURES) return null;
      }
      await abortableSleep(every, common.signal);
    }
    return null;
  };

  /** Resolves once each call reads as done (confirmed by this agent, or executed) at the latest block. */
  const confirmedAtLatest = async (waiting: HubCall[]) => {
    const deadline = common.clock.monotonic() + 600_000;
    while (!common.signal.aborted && common.clock.monotonic() < deadline) {
      const views = await Promise.all(waiting.map((c) => read(c.proposal).catch(() => null)));
      if (views.every((v) => v !== null && done(v))) return;
      await abortableSleep(Math.max(options.receiptPollMs, MIN_WATCH_POLL_MS), common.signal);
    }
  };

  return {
    id: options.id,
    type: 'guardian-hub',
    address: me,
    dryRun: options.dryRun,
    async resume() {
      await sender.resume();
    },
    async simulate(plan) {
      const calls = await hubCalls(plan);
      if (!options.dryRun) simulated.set(plan.id, calls);
      return Promise.all(
        calls.map(async ({ call, wrapped, proposal }) => {
          if (done(await read(proposal))) return 0n;
          try {
            return await gasLimitFor(client, wrapped, account);
          } catch (error) {
            const revert = hubRevert(simulationCause(error));
            // A confirmation that landed between the read and the estimate: nothing left to send.
            if (revert?.name === 'AlreadyConfirmed') return 0n;
            throw new FirebreakError(
              'ERR_SIMULATION_FAILED',
              `simulation of "${call.description}" through guardian hub ${hub} reverted: ${revert ? explain(revert, hub, me) : firstLine(error)}`,
              {
                cause: error,
                details: {
                  action: plan.action,
                  call: call.description,
                  hub,
                  proposal,
                  ...(revert ? { error: revert.name } : {}),
                },
              },
            );
          }
        }),
      );
    },
    async send(plan, gas, ctx): Promise<SentAction> {
      const calls = simulated.get(plan.id) ?? (await hubCalls(plan));
      simulated.delete(plan.id);
      const sentFor: HubCall[] = [];
      const items: SendItem[] = [];
      for (const [i, c] of calls.entries()) {
        const g = gas[i] ?? 1_000_000n;
        if (g === 0n) continue; // confirmed by this agent already, or executed: see simulate
        sentFor.push(c);
        items.push(sendItem(c.wrapped as unknown as PlannedCall, g));
      }
      let sent: Awaited<ReturnType<Sender['send']>> | undefined;
      if (items.length > 0) {
        try {
          sent = await sender.send(plan.id, items, ctx);
        } catch (error) {
          throw new FirebreakError(
            'ERR_TX_FAILED',
            `sending the confirmations of ${plan.action} to guardian hub ${hub} failed: ${firstLine(error)}`,
            { cause: error, retryable: true },
          );
        }
      }
      const txHashes: Hex[] = sent?.txHashes ?? [];
      const sentAt = common.clock.monotonic();
      const receipts = Promise.all(
        (sent?.receipts ?? []).map(async (pending, i) => {
          const receipt = await pending;
          const hash = receipt.transactionHash;
          if (receipt.status !== 'success') {
            // Another transaction may have got there first: this agent's own earlier confirmation
            // (a restart while it was pending), or the k-th agent's execution. Neither is a failure.
            const v = await read(sentFor[i]!.proposal, receipt.blockNumber);
            if (!done(v)) {
              throw new FirebreakError(
                'ERR_TX_FAILED',
                `confirmation ${hash} to guardian hub ${hub} reverted on-chain (block ${receipt.blockNumber}); the proposal is ${v.state} with ${v.confirmations} of ${v.threshold}`,
              );
            }
          }
          return receipt;
        }),
      );
      receipts.catch(() => undefined); // the caller handles it; never an unhandled rejection
      const quorum = receipts.then(async (rs) => {
        const at = rs.reduce<bigint | null>(
          (m, r) => (m === null || r.blockNumber > m ? r.blockNumber : m),
          null,
        );
        // A call skipped because the pending state already holds this agent's confirmation (sent
        // before a restart, not mined yet): wait until the latest block shows it.
        const skipped = calls.filter((_, i) => gas[i] === 0n);
        if (skipped.length > 0) await confirmedAtLatest(skipped);
        return progress(calls, rs, at ?? (await getBlockNumber(client, { cacheTime: 0 })));
      });
      quorum.catch(() => undefined);
      const result: SentAction = { txHashes, sentAt, receipts, quorum };
      if (sent) result.allTxHashes = sent.allTxHashes;
      if (sent?.capped) result.note = sent.capped;
      if (txHashes.length === 0)
        result.note = `agent ${me} has already confirmed every call of ${plan.action} on guardian hub ${hub} (or it was executed): nothing to send`;
      return result;
    },
  };
}

interface HubRevert {
  name: string;
  args: readonly unknown[];
}

/** The hub's custom error behind a failed call or estimate, when there is one. */
export function hubRevert(error: unknown): HubRevert | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (!(reverted instanceof ContractFunctionRevertedError)) return undefined;
  if (reverted.data?.errorName) return { name: reverted.data.errorName, args: reverted.data.args ?? [] };
  if (!reverted.raw) return undefined;
  try {
    const decoded = decodeErrorResult({ abi: guardianHubAbi, data: reverted.raw });
    return { name: decoded.errorName, args: decoded.args ?? [] };
  } catch {
    return undefined;
  }
}

/** A hub refusal in words a responder can act on. */
function explain(revert: HubRevert, hub: Address, agent: Address): string {
  const [a, b] = revert.args;
  switch (revert.name) {
    case 'NotAgent':
      return `NotAgent: ${agent} is not an agent of the hub (fix: governance adds this key with setAgents or replaceAgent, or configure the agent's own key)`;
    case 'CallNotAllowed':
      return `CallNotAllowed: selector ${String(b)} on ${String(a)} is not on the hub's allow-list (fix: governance allow-lists it with allowCall)`;
    case 'ArgumentsRefused':
      return `ArgumentsRefused: the hub's rule for selector ${String(b)} on ${String(a)} refuses these arguments (only risk-reducing values pass)`;
    case 'CallFailed': {
      const inner = typeof b === 'string' ? innerReason(b as Hex) : 'no data';
      return `CallFailed: the call itself reverts when the hub makes it (${inner}); does hub ${hub} hold the market role it needs (RISK_ADMIN / EMERGENCY_ADMIN)?`;
    }
    case 'ProposalNotPending':
      return `ProposalNotPending: proposal ${String(a)} is ${PROPOSAL_STATES[Number(b)] ?? String(b)}`;
    default:
      return `${revert.name}(${revert.args.map(String).join(', ')})`;
  }
}

/** An inner revert's `Error(string)` reason (Aave's numbered errors), or its selector. */
function innerReason(data: Hex): string {
  if (data === '0x') return 'no data';
  try {
    const decoded = decodeErrorResult({
      abi: [{ type: 'error', name: 'Error', inputs: [{ name: 'reason', type: 'string' }] }],
      data,
    });
    return `reason "${String(decoded.args[0])}"`;
  } catch {
    return `error ${data.slice(0, 10)}`;
  }
}
