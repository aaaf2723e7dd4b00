import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getAmountOut } from '../../protocols/uniswap-v2/pool';
import { PERCENTAGE_FACTOR, percentMul, RAY, rayMul, WAD, wadDiv } from '../../risk/aave-math';
import {
  arbitrage,
  bestSaleInput,
  chooseLiquidation,
  closeFactorBps,
  isqrt,
  type LiquidationInputs,
  liquidationAmounts,
  type MarketMove,
  mayHaveFallenBelowOne,
  optimalInput,
  poisson,
  priceRatioBounds,
} from './math';

const E18 = 10n ** 18n;

/** A WETH-collateral / USDC-debt position at the oracle's prices (8 decimals). */
const position = (over: Partial<LiquidationInputs> = {}): LiquidationInputs => ({
  userDebt: 15_000n * 10n ** 6n,
  healthFactor: 96n * 10n ** 16n,
  collateralBalance: 10n * E18,
  collateralPrice: 1_750n * 10n ** 8n,
  debtPrice: 10n ** 8n,
  collateralDecimals: 18,
  debtDecimals: 6,
  liquidationBonusBps: 10_500n,
  protocolFeeBps: 0n,
  ...over,
});

describe('Aave v3.0 liquidation amounts', () => {
  it('uses a 50 % close factor above HF 0.95 and 100 % at or below it', () => {
    expect(closeFactorBps(95n * 10n ** 16n + 1n)).toBe(5_000n);
    expect(closeFactorBps(95n * 10n ** 16n)).toBe(10_000n);
    expect(closeFactorBps(95n * 10n ** 16n, 10n ** 14n)).toBe(5_000n);
    const half = liquidationAmounts(position(), 10n ** 30n);
    expect(half.debt).toBe(7_500n * 10n ** 6n);
    const all = liquidationAmounts(position({ healthFactor: 9n * 10n ** 17n }), 10n ** 30n);
    expect(all.debt).toBe(15_000n * 10n ** 6n);
  });

  it('seizes debt × price ratio × bonus, capped by the collateral balance (debt scaled back)', () => {
    const a = liquidationAmounts(position(), 7_000n * 10n ** 6n);
    // 7,000 USDC at $1 → 4 WETH at $1,750, plus 5 %.
    expect(a.collateral).toBe(42n * 10n ** 17n);
    expect(a.debt).toBe(7_000n * 10n ** 6n);
    const capped = liquidationAmounts(
      position({ collateralBalance: 2n * E18, healthFactor: 5n * 10n ** 17n }),
      10n ** 30n,
    );
    expect(capped.collateral).toBe(2n * E18);
    // 2 WETH × $1,750 / 1.05 = 3,333.33… USDC
    expect(capped.debt).toBe(3_333_333_333n);
  });

  it('never pays out more collateral than the user holds, and takes the protocol fee out of the bonus only', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.bigInt({ min: 1n, max: 10n ** 24n }),
        fc.bigInt({ min: 10n ** 5n, max: 10n ** 12n }),
        fc.integer({ min: 10_001, max: 12_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        (debt, balance, price, bonus, fee) => {
          const i = position({
            userDebt: debt,
            collateralBalance: balance,
            collateralPrice: price,
            liquidationBonusBps: BigInt(bonus),
            protocolFeeBps: BigInt(fee),
          });
          const a = liquidationAmounts(i, debt);
          expect(a.collateral + a.protocolFee).toBeLessThanOrEqual(balance);
          expect(a.debt).toBeLessThanOrEqual(debt);
          expect(a.protocolFee).toBeGreaterThanOrEqual(0n);
        },
      ),
    );
  });
});

