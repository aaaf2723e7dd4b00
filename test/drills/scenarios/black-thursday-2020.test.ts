// SCENARIOS.md §4, MakerDAO's Black Thursday, on the real Aave v3 and Uniswap v2 contracts: ETH
// halves in 24 blocks with the market's feed 4 blocks late, the main keeper is down and the other
// is slow, so ETH-backed DAI borrowers sink below their debt before they are liquidated. Nothing
// Firebreak can do on Aave today reduces that bad debt (score.expectedFailure says why): the drill
// must still lose in the counterfactual, and be scored honestly as an expected failure.
import { beforeAll, describe, expect, it } from 'vitest';
import { type DrillResult, runDrill } from '../../../src/drills/runner';
import { loadScenario } from '../../../src/drills/scenario';

describe('drill: Black Thursday crash with keeper failure (2020)', () => {
  let result: DrillResult;
  beforeAll(async () => {
    result = await runDrill(loadScenario('scenarios/black-thursday-2020.yaml'), { blockBudgetMs: 5_000 });
  }, 300_000);

  it('leaves bad debt when the keepers fail', () => {
    const cf = result.counterfactual;
    expect(cf.badDebtUsd).toBeGreaterThanOrEqual(result.scenario.score.minCounterfactualLossUsd);
    // The main keeper never ran; the slow one liquidated some positions, too late and too few.
    const main = cf.bots.find((b) => b.name === 'keeper-main')!;
    expect(main.txs).toBe(0);
    expect(cf.liquidations.length).toBeGreaterThan(0);
    for (const l of cf.liquidations) expect([l.collateral, l.debt]).toEqual(['WETH', 'DAI']);
    // ETH really halved.
    const low = Math.min(...cf.series.map((p) => p.prices.WETH!));
    expect(low).toBeLessThanOrEqual(100.0001);
  });

  it('is scored as an expected failure, with its reason, not as a pass', () => {
    expect(result.expectedFailure).toMatch(/does not liquidate/);
    expect(result.verdict).toBe('expected-fail');
    expect(result.reasons.some((r) => r.includes('exceeds 10%'))).toBe(true);
    // Nothing the engine did (if anything) reduced the loss materially.
    expect(result.protected.badDebtUsd).toBeGreaterThan(
      result.scenario.score.maxLossShare * result.counterfactual.badDebtUsd,
    );
  });
});
