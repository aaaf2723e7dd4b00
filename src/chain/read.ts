/**
 * Chain — contract reads on the hot path: the same result as viem's `readContract`, for a fraction
 * of its cost when the same calls repeat every block (the detectors' reads, in replay thousands of
 * blocks a second).
 *
 * The calldata of a (function, arguments) pair is encoded once and kept; the call goes straight to
 * the client's transport as `eth_call`, and the result is decoded with `decodeFunctionResult`.
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
  return decodeFunctionResult({ abi, functionName, args, data: result } as never) as never;
}
