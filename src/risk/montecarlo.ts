/**
 * Risk — Value at Risk and Liquidations at Risk over Monte Carlo price paths, with Gauntlet's
 * definitions: VaR = the 95th percentile (by default) of net insolvent debt over the simulated
 * paths, LaR = the same percentile of liquidated value.
 *
 * Prices follow correlated geometric Brownian motions with log-normal jumps (Merton): per step
 * `dt`, asset j's log price moves by `(μ − σ²/2)·dt + σ·√dt·z_j + Σ jumps`, `z = L·ε` with `L` the
 * Cholesky factor of the correlation matrix, jump counts Poisson(λ·dt), each jump N(m, s²) in log.
 * Along a path, each account is checked at every step: the first step its HF is below 1 it is
 * liquidated (liquidated value: the debt a liquidator may repay then, 50 % or 100 % below HF 0.95);
 * if its collateral is already worth less than its debt at that moment (the price gapped through
 * the liquidation buffer), the difference is insolvent debt. Accounts already below 1 count at step 0.
 *
 * Each path has its own generator, seeded from (seed, path index), so the figures depend on the
 * seed only — not on how many worker threads share the paths. Workers (node:worker_threads) load
 * TypeScript through `montecarlo-worker.mjs`, which registers tsx first.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { FirebreakError } from '../common/errors';
import { CLOSE_FACTOR_HF_THRESHOLD, compileHealthBook, type HealthBook } from './health';
import { createRng, mixSeed, normal } from './synthetic';
import type { PositionSnapshot } from './types';

/** One asset's price dynamics, annualised. */
export interface AssetDynamics {
  /** Drift μ per year (0 for a risk-neutral-ish stress). */
  mu: number;
  /** Volatility σ per √year (0.8 = 80 %). */
  sigma: number;
  /** Jumps per year (λ). */
  jumpIntensity: number;
  /** Mean and standard deviation of a jump's log size (−0.2 ≈ a 18 % drop). */
  jumpMean: number;
  jumpStdev: number;
}

export interface MonteCarloParams {
  /** One per asset, in the snapshot's order. */
  dynamics: readonly AssetDynamics[];
  /** Correlation of the Brownian parts, assets × assets (symmetric, positive definite, unit diagonal). */
  correlation: readonly (readonly number[])[];
  horizonDays: number;
  steps: number;
  paths: number;
  seed: number;
  /** Default 0.95. */
  quantile?: number;
  /** Worker threads; 0 runs in this thread. Default: min(available cores, paths / 200), at least 0. */
  workers?: number;
}

export interface MonteCarloResult {
  /** Quantile of net insolvent debt (USD). */
  valueAtRiskUsd: number;
  /** Quantile of liquidated value (USD). */
  liquidationsAtRiskUsd: number;
  meanInsolventUsd: number;
  meanLiquidatedUsd: number;
  /** Per path, in path order. */
  insolventByPath: Float64Array;
  liquidatedByPath: Float64Array;
  workers: number;
}

/** What a worker (or this thread) needs: the book's arrays and the simulation's parameters. */
export interface PathJob {
  book: Pick<
    HealthBook,
    | 'assetCount'
    | 'debtors'
    | 'collStart'
    | 'collAsset'
    | 'collWeighted'
    | 'collValue'
    | 'debtStart'
    | 'debtAsset'
    | 'debtValue'
  >;
  dynamics: readonly AssetDynamics[];
  cholesky: Float64Array;
  horizonDays: number;
  steps: number;
  seed: number;
  from: number;
  to: number;
}

const invalid = (message: string) => new FirebreakError('ERR_USAGE', message);

/** Lower-triangular L with L·Lᵀ = m (row-major); throws when m is not positive definite. */
export function cholesky(m: readonly (readonly number[])[]): Float64Array {
  const n = m.length;
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    if (m[i]!.length !== n) throw invalid('risk: the correlation matrix must be square');
    for (let j = 0; j <= i; j++) {
      if (Math.abs(m[i]![j]! - m[j]![i]!) > 1e-12)
        throw invalid('risk: the correlation matrix must be symmetric');
      let sum = m[i]![j]!;
      for (let k = 0; k < j; k++) sum -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(sum > 0)) throw invalid('risk: the correlation matrix must be positive definite');
        l[i * n + i] = Math.sqrt(sum);
      } else l[i * n + j] = sum / l[j * n + j]!;
    }
  }
  return l;
}

