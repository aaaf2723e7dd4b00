import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileHealthBook, stressGrid } from './health';
import { factorGrid, liquidationsAtRisk } from './lar';
import { snapshotFrom, syntheticAssets, syntheticEModes, syntheticSnapshot } from './synthetic';

// Prefix sums over a whole market carry rounding of order 1e-16 × the market's size (here ~$1e8):
// compare to a micro-dollar, or 1e-9 relative.
const close = (a: number, b: number) =>
  Math.abs(a - b) <= Math.max(1e-6, 1e-9 * Math.max(Math.abs(a), Math.abs(b)));

describe('liquidations-at-risk curves', () => {
  it('finds the price at which a position becomes liquidatable, by hand', () => {
    // 1 WETH ($3000, LT 82.5 %) against 1,980 USDC: liquidatable below 1980 / (3000 · 0.825) = 0.8.
    const snapshot = snapshotFrom(syntheticAssets(), [{ collateral: [1], debt: [0, 0, 0, 1980] }]);
    const [weth] = liquidationsAtRisk(snapshot, { factors: [1, 0.81, 0.8, 0.79, 0.5], moves: [[0]] });
    expect(Array.from(weth!.liquidatableAccounts)).toEqual([0, 0, 0, 1, 1]);
    expect(weth!.liquidatableDebtUsd[3]).toBeCloseTo(1980, 9);
    expect(weth!.liquidatableCollateralUsd[3]).toBeCloseTo(0.79 * 3000, 9);
    // Uncovered once WETH is below $1980 (factor 0.66): at 0.5, 1980 − 1500.
    expect(weth!.badDebtUsd[3]).toBe(0);
    expect(weth!.badDebtUsd[4]).toBeCloseTo(480, 9);
    expect(weth!.label).toBe('WETH');
  });

  it('matches the stress grid at every point, for single assets and assets moving together', () => {
    const snapshot = syntheticSnapshot(8000, 9);
    const book = compileHealthBook(snapshot);
    const factors = factorGrid(1.4, 0, 57);
    const moves = [[0], [1], [2], [3], [4], [5], [0, 1], [3, 4]];
    const curves = liquidationsAtRisk(book, { factors, moves, closeable: true });
    curves.forEach((curve) => {
      const shocks = Array.from(factors, (x) =>
        snapshot.assets.map((_, j) => (curve.assets.includes(j) ? x : 1)),
      );
      stressGrid(book, shocks).forEach((o, k) => {
        expect(curve.liquidatableAccounts[k]).toBe(o.liquidatableAccounts);
        expect(close(curve.liquidatableDebtUsd[k]!, o.liquidatableDebtUsd)).toBe(true);
        expect(close(curve.liquidatableCollateralUsd[k]!, o.liquidatableCollateralUsd)).toBe(true);
        expect(close(curve.closeableDebtUsd![k]!, o.closeableDebtUsd)).toBe(true);
        expect(close(curve.badDebtUsd[k]!, o.badDebtUsd)).toBe(true);
      });
    });
  });

  it('accepts an increasing or irregular grid and keeps its order', () => {
    const snapshot = syntheticSnapshot(2000, 5);
    const up = [0.1, 0.2, 0.45, 0.5, 0.9, 1];
    const down = [...up].reverse();
    const [a] = liquidationsAtRisk(snapshot, { factors: up, moves: [[0]] });
    const [b] = liquidationsAtRisk(snapshot, { factors: down, moves: [[0]] });
    expect(Array.from(a!.liquidatableDebtUsd)).toEqual(Array.from(b!.liquidatableDebtUsd).reverse());
  });

  it('rejects a grid that is not monotone, or a move naming no asset', () => {
    const snapshot = syntheticSnapshot(10, 1);
    expect(() => liquidationsAtRisk(snapshot, { factors: [1, 0.5, 0.7] })).toThrow(/strictly/);
    expect(() => liquidationsAtRisk(snapshot, { factors: [1, 0.5], moves: [[9]] })).toThrow(/names asset 9/);
    expect(() => factorGrid(1, 0, 1)).toThrow(/at least 2/);
  });

  it('a larger fall of a collateral-only asset never reduces liquidatable value (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 20, max: 300 }), (seed, n) => {
        const snapshot = syntheticSnapshot(n, seed);
        // wstETH (1) is never borrowed outside e-mode 1; keep it collateral only.
        const debt = snapshot.debt.slice();
        for (let i = 0; i < n; i++) debt[i * 6 + 1] = 0;
        const market = { ...snapshot, debt };
        const [curve] = liquidationsAtRisk(market, { factors: factorGrid(1, 0, 101), moves: [[1]] });
        for (let k = 1; k < 101; k++) {
          expect(curve!.liquidatableAccounts[k]!).toBeGreaterThanOrEqual(curve!.liquidatableAccounts[k - 1]!);
          expect(curve!.liquidatableDebtUsd[k]! + 1e-6).toBeGreaterThanOrEqual(
            curve!.liquidatableDebtUsd[k - 1]!,
          );
          expect(curve!.badDebtUsd[k]! + 1e-6).toBeGreaterThanOrEqual(curve!.badDebtUsd[k - 1]!);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('counts e-mode positions at the category threshold', () => {
    const assets = syntheticAssets();
    const eModes = syntheticEModes();
    // 1 wstETH ($3500) against 1.1 WETH ($3300 of debt): e-mode HF = 3500 · 0.95 / 3300 ≈ 1.0076.
    const snapshot = snapshotFrom(assets, [{ collateral: [0, 1], debt: [1.1], eMode: 1 }], eModes);
    const [wst] = liquidationsAtRisk(snapshot, { factors: [1, 0.995, 0.99], moves: [[1]] });
    // Liquidatable below 3300 / (3500 · 0.95) = 0.99248.
    expect(Array.from(wst!.liquidatableAccounts)).toEqual([0, 0, 1]);
  });
});