describe('the liquidator’s size', () => {
  const deep = { reserveIn: 1_000n * E18, reserveOut: 1_750_000n * 10n ** 6n };
  const value = { num: 1_750n * 10n ** 6n, den: E18 };

  it('takes the whole close factor from a deep pool at the oracle price', () => {
    const c = chooseLiquidation(position(), 10n ** 30n, deep, value)!;
    expect(c.debt).toBe(7_500n * 10n ** 6n);
    expect(c.proceeds).toBe(getAmountOut(c.collateral, deep.reserveIn, deep.reserveOut));
    expect(c.profit).toBe(c.proceeds - c.debt);
    expect(c.profit).toBeGreaterThan(0n);
  });

  it('shrinks to what a thin pool absorbs, and to its capital', () => {
    const thin = { reserveIn: 5n * E18, reserveOut: 8_750n * 10n ** 6n };
    const c = chooseLiquidation(position(), 10n ** 30n, thin, value)!;
    expect(c.debt).toBeLessThan(7_500n * 10n ** 6n);
    expect(c.profit).toBeGreaterThan(0n);
    const poor = chooseLiquidation(position(), 1_000n * 10n ** 6n, deep, value)!;
    expect(poor.debt).toBe(1_000n * 10n ** 6n);
  });

  it('finds nothing profitable when the pool pays less than the oracle price net of the bonus', () => {
    // Pool at $1,600 < $1,750 / 1.05 = $1,666.67 (and the 0.3 % fee): every sale loses.
    const low = { reserveIn: 1_000n * E18, reserveOut: 1_600_000n * 10n ** 6n };
    const c = chooseLiquidation(position(), 10n ** 30n, low, value);
    expect(c === null || c.profit <= 0n).toBe(true);
  });

  it('is the most profitable size: no other debt amount beats it (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 10n ** 15n, max: 10n ** 22n }),
        fc.bigInt({ min: 10n ** 8n, max: 10n ** 13n }),
        fc.bigInt({ min: 1n, max: 10n ** 6n }),
        (reserveIn, reserveOut, fraction) => {
          const pool = { reserveIn, reserveOut };
          const i = position();
          const c = chooseLiquidation(i, 10n ** 30n, pool, value);
          const other = (7_500n * 10n ** 6n * fraction) / 10n ** 6n;
          if (other === 0n) return;
          const a = liquidationAmounts(i, other);
          if (a.collateral === 0n) return;
          const profit = getAmountOut(a.collateral, reserveIn, reserveOut) - a.debt;
          const best = c && c.profit > 0n ? c.profit : 0n;
          // Integer rounding of the closed form may leave a few units on the table.
          expect(profit).toBeLessThanOrEqual(best + 1_000n);
        },
      ),
    );
  });
});

describe('skipping a position without reading it (bestSaleInput)', () => {
  it('is 0 only when chooseLiquidation finds nothing, whatever the position (property)', () => {
    const value = { num: 1_750n * 10n ** 6n, den: E18 };
    const seen = { zero: 0, positive: 0 };
    fc.assert(
      fc.property(
        fc.bigInt({ min: 10n ** 15n, max: 10n ** 22n }),
        fc.bigInt({ min: 10n ** 8n, max: 10n ** 13n }),
        fc.bigInt({ min: 10n ** 6n, max: 10n ** 12n }),
        fc.bigInt({ min: 10n ** 15n, max: 10n ** 21n }),
        fc.bigInt({ min: 5n * 10n ** 17n, max: 10n ** 18n - 1n }),
        (reserveIn, reserveOut, userDebt, collateralBalance, healthFactor) => {
          const pool = { reserveIn, reserveOut };
          const i = position({ userDebt, collateralBalance, healthFactor });
          const c = chooseLiquidation(i, 10n ** 30n, pool, value);
          // The terms alone (prices, decimals, bonus) decide: 0 means chooseLiquidation gives null.
          if (bestSaleInput(i, pool) === 0n) {
            seen.zero++;
            expect(c).toBeNull();
          } else seen.positive++;
        },
      ),
      { numRuns: 500 },
    );
    expect(seen.zero).toBeGreaterThan(0);
    expect(seen.positive).toBeGreaterThan(0);
  });
});

