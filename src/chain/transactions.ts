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
  const data = encodeFunctionData({
    abi: call.abi,
    functionName: call.functionName,
    args: call.args as unknown[],
  });
  return signData(account, { to: call.to, data }, fields);
}

/** Signs already encoded call data (a transaction signed again with other fees, say). */
export function signData(
  account: Account,
  call: { to: Hex; data: Hex; value?: bigint },
  fields: TxFields,
): Promise<Hex> {
  if (!account.signTransaction) throw new Error(`account ${account.address} cannot sign locally`);
  return account.signTransaction({ type: 'eip1559', ...call, ...fields });
}
