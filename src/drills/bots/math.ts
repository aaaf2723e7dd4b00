/**
 * Drills — bots: the pure arithmetic the bots decide with. Aave v3.0's liquidation amounts
 * (close factor, seized collateral with the bonus and the protocol fee, exactly as
 * `LiquidationLogic` 1.19.3 rounds them), the liquidator's profit-maximising size against an
 * x·y=k pool, the arbitrage that brings a pool back to a reference price, and a Poisson draw.
 * No I/O: everything here is checked by unit and property tests (math.test.ts).
 */
import { getAmountOut } from '../../protocols/uniswap-v2/pool';
import { percentDiv, percentMul } from '../../risk/aave-math';

/** `LiquidationLogic.CLOSE_FACTOR_HF_THRESHOLD`: at or below it the whole debt may be repaid. */
export const CLOSE_FACTOR_HF_THRESHOLD = 95n * 10n ** 16n;
/** A health factor of exactly 1 (wad): below it a position can be liquidated. */
export const ONE_HF = 10n ** 18n;

/**
 * Aave v3.0's close factor in basis points: 50 % while the health factor is above 0.95, 100 % at or
 * below. (v3.0 has no "small position" rule; that came with v3.3.) `marginWad` makes the 100 % case
 * stricter, for a plan made from a state a block older than the one the call executes in.
 */
export function closeFactorBps(healthFactor: bigint, marginWad = 0n): bigint {
  return healthFactor > CLOSE_FACTOR_HF_THRESHOLD - marginWad ? 5_000n : 10_000n;
}

export interface LiquidationInputs {
  /** The user's total debt in the debt asset (variable + stable), in its units. */
  userDebt: bigint;
  healthFactor: bigint;
  /** The user's aToken balance of the collateral asset, in its units. */
  collateralBalance: bigint;
  /** Oracle prices (base currency, e.g. USD with 8 decimals). */
  collateralPrice: bigint;
  debtPrice: bigint;
  collateralDecimals: number;
  debtDecimals: number;
  /** 10_000 + bonus, e.g. 10_500 for 5 %. */
  liquidationBonusBps: bigint;
  /** Share of the bonus the protocol keeps (0 in the drill fixture). */
  protocolFeeBps: bigint;
  /** Stricter 100 % close-factor threshold (see `closeFactorBps`). */
  closeFactorMarginWad?: bigint;
}

export interface LiquidationAmounts {
  /** Debt the pool takes from the liquidator. */
  debt: bigint;
  /** Collateral the liquidator receives (underlying, `receiveAToken = false`). */
  collateral: bigint;
  /** Collateral the treasury receives. */
  protocolFee: bigint;
}

/** The most debt one `liquidationCall` may repay now. */
export function maxLiquidatableDebt(
  i: Pick<LiquidationInputs, 'userDebt' | 'healthFactor' | 'closeFactorMarginWad'>,
) {
  return percentMul(i.userDebt, closeFactorBps(i.healthFactor, i.closeFactorMarginWad ?? 0n));
}

/**
 * What `liquidationCall(collateral, debt, user, debtToCover, false)` repays and pays out, as
 * `_calculateDebt` and `_calculateAvailableCollateralToLiquidate` compute it (same rounding).
 */
export function liquidationAmounts(i: LiquidationInputs, debtToCover: bigint): LiquidationAmounts {
  const maxDebt = maxLiquidatableDebt(i);
  const debt = debtToCover > maxDebt ? maxDebt : debtToCover;
  const collateralUnit = 10n ** BigInt(i.collateralDecimals);
  const debtUnit = 10n ** BigInt(i.debtDecimals);
  const base = (i.debtPrice * debt * collateralUnit) / (i.collateralPrice * debtUnit);
  const maxCollateral = percentMul(base, i.liquidationBonusBps);
  let collateral: bigint;
  let debtNeeded: bigint;
  if (maxCollateral > i.collateralBalance) {
    collateral = i.collateralBalance;
    debtNeeded = percentDiv(
      (i.collateralPrice * collateral * debtUnit) / (i.debtPrice * collateralUnit),
      i.liquidationBonusBps,
    );
  } else {
    collateral = maxCollateral;
    debtNeeded = debt;
  }
  if (i.protocolFeeBps === 0n) return { debt: debtNeeded, collateral, protocolFee: 0n };
  const bonus = collateral - percentDiv(collateral, i.liquidationBonusBps);
  const protocolFee = percentMul(bonus, i.protocolFeeBps);
  return { debt: debtNeeded, collateral: collateral - protocolFee, protocolFee };
}