describe('arbitrage toward the reference', () => {
  it('leaves a pool alone within the threshold', () => {
    expect(arbitrage(1_000n, 2_000n, 2n, 1n, 100n)).toBeNull();
    expect(arbitrage(1_000n, 2_015n, 2n, 1n, 100n)).toBeNull();
  });

  it('brings the pool to within the fee of the reference, and the trade pays (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 10n ** 18n, max: 10n ** 24n }),
        fc.bigInt({ min: 10n ** 9n, max: 10n ** 13n }),
        fc.integer({ min: 100, max: 100_000 }),
        (r0, r1, priceCents) => {
          // Reference: token0 (18 dec) worth priceCents/100 of token1 (6 dec).
          const num = BigInt(priceCents) * 10n ** 6n;
          const den = 100n * 10n ** 18n;
          const t = arbitrage(r0, r1, num, den, 100n);
          if (!t) return;
          const [rin, rout] = t.zeroForOne ? [r0, r1] : [r1, r0];
          const out = getAmountOut(t.amountIn, rin, rout);
          const [a0, a1] = t.zeroForOne ? [r0 + t.amountIn, r1 - out] : [r0 - out, r1 + t.amountIn];
          const dev = Number(((a1 * den - a0 * num) * 1_000_000n) / (a0 * num)) / 100;
          expect(Math.abs(dev)).toBeLessThan(31);
          // Profit at the reference price, in token1 units.
          const profit = t.zeroForOne ? out - (t.amountIn * num) / den : (out * num) / den - t.amountIn;
          expect(profit).toBeGreaterThanOrEqual(-1n);
        },
      ),
    );
  });
});

describe('helpers', () => {
  it('isqrt is the floor square root (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1n << 200n }), (n) => {
        const r = isqrt(n);
        expect(r * r <= n && (r + 1n) * (r + 1n) > n).toBe(true);
      }),
    );
  });

  it('optimalInput is 0 when selling into the pool cannot beat the value', () => {
    expect(optimalInput(1_000n, 1_000n, 1n, 1n)).toBe(0n);
    expect(optimalInput(1_000_000n, 2_000_000n, 1n, 1n)).toBeGreaterThan(0n);
  });

  it('poisson draws average their mean', () => {
    let s = 1;
    const random = () => {
      s = (s * 16_807) % 2_147_483_647;
      return s / 2_147_483_647;
    };
    const n = 20_000;
    let total = 0;
    for (let i = 0; i < n; i++) total += poisson(3, random);
    expect(total / n).toBeGreaterThan(2.9);
    expect(total / n).toBeLessThan(3.1);
    expect(poisson(0, random)).toBe(0);
  });
});

/** One asset of a position in the reference health factor below. */
interface Leg {
  decimals: number;
  price: bigint;
  ltBps: bigint;
  scaledCollateral: bigint;
  scaledDebt: bigint;
  liquidityIndex: bigint;
  debtIndex: bigint;
}

/** Aave v3.0 `GenericLogic.calculateUserAccountData`'s health factor, with its roundings (the test's reference). */
function referenceHealthFactor(legs: readonly Leg[]): { healthFactor: bigint; debtBase: bigint } {
  let collateral = 0n;
  let weighted = 0n;
  let debt = 0n;
  for (const l of legs) {
    const unit = 10n ** BigInt(l.decimals);
    if (l.ltBps > 0n && l.scaledCollateral > 0n) {
      const value = (rayMul(l.scaledCollateral, l.liquidityIndex) * l.price) / unit;
      collateral += value;
      weighted += value * l.ltBps;
    }
    if (l.scaledDebt > 0n) debt += (l.price * rayMul(l.scaledDebt, l.debtIndex)) / unit;
  }
  const avgLt = collateral === 0n ? 0n : weighted / collateral;
  const healthFactor = debt === 0n ? (1n << 256n) - 1n : wadDiv(percentMul(collateral, avgLt), debt);
  return { healthFactor, debtBase: debt };
}

