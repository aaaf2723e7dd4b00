import { describe, expect, it } from 'vitest';
import { type ContagionGraph, propagateContagion } from './contagion';

// stETH is collateral in market A; stETH/ETH LP tokens are collateral in market B; market A's
// receipt (aWETH) is collateral in market C; protocol Curve runs the pool and issues CRV, which is
// collateral in market C too. Market D holds only USDC.
const graph: ContagionGraph = {
  assets: [{ id: 'stETH' }, { id: 'ETH' }, { id: 'USDC' }, { id: 'LP' }, { id: 'aWETH' }, { id: 'CRV' }],
  markets: [
    {
      id: 'A',
      collateral: [{ asset: 'stETH', amountUsd: 1000 }],
      debtUsd: 800,
      suppliedUsd: 1000,
      receiptToken: 'aWETH',
    },
    { id: 'B', collateral: [{ asset: 'LP', amountUsd: 500 }], debtUsd: 300, suppliedUsd: 400 },
    {
      id: 'C',
      collateral: [
        { asset: 'aWETH', amountUsd: 200 },
        { asset: 'CRV', amountUsd: 100 },
      ],
      debtUsd: 250,
      suppliedUsd: 300,
    },
    { id: 'D', collateral: [{ asset: 'USDC', amountUsd: 100 }], debtUsd: 50, suppliedUsd: 100 },
  ],
  pools: [
    {
      id: 'curve-steth',
      reserves: [
        { asset: 'stETH', amountUsd: 600 },
        { asset: 'ETH', amountUsd: 600 },
      ],
      lpToken: 'LP',
    },
  ],
  protocols: [{ id: 'Curve', issues: ['CRV'], operates: ['curve-steth'] }],
};

describe('contagion', () => {
  it('carries a depeg through shared collateral, LP tokens and receipts, by hand', () => {
    const r = propagateContagion(graph, [{ kind: 'asset', id: 'stETH', loss: 0.5 }]);
    // Market A: $1000 of stETH now $500 against $800 of debt: $300 bad debt, 30 % of deposits.
    const a = r.markets.find((m) => m.id === 'A')!;
    expect(a.collateralLossUsd).toBeCloseTo(500, 9);
    expect(a.badDebtUsd).toBeCloseTo(300, 9);
    expect(r.assetLoss.aWETH).toBeCloseTo(0.3, 12);
    // The 50/50 pool after arbitrage keeps √(0.5 · 1) of its value: LP −29.3 %.
    expect(r.assetLoss.LP).toBeCloseTo(1 - Math.sqrt(0.5), 12);
    // Market B: $500 of LP keeps $353.6 ≥ $300 of debt: exposed, no bad debt.
    const b = r.markets.find((m) => m.id === 'B')!;
    expect(b.collateralLossUsd).toBeCloseTo(500 * (1 - Math.sqrt(0.5)), 9);
    expect(b.badDebtUsd).toBe(0);
    // Market C: aWETH −30 % → $140 + $100 CRV = $240 < $250: $10 bad debt, via A.
    const c = r.markets.find((m) => m.id === 'C')!;
    expect(c.badDebtUsd).toBeCloseTo(10, 9);
    expect(c.path).toEqual(['stETH', 'A', 'aWETH', 'C']);
    expect(r.markets.some((m) => m.id === 'D')).toBe(false);
    expect(r.edges.map((e) => `${e.from}→${e.to}:${e.kind}`).sort()).toEqual(
      [
        'stETH→A:collateral',
        'stETH→curve-steth:reserve',
        'curve-steth→LP:lp-token',
        'LP→B:collateral',
        'A→aWETH:receipt',
        'aWETH→C:collateral',
      ].sort(),
    );
  });

  it('fails a protocol: its token and the pool it runs lose value', () => {
    const r = propagateContagion(graph, [{ kind: 'protocol', id: 'Curve', loss: 0.9 }]);
    expect(r.assetLoss.CRV).toBeCloseTo(0.9, 12);
    expect(r.assetLoss.LP).toBeCloseTo(0.9, 12);
    // Market C: aWETH untouched ($200) + CRV $10 = $210 < $250.
    expect(r.markets.find((m) => m.id === 'C')!.badDebtUsd).toBeCloseTo(40, 9);
    expect(r.markets.find((m) => m.id === 'B')!.badDebtUsd).toBeCloseTo(250, 9);
    expect(r.edges.some((e) => e.from === 'Curve' && e.to === 'CRV' && e.kind === 'issues')).toBe(true);
  });

  it('rejects a graph that names what it does not define', () => {
    const broken = {
      ...graph,
      markets: [{ id: 'X', collateral: [{ asset: 'nope', amountUsd: 1 }], debtUsd: 0, suppliedUsd: 0 }],
    };
    expect(() => propagateContagion(broken, [])).toThrow(/asset "nope"/);
    expect(() => propagateContagion(graph, [{ kind: 'asset', id: 'ETH', loss: 1.5 }])).toThrow(/\(0, 1\]/);
  });
});
