import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { amountIn, amountOut, type CascadeResult, requiredPoolDepth, runCascade } from './cascade';
import { snapshotFrom, syntheticSnapshot } from './synthetic';
import type { RiskAsset } from './types';

const asset = (symbol: string, priceUsd: number, lt: number, bonus: number, fee: number): RiskAsset => ({
  symbol,
  address: `0x${'0'.repeat(39)}${symbol.length}`,
  decimals: 18,
  priceUsd,
  ltv: lt - 0.05,
  liquidationThreshold: lt,
  liquidationBonus: bonus,
  liquidationProtocolFee: fee,
  eModeCategory: 0,
});

const WETH = asset('WETH', 1000, 0.8, 1.05, 0.1);
const USDC = asset('USDC', 1, 0.85, 1.04, 0.1);
const CRV = asset('CRV', 0.5, 0.4, 1.08, 0.1);

describe('Uniswap v2 arithmetic (floats)', () => {
  it('charges the 0.3 % fee both ways', () => {
    // 1 in against 1000/1000: 997 / 1000.997 · 1000 / 1000 ... = 0.996006
    expect(amountOut(1, 1000, 1000)).toBeCloseTo((997 * 1000) / (1000 * 1000 + 997), 12);
    expect(amountIn(amountOut(5, 1000, 2000), 1000, 2000)).toBeCloseTo(5, 9);
    expect(amountIn(2000, 1000, 2000)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('cascade', () => {
  it('liquidates half a position at HF 0.97 with Aave v3 arithmetic, by hand', () => {
    // 10 WETH against 7,000 USDC; WETH −15 % → $850: HF = 10 · 850 · 0.8 / 7000 = 0.9714.
    const snapshot = snapshotFrom([WETH, USDC], [{ collateral: [10], debt: [0, 7000] }]);
    const pool = { asset: 0, reserveAsset: 1000, reserveQuote: 850_000 }; // already at $850
    const r = runCascade(snapshot, { shock: [0.85, 1], pools: [pool], oracleWeight: 0 });
    expect(r.converged).toBe(true);
    const first = r.rounds[0]!;
    expect(first.liquidations).toBe(1);
    // Close factor 50 %: 3,500 USDC repaid; 3500 · 1.05 / 850 = 4.323529 WETH seized, of which the
    // protocol keeps 10 % of the bonus part: (4.323529 − 4.323529 / 1.05) · 0.1 = 0.0205882.
    expect(first.flows.debtRepaid[1]).toBeCloseTo(3500, 9);
    expect(first.flows.collateralSeized[0]).toBeCloseTo(4.323529411764706, 12);
    expect(first.flows.collateralToProtocol[0]).toBeCloseTo(0.02058823529411784, 12);
    expect(first.flows.poolAssetIn[0]).toBeCloseTo(4.302941176470588, 12);
    expect(first.flows.poolQuoteOut[0]).toBeCloseTo(amountOut(4.302941176470588, 1000, 850_000), 9);
    // After: (10 − 4.3235) · 850 · 0.8 / 3500 = 1.1029 — healthy, the cascade stops.
    expect(r.rounds.length).toBe(2);
    expect(r.liquidatedDebtUsd).toBeCloseTo(3500, 9);
    expect(r.badDebtUsd).toBe(0);
    expect(r.stuckAccounts).toBe(0);
  });

  it('lets the oracle follow a thin pool into a second wave', () => {
    const positions = [
      { collateral: [10], debt: [0, 7000] }, // HF 0.97 after the shock
      { collateral: [10], debt: [0, 6500] }, // HF 1.046: safe unless WETH keeps falling
    ];
    const snapshot = snapshotFrom([WETH, USDC], positions);
    const thin = { asset: 0, reserveAsset: 40, reserveQuote: 34_000 };
    const r = runCascade(snapshot, { shock: [0.85, 1], pools: [thin], oracleWeight: 1 });
    const first = r.rounds[0]!;
    // Selling all 4.3 WETH into a 40-WETH pool would fetch ~$3,291 for $3,500 of USDC: a loss, so the
    // liquidator halves the size until the 5 % bonus covers the impact (here a quarter: $875).
    expect(first.liquidations).toBe(1);
    expect(first.flows.debtRepaid[1]).toBeCloseTo(875, 6);
    const spot = first.poolPrices[0]!;
    expect(spot).toBeLessThan(850);
    // The oracle follows the pool; account 2 (HF 10 · spot · 0.8 / 6500 < 1) becomes liquidatable
    // and is liquidated in a later round.
    expect(r.rounds[1]!.oraclePrices[0]).toBeCloseTo(spot, 9);
    expect((10 * spot * 0.8) / 6500).toBeLessThan(1);
    const second = r.accounts.index.indexOf(1);
    expect(r.accounts.debtUsd[second]).toBeLessThan(6500);
    expect(r.finalPrices[0]).toBeLessThan(spot);
  });

  it('sizes the CRV case: the pool depth that clears a short squeeze without bad debt', () => {
    // $1.2M of USDC against 1.42M CRV; CRV +50 % ($0.75): HF = 1.2M · 0.85 / 1.065M = 0.958, and
    // the collateral covers the debt plus the 8 % bonus (1.2M > 1.065M · 1.08): a deep enough market
    // clears it without loss.
    const snapshot = snapshotFrom([USDC, CRV], [{ collateral: [1_200_000], debt: [0, 1_420_000] }]);
    const pool = { asset: 1, reserveAsset: 400_000, reserveQuote: 300_000 }; // thin: $300k a side at $0.75
    const params = { shock: [1, 1.5], pools: [pool], oracleWeight: 1 };
    const thin = runCascade(snapshot, params);
    expect(thin.badDebtUsd + thin.stuckAccounts).toBeGreaterThan(0);
    const answer = requiredPoolDepth(snapshot, params, { account: 0 });
    expect(answer).not.toBeNull();
    const m = answer!.multiplier;
    expect(m).toBeGreaterThan(1);
    expect(answer!.badDebtUsd).toBeLessThanOrEqual(1e-6);
    const scaled = (k: number) => [{ asset: 1, reserveAsset: 400_000 * k, reserveQuote: 300_000 * k }];
    const atDepth = runCascade(snapshot, { ...params, pools: scaled(m) });
    expect(atDepth.badDebtUsd).toBeLessThanOrEqual(1e-6);
    expect(atDepth.stuckAccounts).toBe(0);
    const shallower = runCascade(snapshot, { ...params, pools: scaled(m * 0.9) });
    expect(shallower.badDebtUsd > 1e-6 || shallower.stuckAccounts > 0).toBe(true);
  });

  it('returns null when no depth clears a position the shock made insolvent', () => {
    const snapshot = snapshotFrom([USDC, CRV], [{ collateral: [1000], debt: [0, 1000] }]);
    const params = { shock: [1, 4], pools: [{ asset: 1, reserveAsset: 1e6, reserveQuote: 5e5 }] };
    expect(requiredPoolDepth(snapshot, params, { account: 0, maxMultiplier: 1e3 })).toBeNull();
  });

  it('rejects bad parameters', () => {
    const snapshot = snapshotFrom([WETH, USDC], [{ collateral: [1], debt: [0, 100] }]);
    expect(() => runCascade(snapshot, { shock: [1], pools: [] })).toThrow(/one per asset/);
    expect(() => runCascade(snapshot, { shock: [1, 1], pools: [], oracleWeight: 2 })).toThrow(/oracleWeight/);
    expect(() =>
      runCascade(snapshot, { shock: [1, 1], pools: [{ asset: 3, reserveAsset: 1, reserveQuote: 1 }] }),
    ).toThrow(/asset 3/);
    expect(() => runCascade(snapshot, { shock: [1, 1], pools: [], accounts: [0, 0] })).toThrow(/twice/);
  });
});

const near = (a: number, b: number, scale: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, scale);

/** Checks what a cascade conserves, round by round; returns nothing, throws on a breach. */
function checkConservation(r: CascadeResult, initialDebt: Float64Array): void {
  const repaid = new Float64Array(initialDebt.length);
  for (const round of r.rounds) {
    const f = round.flows;
    for (let j = 0; j < initialDebt.length; j++) {
      const scale = f.debtBefore[j]! + f.collateralBefore[j]! + f.reserveAssetBefore[j]!;
      // Debt: what was owed = what was repaid + what is still owed.
      expect(near(f.debtBefore[j]!, f.debtRepaid[j]! + f.debtAfter[j]!, scale)).toBe(true);
      // Collateral: what was posted = seized (to liquidators + to the protocol) + what is left.
      expect(
        near(f.collateralSeized[j]!, f.collateralToLiquidators[j]! + f.collateralToProtocol[j]!, scale),
      ).toBe(true);
      expect(near(f.collateralBefore[j]!, f.collateralSeized[j]! + f.collateralAfter[j]!, scale)).toBe(true);
      // Pools: reserves move by exactly what liquidators (and arbitrageurs) put in and took out.
      expect(
        near(
          f.reserveAssetAfter[j]! - f.reserveAssetBefore[j]!,
          f.poolAssetIn[j]! - f.poolAssetOut[j]! + f.arbitrageAsset[j]!,
          scale,
        ),
      ).toBe(true);
      const qScale = f.reserveQuoteBefore[j]! + 1;
      expect(
        near(
          f.reserveQuoteAfter[j]! - f.reserveQuoteBefore[j]!,
          f.poolQuoteIn[j]! - f.poolQuoteOut[j]! + f.arbitrageQuote[j]!,
          qScale,
        ),
      ).toBe(true);
      // Liquidators sell no more than they received, and buy exactly what they repay.
      expect(f.poolAssetIn[j]!).toBeLessThanOrEqual(f.collateralToLiquidators[j]! * (1 + 1e-12));
      if (f.reserveAssetBefore[j]! > 0) expect(near(f.poolAssetOut[j]!, f.debtRepaid[j]!, scale)).toBe(true);
      repaid[j]! += f.debtRepaid[j]!;
    }
    // Value at the round's oracle prices: seized collateral ≥ repaid debt (the bonus is ≥ 1).
    expect(round.collateralSeizedUsd).toBeGreaterThanOrEqual(round.debtRepaidUsd * (1 - 1e-12));
  }
  for (let j = 0; j < initialDebt.length; j++)
    expect(repaid[j]!).toBeLessThanOrEqual(initialDebt[j]! * (1 + 1e-12) + 1e-9);
}

describe('cascade properties', () => {
  it('never liquidates more debt than exists, and conserves debt, collateral and pool reserves per round', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 5, max: 400 }),
        fc.array(fc.double({ min: 0.3, max: 1.3, noNaN: true }), { minLength: 6, maxLength: 6 }),
        fc.double({ min: 1e4, max: 1e8, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 2 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (seed, n, shock, depthUsd, weight, lag, arbitrage) => {
          const snapshot = syntheticSnapshot(n, seed);
          const pools = [0, 1, 2, 5].map((j) => ({
            asset: j,
            reserveAsset: depthUsd / snapshot.assets[j]!.priceUsd,
            reserveQuote: depthUsd,
          }));
          const initialDebt = new Float64Array(6);
          for (let i = 0; i < n; i++)
            for (let j = 0; j < 6; j++) initialDebt[j]! += snapshot.debt[i * 6 + j]!;
          const r = runCascade(snapshot, {
            shock,
            pools,
            oracleWeight: weight,
            oracleLagRounds: lag,
            arbitrage,
            maxRounds: 30,
          });
          checkConservation(r, initialDebt);
        },
      ),
      { numRuns: 60 },
    );
  });
});
