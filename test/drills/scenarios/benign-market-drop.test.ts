// The benign "sharp but honest 25 % drop" (issue 8): ETH falls 25 % in 12 blocks on every market at
// once, a working liquidator clears the positions it pushes under 1 with no bad debt, and Firebreak
// must take no containing action.
import { beforeAll, describe, expect, it } from 'vitest';
import { type DrillResult, runDrill } from '../../../src/drills/runner';
import { loadScenario } from '../../../src/drills/scenario';

describe('drill: a sharp but honest 25% market drop (benign)', () => {
  let result: DrillResult;
  beforeAll(async () => {
    result = await runDrill(loadScenario('scenarios/benign-market-drop.yaml'), { blockBudgetMs: 5_000 });
  }, 240_000);

  it('liquidates the positions the drop pushes under 1, with no bad debt', () => {
    for (const run of [result.counterfactual, result.protected]) {
      const low = Math.min(...run.series.map((p) => p.prices.WETH!));
      expect(low).toBeCloseTo(2250, 0);
      expect(run.liquidations.length).toBeGreaterThan(0);
      for (const l of run.liquidations) expect([l.collateral, l.debt]).toEqual(['WETH', 'USDC']);
      // A liquidation may lose a race now and then; the liquidator's work mostly lands.
      const liquidator = run.bots.find((b) => b.name === 'liquidator')!;
      expect(liquidator.reverted).toBeLessThan(liquidator.txs / 2);
      expect(run.badDebtUsd).toBe(0);
      expect(run.assetsTakenUsd).toBe(0);
    }
  });

  it('takes no containing action and leaves both reserves working', () => {
    const p = result.protected;
    expect(p.actions.filter((a) => a.status !== 'refused')).toEqual([]);
    expect(result.verdict).toBe('pass');
    expect(result.reasons).toEqual([]);
    expect(p.usable).toEqual({ USDC: true, WETH: true });
  });
});
