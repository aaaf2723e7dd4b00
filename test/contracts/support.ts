/**
 * Test support for the contract suites: one embedded chain per suite, drill tokens, sending a
 * typed call and checking its receipt, and the name of the custom error (or Aave's error string)
 * a call reverted with.
 */
import {
  type Abi,
  type Account,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  getAddress,
} from 'viem';
import { deployArtifact, firebreakArtifact } from '../../src/chain/artifacts';
import type { EmbeddedChain } from '../../src/chain/embedded';
import type { ContractCall } from '../../src/protocols/aave-v3/actions';
import {
  backstopPoolAbi,
  breakerVaultAbi,
  circuitBreakerAbi,
  guardianHubAbi,
  recoveryVaultAbi,
} from '../../src/protocols/firebreak/abi';

const FIREBREAK_ABIS: readonly Abi[] = [
  circuitBreakerAbi,
  guardianHubAbi,
  recoveryVaultAbi,
  backstopPoolAbi,
  breakerVaultAbi,
];

/** Sends a built call as `account`; throws (with the revert) unless it succeeded. */
export async function send(chain: EmbeddedChain, account: Account, call: ContractCall) {
  const hash = await chain.client.writeContract({
    address: call.to,
    abi: call.abi,
    functionName: call.functionName,
    args: call.args as readonly unknown[],
    account,
  });
  const receipt = await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 1 });
  if (receipt.status !== 'success') throw new Error(`${call.description}: reverted`);
  return receipt;
}

/** Shorthand for an ad-hoc call description. */
export function call<const TAbi extends Abi>(
  to: Address,
  abi: TAbi,
  functionName: string,
  args: readonly unknown[] = [],
): ContractCall {
  return { to, abi, functionName, args, description: `${functionName} on ${to}` } as unknown as ContractCall;
}

/** The custom error name (or the `Error(string)` reason) a call reverted with; undefined if it did not. */
export async function revertReason(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof BaseError)) throw error;
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError) {
      const name = reverted.data?.errorName;
      if (name === 'Error') return reverted.reason;
      if (name !== undefined) return name;
      // Built with an ABI that lacks the errors (e.g. the ERC-7265 interface): decode with ours.
      for (const abi of FIREBREAK_ABIS) {
        try {
          return decodeErrorResult({ abi, data: reverted.raw ?? '0x' }).errorName;
        } catch {}
      }
      return reverted.reason ?? `reverted (${reverted.signature ?? 'no data'})`;
    }
    throw error;
  }
  return undefined;
}

/** Deploys a DrillToken and mints `amount` to each holder. */
export async function deployToken(
  chain: EmbeddedChain,
  deployer: Account,
  symbol: string,
  decimals: number,
  holders: readonly Address[] = [],
  amount = 0n,
): Promise<Address> {
  const artifact = firebreakArtifact('DrillToken');
  const token = getAddress(
    await deployArtifact(chain.client, artifact, { account: deployer, args: [symbol, symbol, decimals] }),
  );
  for (const holder of holders)
    await send(chain, deployer, call(token, artifact.abi, 'mint', [holder, amount]));
  return token;
}

/** Moves the chain's clock forward by `seconds` (mines one block at the new time). */
export async function advance(chain: EmbeddedChain, seconds: bigint): Promise<bigint> {
  const block = await chain.client.getBlock();
  const timestamp = block.timestamp + seconds;
  await chain.mine({ timestamp });
  return timestamp;
}
