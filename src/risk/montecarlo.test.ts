import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AssetDynamics, cholesky, type MonteCarloParams, monteCarloRisk } from './montecarlo';
import { snapshotFrom, syntheticAssets, syntheticSnapshot } from './synthetic';

const dyn = (sigma: number, jumpIntensity = 0, jumpMean = 0): AssetDynamics => ({
  mu: 0,
  sigma,
  jumpIntensity,
  jumpMean,
  jumpStdev: 0.05,
});
const dynamics = [
  dyn(0.8, 3, -0.15),
  dyn(0.8, 3, -0.15),
  dyn(0.6, 2, -0.1),
  dyn(0.02),
  dyn(0.02),
  dyn(1.2, 6, -0.25),
];
const correlation = Array.from({ length: 6 }, (_, i) =>
  Array.from({ length: 6 }, (_, j) => (i === j ? 1 : i < 3 && j < 3 ? 0.8 : 0.2)),
);
const params: MonteCarloParams = { dynamics, correlation, horizonDays: 10, steps: 10, paths: 300, seed: 7 };

describe('Monte Carlo VaR and LaR', () => {
  const market = syntheticSnapshot(1500, 21);

  it('gives the same figures for the same seed, whatever the number of worker threads', async () => {
    const inThread = await monteCarloRisk(market, { ...params, workers: 0 });
    const twoWorkers = await monteCarloRisk(market, { ...params, workers: 2 });
    expect(twoWorkers.workers).toBe(2);
    expect(Array.from(twoWorkers.insolventByPath)).toEqual(Array.from(inThread.insolventByPath));
    expect(Array.from(twoWorkers.liquidatedByPath)).toEqual(Array.from(inThread.liquidatedByPath));
    expect(twoWorkers.valueAtRiskUsd).toBe(inThread.valueAtRiskUsd);
    expect(inThread.liquidationsAtRiskUsd).toBeGreaterThan(0);
    const other = await monteCarloRisk(market, { ...params, workers: 0, seed: 8 });
    expect(Array.from(other.liquidatedByPath)).not.toEqual(Array.from(inThread.liquidatedByPath));
  });

  it('loads its worker under plain tsx too (no vitest)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'firebreak-mc-'));
    try {
      const script = join(dir, 'run.mts');
      const here = resolve(import.meta.dirname);
      writeFileSync(
        script,
        `import { monteCarloRisk } from ${JSON.stringify(join(here, 'montecarlo.ts'))};
import { syntheticSnapshot } from ${JSON.stringify(join(here, 'synthetic.ts'))};
const params = ${JSON.stringify({ ...params, paths: 60, workers: 1 })};
const r = await monteCarloRisk(syntheticSnapshot(1500, 21), params);
process.stdout.write(JSON.stringify({ workers: r.workers, liquidated: Array.from(r.liquidatedByPath) }));
`,
      );
      const out = execFileSync(process.execPath, ['--import', 'tsx', script], {
        cwd: resolve(here, '../..'),
        encoding: 'utf8',
        timeout: 50_000,
      });
      const parsed = JSON.parse(out) as { workers: number; liquidated: number[] };
      expect(parsed.workers).toBe(1);
      return monteCarloRisk(market, { ...params, paths: 60, workers: 0 }).then((r) => {
        expect(parsed.liquidated).toEqual(Array.from(r.liquidatedByPath));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds no risk without volatility, and the insolvency of a gap through the buffer', async () => {
    const assets = syntheticAssets();
    // 1 WETH ($3000, LT 82.5 %) against 2,400 USDC: HF 1.03; insolvent below WETH $2400.
    const one = snapshotFrom(assets, [{ collateral: [1], debt: [0, 0, 0, 2400] }]);
    const calm = await monteCarloRisk(one, {
      ...params,
      dynamics: assets.map(() => dyn(0)),
      workers: 0,
    });
    expect(calm.valueAtRiskUsd).toBe(0);
    expect(calm.liquidationsAtRiskUsd).toBe(0);
    // A certain −40 % move in one step (drift ln 0.6 over one year, no noise): WETH at $1800,
    // HF = 1800 · 0.825 / 2400 = 0.62 < 0.95, so all $2,400 is liquidated, with $600 uncovered.
    const crash = await monteCarloRisk(one, {
      ...params,
      paths: 20,
      dynamics: assets.map((_, j) => (j === 0 ? { ...dyn(0), mu: Math.log(0.6) } : dyn(0))),
      steps: 1,
      horizonDays: 365,
      workers: 0,
    });
    expect(crash.liquidationsAtRiskUsd).toBeCloseTo(2400, 9);
    expect(crash.valueAtRiskUsd).toBeCloseTo(600, 9);
  });

  it('rejects a correlation matrix that is not positive definite', () => {
    expect(() =>
      cholesky([
        [1, 0.9, 0.9],
        [0.9, 1, -0.9],
        [0.9, -0.9, 1],
      ]),
    ).toThrow(/positive definite/);
    const l = cholesky([
      [1, 0.5],
      [0.5, 1],
    ]);
    expect(l[2]).toBeCloseTo(0.5, 12);
    expect(l[3]).toBeCloseTo(Math.sqrt(0.75), 12);
  });
});
