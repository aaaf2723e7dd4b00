import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { usd } from '../risk/report';
import {
  blockScale,
  CHART,
  type DrillChartInput,
  drillChartSvg,
  keyAssets,
  lossBars,
  type PricePoint,
  priceScale,
  relativeSeries,
} from './chart';

/** Tags open and close in order (a small well-formedness check: no XML parser among the deps). */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w-]*)[^>]*?(\/?)>/g)) {
    const [, close, tag, self] = m;
    if (self === '/') continue;
    if (close === '/') {
      if (stack.pop() !== tag) return false;
    } else stack.push(tag!);
  }
  return stack.length === 0;
}

const points = (svg: string) =>
  [...svg.matchAll(/<polyline points="([^"]+)"/g)].map((m) =>
    m[1]!.split(' ').map((p) => p.split(',').map(Number) as [number, number]),
  );

/** An Inverse-Finance-shaped run: INV's oracle jumps 50× at block 106 while its true price holds. */
function manipulated(): PricePoint[] {
  return Array.from({ length: 10 }, (_, k) => {
    const block = 101 + k;
    return {
      block,
      prices: { USDC: 1, WETH: 3450, INV: 367 },
      oraclePrices: { USDC: 1, WETH: 3450, INV: block >= 106 ? 367 * 50 : 367 },
    };
  });
}

const input = (over: Partial<DrillChartInput> = {}): DrillChartInput => ({
  title: 'Thin-AMM <oracle> manipulation & co',
  startBlock: 100,
  endBlock: 110,
  series: manipulated(),
  markers: [
    { block: 101, kind: 'attack', label: 'open-window' },
    { block: 101, kind: 'attack', label: 'manipulate' },
    { block: 106, kind: 'detected', label: 'detected' },
    { block: 107, kind: 'mitigated', label: 'mitigated' },
  ],
  losses: { unprotectedUsd: 4_470_000, protectedUsd: 1_117_500 },
  ...over,
});

describe('keyAssets', () => {
  it('keeps the assets whose prices moved, the largest move first', () => {
    const series = manipulated().map((p, k) => ({
      ...p,
      prices: { ...p.prices, WETH: 3450 * (1 + k / 100) },
      oraclePrices: { ...p.oraclePrices, WETH: 3450 * (1 + k / 100) },
    }));
    expect(keyAssets(series)).toEqual(['INV', 'WETH']);
    expect(keyAssets(series, 1)).toEqual(['INV']);
  });

  it('falls back to the first asset when nothing moved, and to none without a series', () => {
    const flat = manipulated().map((p) => ({ ...p, oraclePrices: p.prices }));
    expect(keyAssets(flat)).toEqual(['USDC']);
    expect(keyAssets([])).toEqual([]);
  });
});

describe('relativeSeries', () => {
  it("divides both lines by the asset's first true price", () => {
    const r = relativeSeries(manipulated(), 'INV');
    expect(r.reference.every((p) => p.r === 1)).toBe(true);
    expect(r.oracle.find((p) => p.block === 105)!.r).toBe(1);
    expect(r.oracle.find((p) => p.block === 106)!.r).toBeCloseTo(50, 9);
  });
});

