import { describe, expect, it } from 'vitest';
import { forecastExhaustion } from './liquidity-exhaustion';

const series = (cash: number[]) =>
  cash.map((c, k) => ({ block: 100 + k, time: 1_000 + 12 * k, cash: BigInt(c) }));

describe('forecastExhaustion', () => {
  it('extrapolates a steady outflow to the block the cash runs out', () => {
    // 10 a block for 5 blocks (the largest left out: 40 over 5 blocks), 50 left.
    const f = forecastExhaustion(series([100, 90, 80, 70, 60, 50]))!;
    expect(f.outflow).toBe(40n);
    expect(f.largestBlockOutflow).toBe(10n);
    expect(f.blocksLeft).toBeCloseTo(50 / (40 / 5), 6);
    expect(f.secondsLeft).toBeCloseTo(f.blocksLeft! * 12, 6);
  });

  it('does not extrapolate one large withdrawal: a step is not a run', () => {
    const f = forecastExhaustion(series([100, 100, 60, 60, 60, 60]))!;
    expect(f.outflow).toBe(0n);
    expect(f.blocksLeft).toBeNull();
  });

  it('forecasts nothing for inflows, and zero once the cash is gone', () => {
    expect(forecastExhaustion(series([50, 60, 70]))!.blocksLeft).toBeNull();
    expect(forecastExhaustion(series([50, 20, 0]))!.blocksLeft).toBe(0);
    expect(forecastExhaustion(series([50]))).toBeNull();
  });
});
