/**
 * Drills — measuring a run's outcome on-chain at reference (true) prices: every tracked account's
 * collateral and debt, the protocol's bad debt, assets that left the reserves with no debt behind
 * them, and each account's wallet, from which attacker profit is computed.
 */
import type { Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { EmbeddedChain } from '../chain/embedded';
import { aTokenAbi, erc20Abi, variableDebtTokenAbi } from '../protocols/aave-v3/abi';
import { readFeed } from '../protocols/chainlink/feed';
import { extrasBacking } from './extras';
import type { DrillMarket } from './market';
import { readBalancesBatch } from './spawner';
import { treasuryHoldings } from './treasury';

/** Whole-token amounts by symbol (floats: the scorer's view, never used to send anything). */
export type Amounts = Record<string, number>;

export interface AccountSnapshot {
  supplied: Amounts;
  debt: Amounts;
  wallet: Amounts;
}

export interface MarketSnapshot {
  /** True USD prices by symbol, from the reference feeds. */
  prices: Record<string, number>;
  accounts: Record<string, AccountSnapshot>;
  /** Per reserve: cash + debt − suppliers' claims, in tokens (falls when assets leave with no debt behind them). */
  reserveBacking: Amounts;
  /** What the protocol's treasury owns (`market.protocolLiquidity`, treasury.ts), when the scenario has one. */
  treasury?: Amounts;
}

const toFloat = (units: bigint, decimals: number) => Number(units) / 10 ** decimals;

export async function snapshotMarket(chain: EmbeddedChain, market: DrillMarket): Promise<MarketSnapshot> {
  const { client } = chain;
  const prices: Record<string, number> = {};
  await Promise.all(
    [...market.referenceFeeds].map(async ([symbol, feed]) => {
      const answer = await readFeed(client, feed);
      prices[symbol] = toFloat(answer.answer, answer.decimals);
    }),
  );
  const read = (
    address: Hex,
    abi: typeof erc20Abi | typeof aTokenAbi | typeof variableDebtTokenAbi,
    functionName: 'balanceOf' | 'totalSupply',
    args: readonly Hex[] = [],
  ) =>
    readContract(client, {
      address,
      abi: abi as typeof erc20Abi,
      functionName: functionName as 'balanceOf',
      args: args as [Hex],
    }) as Promise<bigint>;

  const accounts: Record<string, AccountSnapshot> = {};
  // Generated positions count too: their bad debt is the market's (Black Thursday's population).
  const tracked: (readonly [string, { address: Hex }])[] = [
    ...market.accounts.entries(),
    ...market.population.map((p) => [p.name, p] as const),
    ['probe', market.probe] as const,
  ];
  // Every tracked account's aToken, debt-token and wallet balance of every asset, in a few calls.
  const tokens = [...market.tokens.values()];
  const columns = tokens.flatMap((t) => {
    const reserve = market.aave.reserves[t.symbol]!;
    return [reserve.aToken, reserve.variableDebtToken, t.address];
  });
  const balances = await readBalancesBatch(
    chain,
    columns,
    tracked.map(([, who]) => who.address),
  );
  tracked.forEach(([name], h) => {
    const snapshot: AccountSnapshot = { supplied: {}, debt: {}, wallet: {} };
    tokens.forEach((t, j) => {
      const row = balances[h]!;
      snapshot.supplied[t.symbol] = toFloat(row[3 * j]!, t.decimals);
      snapshot.debt[t.symbol] = toFloat(row[3 * j + 1]!, t.decimals);
      snapshot.wallet[t.symbol] = toFloat(row[3 * j + 2]!, t.decimals);
    });
    accounts[name] = snapshot;
  });

  const reserveBacking: Amounts = {};
  await Promise.all(
    [...market.tokens.values()].map(async (t) => {
      const reserve = market.aave.reserves[t.symbol]!;
      const [cash, debt, claims] = await Promise.all([
        read(t.address, erc20Abi, 'balanceOf', [reserve.aToken]),
        read(reserve.variableDebtToken, variableDebtTokenAbi, 'totalSupply'),
        read(reserve.aToken, aTokenAbi, 'totalSupply'),
      ]);
      reserveBacking[t.symbol] = toFloat(cash + debt - claims, t.decimals);
    }),
  );
  // Contracts beside the market (a vault, a treasury): their backing by `<contract>:<symbol>`.
  Object.assign(reserveBacking, await extrasBacking(chain, market.extras, market.tokens));
  const treasury = market.treasury
    ? await treasuryHoldings(chain, market.treasury, market.tokens, market.aave)
    : undefined;
  return { prices, accounts, reserveBacking, ...(treasury ? { treasury } : {}) };
}

export interface Outcome {
  /** Σ over accounts of debt not covered by collateral, at true prices. */
  badDebtUsd: number;
  /** Assets that left the reserves with no debt recorded against them. */
  assetsTakenUsd: number;
  /** What the protocol's treasury lost (its holdings before minus after, both at the final true prices; 0 without one). */
  treasuryLossUsd: number;
  /** Bad debt + assets taken + the treasury's loss. */
  lossUsd: number;
  attackerProfitUsd: number;
  /**
   * What the attackers carried off: their wallets' gain at the final true prices, ignoring what
   * they leave inside the market (they abandon it). When the attackers' positions back each other
   * (Cream's circle of claims), bad debt counts their own claims at face value; this does not.
   */
  attackerTakeUsd: number;
}

const value = (amounts: Amounts, prices: Record<string, number>) =>
  Object.entries(amounts).reduce((sum, [symbol, n]) => sum + n * (prices[symbol] ?? 0), 0);

/** Scores a run from its snapshots before and after, valuing both at the final true prices. */
export function outcome(
  before: MarketSnapshot,
  after: MarketSnapshot,
  attackers: readonly string[],
): Outcome {
  const prices = after.prices;
  let badDebtUsd = 0;
  for (const a of Object.values(after.accounts))
    badDebtUsd += Math.max(0, value(a.debt, prices) - value(a.supplied, prices));
  let assetsTakenUsd = 0;
  for (const [symbol, end] of Object.entries(after.reserveBacking)) {
    const price = prices[symbol.slice(symbol.lastIndexOf(':') + 1)] ?? 0; // `vault:DAI` is priced as DAI
    const taken = ((before.reserveBacking[symbol] ?? 0) - end) * price;
    // Interest accrual moves backing by dust; count only what is worth more than a dollar.
    if (taken > 1) assetsTakenUsd += taken;
  }
  let attackerProfitUsd = 0;
  let attackerTakeUsd = 0;
  for (const name of attackers) {
    const b = before.accounts[name];
    const a = after.accounts[name];
    if (!a || !b) continue;
    const worth = (s: AccountSnapshot) =>
      value(s.wallet, prices) + Math.max(0, value(s.supplied, prices) - value(s.debt, prices));
    attackerProfitUsd += worth(a) - worth(b);
    attackerTakeUsd += value(a.wallet, prices) - value(b.wallet, prices);
  }
  // The treasury's holdings at the same prices before and after: what the run cost it, beyond what
  // the prices alone would have (a depegged token it holds loses value either way).
  const treasuryLossUsd =
    before.treasury && after.treasury
      ? Math.max(0, value(before.treasury, prices) - value(after.treasury, prices))
      : 0;
  return {
    badDebtUsd,
    assetsTakenUsd,
    treasuryLossUsd,
    lossUsd: badDebtUsd + assetsTakenUsd + treasuryLossUsd,
    attackerProfitUsd,
    attackerTakeUsd,
  };
}
