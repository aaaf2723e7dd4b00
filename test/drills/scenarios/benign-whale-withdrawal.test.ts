/**
 * The benign whale withdrawal (issue 8): a supplier holding 20% of the USDC reserve withdraws all
 * of it, interest included, in one transaction, in an ordinary market (prices on a random walk,
 * arbitrageur, liquidator, background users). Firebreak's default detectors and playbooks must not
 * contain anything.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type DrillResult, runDrill } from '../../../src/drills/runner';
import { loadScenario } from '../../../src/drills/scenario';

const scenario = loadScenario('scenarios/benign-whale-withdrawal.yaml');

describe('drill: a whale withdraws 20% of a reserve (benign)', () => {
  let result: DrillResult;
  beforeAll(async () => {
    result = await runDrill(scenario, { blockBudgetMs: 12_000 });
  }, 180_000);

  it('is a fifth of the reserve, withdrawn whole in one transaction', () => {
    const usdc = scenario.accounts.map((a) => a.supplies.USDC ?? 0);
    const whale = scenario.accounts.find((a) => a.name === 'usdc-whale')!.supplies.USDC!;
    expect(whale / usdc.reduce((a, b) => a + b, 0)).toBeCloseTo(0.2, 6);
    for (const run of [result.counterfactual, result.protected]) {
      const step = run.steps.find((s) => s.label === 'whale-withdrawal')!;
      expect(step.txs).toHaveLength(1);
      expect(step.status).toEqual(['success']);
    }
  });

  it('takes no containing action, and every reserve still works', () => {
    const p = result.protected;
    expect(p.actions).toEqual([]);
    expect(p.usable).toEqual({ USDC: true, WETH: true });
    expect(result.reasons).toEqual([]);
    expect(result.verdict).toBe('pass');
  });

  it('raises nothing at all on the withdrawal block', () => {
    const p = result.protected;
    const block = p.steps.find((s) => s.label === 'whale-withdrawal')!.block!;
    expect(p.timeline.filter((e) => e.type === 'finding' && e.block === block)).toEqual([]);
  });

  it('is an ordinary market: the bots act and nobody loses', () => {
    for (const bot of result.protected.bots.filter((b) => b.kind !== 'liquidator'))
      expect(bot.txs).toBeGreaterThan(0);
    expect(result.counterfactual.badDebtUsd).toBe(0);
    expect(result.protected.scoredLossUsd).toBe(0);
  });
});
