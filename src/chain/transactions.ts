/**
 * Chain — signing contract calls locally as EIP-1559 transactions, with every field explicit (no
 * estimate or nonce lookup behind the caller's back), ready for `eth_sendRawTransaction`.
 */
import { type Abi, type Account, encodeFunctionData, type Hex } from 'viem';

export interface CallToSign {
  to: Hex;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
}

export interface TxFields {
  chainId: number;
  nonce: number;
  gas: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export function signCall(account: Account, call: CallToSign, fields: TxFields): Promise<Hex> {
  if (!account.signTransaction) throw new Error(`account ${account.address} cannot sign locally`);
  return account.signTransaction({
    type: 'eip1559',
    to: call.to,
    data: encodeFunctionData({
      abi: call.abi,
      functionName: call.functionName,
      args: call.args as unknown[],
    }),
    ...fields,
  });
}