/** ⌊√n⌋ for a non-negative bigint. */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError(`isqrt of a negative number (${n})`);
  if (n < 2n) return n;
  // Newton's method from a power of two above the root: decreases monotonically to ⌊√n⌋.
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/**
 * The input that maximises `getAmountOut(x, rIn, rOut) − x·num/den` (selling into an x·y=k pool
 * with the 0.3 % fee an asset worth `num/den` of the output token per unit): the input that takes
 * the pool's marginal price, net of the fee, down to `num/den`. 0 when no trade is profitable.
 * `(1000·rIn + 997·x)² = 997·1000·rIn·rOut·den/num`.
 */
export function optimalInput(reserveIn: bigint, reserveOut: bigint, num: bigint, den: bigint): bigint {
  if (reserveIn <= 0n || reserveOut <= 0n || num <= 0n || den <= 0n) return 0n;
  const root = isqrt((997_000n * reserveIn * reserveOut * den) / num);
  const x = (root - 1000n * reserveIn) / 997n;
  return x > 0n ? x : 0n;
}

/** Output of selling `amountIn` into the pool, 0 for no input. */
export const amountOut = (amountIn: bigint, reserveIn: bigint, reserveOut: bigint): bigint =>
  amountIn <= 0n || reserveIn <= 0n || reserveOut <= 0n ? 0n : getAmountOut(amountIn, reserveIn, reserveOut);

/** The terms of a liquidation that do not depend on the position: prices, decimals, bonus. */
export type LiquidationTerms = Pick<
  LiquidationInputs,
  'collateralPrice' | 'debtPrice' | 'collateralDecimals' | 'debtDecimals' | 'liquidationBonusBps'
>;

/** Collateral units seized per debt unit repaid, as the oracle prices them with the bonus (before the protocol fee). */
export function seizedPerDebt(t: LiquidationTerms): Ratio {
  return {
    num: t.debtPrice * 10n ** BigInt(t.collateralDecimals) * t.liquidationBonusBps,
    den: t.collateralPrice * 10n ** BigInt(t.debtDecimals) * 10_000n,
  };
}

/**
 * The collateral input that maximises a sale into the pool over the debt it repaid (each
 * collateral unit valued at the debt it cost, 1/`seizedPerDebt`); 0 when no sale into the pool
 * pays, for any position and size liquidated on these terms: the pool's marginal price, net of
 * the fee, is already at or below the oracle's price net of the bonus. `chooseLiquidation` gives
 * null then, so a liquidator can skip a position on these terms without reading it.
 */
export function bestSaleInput(t: LiquidationTerms, pool: { reserveIn: bigint; reserveOut: bigint }): bigint {
  const k = seizedPerDebt(t);
  return optimalInput(pool.reserveIn, pool.reserveOut, k.den, k.num);
}

export interface LiquidationChoice extends LiquidationAmounts {
  /** The `debtToCover` argument to send. */
  debtToCover: bigint;
  /** Debt asset the sale returns (or, without a sale, the collateral's value in debt-asset units). */
  proceeds: bigint;
  /** `proceeds − debt`, in debt-asset units (may be negative: the caller decides). */
  profit: bigint;
}

/**
 * The liquidation a profit-seeking liquidator makes: the `debtToCover` (at most `maxDebtToCover`,
 * its capital) that maximises what selling the seized collateral into the pool returns over the
 * debt repaid. `pool` holds (collateral in, debt out); without it, the collateral is valued at
 * `collateralValue = {num, den}` debt units per collateral unit and the most it may take is taken.
 * Returns null when nothing can be repaid, or when no sale into the pool can pay.
 */
