/**
 * Protocols / Aave v3 — action builders (pure: nothing is sent). Each returns one call
 * description `{ to, abi, functionName, args, description }` that the respond stage simulates,
 * signs and sends its own way: the guardian's emergency levers (freeze, LTV to 0, pause) and the
 * user operations drills script (approve, supply, borrow, repay, withdraw).
 *
 * Who may call what (Aave v3.0, `PoolConfigurator`): freeze, collateral parameters, borrowing,
 * caps and reserve factor need RISK_ADMIN or POOL_ADMIN (else error "4"); reserve pause needs
 * EMERGENCY_ADMIN or POOL_ADMIN (else "3"); pool pause needs EMERGENCY_ADMIN only (else "2").
 */
import {
  type Abi,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  encodeFunctionData,
  type Hex,
} from 'viem';
import { erc20Abi, poolAbi, poolConfiguratorAbi } from './abi';
import type { AaveV3Market, AaveV3Reserve, ReserveConfiguration } from './types';

type Writable = 'nonpayable' | 'payable';

/** A contract call, typed by its ABI so viem checks the arguments, with a line for humans and logs. */
export interface ContractCall<
  TAbi extends Abi = Abi,
  TName extends ContractFunctionName<TAbi, Writable> = ContractFunctionName<TAbi, Writable>,
> {
  to: Address;
  abi: TAbi;
  functionName: TName;
  args: ContractFunctionArgs<TAbi, Writable, TName>;
  description: string;
}

/** What the builders need to know about a market: the proxies, and reserves for readable descriptions. */
export type MarketRef = Pick<AaveV3Market, 'pool' | 'poolConfigurator'> & {
  reserves?: Record<string, Pick<AaveV3Reserve, 'symbol' | 'asset'>>;
};

/** Aave's variable interest rate mode (1 is stable, disabled on the fixture's reserves). */
export const VARIABLE_RATE_MODE = 2n;

/** Encodes a call into the `{ to, data }` of a transaction. */
export function encodeCall(call: ContractCall): { to: Address; data: Hex } {
  return {
    to: call.to,
    data: encodeFunctionData({
      abi: call.abi,
      functionName: call.functionName,
      args: call.args,
    } as Parameters<typeof encodeFunctionData>[0]),
  };
}

function label(market: MarketRef, asset: Address): string {
  const lower = asset.toLowerCase();
  const reserve = Object.values(market.reserves ?? {}).find((r) => r.asset.toLowerCase() === lower);
  return reserve ? `${reserve.symbol} (${asset})` : asset;
}

// ---- Guardian levers (PoolConfigurator) ----

/** Freezes a reserve: no new supply or borrow ("28"); repay, withdraw and liquidation still work. */
export function freezeReserve(
  market: MarketRef,
  asset: Address,
): ContractCall<typeof poolConfiguratorAbi, 'setReserveFreeze'> {
  return {
    to: market.poolConfigurator,
    abi: poolConfiguratorAbi,
    functionName: 'setReserveFreeze',
    args: [asset, true],
    description: `Freeze the ${label(market, asset)} reserve (PoolConfigurator.setReserveFreeze(asset, true))`,
  };
}

/**
 * Sets a reserve's LTV to 0 so it backs no new borrowing, keeping the current liquidation threshold
 * and bonus (so existing positions are not made liquidatable). Pass the configuration read just
 * before (`readReserveConfiguration`).
 */
export function setLtvZero(
  market: MarketRef,
  asset: Address,
  current: Pick<ReserveConfiguration, 'liquidationThresholdBps' | 'liquidationBonusBps'>,
): ContractCall<typeof poolConfiguratorAbi, 'configureReserveAsCollateral'> {
  return {
    to: market.poolConfigurator,
    abi: poolConfiguratorAbi,
    functionName: 'configureReserveAsCollateral',
    args: [asset, 0n, BigInt(current.liquidationThresholdBps), BigInt(current.liquidationBonusBps)],
    description:
      `Set the LTV of ${label(market, asset)} to 0, keeping liquidation threshold ` +
      `${current.liquidationThresholdBps} bps and bonus ${current.liquidationBonusBps} bps ` +
      '(PoolConfigurator.configureReserveAsCollateral)',
  };
}