/** A Poisson draw by inversion (λ·dt is small: a handful of iterations). */
function poisson(rng: () => number, mean: number): number {
  if (!(mean > 0)) return 0;
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rng();
  while (p > limit) {
    k++;
    p *= rng();
  }
  return k;
}

/**
 * Simulates paths `[from, to)` of a job: per path, net insolvent debt and liquidated value (USD).
 * Pure and deterministic; the workers and the in-thread path both call it.
 */
export function simulatePaths(job: PathJob): { insolvent: Float64Array; liquidated: Float64Array } {
  const { book, dynamics, cholesky: l, horizonDays, steps, seed, from, to } = job;
  const a = book.assetCount;
  const { debtors, collStart, collAsset, collWeighted, collValue, debtStart, debtAsset, debtValue } = book;
  const dt = horizonDays / 365 / steps;
  const sq = Math.sqrt(dt);
  const drift = new Float64Array(a);
  for (let j = 0; j < a; j++) drift[j] = (dynamics[j]!.mu - 0.5 * dynamics[j]!.sigma ** 2) * dt;
  const insolvent = new Float64Array(to - from);
  const liquidated = new Float64Array(to - from);
  const logPrice = new Float64Array(a);
  const factor = new Float64Array(a);
  const eps = new Float64Array(a);
  const done = new Uint8Array(debtors);
  const deep = CLOSE_FACTOR_HF_THRESHOLD;
  for (let path = from; path < to; path++) {
    const rng = createRng(mixSeed(seed, path));
    logPrice.fill(0);
    done.fill(0);
    let ins = 0;
    let liq = 0;
    for (let step = 0; step <= steps; step++) {
      if (step > 0) {
        for (let j = 0; j < a; j++) eps[j] = normal(rng);
        for (let j = 0; j < a; j++) {
          let z = 0;
          for (let k = 0; k <= j; k++) z += l[j * a + k]! * eps[k]!;
          const d = dynamics[j]!;
          let move = drift[j]! + d.sigma * sq * z;
          const jumps = poisson(rng, d.jumpIntensity * dt);
          for (let q = 0; q < jumps; q++) move += d.jumpMean + d.jumpStdev * normal(rng);
          logPrice[j]! += move;
        }
      }
      for (let j = 0; j < a; j++) factor[j] = Math.exp(logPrice[j]!);
      for (let p = 0; p < debtors; p++) {
        if (done[p] === 1) continue;
        let w = 0;
        let dsum = 0;
        for (let k = debtStart[p]!, e = debtStart[p + 1]!; k < e; k++)
          dsum += debtValue[k]! * factor[debtAsset[k]!]!;
        for (let k = collStart[p]!, e = collStart[p + 1]!; k < e; k++)
          w += collWeighted[k]! * factor[collAsset[k]!]!;
        if (!(w < dsum)) continue;
        done[p] = 1;
        liq += w < deep * dsum ? dsum : 0.5 * dsum;
        let c = 0;
        for (let k = collStart[p]!, e = collStart[p + 1]!; k < e; k++)
          c += collValue[k]! * factor[collAsset[k]!]!;
        if (c < dsum) ins += dsum - c;
      }
    }
    insolvent[path - from] = ins;
    liquidated[path - from] = liq;
  }
  return { insolvent, liquidated };
}