export function chooseLiquidation(
  i: LiquidationInputs,
  maxDebtToCover: bigint,
  pool: { reserveIn: bigint; reserveOut: bigint } | null,
  collateralValue: { num: bigint; den: bigint },
): LiquidationChoice | null {
  const cap0 = maxLiquidatableDebt(i);
  const cap = maxDebtToCover < cap0 ? maxDebtToCover : cap0;
  if (cap <= 0n) return null;
  const evaluate = (debtToCover: bigint): LiquidationChoice | null => {
    if (debtToCover <= 0n) return null;
    const a = liquidationAmounts(i, debtToCover);
    if (a.debt <= 0n || a.collateral <= 0n) return null;
    const proceeds = pool
      ? amountOut(a.collateral, pool.reserveIn, pool.reserveOut)
      : (a.collateral * collateralValue.num) / collateralValue.den;
    return { ...a, debtToCover, proceeds, profit: proceeds - a.debt };
  };
  if (!pool) return evaluate(cap);
  const bestSale = bestSaleInput(i, pool);
  if (bestSale === 0n) return null; // the pool pays less than the oracle's price net of the bonus
  const { num: kNum, den: kDen } = seizedPerDebt(i);
  const best = (bestSale * kDen) / kNum;
  // biome-ignore lint/complexity/useMathMinMax: bigints (Math.min takes numbers only)
  const candidates = [best < cap ? best : cap, cap];
  let chosen: LiquidationChoice | null = null;
  for (const d of candidates) {
    const c = evaluate(d);
    if (c && (chosen === null || c.profit > chosen.profit)) chosen = c;
  }
  return chosen;
}

/**
 * The arbitrage toward a reference price: which way to trade and how much, so that the pool's
 * marginal price (net of the 0.3 % fee) meets `price1Per0 = num/den` (token1 units per token0
 * unit). Null when the pool is already within `thresholdBps` of it, or no trade pays.
 */
export function arbitrage(
  reserve0: bigint,
  reserve1: bigint,
  num: bigint,
  den: bigint,
  thresholdBps: bigint,
): { zeroForOne: boolean; amountIn: bigint; deviationBps: bigint } | null {
  if (reserve0 <= 0n || reserve1 <= 0n || num <= 0n || den <= 0n) return null;
  // Pool price of token0 in token1 is reserve1/reserve0; deviation = pool/reference − 1.
  const poolScaled = reserve1 * den;
  const refScaled = reserve0 * num;
  const deviationBps = ((poolScaled - refScaled) * 10_000n) / refScaled;
  const abs = deviationBps < 0n ? -deviationBps : deviationBps;
  if (abs <= thresholdBps) return null;
  if (deviationBps > 0n) {
    // token0 is dear in the pool: sell token0 for token1.
    const amountIn = optimalInput(reserve0, reserve1, num, den);
    return amountIn > 0n ? { zeroForOne: true, amountIn, deviationBps } : null;
  }
  const amountIn = optimalInput(reserve1, reserve0, den, num);
  return amountIn > 0n ? { zeroForOne: false, amountIn, deviationBps } : null;
}

/** A Poisson(mean) draw by Knuth's product of uniforms (fine for the small means bots use). */
export function poisson(mean: number, random: () => number): number {
  if (!(mean > 0)) return 0;
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit && k < 1_000) {
    k++;
    p *= random();
  }
  return k;
}

/** A ratio `num / den` of two non-negative bigints (den > 0). */
export interface Ratio {
  num: bigint;
  den: bigint;
}

/**
 * What may have moved since a position's health factor was read, for `mayHaveFallenBelowOne`. Every
 * field is a conservative bound over the whole market, not the position's own assets.
 */
export interface MarketMove {
  /** min over every price a health factor can use (reserve assets, e-mode price sources) of now/then. */
  priceFall: Ratio;
  /** max over the same prices of now/then. */
  priceRise: Ratio;
  /** max over reserves of the variable borrow index (normalised to the block) now/then (≥ 1). */
  debtGrowth: Ratio;
  /** Smallest non-zero liquidation threshold (bps) any collateral may count with (reserves and e-modes). */
  minLiquidationThresholdBps: bigint;
  /** Most base-currency units one wei of any asset is worth (rounded up), at either set of prices. */
  weiValueBase: bigint;
  /** Assets in the market (rounding terms: one per asset on each side). */
  assets: number;
}

/**
 * The ratio `min` (or `max`) over i of `now[i] / then[i]`; null when a price is zero or missing on
 * either side (nothing can then be bounded).
 */
