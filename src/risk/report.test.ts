import { describe, expect, it } from 'vitest';
import { analyseSnapshot, type RiskAnalysis } from '../engine/risk';
import { healthFactors } from './health';
import { hfBuckets, niceStep, renderRiskReport, riskToJson, usd, usdShort, xml } from './report';
import { snapshotFrom, syntheticAssets, syntheticSnapshot } from './synthetic';
import type { PositionSnapshot } from './types';

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

const analyse = (snapshot: PositionSnapshot): Promise<RiskAnalysis> =>
  analyseSnapshot(snapshot, {
    scenario: { name: 'synthetic', title: 'Synthetic market & friends', seed: 3 },
    at: 'deploy',
    timestamp: 1_700_000_000n,
    book: { logs: 0, blocks: 0, parityChecked: 0, parityMismatches: 0 },
    referencePrices: snapshot.assets.map((x) => x.priceUsd),
    pools: [
      {
        id: 'CRV-USDC',
        tokens: ['CRV', 'USDC'],
        pool: { asset: 5, reserveAsset: 4_000_000, reserveQuote: 2_000_000 },
      },
    ],
    options: { paths: 200, steps: 8, workers: 0, shockBps: 2500, shockAssets: ['WETH'] },
  });

describe('renderRiskReport', () => {
  it('writes a page whose figures are the analysis figures, and links every chart it makes', async () => {
    const s = syntheticSnapshot(2_000, 11);
    const r = await analyse(s);
    const { markdown, svgs } = renderRiskReport(r, { svgPrefix: 'rep' });
    // Total debt, computed here straight from the matrices.
    const a = s.assets.length;
    let debt = 0;
    for (let k = 0; k < s.debt.length; k++) debt += s.debt[k]! * s.assets[k % a]!.priceUsd;
    expect(markdown).toContain(`| total debt | ${usd(debt)} |`);
    expect(markdown).toContain(usd(r.cascade.result.badDebtUsd));
    expect(markdown).toContain(`| VaR | ${usd(r.monteCarlo.valueAtRiskUsd)} |`);
    for (const t of r.sensitivity.thresholds) expect(markdown).toContain(usd(t.badDebtAtHorizonUsd));
    // Every link has its SVG and every SVG is linked.
    const links = [...markdown.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
    expect(new Set(links)).toEqual(new Set(Object.keys(svgs)));
    expect(Object.keys(svgs)).toEqual(
      expect.arrayContaining([
        'rep-hf-histogram.svg',
        'rep-cascade.svg',
        'rep-contagion.svg',
        'rep-lar-WETH.svg',
      ]),
    );
    for (const [name, svg] of Object.entries(svgs)) {
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), name).toBe(true);
      expect(balanced(svg), name).toBe(true);
    }
    expect(markdown).toContain('Synthetic market & friends');
  });

  it('counts every account once in the health-factor histogram, as the fast path computes them', async () => {
    const s = syntheticSnapshot(1_500, 5);
    const hf = healthFactors(s);
    const buckets = hfBuckets(hf, () => 0);
    expect(buckets.reduce((n, b) => n + b.accounts, 0)).toBe(s.accounts.length);
    expect(buckets[0]!.accounts).toBe(Array.from(hf).filter((h) => h < 1).length);
    expect(buckets.at(-1)!.accounts).toBe(Array.from(hf).filter((h) => !Number.isFinite(h)).length);
    const r = await analyse(s);
    const { svgs } = renderRiskReport(r, { svgPrefix: 'x' });
    // Each bucket's count is printed over its bar.
    for (const b of buckets) expect(svgs['x-hf-histogram.svg']).toContain(`>${b.accounts}</text>`);
    expect(r.now.liquidatableAccounts).toBe(buckets[0]!.accounts);
  });

  it('draws one bar per cascade round and one chart per asset with something at risk', async () => {
    const assets = syntheticAssets();
    // Only WETH-backed USDC debt: nothing at risk when USDC, DAI, WBTC, wstETH or CRV move alone.
    const s = snapshotFrom(assets, [
      { collateral: [10], debt: [0, 0, 0, 20_000] },
      { collateral: [5], debt: [0, 0, 0, 11_000] },
      { collateral: [0, 0, 0, 0, 30_000], eMode: 0 },
    ]);
    const r = await analyse(s);
    const { markdown, svgs } = renderRiskReport(r, { svgPrefix: 'p' });
    const larCharts = Object.keys(svgs).filter((n) => n.startsWith('p-lar-'));
    expect(larCharts).toEqual(['p-lar-WETH.svg']);
    expect(markdown).toMatch(/No liquidation and no bad debt at any price of: wstETH, WBTC, USDC, DAI, CRV/);
    const bars = (svgs['p-cascade.svg']!.match(/<rect [^>]*fill="#d9822b"/g) ?? []).length;
    expect(bars).toBe(r.cascade.result.rounds.length);
    expect(r.cascade.result.rounds.length).toBeGreaterThan(0);
  });

  it('makes JSON-safe figures', async () => {
    const r = await analyse(syntheticSnapshot(300, 2));
    const json = JSON.parse(JSON.stringify(riskToJson(r)));
    expect(json.blockNumber).toBe('0');
    expect(json.lar).toHaveLength(6);
    expect(json.cascade.badDebtUsd).toBe(r.cascade.result.badDebtUsd);
  });
});

describe('formatting', () => {
  it('rounds axis steps up to 1, 2, 2.5 or 5 × 10^k', () => {
    for (const max of [0.3, 7, 42, 999, 12_345, 4.6e6, 8e9]) {
      const step = niceStep(max);
      expect(step * 5).toBeGreaterThanOrEqual(max);
      const mantissa = step / 10 ** Math.floor(Math.log10(step));
      expect([1, 2, 2.5, 5]).toContain(Math.round(mantissa * 10) / 10);
    }
  });

  it('escapes markup and shortens dollars', () => {
    expect(xml('a<b & "c">')).toBe('a&lt;b &amp; &quot;c&quot;&gt;');
    expect(usdShort(4_610_417)).toBe('$4.61M');
    expect(usdShort(358_110)).toBe('$358k');
    expect(usd(-1234.4)).toBe('−$1,234');
  });
});
