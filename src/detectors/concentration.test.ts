// concentration's pure logic on hand-written and synthetic snapshots: what counts on each side
// (debt; the collateral a full liquidation could seize), the market totals, the lines and their
// severities, and the cost of one block's scan on thousands of positions. The integration test on
// the real Aave v3 market is test/detectors/concentration.test.ts.
import fc from 'fast-check';
import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { snapshotFrom, syntheticAssets, syntheticEModes, syntheticSnapshot } from '../risk/synthetic';
import type { PositionSnapshot } from '../risk/types';
import { type ConcentrationParams, concentration, scanConcentration } from './concentration';
import { detectorHarness, testBlock, testView } from './testing';

const assets = syntheticAssets();
const [WETH, WSTETH, , USDC, , CRV] = [0, 1, 2, 3, 4, 5] as const;
const eModes = syntheticEModes();
const both = { debt: true, collateral: true };
const PAIR = '0x00000000000000000000000000000000000000d1' as Hex;
const OTHER = '0x00000000000000000000000000000000000000d2' as Hex;
const E18 = 10n ** 18n;

const params = (extra: Partial<ConcentrationParams> = {}): ConcentrationParams => ({
  market: '0x00000000000000000000000000000000000000b1',
  pool: '0x00000000000000000000000000000000000000a1',
  assets: [{ asset: assets[CRV]!.address, symbol: 'CRV', pairs: [PAIR] }],
  sides: ['debt', 'collateral'],
  liquidityBps: 5000,
  criticalLiquidityBps: 10_000,
  shareBps: 5000,
  minUsd: 100_000,
  ...extra,
});

/** A view over `snapshot` whose only pair holds `crvReserve` CRV (whole tokens). */
const viewOf = (snapshot: PositionSnapshot, crvReserve: bigint) =>
  testView({
    positions: async () => snapshot,
    pair: async (pair) => ({
      pair,
      token0: OTHER,
      token1: assets[CRV]!.address.toLowerCase() as Hex,
      reserve0: 1n,
      reserve1: crvReserve * E18,
      totalSupply: 1n,
    }),
  });

const row = (j: number, v: number) => Object.assign(new Array<number>(assets.length).fill(0), { [j]: v });

