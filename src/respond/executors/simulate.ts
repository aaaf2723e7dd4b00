/**
 * Respond / executors — simulating calls before anything is signed, shared by every executor.
 *
 * - `simulatePlan`: a plan's calls as an executor sends them (one transaction each, from its own
 *   address), in ONE `eth_call` per state. `PlanSimulator` (contracts/PlanSimulator.sol) is placed
 *   at the executor's address by a state override for that call only and makes the calls in order
 *   from there, so each sees what the earlier ones left (as the transactions, mined one after
 *   another, will) and its gas use is measured in the same execution. Against the latest state and,
 *   where the node offers it, the pending one: two executions for a whole plan, where simulating
 *   each call alone took two per call, or a binary search of executions per call for its gas
 *   (`eth_estimateGas`). A node that refuses a state override is remembered and asked one call at
 *   a time (`gasLimitFor`).
 * - `gasLimitFor`: one call on its own (latest and pending), for executors whose calls go through
 *   a contract of theirs (a Safe's `execTransaction`, a timelock's `schedule`, a hub's `confirm`).
 *
 * Every gas limit carries the same margin for state that moves before the transaction is mined:
 * the measured need plus 30 % and 10,000, or the call's known limit (`PlannedCall.gas`) once the
 * simulation shows it is enough.
 */
