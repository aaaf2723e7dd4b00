/**
 * Drills — bots: what every bot kind shares. Funding a bot's accounts at setup (minting its
 * `holds`, approving the lending pool), reading the pending state (balances, reference and oracle
 * prices, reserve flags), the activity window, and the fixed gas limits bot calls carry (nothing
 * is estimated against pending state).
 */
import type { Abi, Hex } from 'viem';
import { readContract } from 'viem/actions';
import { FirebreakError } from '../../common/errors';
import { aaveOracleAbi, erc20Abi, poolAbi } from '../../protocols/aave-v3/abi';
import { decodeReserveConfiguration } from '../../protocols/aave-v3/reader';
import type { ReserveConfiguration } from '../../protocols/aave-v3/types';
import { aggregatorV3Abi } from '../../protocols/chainlink/feed';
import { type DrillToken, mintDrillToken, sendAndConfirm, toUnits } from '../market';
import type { BotCall, BotContext, BotTurn } from './types';

export const PENDING = { blockTag: 'pending' } as const;

/** Gas limits, generous and fixed (what actors.ts sends for the same calls). */
export const GAS = {
  approve: 100_000n,
  supply: 500_000n,
  withdraw: 500_000n,
  borrow: 800_000n,
  repay: 500_000n,
  liquidation: 1_500_000n,
  transfer: 120_000n,
  swap: 250_000n,
} as const;

const MAX_UINT256 = (1n << 256n) - 1n;

/** Whether the bot acts at this offset. */
export const inWindow = (spec: { from: number; until?: number | undefined }, turn: BotTurn): boolean =>
  turn.offset >= spec.from && (spec.until === undefined || turn.offset <= spec.until);

/** The scenario token by symbol, or a clear error naming the bot. */
export function tokenOf(ctx: BotContext, bot: string, symbol: string): DrillToken {
  const t = ctx.market.tokens.get(symbol);
  if (!t)
    throw new FirebreakError(
      'ERR_SCENARIO_INVALID',
      `bot "${bot}" names token ${symbol}, which the market does not list (${[...ctx.market.tokens.keys()].join(', ')})`,
    );
  return t;
}

/** Setup (automine on): mints `holds` (whole tokens) to each account from the market's deployer. */
export async function mintHoldings(
  ctx: BotContext,
  bot: string,
  holds: Record<string, number>,
  accounts: readonly { address: Hex }[],
): Promise<void> {
  for (const [symbol, amount] of Object.entries(holds)) {
    const t = tokenOf(ctx, bot, symbol);
    for (const a of accounts)
      await mintDrillToken(ctx.chain, ctx.market.deployer, t.address, a.address, toUnits(amount, t.decimals));
  }
}

/** Setup (automine on): each account lets the Aave pool pull every market token (repay, supply, liquidate). */
export async function approvePool(ctx: BotContext, accounts: BotContext['accounts']): Promise<void> {
  for (const a of accounts)
    for (const t of ctx.market.tokens.values())
      await sendAndConfirm(ctx.chain, a, t.address, erc20Abi, 'approve', [ctx.market.aave.pool, MAX_UINT256]);
}

export function balanceOf(ctx: BotContext, token: Hex, who: Hex): Promise<bigint> {
  return readContract(ctx.chain.client, {
    address: token,
    abi: erc20Abi,
    functionName: 'balanceOf',
    args: [who],
    ...PENDING,
  });
}

/** True prices (reference feeds, 8 decimals) by symbol, at pending. */
export async function referencePrices(ctx: BotContext): Promise<Map<string, bigint>> {
  const entries = await Promise.all(
    [...ctx.market.referenceFeeds].map(async ([symbol, feed]) => {
      const round = await readContract(ctx.chain.client, {
        address: feed,
        abi: aggregatorV3Abi,
        functionName: 'latestRoundData',
        ...PENDING,
      });
      return [symbol, round[1]] as const;
    }),
  );
  return new Map(entries);
}

/** The lending market's own prices (AaveOracle, base currency) by symbol, at pending. */
export async function oraclePrices(ctx: BotContext): Promise<Map<string, bigint>> {
  const tokens = [...ctx.market.tokens.values()];
  const prices = await readContract(ctx.chain.client, {
    address: ctx.market.aave.oracle,
    abi: aaveOracleAbi,
    functionName: 'getAssetsPrices',
    args: [tokens.map((t) => t.address)],
    ...PENDING,
  });
  return new Map(tokens.map((t, i) => [t.symbol, prices[i] ?? 0n]));
}

/** Every reserve's configuration (flags, LTV, bonus) by symbol, at pending. */
export async function reserveConfigurations(ctx: BotContext): Promise<Map<string, ReserveConfiguration>> {
  const entries = await Promise.all(
    [...ctx.market.tokens.values()].map(async (t) => {
      const { data } = await readContract(ctx.chain.client, {
        address: ctx.market.aave.pool,
        abi: poolAbi,
        functionName: 'getConfiguration',
        args: [t.address],
        ...PENDING,
      });
      return [t.symbol, decodeReserveConfiguration(data)] as const;
    }),
  );
  return new Map(entries);
}

/** Whole-token USD amount → token units at an 8-decimal price (0 when the price is 0). */
export function usdToUnits(usd: number, price: bigint, decimals: number): bigint {
  if (price <= 0n || !(usd > 0)) return 0n;
  const cents = BigInt(Math.round(usd * 1e8));
  return (cents * 10n ** BigInt(decimals)) / price;
}

/** Token units → USD (float, for notes and thresholds only). */
export function unitsToUsd(units: bigint, price: bigint, decimals: number): number {
  return (Number(units) / 10 ** decimals) * (Number(price) / 1e8);
}

/** Builds a call with an ABI as viem's `Abi` (the seam's type). */
export function call(
  to: Hex,
  abi: unknown,
  functionName: string,
  args: readonly unknown[],
  gas: bigint,
  extra: { from?: number; note?: string } = {},
): BotCall {
  return { to, abi: abi as Abi, functionName, args, gas, ...extra };
}

/** Formats token units for a note: 1234.5678 → "1,234.57". */
export function fmt(units: bigint, decimals: number): string {
  return (Number(units) / 10 ** decimals).toLocaleString('en-US', { maximumFractionDigits: 2 });
}