describe('scanConcentration', () => {
  it('counts debt, and on the collateral side only what a full liquidation of the debt could seize', () => {
    const snap = snapshotFrom(
      assets,
      [
        { collateral: row(WETH, 1000) }, // a supplier: nothing to liquidate
        { collateral: row(WETH, 1000), debt: row(USDC, 1_200_000) },
        { collateral: row(WETH, 10), debt: row(USDC, 10_000) }, // dust
        { collateral: row(WSTETH, 100), debt: row(WETH, 80), eMode: 1 }, // e-mode: its own bonus
      ],
      eModes,
    );
    // Accounts in the snapshot's order; per account the watched assets in their order, debt first.
    const scan = scanConcentration(snap, [WETH, WSTETH, USDC], both, 100_000);
    const p = (j: number) => assets[j]!.priceUsd;
    expect(scan.candidates).toEqual([
      {
        account: 1,
        asset: WETH,
        side: 'collateral',
        amount: (1_200_000 * assets[WETH]!.liquidationBonus) / p(WETH),
        balance: 1000,
        accountDebtUsd: 1_200_000,
      },
      {
        account: 1,
        asset: USDC,
        side: 'debt',
        amount: 1_200_000,
        balance: 1_200_000,
        accountDebtUsd: 1_200_000,
      },
      { account: 3, asset: WETH, side: 'debt', amount: 80, balance: 80, accountDebtUsd: 80 * p(WETH) },
      {
        account: 3,
        asset: WSTETH,
        side: 'collateral',
        amount: (80 * p(WETH) * eModes[1]!.liquidationBonus) / p(WSTETH),
        balance: 100,
        accountDebtUsd: 80 * p(WETH),
      },
    ]);
    expect([...scan.totalDebt]).toEqual(assets.map((_, j) => (j === USDC ? 1_210_000 : j === WETH ? 80 : 0)));
    expect(scan.totalSupplied[WETH]).toBe(2010);
    // Sides off: nothing of theirs.
    expect(
      scanConcentration(
        snap,
        [WETH, WSTETH, USDC],
        { debt: true, collateral: false },
        100_000,
      ).candidates.every((c) => c.side === 'debt'),
    ).toBe(true);
  });

  it('keeps its invariants on any market: seizure bounded by balance and by debt × bonus, dust out, totals exact', () => {
    const amount = fc.oneof(fc.constant(0), fc.double({ min: 0.001, max: 5e6, noNaN: true }));
    const position = fc.record({
      collateral: fc.array(amount, { minLength: 6, maxLength: 6 }),
      debt: fc.array(amount, { minLength: 6, maxLength: 6 }),
      eMode: fc.constantFrom(0, 1, 2),
    });
    fc.assert(
      fc.property(
        fc.array(position, { maxLength: 12 }),
        fc.double({ min: 0, max: 1e7, noNaN: true }),
        (ps, minUsd) => {
          const snap = snapshotFrom(assets, ps, eModes);
          const watched = [0, 1, 2, 3, 4, 5];
          const scan = scanConcentration(snap, watched, both, minUsd);
          for (const c of scan.candidates) {
            const price = assets[c.asset]!.priceUsd;
            expect(c.amount).toBeLessThanOrEqual(c.balance);
            expect(c.amount * price).toBeGreaterThanOrEqual(minUsd * (1 - 1e-12));
            if (c.side === 'collateral')
              expect(c.amount * price).toBeLessThanOrEqual(c.accountDebtUsd * 1.09);
          }
          for (const j of watched) {
            const sum = ps.reduce((s, x) => s + x.debt[j]!, 0);
            expect(scan.totalDebt[j]).toBeCloseTo(sum, 6);
          }
          // A higher line never adds a candidate.
          const higher = scanConcentration(snap, watched, both, minUsd * 2 + 1).candidates;
          const key = (c: { account: number; asset: number; side: string }) =>
            `${c.account}:${c.asset}:${c.side}`;
          const now = new Set(scan.candidates.map(key));
          expect(higher.every((c) => now.has(key(c)))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('concentration on a book', () => {
  it('rates a share of the market alone high at most, unless a critical share line is set', async () => {
    // One account owes all of the market's CRV ($1M); the pool holds far more.
    const snap = snapshotFrom(assets, [
      { collateral: row(USDC, 5_000_000), debt: row(CRV, 2_000_000) },
      { collateral: row(CRV, 1_000_000) },
    ]);
    const [f] = await detectorHarness(concentration, params())(testBlock(5n), viewOf(snap, 100_000_000n));
    expect([f?.severity, f?.evidence.shareBps, f?.evidence.liquidityBps]).toEqual(['high', 10_000, 200]);
    const [g] = await detectorHarness(concentration, params({ criticalShareBps: 9000 }))(
      testBlock(5n),
      viewOf(snap, 100_000_000n),
    );
    expect(g?.severity).toBe('critical');
    expect(g?.dedupeKey).toBe(f?.dedupeKey);
  });

  it('rates the debt against the pool: high from half of it, critical from all of it', async () => {
    const run = detectorHarness(concentration, params({ shareBps: 10_000 }));
    const book = (crv: number) =>
      snapshotFrom(assets, [
        { collateral: row(USDC, 5_000_000), debt: row(CRV, crv) },
        { collateral: row(USDC, 5_000_000), debt: row(CRV, crv) }, // half the market each
      ]);
    expect(await run(testBlock(6n), viewOf(book(400_000), 1_000_000n))).toEqual([]);
    const high = await run(testBlock(7n), viewOf(book(600_000), 1_000_000n));
    expect(high.map((f) => [f.severity, f.evidence.liquidityBps, f.evidence.shareBps])).toEqual([
      ['high', 6000, 5000],
      ['high', 6000, 5000],
    ]);
    const critical = await run(testBlock(8n), viewOf(book(1_000_000), 1_000_000n));
    expect(critical.map((f) => f.severity)).toEqual(['critical', 'critical']);
    expect(critical.map((f) => f.dedupeKey)).toEqual(high.map((f) => f.dedupeKey));
    // A pair that holds no CRV leaves nothing to absorb it.
    const none = await run(testBlock(9n), viewOf(book(600_000), 0n));
    expect(none.map((f) => [f.severity, f.evidence.liquidityBps])).toEqual([
      ['critical', -1],
      ['critical', -1],
    ]);
  });

  it('names the side in the key and watches only the configured sides and listed assets', async () => {
    const snap = snapshotFrom(assets, [{ collateral: row(CRV, 3_000_000), debt: row(USDC, 800_000) }]);
    const view = viewOf(snap, 1_000_000n);
    const [c] = await detectorHarness(concentration, params())(testBlock(10n), view);
    expect(c?.dedupeKey.endsWith(':collateral')).toBe(true);
    expect(c?.evidence.amount).toBeCloseTo((800_000 * assets[CRV]!.liquidationBonus) / 0.5, 3);
    expect(await detectorHarness(concentration, params({ sides: ['debt'] }))(testBlock(10n), view)).toEqual(
      [],
    );
    const unlisted = [{ asset: '0x00000000000000000000000000000000000000ff' as Hex, pairs: [PAIR] }];
    expect(await detectorHarness(concentration, params({ assets: unlisted }))(testBlock(10n), view)).toEqual(
      [],
    );
  });

  it('scans thousands of positions per block in a tight loop (cost measured and reported)', async () => {
    const watchAll = params({
      assets: assets.map((x) => ({
        asset: x.address,
        symbol: x.symbol,
        pairs: x.symbol === 'CRV' ? [PAIR] : [],
      })),
    });
    for (const n of [5_000, 100_000]) {
      const snap = syntheticSnapshot(n, 7);
      const view = viewOf(snap, 2_000_000n);
      const run = detectorHarness(concentration, watchAll);
      const first = await run(testBlock(1n), view);
      const rounds = n > 10_000 ? 5 : 50;
      const t = performance.now();
      for (let k = 0; k < rounds; k++) await run(testBlock(1n), view);
      const ms = (performance.now() - t) / rounds;
      const scanT = performance.now();
      for (let k = 0; k < rounds; k++) scanConcentration(snap, [0, 1, 2, 3, 4, 5], both, 100_000);
      const scanMs = (performance.now() - scanT) / rounds;
      // biome-ignore lint/suspicious/noConsole: the test reports the figure it measured
      console.log(
        `concentration: ${n} positions × ${assets.length} assets: ${ms.toFixed(2)} ms per block (scan ${scanMs.toFixed(2)} ms), ${first.length} finding(s)`,
      );
      // The same block twice: the same findings.
      expect(await run(testBlock(1n), view)).toEqual(first);
    }
  });
});
