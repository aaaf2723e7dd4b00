// A benign scenario the issue requires: an ordinary week of activity with normal volatility
// (compressed, see the scenario's header), background users, arbitrageurs and a liquidator.
// Firebreak must end it with no containing action.
import { beforeAll, describe, expect, it } from 'vitest';
import { type DrillResult, runDrill } from '../../../src/drills/runner';
import { loadScenario } from '../../../src/drills/scenario';

describe('drill: an ordinary week (benign)', () => {
  let result: DrillResult;
  beforeAll(async () => {
    result = await runDrill(loadScenario('scenarios/benign-ordinary-week.yaml'), { blockBudgetMs: 5_000 });
  }, 300_000);

  it('takes no containing action and passes', () => {
    expect(result.protected.actions).toEqual([]);
    expect(result.verdict).toBe('pass');
    expect(result.protected.usable).toEqual({ USDC: true, WETH: true, WBTC: true });
  });

  it('was an ordinary week: prices moved, users and arbitrageurs traded, nothing went bad', () => {
    const p = result.protected;
    const first = p.series[0]!.prices;
    const moves = p.series.map((s) => s.prices.WETH! / first.WETH!);
    expect(Math.max(...moves) - Math.min(...moves)).toBeGreaterThan(0.03);
    const crowd = p.bots.find((b) => b.name === 'crowd')!;
    expect(crowd.txs).toBeGreaterThan(20);
    expect(p.bots.find((b) => b.name === 'arb')!.txs).toBeGreaterThan(0);
    // The oracle never left the reference (a true move moves both).
    for (const s of p.series) expect(Math.abs(s.oraclePrices.WETH! / s.prices.WETH! - 1)).toBeLessThan(1e-6);
    expect(p.badDebtUsd).toBe(0);
    // A few healthy liquidations at most.
    expect(p.liquidations.length).toBeLessThanOrEqual(5);
  });
});
