import { describe, expect, it } from 'vitest';
import { governanceDelaySensitivity, oracleSensitivity, thresholdSensitivity } from './sensitivity';
import { snapshotFrom, syntheticAssets, syntheticEModes, syntheticSnapshot } from './synthetic';

const assets = syntheticAssets();
// 1 WETH ($3000, LT 82.5 %, bonus 5 %) against 2,000 USDC: HF 1.2375.
const one = snapshotFrom(assets, [{ collateral: [1], debt: [0, 0, 0, 2000] }]);
const hoursTo = (factor: number, rate: number) => Math.log(factor) / Math.log(1 - rate);
const decline = { assets: [0], ratePerHour: 0.01, horizonHours: 100, resolution: 10_001 }; // 0.01 h steps

describe('sensitivity table', () => {
  it('(a) a higher liquidation threshold brings insolvency sooner, when borrowers borrow up to it', () => {
    const rows = thresholdSensitivity(one, { asset: 0, thresholds: [0.7, 0.825, 0.9], decline });
    // Debt scales with the threshold (same HF): 2000 · LT / 0.825; uncovered when 3000 · f < debt.
    rows.forEach((row) => {
      const debt = (2000 * row.liquidationThreshold) / 0.825;
      expect(row.hoursToFirstBadDebt!).toBeCloseTo(hoursTo(debt / 3000, 0.01), 1);
      // Liquidatable when 3000 · f · LT < debt, i.e. f < 2000 / 2475 whatever the threshold.
      expect(row.hoursToFirstLiquidation!).toBeCloseTo(hoursTo(2000 / 2475, 0.01), 1);
    });
    expect(rows[0]!.hoursToFirstBadDebt!).toBeGreaterThan(rows[1]!.hoursToFirstBadDebt!);
    expect(rows[1]!.hoursToFirstBadDebt!).toBeGreaterThan(rows[2]!.hoursToFirstBadDebt!);
    // Without re-levering, only the liquidation time moves.
    const fixed = thresholdSensitivity(one, { asset: 0, thresholds: [0.7, 0.9], decline, relever: false });
    expect(fixed[0]!.hoursToFirstBadDebt).toBeCloseTo(fixed[1]!.hoursToFirstBadDebt!, 6);
    expect(fixed[0]!.hoursToFirstLiquidation!).toBeCloseTo(hoursTo(2000 / 2100, 0.01), 1);
  });

  it('(b) governance delay: loss accrued while waiting, and what a malicious change could take', () => {
    const rows = governanceDelaySensitivity(one, {
      delaysHours: [12, 50],
      decline: { assets: [0], ratePerHour: 0.01 },
      responseHours: 24,
    });
    // After 50 h WETH is 3000 · 0.99^50 = $1814.9: $185.1 of the $2000 debt uncovered.
    expect(rows[1]!.stressLossUsd).toBeCloseTo(2000 - 3000 * 0.99 ** 50, 6);
    expect(rows[1]!.vetoable).toBe(true);
    expect(rows[1]!.maliciousLossUsd).toBe(0);
    // 12 h is shorter than the 24 h response: the 1 WETH supplied can be borrowed out ($3000), and
    // forcing every threshold to 0 takes the 5 % bonus on $2000 of debt ($100).
    expect(rows[0]!.stressLossUsd).toBe(0);
    expect(rows[0]!.vetoable).toBe(false);
    expect(rows[0]!.maliciousLossUsd).toBeCloseTo(3100, 9);
  });

  it('(c) oracle lag: the price error, and the bad debt of positions that gap through a thin buffer', () => {
    // E-mode: 1 wstETH ($3500) against 1.1 WETH; wstETH falls 1 %/h. HF 1 at 3300 / (3500 · 0.95);
    // insolvent at 3300 / 3500: a 5 % buffer between the two.
    const emode = snapshotFrom(assets, [{ collateral: [0, 1], debt: [1.1], eMode: 1 }], syntheticEModes());
    const rows = oracleSensitivity(emode, {
      configs: [
        { heartbeatHours: 24, deviation: 0.005 },
        { heartbeatHours: 24, deviation: 0.1 },
        { heartbeatHours: 3, deviation: 0.1 },
      ],
      decline: { assets: [1], ratePerHour: 0.01 },
    });
    expect(rows[0]!.maxPriceError).toBeCloseTo(0.005, 9);
    expect(rows[0]!.badDebtFromLagUsd).toBe(0);
    // A 10 % deviation threshold: the market is 10 % under the reported price when it finally
    // updates: 3300 − 3500 · (3300 / 3325) · 0.9 = 3300 · (1 − 0.9 / 0.95) uncovered.
    expect(rows[1]!.maxPriceError).toBeCloseTo(0.1, 9);
    expect(rows[1]!.badDebtFromLagUsd).toBeCloseTo(3300 * (1 - 0.9 / 0.95), 6);
    // A 3 h heartbeat caps the lag: 1 − 0.99³ ≈ 2.97 % < 5 % buffer: no bad debt.
    expect(rows[2]!.lagHours).toBe(3);
    expect(rows[2]!.badDebtFromLagUsd).toBe(0);
  });

  it('runs on a whole market and rejects a bad decline', () => {
    const market = syntheticSnapshot(3000, 4);
    const rows = thresholdSensitivity(market, {
      asset: 0,
      thresholds: [0.75, 0.85],
      decline: { assets: [0, 1], ratePerHour: 0.02, horizonHours: 48 },
    });
    expect(rows[0]!.badDebtAtHorizonUsd).toBeLessThanOrEqual(rows[1]!.badDebtAtHorizonUsd);
    expect(() =>
      oracleSensitivity(market, { configs: [], decline: { assets: [0], ratePerHour: 2 } }),
    ).toThrow(/ratePerHour/);
  });
});
