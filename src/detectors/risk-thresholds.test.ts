import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { monteCarloRisk } from '../risk/montecarlo';
import { riskNow } from '../risk/now';
import { snapshotFrom, syntheticAssets, syntheticSnapshot } from '../risk/synthetic';
import type { PositionSnapshot } from '../risk/types';
import { larAtShock, type RiskThresholdsParams, riskThresholds, varDynamics } from './risk-thresholds';
import { detectorHarness, testBlock, testView } from './testing';

const MARKET = '0x00000000000000000000000000000000000a11ce' as Hex;
const assets = syntheticAssets(); // WETH 3000, wstETH 3500, WBTC 60000, USDC 1, DAI 1, CRV 0.5
const WETH = 0;

/** Three hand-made accounts: healthy, liquidatable but covered, and under water. */
const handMade = () =>
  snapshotFrom(assets, [
    { collateral: [10], debt: [0, 0, 0, 12_000] }, // HF 10·3000·0.825 / 12000 ≈ 2.06
    { collateral: [1], debt: [0, 0, 0, 2_800] }, // HF 0.88: liquidatable, collateral covers it
    { collateral: [1], debt: [0, 0, 0, 3_500] }, // under water by 500
  ]);

const viewOf = (snapshot: PositionSnapshot | null, block = 100n) =>
  testView({ positions: async (m) => (m === MARKET ? snapshot : null) }, block);

const params = (p: Omit<RiskThresholdsParams, 'market'>): RiskThresholdsParams => ({ market: MARKET, ...p });

describe('riskNow', () => {
  it('sums debt of accounts below HF 1 and debt no collateral covers', () => {
    const s = handMade();
    const now = riskNow(s);
    const price = assets[WETH]!.priceUsd;
    expect(now.borrowers).toBe(3);
    expect(now.liquidatableAccounts).toBe(2);
    expect(now.liquidatableDebtUsd).toBeCloseTo(2_800 + 3_500, 6);
    expect(now.badDebtAccounts).toBe(1);
    expect(now.badDebtUsd).toBeCloseTo(3_500 - price, 6);
    expect(now.largestBadDebt?.account).toBe(s.accounts[2]);
    expect(now.weakest?.account).toBe(s.accounts[2]);
    expect(now.weakest?.healthFactor).toBeCloseTo((price * assets[WETH]!.liquidationThreshold) / 3_500, 9);
  });
});

