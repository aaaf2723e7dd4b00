import { describe, expect, it } from 'vitest';
import { pollHeads } from './heads';

describe('pollHeads', () => {
  it('says "look now" every interval', async () => {
    const heads = pollHeads(20);
    expect(heads.mode).toBe('poll');
    const t0 = performance.now();
    expect(await heads.next(1_000)).toBe('head');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
    expect(performance.now() - t0).toBeLessThan(1_500);
    heads.close();
  });

  it('times out when the caller waits less than the interval', async () => {
    const heads = pollHeads(10_000);
    expect(await heads.next(10)).toBe('timeout');
    heads.close();
  });

  it('ends a pending wait and every later one with "closed"', async () => {
    const heads = pollHeads(10_000);
    const waiting = heads.next(10_000);
    heads.close();
    expect(await waiting).toBe('closed');
    expect(await heads.next(10_000)).toBe('closed');
  });

  it('closes when the shutdown signal aborts', async () => {
    const controller = new AbortController();
    const heads = pollHeads(10_000, { signal: controller.signal });
    const waiting = heads.next(10_000);
    controller.abort();
    expect(await waiting).toBe('closed');
  });
});
