import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFirebreakError } from '../common/errors';
import { compileHealthBook, healthFactors, stressGrid } from './health';
import { snapshotFrom, syntheticSnapshot } from './synthetic';
import type { EModeCategory, RiskAsset } from './types';

const asset = (
  symbol: string,
  priceUsd: number,
  lt: number,
  eModeCategory = 0,
  bonus = 1.05,
  fee = 0.1,
): RiskAsset => ({
  symbol,
  address: `0x${'0'.repeat(39)}${symbol.length}`,
  decimals: 18,
  priceUsd,
  ltv: lt - 0.05,
  liquidationThreshold: lt,
  liquidationBonus: bonus,
  liquidationProtocolFee: fee,
  eModeCategory,
});

// WETH $2000 (LT 80 %); USDC and DAI in the stablecoin e-mode (95 %), 85 % and 77 % outside it.
const assets = [asset('WETH', 2000, 0.8), asset('USDC', 1, 0.85, 2), asset('DAI', 1, 0.77, 2)];
const eModes: (EModeCategory | undefined)[] = [
  undefined,
  undefined,
  { id: 2, label: 'stables', ltv: 0.93, liquidationThreshold: 0.95, liquidationBonus: 1.01 },
];

describe('health factors (Aave v3 semantics)', () => {
  const snapshot = snapshotFrom(
    assets,
    [
      { collateral: [1], debt: [0, 1000] }, // 2000 · 0.8 / 1000 = 1.6
      { collateral: [0, 0, 1000], debt: [0, 900], eMode: 2 }, // 1000 · 0.95 / 900
      { collateral: [0, 0, 1000], debt: [0, 900] }, // 1000 · 0.77 / 900, same position outside e-mode
      { collateral: [2] }, // no debt
      { collateral: [1, 500], debt: [0.2, 0, 300] }, // (1600 + 425) / (400 + 300)
    ],
    eModes,
  );

  it('weights collateral by its threshold, the e-mode one when the account is in the category', () => {
    const hf = healthFactors(snapshot);
    expect(hf[0]).toBeCloseTo(1.6, 12);
    expect(hf[1]).toBeCloseTo(950 / 900, 12);
    expect(hf[2]).toBeCloseTo(770 / 900, 12);
    expect(hf[3]).toBe(Number.POSITIVE_INFINITY);
    expect(hf[4]).toBeCloseTo(2025 / 700, 12);
  });

  it('reports liquidatable, closeable and bad debt per shock', () => {
    const [half, deep] = stressGrid(snapshot, [
      [0.5, 1, 1],
      [0.4, 1, 1],
    ]);
    // WETH at $1000: account 0 has HF 0.8 (< 0.95: all 1000 closeable); account 2 is already at
    // 0.856; account 4: (800 + 425) / (200 + 300) = 2.45.
    expect(half!.liquidatableAccounts).toBe(2);
    expect(half!.liquidatableDebtUsd).toBeCloseTo(1900, 9);
    expect(half!.liquidatableCollateralUsd).toBeCloseTo(2000, 9);
    expect(half!.closeableDebtUsd).toBeCloseTo(1900, 9);
    expect(half!.badDebtUsd).toBeCloseTo(0, 9);
    expect(half!.minHealthFactor).toBeCloseTo(0.8, 12);
    // WETH at $800: account 0 holds $800 against $1000 of debt: $200 uncovered.
    expect(deep!.badDebtUsd).toBeCloseTo(200, 9);
  });

  it('takes half the debt as closeable between HF 0.95 and 1', () => {
    // Account 0 at WETH $1225: HF = 0.98.
    const [r] = stressGrid(snapshotFrom(assets, [{ collateral: [1], debt: [0, 1000] }], eModes), [
      [0.6125, 1, 1],
    ]);
    expect(r!.liquidatableAccounts).toBe(1);
    expect(r!.closeableDebtUsd).toBeCloseTo(500, 9);
  });

  it('agrees with a recompiled book at shocked prices, account by account, on a synthetic market', () => {
    const market = syntheticSnapshot(5000, 42);
    const book = compileHealthBook(market);
    const shocks = [
      [1, 1, 1, 1, 1, 1],
      [0.8, 0.78, 0.9, 1, 1, 0.5],
      [0.6, 0.6, 0.7, 0.97, 1.02, 0.3],
      [1.2, 1.1, 1, 1, 1, 2],
    ];
    const out = new Float64Array(shocks.length * market.accounts.length);
    const edges = [0.95, 1, 1.1, 1.5, 2];
    const grid = stressGrid(book, shocks, { healthFactorsOut: out, hfEdges: edges });
    shocks.forEach((shock, si) => {
      const prices = market.assets.map((x, j) => x.priceUsd * shock[j]!);
      const hf = healthFactors(compileHealthBook(market, prices));
      let count = 0;
      let debt = 0;
      const hist = new Array(edges.length + 1).fill(0);
      for (let i = 0; i < hf.length; i++) {
        const h = hf[i]!;
        const got = out[si * hf.length + i]!;
        if (Number.isFinite(h)) expect(Math.abs(got - h)).toBeLessThan(1e-9 * h);
        else expect(got).toBe(h);
        let b = 0;
        while (b < edges.length && h >= edges[b]!) b++;
        hist[b]++;
        if (h < 1) {
          count++;
          for (let j = 0; j < prices.length; j++) debt += market.debt[i * prices.length + j]! * prices[j]!;
        }
      }
      expect(grid[si]!.liquidatableAccounts).toBe(count);
      expect(grid[si]!.liquidatableDebtUsd).toBeCloseTo(debt, 3);
      expect(Array.from(grid[si]!.histogram!)).toEqual(hist);
    });
  });

  it('rejects bad input with ERR_USAGE', () => {
    const bad = snapshotFrom(assets, [{ collateral: [-1], debt: [0, 1] }], eModes);
    expect(() => compileHealthBook(bad)).toThrow(/finite and ≥ 0/);
    expect(() => stressGrid(snapshot, [[1, 1]])).toThrow(/one per asset/);
    const unknownEMode = snapshotFrom(assets, [{ collateral: [1], eMode: 7 }], eModes);
    try {
      healthFactors(unknownEMode);
      expect.unreachable();
    } catch (error) {
      expect(isFirebreakError(error, 'ERR_USAGE')).toBe(true);
    }
  });
});

