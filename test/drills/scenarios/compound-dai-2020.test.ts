// SCENARIOS.md §5, Compound's DAI feed at $1.23 in November 2020, on the real Aave v3 and
// Uniswap v2 contracts: the market's own DAI feed jumps alone while ETH falls 8%, and liquidator
// bots liquidate DAI-debt positions against the inflated price unless the DAI reserve is paused
// in the block the bad price appears.
import { beforeAll, describe, expect, it } from 'vitest';
import { type DrillResult, runDrill } from '../../../src/drills/runner';
import { loadScenario } from '../../../src/drills/scenario';

describe('drill: Compound DAI feed spike (2020)', () => {
  let result: DrillResult;
  beforeAll(async () => {
    result = await runDrill(loadScenario('scenarios/compound-dai-2020.yaml'), { blockBudgetMs: 5_000 });
  }, 240_000);

  it('liquidates DAI borrowers at the inflated price when nobody responds: penalties, no bad debt', () => {
    const cf = result.counterfactual;
    expect(cf.liquidationPenaltiesUsd).toBeGreaterThanOrEqual(result.scenario.score.minCounterfactualLossUsd);
    expect(cf.badDebtUsd).toBe(0);
    expect(new Set(cf.liquidations.map((l) => l.user)).size).toBeGreaterThanOrEqual(3);
    for (const l of cf.liquidations) expect([l.collateral, l.debt]).toEqual(['WETH', 'DAI']);
    // The feed did it, not the ETH fall: nobody was liquidatable before the spike.
    const spike = Number(cf.steps.find((s) => s.label === 'spike')!.block!);
    expect(Math.min(...cf.liquidations.map((l) => l.block))).toBeGreaterThan(spike);
    // Users paid more than the 8% incentive on what was repaid: the debt itself was overpriced.
    const repaid = cf.liquidations.reduce((s, l) => s + l.debtRepaidUsd, 0);
    expect(cf.liquidationPenaltiesUsd / repaid).toBeGreaterThan(0.08);
  });

  it('pauses DAI in the block the feed jumps, so no liquidation lands, and passes', () => {
    const p = result.protected;
    expect(result.verdict).toBe('pass');
    expect(p.actions.map((a) => [a.action, a.asset, a.status])).toEqual([
      ['aave-v3.pause-reserve', 'DAI', 'verified'],
    ]);
    const spike = p.steps.find((s) => s.label === 'spike')!.block!;
    expect(p.detectedBlock).toBe(spike);
    expect(p.mitigatedBlock).toBe(spike + 1n);
    expect(p.liquidations).toEqual([]);
    expect(p.liquidationPenaltiesUsd).toBe(0);
    // The liquidator tried (its transactions reverted behind the pause): the race was real.
    const liquidator = p.bots.find((b) => b.name === 'liquidator')!;
    expect(liquidator.reverted).toBeGreaterThan(0);
  });

  it('leaves the other reserves working', () => {
    expect(result.protected.usable).toEqual({ USDC: true });
  });
});
