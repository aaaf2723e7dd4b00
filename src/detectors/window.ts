/**
 * Detect — history windows kept in a detector's own state: a rolling window of samples bounded
 * by blocks and by count, and the small statistics detectors take over them.
 *
 * The window lives in `ctx.state` under a key, as a plain array of JSON-safe samples (a bigint is
 * stored as a decimal string by the caller), so a state store can persist it. A sample for a block
 * at or below the newest one held (a reorg's replacement, a replay from an earlier block) first
 * drops every sample from that block on: the window never mixes two branches.
 */
import type { DetectorState } from './types';

export interface Sample<T> {
  block: number;
  /** Block timestamp, seconds. */
  time: number;
  value: T;
}

export interface RollingWindow<T> {
  /** Adds the sample of `block` (replacing any held for that block or later). */
  push(block: bigint, time: bigint, value: T): void;
  samples(): readonly Sample<T>[];
  first(): Sample<T> | undefined;
  last(): Sample<T> | undefined;
  /** Samples of blocks strictly before `block`. */
  before(block: bigint): readonly Sample<T>[];
}

export interface WindowLimits {
  /** Keep samples of the last `maxBlocks` blocks (inclusive of the newest). */
  maxBlocks?: number;
  /** Keep at most this many samples (the newest). Default 10 000. */
  maxSamples?: number;
}

/**
 * A rolling window stored in `state` under `key`.
 *
 * @example
 * const prices = rollingWindow<number>(ctx.state, `price:${feed}`, { maxBlocks: 50 });
 * prices.push(event.block.number, event.block.timestamp, Number(answer));
 * const vol = realisedVolatility(prices.samples().map((s) => s.value));
 */
export function rollingWindow<T>(state: DetectorState, key: string, limits: WindowLimits): RollingWindow<T> {
  const read = () => state.get<Sample<T>[]>(key) ?? [];
  const maxSamples = limits.maxSamples ?? 10_000;
  return {
    push(block, time, value) {
      const n = Number(block);
      let samples = read().filter((s) => s.block < n);
      samples.push({ block: n, time: Number(time), value });
      if (limits.maxBlocks !== undefined) {
        const oldest = n - limits.maxBlocks + 1;
        samples = samples.filter((s) => s.block >= oldest);
      }
      if (samples.length > maxSamples) samples = samples.slice(samples.length - maxSamples);
      state.set(key, samples);
    },
    samples: read,
    first: () => read()[0],
    last: () => read().at(-1),
    before: (block) => read().filter((s) => s.block < Number(block)),
  };
}

/** Natural-log returns between consecutive positive values (non-positive values are skipped). */
export function logReturns(values: readonly number[]): number[] {
  const out: number[] = [];
  let prev: number | undefined;
  for (const v of values) {
    if (!(v > 0) || !Number.isFinite(v)) continue;
    if (prev !== undefined) out.push(Math.log(v / prev));
    prev = v;
  }
  return out;
}

/** Realised volatility over the whole series: √Σ r² of its log returns (not annualised). */
export function realisedVolatility(values: readonly number[]): number {
  return Math.sqrt(logReturns(values).reduce((s, r) => s + r * r, 0));
}

/** Sample standard deviation (0 with fewer than two values). */
export function stdev(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
}

/** A positive bigint ratio a / b as a double, exact enough for bps comparisons of 18-decimal amounts. */
export function ratio(a: bigint, b: bigint): number {
  if (b === 0n) return a === 0n ? 1 : Number.POSITIVE_INFINITY;
  const scale = 10n ** 18n;
  return Number((a * scale) / b) / 1e18;
}

/** |a − b| / b in basis points, rounded down (b > 0; infinite otherwise). */
export function changeBps(a: bigint, b: bigint): number {
  if (b <= 0n) return Number.POSITIVE_INFINITY;
  const diff = a > b ? a - b : b - a;
  return Number((diff * 10_000n) / b);
}

/** Integer square root (floor) of a non-negative bigint. */
export function sqrtBig(n: bigint): bigint {
  if (n < 0n) throw new RangeError('sqrtBig of a negative number');
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  // Newton steps from the double's estimate, then settle on the floor.
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) break;
    x = y;
  }
  while (x * x > n) x -= 1n;
  while ((x + 1n) * (x + 1n) <= n) x += 1n;
  return x;
}