describe('the incremental scan bound (mayHaveFallenBelowOne)', () => {
  const leg = fc.record({
    decimals: fc.constantFrom(6, 8, 18),
    price: fc.bigInt({ min: 10n ** 6n, max: 10n ** 13n }), // $0.01 … $100,000
    ltBps: fc.bigInt({ min: 100n, max: 9_700n }),
    collateralTokens: fc.bigInt({ min: 0n, max: 10n ** 7n }),
    liquidityIndex: fc.bigInt({ min: RAY, max: 2n * RAY }),
    debtIndex: fc.bigInt({ min: RAY, max: 2n * RAY }),
    priceMoveBps: fc.integer({ min: 5_000, max: 15_000 }),
    incomeGrowthPpm: fc.integer({ min: 0, max: 1_000 }),
    debtGrowthPpm: fc.integer({ min: 0, max: 50_000 }),
  });
  const state = fc.record({
    legs: fc.array(leg, { minLength: 1, maxLength: 4 }),
    debtLeg: fc.nat(),
    /** Health factor aimed at when the position was read, in thousandths. */
    targetHfMilli: fc.integer({ min: 900, max: 1_600 }),
  });

  /** Builds then/now legs, the read, the move, and the health factor now. */
  function scenarioOf(input: {
    legs: {
      decimals: number;
      price: bigint;
      ltBps: bigint;
      collateralTokens: bigint;
      liquidityIndex: bigint;
      debtIndex: bigint;
      priceMoveBps: number;
      incomeGrowthPpm: number;
      debtGrowthPpm: number;
    }[];
    debtLeg: number;
    targetHfMilli: number;
  }) {
    const then: Leg[] = input.legs.map((l) => ({
      decimals: l.decimals,
      price: l.price,
      ltBps: l.ltBps,
      scaledCollateral: rayDivDown(l.collateralTokens * 10n ** BigInt(l.decimals), l.liquidityIndex),
      scaledDebt: 0n,
      liquidityIndex: l.liquidityIndex,
      debtIndex: l.debtIndex,
    }));
    // Debt in one asset, sized to the target health factor at the prices then.
    const j = input.debtLeg % then.length;
    const dl = then[j]!;
    let lt = 0n;
    for (const l of then)
      lt += ((rayMul(l.scaledCollateral, l.liquidityIndex) * l.price) / 10n ** BigInt(l.decimals)) * l.ltBps;
    const debtBaseAimed = (lt * 1_000n) / (PERCENTAGE_FACTOR * BigInt(input.targetHfMilli));
    dl.scaledDebt = rayDivDown((debtBaseAimed * 10n ** BigInt(dl.decimals)) / dl.price, dl.debtIndex);
    const now: Leg[] = then.map((l, i) => {
      const m = input.legs[i]!;
      return {
        ...l,
        price: (l.price * BigInt(m.priceMoveBps)) / 10_000n,
        liquidityIndex: l.liquidityIndex + (l.liquidityIndex * BigInt(m.incomeGrowthPpm)) / 1_000_000n,
        debtIndex: l.debtIndex + (l.debtIndex * BigInt(m.debtGrowthPpm)) / 1_000_000n,
      };
    });
    const read = referenceHealthFactor(then);
    const bounds = priceRatioBounds(
      then.map((l) => l.price),
      now.map((l) => l.price),
    )!;
    let debtGrowth = { num: 1n, den: 1n };
    for (let i = 0; i < then.length; i++) {
      const r = { num: now[i]!.debtIndex, den: then[i]!.debtIndex };
      if (r.num * debtGrowth.den > debtGrowth.num * r.den) debtGrowth = r;
    }
    let minLt = 10_000n;
    for (const l of then) if (l.ltBps < minLt) minLt = l.ltBps;
    let maxPrice = 0n;
    for (const l of [...then, ...now]) if (l.price > maxPrice) maxPrice = l.price;
    const minDecimals = Math.min(...then.map((l) => l.decimals));
    const move: MarketMove = {
      priceFall: bounds.fall,
      priceRise: bounds.rise,
      debtGrowth,
      minLiquidationThresholdBps: minLt,
      weiValueBase: (maxPrice + 10n ** BigInt(minDecimals) - 1n) / 10n ** BigInt(minDecimals) + 1n,
      assets: then.length,
    };
    return { read, move, nowHf: referenceHealthFactor(now).healthFactor };
  }

  it('never clears a position that is below 1 now (prices, interest and roundings as Aave computes them)', () => {
    let cleared = 0;
    fc.assert(
      fc.property(state, (input) => {
        const { read, move, nowHf } = scenarioOf(input);
        if (!mayHaveFallenBelowOne(read.healthFactor, read.debtBase, move)) {
          cleared++;
          expect(nowHf).toBeGreaterThanOrEqual(WAD);
        }
      }),
      { numRuns: 3_000 },
    );
    // Not vacuous: most of these positions were cleared.
    expect(cleared).toBeGreaterThan(300);
  });

  it('holds in near-still markets around a health factor of 1 (rounding and a little interest)', () => {
    const near = fc.record({
      legs: fc.array(
        leg.map((l) => ({
          ...l,
          priceMoveBps: 10_000 + (l.priceMoveBps % 7) - 3,
          debtGrowthPpm: l.debtGrowthPpm % 300,
        })),
        { minLength: 2, maxLength: 4 },
      ),
      debtLeg: fc.nat(),
      targetHfMilli: fc.integer({ min: 999, max: 1_003 }),
    });
    fc.assert(
      fc.property(near, (input) => {
        const { read, move, nowHf } = scenarioOf(input);
        if (!mayHaveFallenBelowOne(read.healthFactor, read.debtBase, move))
          expect(nowHf).toBeGreaterThanOrEqual(WAD);
      }),
      { numRuns: 3_000 },
    );
  });

  it('re-reads every position last seen below 1, and clears a sound one when nothing moved', () => {
    const still: MarketMove = {
      priceFall: { num: 1n, den: 1n },
      priceRise: { num: 1n, den: 1n },
      debtGrowth: { num: 1n, den: 1n },
      minLiquidationThresholdBps: 8_000n,
      weiValueBase: 2n,
      assets: 2,
    };
    const debt = 10n ** 12n; // $10,000 at 8 decimals
    expect(mayHaveFallenBelowOne(WAD - 1n, debt, still)).toBe(true);
    expect(mayHaveFallenBelowOne(WAD, debt, still)).toBe(true); // within the rounding margin
    expect(mayHaveFallenBelowOne((WAD * 1_001n) / 1_000n, debt, still)).toBe(false);
    expect(mayHaveFallenBelowOne(WAD - 1n, 0n, still)).toBe(false); // no debt, nothing to liquidate
    // 5 % lower prices: HF 1.05 may be under 1, HF 1.06 may not.
    const drop = { ...still, priceFall: { num: 95n, den: 100n } };
    expect(mayHaveFallenBelowOne((WAD * 105n) / 100n, debt, drop)).toBe(true);
    expect(mayHaveFallenBelowOne((WAD * 106n) / 100n, debt, drop)).toBe(false);
    // Dust debt, a price more than halved, a threshold under 1 %: always re-read.
    expect(mayHaveFallenBelowOne(10n * WAD, 100n, still)).toBe(true);
    expect(mayHaveFallenBelowOne(10n * WAD, debt, { ...still, priceFall: { num: 49n, den: 100n } })).toBe(
      true,
    );
    expect(mayHaveFallenBelowOne(10n * WAD, debt, { ...still, minLiquidationThresholdBps: 99n })).toBe(true);
  });

  it('priceRatioBounds gives the smallest and largest now/then, and nothing when a price is zero', () => {
    const b = priceRatioBounds([100n, 200n, 50n], [90n, 220n, 50n])!;
    expect(b.fall).toEqual({ num: 90n, den: 100n });
    expect(b.rise).toEqual({ num: 220n, den: 200n });
    expect(priceRatioBounds([100n, 0n], [100n, 5n])).toBeNull();
    expect(priceRatioBounds([100n], [0n])).toBeNull();
    expect(priceRatioBounds([], [])).toBeNull();
  });
});

/** ⌊a / b⌋ in ray (scaled balances from amounts; the direction does not matter to the property). */
const rayDivDown = (a: bigint, b: bigint) => (a * RAY) / b;