export function priceRatioBounds(
  then: readonly bigint[],
  now: readonly bigint[],
): { fall: Ratio; rise: Ratio } | null {
  if (then.length === 0 || then.length !== now.length) return null;
  let fall: Ratio | undefined;
  let rise: Ratio | undefined;
  for (let i = 0; i < then.length; i++) {
    const r = { num: now[i]!, den: then[i]! };
    if (r.num <= 0n || r.den <= 0n) return null;
    if (!fall || r.num * fall.den < fall.num * r.den) fall = r;
    if (!rise || r.num * rise.den > rise.num * r.den) rise = r;
  }
  return { fall: fall!, rise: rise! };
}

/**
 * Whether a position read at health factor `healthFactor` (wad) with `debtBase` of debt (base
 * currency) may now be below a health factor of 1, when it has not acted since (no supply,
 * withdraw, borrow, repay, transfer, collateral or e-mode switch, liquidation) and the market's
 * liquidation thresholds, e-mode categories, oracle and pool code are the same: only prices and
 * interest moved, by at most `move`. False means it provably cannot be liquidatable now.
 *
 * Why this holds (Aave v3.0 `GenericLogic.calculateUserAccountData`): HF = Σ cᵢ·pᵢ·LTᵢ / Σ dⱼ·pⱼ.
 * Without an action the scaled balances are fixed, so collateral balances never fall (the
 * liquidity index only rises) and each debt grows by its reserve's variable index, at most
 * `debtGrowth` (the market has no stable debt: the caller checks). Each price moved by a factor in
 * [priceFall, priceRise]. So the exact HF is at least HF₀ · priceFall / (priceRise · debtGrowth).
 * The on-chain figures differ from the exact ones by rounding: the average threshold is truncated
 * to a whole bp (relative error < 1/LT), each balance and base-currency value by at most a wei or
 * a base unit (< weiValue per asset and side, relative to the debt, which is at most the
 * collateral when HF ≥ 1), and the wad/ray/percent roundings (below 1e-18 relative at these sizes).
 * The margin μ = 3/LTmin + 16·n·weiValue/debt + 10⁻⁶ covers both reads' errors (together at most
 * 2/LT + 6·n·w/D, the later debt being at least half the earlier in value) and their product;
 * the position is re-read unless HF₀ · priceFall / (priceRise · debtGrowth) ≥ 1 + μ, and always
 * when those terms are not small: a threshold under 1 %, a price more than halved, dust debt.
 *
 * @example
 * // HF 1.2 then, prices 5 % lower since: may be under 1 only if 1.2 × 0.95 < 1 + μ — it is not.
 * mayHaveFallenBelowOne(12n * 10n ** 17n, 10n ** 12n, move) // false
 */
export function mayHaveFallenBelowOne(healthFactor: bigint, debtBase: bigint, move: MarketMove): boolean {
  if (debtBase <= 0n) return false; // no debt: HF is max and only a borrow (an action) changes that
  const lt = move.minLiquidationThresholdBps;
  // Outside these the rounding terms are not small against the margin: read it.
  if (lt < 100n) return true; // a threshold under 1 %
  if (move.priceFall.num * 2n < move.priceFall.den) return true; // a price more than halved
  const w = BigInt(move.assets) * move.weiValueBase;
  if (debtBase < 1_600n * w) return true; // dust: 16·n·w/D above 1 %
  // R = priceFall / (priceRise · debtGrowth) = a / b.
  const a = move.priceFall.num * move.priceRise.den * move.debtGrowth.den;
  const b = move.priceFall.den * move.priceRise.num * move.debtGrowth.num;
  if (a <= 0n || b <= 0n) return true;
  // 1 + μ = (10⁶·LT·D + 3·10⁶·D + 16·10⁶·n·w·LT + LT·D) / (10⁶·LT·D).
  const m = 1_000_000n;
  const d = debtBase;
  const onePlusMuNum = m * lt * d + 3n * m * d + 16n * m * w * lt + lt * d;
  const onePlusMuDen = m * lt * d;
  // Safe (false) iff HF/1e18 · a/b ≥ onePlusMuNum/onePlusMuDen.
  return healthFactor * a * onePlusMuDen < ONE_HF * b * onePlusMuNum;
}