describe('priceScale', () => {
  it('is logarithmic over a wide range and linear over a narrow one, and always shows 1×', () => {
    const wide = priceScale([1, 56], 0, 100);
    expect(wide.log).toBe(true);
    expect(wide.lo).toBeLessThanOrEqual(1);
    expect(wide.hi).toBeGreaterThanOrEqual(56);
    // Log scale: equal ratios are equal distances.
    expect(wide(1) - wide(10)).toBeCloseTo(wide(2) - wide(20), 9);
    const narrow = priceScale([0.98, 1.01], 0, 100);
    expect(narrow.log).toBe(false);
    expect(narrow(1) - narrow(1.01)).toBeCloseTo(narrow(0.99) - narrow(1), 9);
    for (const s of [wide, narrow]) {
      expect(s.ticks.length).toBeGreaterThan(1);
      for (const t of s.ticks) expect(t >= s.lo - 1e-9 && t <= s.hi + 1e-9).toBe(true);
    }
  });

  it('maps every value into the panel and keeps their order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 1e-4, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 30 }),
        (values) => {
          const y = priceScale(values, 10, 210);
          const sorted = [...values].sort((a, b) => a - b);
          let previous = Number.POSITIVE_INFINITY;
          for (const v of sorted) {
            const p = y(v);
            expect(p).toBeGreaterThanOrEqual(10 - 1e-9);
            expect(p).toBeLessThanOrEqual(210 + 1e-9);
            expect(p).toBeLessThanOrEqual(previous + 1e-9);
            previous = p;
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('drillChartSvg', () => {
  it('draws the true and oracle lines of the moved asset, the markers where the blocks are, and both losses', () => {
    const chart = input();
    const svg = drillChartSvg(chart);
    expect(balanced(svg)).toBe(true);
    expect(svg).toContain('Thin-AMM &lt;oracle&gt; manipulation &amp; co');
    // INV moved, USDC and WETH did not: one true line and one oracle line.
    expect(points(svg)).toHaveLength(2);
    expect(svg).toContain('INV true (reference) price');
    expect(svg).toContain('INV oracle price');
    expect(svg).not.toContain('WETH oracle price');
    const x = blockScale(chart);
    for (const kind of ['attack', 'detected', 'mitigated'] as const) {
      const m = chart.markers.find((k) => k.kind === kind)!;
      const line = new RegExp(`class="marker-${kind}" x1="${x(m.block).toFixed(1)}"`);
      expect(svg).toMatch(line);
    }
    // Two attacker steps in one block: one marker, both labels.
    expect(svg.match(/class="marker-attack"/g)).toHaveLength(1);
    expect(svg).toContain('attacker: open-window, manipulate');
    // Loss bars: the unprotected loss fills the panel, the protected one a quarter of it.
    const bars = lossBars(chart.losses);
    expect(bars.unprotected).toBeCloseTo(CHART.bars.right - CHART.bars.left, 9);
    expect(bars.protected / bars.unprotected).toBeCloseTo(0.25, 9);
    expect(svg).toMatch(new RegExp(`class="loss-protected"[^>]*width="${bars.protected.toFixed(1)}"`));
    expect(svg).toContain(usd(4_470_000));
    expect(svg).toContain(usd(1_117_500));
  });

  it('says so when a run has no price series, and draws empty bars for no loss', () => {
    const svg = drillChartSvg(input({ series: [], losses: { unprotectedUsd: 0, protectedUsd: 0 } }));
    expect(balanced(svg)).toBe(true);
    expect(svg).toContain('no price series recorded');
    expect(points(svg)).toHaveLength(0);
    expect(lossBars({ unprotectedUsd: 0, protectedUsd: 0 })).toEqual({ unprotected: 0, protected: 0 });
  });

  it('keeps every point of every line inside the price panel (property)', () => {
    const price = fc.double({ min: 1e-3, max: 1e6, noNaN: true });
    fc.assert(
      fc.property(
        fc.array(fc.record({ a: price, b: price, oa: price, ob: price }), { minLength: 1, maxLength: 40 }),
        (rows) => {
          const series = rows.map((r, k) => ({
            block: 1_000 + k,
            prices: { A: r.a, B: r.b },
            oraclePrices: { A: r.oa, B: r.ob },
          }));
          const svg = drillChartSvg(input({ series, startBlock: 999, endBlock: 999 + rows.length }));
          const P = CHART.plot;
          for (const line of points(svg))
            for (const [px, py] of line) {
              expect(px).toBeGreaterThanOrEqual(P.left - 0.05);
              expect(px).toBeLessThanOrEqual(P.right + 0.05);
              expect(py).toBeGreaterThanOrEqual(P.top - 0.05);
              expect(py).toBeLessThanOrEqual(P.bottom + 0.05);
            }
        },
      ),
      { numRuns: 100 },
    );
  });
});