/** A small random market: 3 assets (one in e-mode 1), up to 12 positions. */
const marketArb = fc.record({
  positions: fc.array(
    fc.record({
      collateral: fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 3, maxLength: 3 }),
      debt: fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e6, noNaN: true })), {
        minLength: 3,
        maxLength: 3,
      }),
      eMode: fc.constantFrom(0, 1),
    }),
    { minLength: 1, maxLength: 12 },
  ),
  prices: fc.array(fc.double({ min: 0.01, max: 1e4, noNaN: true }), { minLength: 3, maxLength: 3 }),
});

const propertyAssets = (prices: number[]) => [
  asset('A', prices[0]!, 0.8, 1),
  asset('B', prices[1]!, 0.7, 1),
  asset('C', prices[2]!, 0.5),
];
const propertyEModes: (EModeCategory | undefined)[] = [
  undefined,
  { id: 1, label: 'A/B', ltv: 0.9, liquidationThreshold: 0.93, liquidationBonus: 1.02 },
];

describe('health properties', () => {
  it('more collateral never lowers a health factor', () => {
    fc.assert(
      fc.property(
        marketArb,
        fc.nat(),
        fc.integer({ min: 0, max: 2 }),
        fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
        (m, pick, j, extra) => {
          const snapshot = snapshotFrom(propertyAssets(m.prices), m.positions, propertyEModes);
          const i = pick % m.positions.length;
          const before = healthFactors(snapshot)[i]!;
          const more = snapshotFrom(
            propertyAssets(m.prices),
            m.positions.map((p, k) =>
              k === i ? { ...p, collateral: p.collateral.map((x, q) => (q === j ? x + extra : x)) } : p,
            ),
            propertyEModes,
          );
          const after = healthFactors(more)[i]!;
          expect(after).toBeGreaterThanOrEqual(before * (1 - 1e-12));
        },
      ),
    );
  });

  it('a larger fall of an asset no one borrows never reduces liquidatable value', () => {
    fc.assert(
      fc.property(
        marketArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (m, x, y) => {
          // Asset C is collateral only: its price moves no debt, only collateral.
          const positions = m.positions.map((p) => ({ ...p, debt: [p.debt[0]!, p.debt[1]!, 0] }));
          const snapshot = snapshotFrom(propertyAssets(m.prices), positions, propertyEModes);
          const [mild, severe] = stressGrid(snapshot, [
            [1, 1, Math.max(x, y)],
            [1, 1, Math.min(x, y)],
          ]);
          expect(severe!.liquidatableAccounts).toBeGreaterThanOrEqual(mild!.liquidatableAccounts);
          expect(severe!.liquidatableDebtUsd).toBeGreaterThanOrEqual(mild!.liquidatableDebtUsd * (1 - 1e-12));
          expect(severe!.badDebtUsd).toBeGreaterThanOrEqual(mild!.badDebtUsd * (1 - 1e-9) - 1e-6);
        },
      ),
    );
  });
});

describe('health edge cases', () => {
  it('treats debt priced at 0 as no debt, and collateral priced at 0 as none', () => {
    const zeroDebt = [asset('WETH', 2000, 0.8), asset('USDC', 0, 0.85, 2), asset('DAI', 1, 0.77, 2)];
    const snapshot = snapshotFrom(zeroDebt, [{ collateral: [1], debt: [0, 1000] }], eModes);
    expect(healthFactors(snapshot)[0]).toBe(Number.POSITIVE_INFINITY);
    const [r] = stressGrid(snapshot, [[1, 1, 1]]);
    expect(r!.liquidatableAccounts).toBe(0);
    const [crash] = stressGrid(snapshotFrom(assets, [{ collateral: [1], debt: [0, 1000] }], eModes), [
      [0, 1, 1],
    ]);
    expect(crash!.minHealthFactor).toBe(0);
    expect(crash!.badDebtUsd).toBeCloseTo(1000, 9);
  });

  it('handles an empty market', () => {
    const empty = snapshotFrom(assets, [], eModes);
    expect(healthFactors(empty).length).toBe(0);
    expect(stressGrid(empty, [[1, 1, 1]])[0]!.liquidatableAccounts).toBe(0);
  });
});
