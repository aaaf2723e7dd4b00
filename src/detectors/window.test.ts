import { describe, expect, it } from 'vitest';
import { memoryDetectorState } from './run';
import { changeBps, logReturns, realisedVolatility, rollingWindow, sqrtBig, stdev } from './window';

describe('rolling windows in detector state', () => {
  it('keeps the samples of the last maxBlocks blocks', () => {
    const state = memoryDetectorState()('d');
    const w = rollingWindow<number>(state, 'k', { maxBlocks: 3 });
    for (let b = 1n; b <= 5n; b++) w.push(b, b * 12n, Number(b));
    expect(w.samples().map((s) => s.block)).toEqual([3, 4, 5]);
    expect(w.before(5n).map((s) => s.value)).toEqual([3, 4]);
    expect(w.first()?.value).toBe(3);
    expect(w.last()?.time).toBe(60);
  });

  it('replaces the samples of a block seen again and of every later one (reorg, replay)', () => {
    const state = memoryDetectorState()('d');
    const w = rollingWindow<number>(state, 'k', { maxBlocks: 100 });
    for (let b = 1n; b <= 5n; b++) w.push(b, b, Number(b));
    w.push(3n, 3n, 30);
    expect(w.samples().map((s) => [s.block, s.value])).toEqual([
      [1, 1],
      [2, 2],
      [3, 30],
    ]);
  });

  it('caps the count and lives in the state under its key (JSON-safe)', () => {
    const state = memoryDetectorState()('d');
    const w = rollingWindow<string>(state, 'k', { maxSamples: 2 });
    for (let b = 1n; b <= 4n; b++) w.push(b, b, (b * 10n ** 30n).toString());
    expect(JSON.parse(JSON.stringify(state.get('k')))).toEqual([
      { block: 3, time: 3, value: '3000000000000000000000000000000' },
      { block: 4, time: 4, value: '4000000000000000000000000000000' },
    ]);
  });
});

describe('window statistics', () => {
  it('computes log returns, realised volatility and standard deviation', () => {
    expect(logReturns([100, 110, 0, 121])).toEqual([Math.log(1.1), Math.log(1.1)]);
    expect(realisedVolatility([100, 90, 81])).toBeCloseTo(Math.sqrt(2) * Math.abs(Math.log(0.9)), 12);
    expect(stdev([1])).toBe(0);
    expect(stdev([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.138, 3);
  });

  it('computes change in bps and integer square roots exactly', () => {
    expect(changeBps(110n, 100n)).toBe(1000);
    expect(changeBps(1n, 0n)).toBe(Number.POSITIVE_INFINITY);
    for (const n of [0n, 1n, 2n, 3n, 4n, 99n, 100n, 10n ** 40n, 10n ** 40n - 1n, 2n ** 224n + 12345n]) {
      const r = sqrtBig(n);
      expect(r * r <= n && (r + 1n) * (r + 1n) > n).toBe(true);
    }
  });
});