/** Nearest-rank quantile. */
function quantileOf(values: Float64Array, q: number): number {
  const sorted = Float64Array.from(values).sort();
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

function checkParams(params: MonteCarloParams, a: number): void {
  if (params.dynamics.length !== a)
    throw invalid(`risk: dynamics has ${params.dynamics.length} entries, expected ${a}`);
  params.dynamics.forEach((d, j) => {
    for (const [k, v] of Object.entries(d))
      if (!Number.isFinite(v)) throw invalid(`risk: dynamics[${j}].${k} is ${v}; it must be finite`);
    if (d.sigma < 0 || d.jumpIntensity < 0 || d.jumpStdev < 0)
      throw invalid(`risk: dynamics[${j}] has a negative sigma, jump intensity or jump stdev`);
  });
  if (params.correlation.length !== a) throw invalid(`risk: the correlation matrix must be ${a} × ${a}`);
  for (let j = 0; j < a; j++)
    if (Math.abs(params.correlation[j]![j]! - 1) > 1e-12)
      throw invalid('risk: correlations must have a unit diagonal');
  if (!(params.horizonDays > 0 && Number.isFinite(params.horizonDays)))
    throw invalid('risk: horizonDays must be > 0');
  if (!(Number.isInteger(params.steps) && params.steps >= 1))
    throw invalid('risk: steps must be an integer ≥ 1');
  if (!(Number.isInteger(params.paths) && params.paths >= 1))
    throw invalid('risk: paths must be an integer ≥ 1');
  if (!Number.isInteger(params.seed)) throw invalid('risk: seed must be an integer');
  const q = params.quantile ?? 0.95;
  if (!(q > 0 && q <= 1)) throw invalid('risk: quantile must be in (0, 1]');
  if (params.workers !== undefined && !(Number.isInteger(params.workers) && params.workers >= 0))
    throw invalid('risk: workers must be an integer ≥ 0');
}

/**
 * VaR and LaR of a market over Monte Carlo paths, in worker threads.
 *
 * @example
 * const r = await monteCarloRisk(snapshot, { dynamics, correlation, horizonDays: 7, steps: 28, paths: 2000, seed: 1 });
 * r.valueAtRiskUsd; r.liquidationsAtRiskUsd;
 */
export async function monteCarloRisk(
  source: PositionSnapshot | HealthBook,
  params: MonteCarloParams,
): Promise<MonteCarloResult> {
  const book = 'collStart' in source ? source : compileHealthBook(source);
  checkParams(params, book.assetCount);
  const chol = cholesky(params.correlation);
  const workers =
    params.workers ?? Math.max(0, Math.min(availableParallelism(), Math.floor(params.paths / 200)));
  const base: Omit<PathJob, 'from' | 'to'> = {
    book: {
      assetCount: book.assetCount,
      debtors: book.debtors,
      collStart: book.collStart,
      collAsset: book.collAsset,
      collWeighted: book.collWeighted,
      collValue: book.collValue,
      debtStart: book.debtStart,
      debtAsset: book.debtAsset,
      debtValue: book.debtValue,
    },
    dynamics: params.dynamics.map((d) => ({ ...d })),
    cholesky: chol,
    horizonDays: params.horizonDays,
    steps: params.steps,
    seed: params.seed,
  };
  const insolvent = new Float64Array(params.paths);
  const liquidated = new Float64Array(params.paths);
  if (workers === 0) {
    const r = simulatePaths({ ...base, from: 0, to: params.paths });
    insolvent.set(r.insolvent);
    liquidated.set(r.liquidated);
  } else {
    const per = Math.ceil(params.paths / workers);
    const jobs: Promise<void>[] = [];
    for (let w = 0; w < workers; w++) {
      const from = w * per;
      const to = Math.min(params.paths, from + per);
      if (from >= to) break;
      jobs.push(
        runWorker({ ...base, from, to }).then((r) => {
          insolvent.set(r.insolvent, from);
          liquidated.set(r.liquidated, from);
        }),
      );
    }
    await Promise.all(jobs);
  }
  const q = params.quantile ?? 0.95;
  let si = 0;
  let sl = 0;
  for (let k = 0; k < params.paths; k++) {
    si += insolvent[k]!;
    sl += liquidated[k]!;
  }
  return {
    valueAtRiskUsd: quantileOf(insolvent, q),
    liquidationsAtRiskUsd: quantileOf(liquidated, q),
    meanInsolventUsd: si / params.paths,
    meanLiquidatedUsd: sl / params.paths,
    insolventByPath: insolvent,
    liquidatedByPath: liquidated,
    workers,
  };
}

/** Runs one job in a worker thread (the book's arrays are copied to it). */
function runWorker(job: PathJob): Promise<{ insolvent: Float64Array; liquidated: Float64Array }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./montecarlo-worker.mjs', import.meta.url), { workerData: job });
    let settled = false;
    worker.once('message', (r: { insolvent: Float64Array; liquidated: Float64Array } | { error: string }) => {
      settled = true;
      if ('error' in r)
        reject(new FirebreakError('ERR_SIMULATION_FAILED', `risk: a Monte Carlo worker failed: ${r.error}`));
      else resolve(r);
      void worker.terminate();
    });
    worker.once('error', (error) => {
      if (settled) return;
      settled = true;
      reject(
        new FirebreakError('ERR_SIMULATION_FAILED', 'risk: a Monte Carlo worker crashed', { cause: error }),
      );
    });
    worker.once('exit', (code) => {
      if (!settled)
        reject(
          new FirebreakError('ERR_SIMULATION_FAILED', `risk: a Monte Carlo worker exited with code ${code}`),
        );
    });
  });
}