describe('risk-thresholds detector', () => {
  it('raises insolvency for bad debt and liquidity for liquidatable debt, with checkable evidence', async () => {
    const run = detectorHarness(
      riskThresholds,
      params({ badDebt: { thresholdUsd: 100, criticalUsd: 10_000 }, liquidatable: { thresholdUsd: 1_000 } }),
    );
    const s = handMade();
    const findings = await run(testBlock(100n), viewOf(s));
    const bad = findings.find((f) => f.evidence.metric === 'bad-debt')!;
    const liq = findings.find((f) => f.evidence.metric === 'liquidatable')!;
    expect(bad.kind).toBe('insolvency');
    expect(bad.severity).toBe('high'); // 500 ≥ 100, < 10,000
    expect(bad.evidence.valueUsd).toBeCloseTo(riskNow(s).badDebtUsd, 2);
    expect(bad.evidence.largestAccount).toBe(s.accounts[2]);
    expect(liq.kind).toBe('liquidity');
    expect(liq.evidence.liquidatableAccounts).toBe(2);
    expect(liq.evidence.weakestAccount).toBe(s.accounts[2]);
    expect(liq.subject.market).toBe(MARKET);
  });

  it('escalates to critical above the critical line and stays quiet below the threshold', async () => {
    const s = handMade();
    const value = riskNow(s).badDebtUsd;
    const below = detectorHarness(riskThresholds, params({ badDebt: { thresholdUsd: value + 1 } }));
    expect(await below(testBlock(1n), viewOf(s))).toEqual([]);
    const crit = detectorHarness(
      riskThresholds,
      params({ badDebt: { thresholdUsd: 1, criticalUsd: value } }),
    );
    const [f] = await crit(testBlock(1n), viewOf(s));
    expect(f!.severity).toBe('critical');
  });

  it('keys a condition by metric, chain and market: the same key on every block, another id per block', async () => {
    const run = detectorHarness(riskThresholds, params({ badDebt: { thresholdUsd: 1 } }));
    const s = handMade();
    const [a] = await run(testBlock(10n), viewOf(s, 10n));
    const [b] = await run(testBlock(11n), viewOf(s, 11n));
    const [c] = await run(testBlock(10n), viewOf(s, 10n));
    expect(a!.dedupeKey).toBe(b!.dedupeKey);
    expect(a!.dedupeKey).toBe(`risk-thresholds:bad-debt:31337:${MARKET}`);
    expect(a!.id).not.toBe(b!.id);
    expect(c!.id).toBe(a!.id); // a replay of block 10 gives the same finding
  });

  it('LaR at a shock names the asset whose fall liquidates the most', async () => {
    // Healthy WETH borrowers (HF ≈ 1.06 .. 1.65), and one CRV borrower far from liquidation.
    const s = snapshotFrom(assets, [
      { collateral: [2], debt: [0, 0, 0, 4_000] }, // HF 1.2375: liquidatable once WETH falls > 19.2 %
      { collateral: [1], debt: [0, 0, 0, 2_300] }, // HF 1.076: liquidatable once WETH falls > 7.1 %
      { collateral: [0, 0, 0, 0, 0, 100_000], debt: [0, 0, 0, 10_000] }, // CRV: HF 2.05
    ]);
    const run = detectorHarness(riskThresholds, params({ lar: { thresholdUsd: 1_000, shockBps: 1000 } }));
    const [f] = await run(testBlock(5n), viewOf(s));
    expect(f!.kind).toBe('liquidity');
    expect(f!.evidence.movedAssets).toBe('WETH');
    expect(f!.subject.asset).toBe(assets[WETH]!.address);
    expect(f!.evidence.liquidatableAccounts).toBe(1);
    expect(f!.evidence.valueUsd).toBeCloseTo(2_300, 2);
    expect(f!.dedupeKey).toBe(`risk-thresholds:lar-1000:31337:${MARKET}`);
    // −25 % on WETH reaches the second account too.
    const deeper = detectorHarness(riskThresholds, params({ lar: { thresholdUsd: 1_000, shockBps: 2500 } }));
    const [g] = await deeper(testBlock(5n), viewOf(s));
    expect(g!.evidence.valueUsd).toBeCloseTo(2_300 + 4_000, 2);
  });

  it('LaR each alone reports every asset, worst first; together moves them as one', () => {
    const s = syntheticSnapshot(3_000, 7);
    const volatile = [0, 1, 2, 5]; // WETH, wstETH, WBTC, CRV
    const each = larAtShock(s, volatile, 2000, false);
    expect(each.map((x) => x.label).sort()).toEqual(['CRV', 'WBTC', 'WETH', 'wstETH']);
    for (let k = 1; k < each.length; k++)
      expect(each[k]!.liquidatableDebtUsd).toBeLessThanOrEqual(each[k - 1]!.liquidatableDebtUsd);
    const [one] = larAtShock(s, [0], 2000, true);
    expect(one!.liquidatableDebtUsd).toBe(each.find((x) => x.label === 'WETH')!.liquidatableDebtUsd);
    const [joint] = larAtShock(s, [0, 1], 2000, true);
    expect(joint!.label).toBe('WETH+wstETH');
    expect(joint!.liquidatableDebtUsd).toBeGreaterThan(one!.liquidatableDebtUsd);
  });

  it('VaR is the Monte Carlo quantile, recomputed only every `everyBlocks` blocks', async () => {
    const s = syntheticSnapshot(1_500, 3);
    const line = {
      thresholdUsd: 0,
      horizonDays: 7,
      steps: 14,
      paths: 200,
      seed: 9,
      volatility: { default: 0.9, USDC: 0.01, DAI: 0.01 },
      correlation: 0.6,
      everyBlocks: 10,
    };
    const run = detectorHarness(riskThresholds, params({ var: line }));
    const [f] = await run(testBlock(100n), viewOf(s));
    const { dynamics, correlation } = varDynamics(s, line);
    const direct = await monteCarloRisk(s, {
      dynamics,
      correlation,
      horizonDays: 7,
      steps: 14,
      paths: 200,
      seed: 9,
      workers: 0,
    });
    expect(f!.kind).toBe('insolvency');
    expect(f!.evidence.valueUsd).toBeCloseTo(direct.valueAtRiskUsd, 2);
    expect(f!.evidence.computedAtBlock).toBe('100');
    // A market that changed (all debt gone) is not recomputed within the window ...
    const empty = { ...s, debt: new Float64Array(s.debt.length) };
    const [g] = await run(testBlock(105n), viewOf(empty, 105n));
    expect(g!.evidence.computedAtBlock).toBe('100');
    // ... and is after it.
    const [h] = await run(testBlock(110n), viewOf(empty, 110n));
    expect(h!.evidence.computedAtBlock).toBe('110');
    expect(h!.evidence.valueUsd).toBe(0);
  });

  it('with lagBlocks, VaR runs in a worker and is used exactly lagBlocks blocks after its snapshot', async () => {
    const s = syntheticSnapshot(800, 4);
    const line = {
      thresholdUsd: 0,
      horizonDays: 3,
      steps: 6,
      paths: 120,
      seed: 5,
      volatility: 1.2,
      correlation: 0.3,
      everyBlocks: 10,
      lagBlocks: 3,
      workers: 1,
    };
    const run = detectorHarness(riskThresholds, params({ var: line }));
    expect(await run(testBlock(200n), viewOf(s))).toEqual([]);
    expect(await run(testBlock(202n), viewOf(s))).toEqual([]);
    const [f] = await run(testBlock(203n), viewOf(s));
    const { dynamics, correlation } = varDynamics(s, line);
    const direct = await monteCarloRisk(s, {
      dynamics,
      correlation,
      horizonDays: 3,
      steps: 6,
      paths: 120,
      seed: 5,
      workers: 0,
    });
    expect(f!.evidence.computedAtBlock).toBe('200');
    expect(f!.evidence.valueUsd).toBeCloseTo(direct.valueAtRiskUsd, 2);
    // The next block seen ≥ 10 blocks later (211) starts the next computation, used from 214;
    // until then the one from 200 stands.
    const empty = { ...s, debt: new Float64Array(s.debt.length) };
    const [g] = await run(testBlock(211n), viewOf(empty, 211n));
    expect(g!.evidence.computedAtBlock).toBe('200');
    const [g2] = await run(testBlock(213n), viewOf(empty, 213n));
    expect(g2!.evidence.computedAtBlock).toBe('200');
    const [h] = await run(testBlock(214n), viewOf(empty, 214n));
    expect(h!.evidence.computedAtBlock).toBe('211');
    expect(h!.evidence.valueUsd).toBe(0);
  }, 30_000);

  it('reports a market without a position book as degraded instead of staying silent', async () => {
    const run = detectorHarness(riskThresholds, params({ badDebt: { thresholdUsd: 1 } }));
    const [viaNull] = await run(testBlock(1n), viewOf(null));
    const [viaNoSeam] = await run(testBlock(1n), testView({}));
    for (const f of [viaNull!, viaNoSeam!]) {
      expect(f.kind).toBe('degraded');
      expect(f.dedupeKey).toBe(`risk-thresholds:no-positions:31337:${MARKET}`);
    }
  });

  it('names an unknown LaR asset and the listed ones', async () => {
    const run = detectorHarness(
      riskThresholds,
      params({ lar: { thresholdUsd: 1, shockBps: 1000, assets: ['WETH', 'NOPE'] } }),
    );
    await expect(run(testBlock(1n), viewOf(handMade()))).rejects.toThrow(
      /"NOPE" is not listed.*WETH, wstETH/,
    );
  });
});

describe('risk-thresholds config', () => {
  it('parses with defaults and refuses a critical line below the threshold', async () => {
    const { riskThresholdsParams } = await import('../config/schema');
    const ok = riskThresholdsParams.parse({
      var: { thresholdUsd: 1e6 },
      lar: { thresholdUsd: 5, shockBps: 1000 },
    });
    expect(ok.var?.paths).toBe(1000);
    expect(ok.lar?.together).toBe(false);
    expect(() => riskThresholdsParams.parse({ badDebt: { thresholdUsd: 10, criticalUsd: 5 } })).toThrow(
      /criticalUsd/,
    );
    expect(() => riskThresholdsParams.parse({})).toThrow(/at least one/);
  });
});
