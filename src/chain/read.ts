/**
 * Chain — contract reads on the hot path: the same result as viem's `readContract`, for a fraction
 * of its cost when the same calls repeat every block (the detectors' reads, in replay thousands of
 * blocks a second).
 *
 * The calldata of a (function, arguments) pair is encoded once and kept; the call goes straight to
 * the client's transport as `eth_call`, and the result is decoded with `decodeFunctionResult`,
 * unless it is the same bytes as that call's previous result (same target and calldata; most reads
 * repeat block after block: a feed's answer, a reserve's configuration): then the previous value is
 * returned. Decoded values are frozen, since several readers may hold the same one.
 * A call that fails is made again through `readContract`, so the error a caller sees is viem's
 * usual one (revert reason decoded, contract and function named).
 */
import {
  type Abi,
  type Address,
  type Client,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type ContractFunctionReturnType,
  decodeFunctionResult,
  encodeFunctionData,
  type Hex,
  toHex,
} from 'viem';
import { readContract } from 'viem/actions';

/** Distinct calldata kept per ABI before its cache starts over (a detector set repeats a few dozen). */
const MAX_CACHED = 10_000;
const calldataByAbi = new WeakMap<Abi, Map<string, Hex>>();
/** Per ABI, by target and calldata: the last result and its decoded value. */
const lastByAbi = new WeakMap<Abi, Map<string, { result: Hex; value: unknown }>>();

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

export interface FastReadParameters<
  abi extends Abi,
  name extends ContractFunctionName<abi, 'pure' | 'view'>,
  args extends ContractFunctionArgs<abi, 'pure' | 'view', name>,
> {
  address: Address;
  abi: abi;
  functionName: name;
  args?: args;
  blockNumber?: bigint;
}

/**
 * Reads a view function at a block.
 *
 * @example
 * const price = await fastRead(client, { address: oracle, abi: aaveOracleAbi,
 *   functionName: 'getAssetPrice', args: [asset], blockNumber });
 */
export async function fastRead<
  const abi extends Abi,
  name extends ContractFunctionName<abi, 'pure' | 'view'>,
  const args extends ContractFunctionArgs<abi, 'pure' | 'view', name>,
>(
  client: Client,
  parameters: FastReadParameters<abi, name, args>,
): Promise<ContractFunctionReturnType<abi, 'pure' | 'view', name, args>> {
  const { address, abi, functionName, args, blockNumber } = parameters;
  const key = `${functionName}(${args === undefined ? '' : (args as readonly unknown[]).map(String).join(',')})`;
  let calldata = calldataByAbi.get(abi);
  if (calldata === undefined) {
    calldata = new Map();
    calldataByAbi.set(abi, calldata);
  }
  let data = calldata.get(key);
  if (data === undefined) {
    data = encodeFunctionData({ abi, functionName, args } as never) as Hex;
    if (calldata.size >= MAX_CACHED) calldata.clear();
    calldata.set(key, data);
  }
  let result: Hex;
  try {
    result = (await client.request({
      method: 'eth_call',
      params: [{ to: address, data }, blockNumber === undefined ? 'latest' : toHex(blockNumber)],
    } as never)) as Hex;
  } catch {
    // viem's own path, for its error (the revert decoded, the call named) or a transient failure gone.
    return readContract(client, {
      address,
      abi,
      functionName,
      args,
      ...(blockNumber === undefined ? {} : { blockNumber }),
    } as never) as never;
  }
  let last = lastByAbi.get(abi);
  if (last === undefined) {
    last = new Map();
    lastByAbi.set(abi, last);
  }
  const target = `${address}${data}`;
  const previous = last.get(target);
  if (previous !== undefined && previous.result === result) return previous.value as never;
  const value = deepFreeze(decodeFunctionResult({ abi, functionName, args, data: result } as never));
  if (last.size >= MAX_CACHED) last.clear();
  last.set(target, { result, value });
  return value as never;
}