import {
  BaseError,
  type Client,
  ContractFunctionRevertedError,
  decodeErrorResult,
  decodeFunctionResult,
  ExecutionRevertedError,
  encodeFunctionData,
  type Hex,
  hexToBytes,
  parseAbi,
  type StateOverride,
} from 'viem';
import { simulateContract as callContract, estimateContractGas, call as ethCall } from 'viem/actions';
import { describeError, FirebreakError } from '../../common/errors';
import type { PlannedCall } from '../types';

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
function isRevert(error: unknown): boolean {
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

/**
 * PlanSimulator's runtime code (contracts/PlanSimulator.sol as `npm run build:contracts` compiles
 * it), kept here so that simulating never depends on build/ being present where Firebreak runs. A
 * test compares it with the compiled contract: after editing the contract, paste its
 * `deployedBytecode` from build/contracts/PlanSimulator.json here.
 */
export const PLAN_SIMULATOR_CODE: Hex =
  '0x608060405234801561000f575f5ffd5b5060043610610029575f3560e01c8063e6d962da1461002d575b5f5ffd5b61004061003b3660046101fd565b610056565b60405161004d919061026e565b60405180910390f35b60608167ffffffffffffffff811115610071576100716102b0565b60405190808252806020026020018201604052801561009a578160200160208202803683370190505b5090505f5b828110156101f6575f5a90505f5f8686858181106100bf576100bf6102c4565b90506020028101906100d191906102d8565b6100df9060208101906102f6565b6001600160a01b03168787868181106100fa576100fa6102c4565b905060200281019061010c91906102d8565b60200135888887818110610122576101226102c4565b905060200281019061013491906102d8565b610142906040810190610323565b60405161015092919061036d565b5f6040518083038185875af1925050503d805f811461018a576040519150601f19603f3d011682016040523d82523d5f602084013e61018f565b606091505b50915091505a61019f908461037c565b8585815181106101b1576101b16102c4565b602002602001018181525050816101e8578381604051633b4c7a5f60e01b81526004016101df9291906103a1565b60405180910390fd5b50505080600101905061009f565b5092915050565b5f5f6020838503121561020e575f5ffd5b823567ffffffffffffffff811115610224575f5ffd5b8301601f81018513610234575f5ffd5b803567ffffffffffffffff81111561024a575f5ffd5b8560208260051b840101111561025e575f5ffd5b6020919091019590945092505050565b602080825282518282018190525f918401906040840190835b818110156102a5578351835260209384019390920191600101610287565b509095945050505050565b634e487b7160e01b5f52604160045260245ffd5b634e487b7160e01b5f52603260045260245ffd5b5f8235605e198336030181126102ec575f5ffd5b9190910192915050565b5f60208284031215610306575f5ffd5b81356001600160a01b038116811461031c575f5ffd5b9392505050565b5f5f8335601e19843603018112610338575f5ffd5b83018035915067ffffffffffffffff821115610352575f5ffd5b602001915036819003821315610366575f5ffd5b9250929050565b818382375f9101908152919050565b8181038181111561039b57634e487b7160e01b5f52601160045260245ffd5b92915050565b828152604060208201525f82518060408401528060208501606085015e5f606082850101526060601f19601f830116840101915050939250505056fea264697066735822122006bec7dd06491d664c483f4c94d61a19271460ca77c48c1f1b68d9b16fb3f24d64736f6c63430008250033';

const planSimulatorAbi = parseAbi([
  'struct Call { address to; uint256 value; bytes data; }',
  'function simulate(Call[] calls) returns (uint256[] gasUsed)',
  'error CallReverted(uint256 index, bytes reason)',
]);

/** Clients whose node refused the state override `simulatePlan` needs (then each call is simulated alone). */
const noPlanSimulator = new WeakSet<Client>();

/** Simulation failed: which call, against which state, why. */
function simulationFailed(call: { description: string }, action: string, error: unknown): FirebreakError {
  return new FirebreakError(
    'ERR_SIMULATION_FAILED',
    `simulation of "${call.description}" reverted${stateOf(error)}: ${firstLine(error)}`,
    { cause: error, details: { action, call: call.description } },
  );
}

/**
 * Simulates a plan's calls as transactions `from` sends, in order, against the latest state and
 * (where the node offers it) the pending one; returns each call's gas limit. Throws
 * ERR_SIMULATION_FAILED naming the call, the state and the decoded reason when one would revert,
 * or would need more gas than its known limit.
 */
export async function simulatePlan(
  client: Client,
  plan: { action: string; calls: readonly PlannedCall[] },
  from: Hex,
): Promise<bigint[]> {
  if (plan.calls.length > 0 && !noPlanSimulator.has(client)) {
    const result = await inOneCall(client, plan, from);
    if (result !== null) return result;
  }
  return Promise.all(
    plan.calls.map((call) =>
      gasLimitFor(client, call, from).catch((error: unknown) => {
        throw simulationFailed(call, plan.action, error);
      }),
    ),
  );
}

/** The plan in one execution per state; null when the node cannot run it that way. */
async function inOneCall(
  client: Client,
  plan: { action: string; calls: readonly PlannedCall[] },
  from: Hex,
): Promise<bigint[] | null> {
  const encoded = plan.calls.map((c) => encodeFunctionData(c as Parameters<typeof encodeFunctionData>[0]));
  const data = encodeFunctionData({
    abi: planSimulatorAbi,
    functionName: 'simulate',
    args: [encoded.map((d, i) => ({ to: plan.calls[i]!.to, value: 0n, data: d }))],
  });
  // The calls' own overrides (`PlannedCall.stateOverride`) stand for what an earlier call of the
  // plan leaves in place: here the earlier call is really made first, so they are not needed.
  const run = (blockTag: 'latest' | 'pending') =>
    ethCall(client, {
      account: from,
      to: from,
      data,
      blockTag,
      stateOverride: [{ address: from, code: PLAN_SIMULATOR_CODE }],
    }).then((r) => {
      const used = decodeFunctionResult({
        abi: planSimulatorAbi,
        functionName: 'simulate',
        data: r.data ?? '0x',
      });
      return used as readonly bigint[];
    });
  const tryPending = !noPendingState.has(client);
  const [latest, pending] = await Promise.allSettled([run('latest'), tryPending ? run('pending') : null]);
  // A revert of one of the plan's calls: refused, naming it (latest first, as `gasLimitFor` does).
  for (const [state, outcome] of [
    ['latest', latest],
    ['pending', pending],
  ] as const) {
    if (outcome.status === 'fulfilled') continue;
    const reverted = callReverted(outcome.reason);
    if (reverted) {
      const call = plan.calls[reverted.index];
      if (!call) return null;
      throw simulationFailed(
        call,
        plan.action,
        new RevertedAgainst(state, new PlanCallReverted(call, reverted.reason, reverted.index)),
      );
    }
    if (state === 'pending' && isRevert(outcome.reason)) return null; // not ours to explain: one call at a time
    if (state === 'pending') {
      noPendingState.add(client); // the node does not execute against its pending block
      continue;
    }
    // The node did not run the simulator at all (no state overrides, say): one call at a time.
    if (!isRevert(outcome.reason)) noPlanSimulator.add(client);
    return null;
  }
  if (latest.status !== 'fulfilled') return null;
  const used = latest.value;
  return plan.calls.map((call, i) => {
    // What the transaction needs: the execution measured, plus the intrinsic cost a call inside
    // the simulator does not pay (21,000 and the calldata).
    const need = (used[i] ?? 0n) + 21_000n + calldataGas(encoded[i]!);
    if (call.gas === undefined) return (need * 13n) / 10n + 10_000n;
    if (need > call.gas)
      throw new FirebreakError(
        'ERR_SIMULATION_FAILED',
        `simulation of "${call.description}": it needs about ${need} gas, more than its limit of ${call.gas}`,
        { details: { action: plan.action, call: call.description } },
      );
    return call.gas;
  });
}

/** One of the plan's calls reverted inside the simulator: its own revert data, decoded with its ABI. */
class PlanCallReverted extends Error {
  constructor(call: PlannedCall, data: Hex, index: number) {
    super(`${decodeRevert(call.abi, data)}${index > 0 ? " (after the plan's earlier calls)" : ''}`);
  }
}

/** `CallReverted(index, reason)` from the simulator's revert data, or null. */
function callReverted(error: unknown): { index: number; reason: Hex } | null {
  const data = revertData(error);
  if (!data) return null;
  try {
    const decoded = decodeErrorResult({ abi: planSimulatorAbi, data });
    if (decoded.errorName !== 'CallReverted') return null;
    const [index, reason] = decoded.args as readonly [bigint, Hex];
    return { index: Number(index), reason };
  } catch {
    return null;
  }
}

/** The raw revert data inside a viem error, if any. */
function revertData(error: unknown): Hex | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const found = error.walk((e) => typeof (e as { data?: unknown }).data === 'string') as {
    data?: string;
  } | null;
  const data = found?.data;
  return typeof data === 'string' && data.startsWith('0x') ? (data as Hex) : undefined;
}

/** A revert reason in words: `Error(string)`'s text, a panic code, a custom error with its arguments. */
function decodeRevert(abi: readonly unknown[], data: Hex): string {
  if (data === '0x') return 'reverted without a reason';
  try {
    const decoded = decodeErrorResult({ abi: abi as never, data });
    if (decoded.errorName === 'Error') return String(decoded.args?.[0]);
    if (decoded.errorName === 'Panic')
      return `panic 0x${BigInt((decoded.args?.[0] as bigint | undefined) ?? 0n).toString(16)}`;
    const args = (decoded.args ?? []).map((a) => (typeof a === 'bigint' ? a.toString() : String(a)));
    return `${decoded.errorName}(${args.join(', ')})`;
  } catch {
    return `unknown error ${data.slice(0, 10)}`;
  }
}

/** The gas a transaction's calldata costs (EIP-2028: 4 a zero byte, 16 any other). */
function calldataGas(data: Hex): bigint {
  let gas = 0n;
  for (const byte of hexToBytes(data)) gas += byte === 0 ? 4n : 16n;
  return gas;
}