/** Pauses one reserve: every user action on it reverts ("29"), liquidations included. */
export function pauseReserve(
  market: MarketRef,
  asset: Address,
): ContractCall<typeof poolConfiguratorAbi, 'setReservePause'> {
  return {
    to: market.poolConfigurator,
    abi: poolConfiguratorAbi,
    functionName: 'setReservePause',
    args: [asset, true],
    description: `Pause the ${label(market, asset)} reserve (PoolConfigurator.setReservePause(asset, true))`,
  };
}

/** Pauses every reserve of the pool. Only the EMERGENCY_ADMIN may (not the pool admin). */
export function pausePool(market: MarketRef): ContractCall<typeof poolConfiguratorAbi, 'setPoolPause'> {
  return {
    to: market.poolConfigurator,
    abi: poolConfiguratorAbi,
    functionName: 'setPoolPause',
    args: [true],
    description: `Pause every reserve of pool ${market.pool} (PoolConfigurator.setPoolPause(true))`,
  };
}

// ---- User operations (Pool, ERC-20) ----

/** Approves `spender` (the pool by default) to pull `amount` of `asset`. */
export function approve(
  market: MarketRef,
  params: { asset: Address; amount: bigint; spender?: Address },
): ContractCall<typeof erc20Abi, 'approve'> {
  const spender = params.spender ?? market.pool;
  return {
    to: params.asset,
    abi: erc20Abi,
    functionName: 'approve',
    args: [spender, params.amount],
    description: `Approve ${spender} to spend ${params.amount} of ${label(market, params.asset)}`,
  };
}

/** Supplies `amount` of `asset` for `onBehalfOf` (needs an approval of the pool first). */
export function supply(
  market: MarketRef,
  params: { asset: Address; amount: bigint; onBehalfOf: Address; referralCode?: number },
): ContractCall<typeof poolAbi, 'supply'> {
  return {
    to: market.pool,
    abi: poolAbi,
    functionName: 'supply',
    args: [params.asset, params.amount, params.onBehalfOf, params.referralCode ?? 0],
    description: `Supply ${params.amount} of ${label(market, params.asset)} for ${params.onBehalfOf}`,
  };
}

/** Borrows `amount` of `asset` at the variable rate against `onBehalfOf`'s collateral. */
export function borrow(
  market: MarketRef,
  params: { asset: Address; amount: bigint; onBehalfOf: Address; referralCode?: number },
): ContractCall<typeof poolAbi, 'borrow'> {
  return {
    to: market.pool,
    abi: poolAbi,
    functionName: 'borrow',
    args: [params.asset, params.amount, VARIABLE_RATE_MODE, params.referralCode ?? 0, params.onBehalfOf],
    description: `Borrow ${params.amount} of ${label(market, params.asset)} (variable rate) for ${params.onBehalfOf}`,
  };
}

/** Repays variable debt; `amount = maxUint256` repays all of it (only for one's own debt). */
export function repay(
  market: MarketRef,
  params: { asset: Address; amount: bigint; onBehalfOf: Address },
): ContractCall<typeof poolAbi, 'repay'> {
  return {
    to: market.pool,
    abi: poolAbi,
    functionName: 'repay',
    args: [params.asset, params.amount, VARIABLE_RATE_MODE, params.onBehalfOf],
    description: `Repay ${params.amount} of ${label(market, params.asset)} variable debt of ${params.onBehalfOf}`,
  };
}

/** Withdraws `amount` of `asset` (`maxUint256` = the whole balance) to `to`. */
export function withdraw(
  market: MarketRef,
  params: { asset: Address; amount: bigint; to: Address },
): ContractCall<typeof poolAbi, 'withdraw'> {
  return {
    to: market.pool,
    abi: poolAbi,
    functionName: 'withdraw',
    args: [params.asset, params.amount, params.to],
    description: `Withdraw ${params.amount} of ${label(market, params.asset)} to ${params.to}`,
  };
}
