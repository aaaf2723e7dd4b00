// SCENARIOS.md §3, the USDC depeg of March 2023, on the real Aave v3 (stablecoin e-mode, 1% bonus)
// and Uniswap v2 contracts: unprotected, protected by the default playbooks (freeze + LTV 0 at the
// first critical depeg), and — the choice §3 asks to score — protected by a pause of the reserve.
import { beforeAll, describe, expect, it } from 'vitest';
import { DRILL_EXECUTOR_ID } from '../../../src/drills/defaults';
import { type DrillResult, runDrill } from '../../../src/drills/runner';
import { loadScenario, parseScenario, type Scenario } from '../../../src/drills/scenario';
import { scenarioProblems } from '../../support/scenario';

const FILE = 'scenarios/usdc-depeg-2023.yaml';

describe('drill: USDC depeg (2023), freeze + LTV 0', () => {
  let result: DrillResult;
  beforeAll(async () => {
    result = await runDrill(loadScenario(FILE), { blockBudgetMs: 5_000 });
  }, 240_000);

  it('leaves realised bad debt when nobody responds: opportunists borrowed against cheap USDC', () => {
    const cf = result.counterfactual;
    expect(cf.badDebtUsd).toBeGreaterThanOrEqual(result.scenario.score.minCounterfactualLossUsd);
    for (const s of cf.steps.filter((x) => x.label === 'opportunists-borrow'))
      expect(s.status).toEqual(['success']);
    // The bad debt stays although USDC is back at $1.00 at the end: liquidations realised it.
    expect(cf.series.at(-1)!.prices.USDC).toBe(1);
    // Seized at the second dip ($0.86–0.87), when the opportunists' collateral no longer covered debt + 1%.
    const dip = cf.steps.find((x) => x.label === 'second-dip')!.block!;
    const seizedInDip = cf.liquidations.filter((l) => l.collateral === 'USDC' && l.block > Number(dip));
    expect(seizedInDip.length).toBeGreaterThan(0);
  });

  it('contains USDC at its first critical depeg, before the opportunists borrow, and passes', () => {
    const p = result.protected;
    expect(result.verdict).toBe('pass');
    expect(p.badDebtUsd).toBeLessThanOrEqual(0.1 * result.counterfactual.badDebtUsd);
    expect(p.mitigatedBeforeHarm).toBe(true);
    expect(p.actions.length).toBeGreaterThan(0);
    for (const a of p.actions)
      expect([a.action, a.asset, a.status]).toEqual(['aave-v3.contain-collateral', 'USDC', 'verified']);
    // The freeze came when USDC was ≥ 8% off its peg, not on the first wobble.
    const mined = Number(p.mitigatedBlock!);
    const at = p.series.find((s) => s.block === mined - 1)!;
    expect(at.prices.USDC).toBeLessThanOrEqual(0.92 + 1e-9);
    for (const s of p.steps.filter((x) => x.label === 'opportunists-supply'))
      expect(s.status.at(-1)).toBe('reverted');
  });

  it('lets the liquidations of existing positions run (what the Guardian chose)', () => {
    const p = result.protected;
    expect(p.liquidations.length).toBeGreaterThan(0);
    expect(p.liquidationPenaltiesUsd).toBeGreaterThan(0);
    expect(p.usable).toEqual({ USDT: true, WETH: true });
    // A frozen reserve still takes repayments.
    expect(p.steps.find((s) => s.label === 'repay-usdc')!.status).toEqual(['success', 'success']);
  });

  describe('the alternative: pause the USDC reserve (Gauntlet proposed pausing below $0.91)', () => {
    let paused: DrillResult;
    beforeAll(async () => {
      const scenario = parseScenario(
        { ...loadScenario(FILE), score: { ...loadScenario(FILE).score, mustAct: [], mustNotAct: [] } },
        FILE,
      );
      paused = await runDrill(scenario, {
        blockBudgetMs: 5_000,
        playbooks: [
          {
            id: 'pause-depegged-collateral',
            when: { detector: 'peg-watch', severity: 'critical', minConfidence: 0 },
            do: [{ action: 'aave-v3.pause-reserve', executor: DRILL_EXECUTOR_ID, autonomy: 'auto' }],
            cooldownBlocks: 50,
          },
        ],
      });
    }, 240_000);

    it('also stops the new exposure, and blocks every liquidation and USDC operation while it lasts', () => {
      const p = paused.protected;
      expect(p.actions.map((a) => [a.action, a.asset, a.status])).toEqual([
        ['aave-v3.pause-reserve', 'USDC', 'verified'],
      ]);
      expect(p.badDebtUsd).toBeLessThanOrEqual(0.1 * paused.counterfactual.badDebtUsd);
      // Liquidations after the pause: none (a paused collateral cannot be seized) ...
      const pausedAt = Number(p.mitigatedBlock!);
      expect(p.liquidations.filter((l) => l.block >= pausedAt)).toEqual([]);
      // ... where the freeze let them run.
      const frozenAt = Number(result.protected.mitigatedBlock!);
      expect(result.protected.liquidations.filter((l) => l.block >= frozenAt).length).toBeGreaterThan(0);
      // A paused reserve takes no repayment either: the USDC debtor cannot repay while USDC is cheap.
      expect(p.steps.find((s) => s.label === 'repay-usdc')!.status).toEqual(['success', 'reverted']);
      // Scored against the same counterfactual: both choices keep the bad debt away in this run,
      // where USDC recovered; the pause's saving on liquidation penalties is the bet that it would.
      expect(p.liquidationPenaltiesUsd).toBeLessThan(result.protected.liquidationPenaltiesUsd);
    });
  });
});

describe('scenario e-mode categories (market.emodes, accounts[].emode)', () => {
  const base = (): Scenario => structuredClone(loadScenario(FILE));
  const problems = scenarioProblems;

  it('accepts the depeg scenario and refuses an unknown category, a shared member and a threshold Aave would refuse', () => {
    expect(problems(base())).toBe('');
    const unknown = base();
    unknown.accounts[2]!.emode = 'Stables';
    expect(problems(unknown)).toMatch(/accounts\[2\]\.emode: unknown e-mode "Stables"[\s\S]*Stablecoins/);
    const twice = base();
    twice.market.emodes.push({ ...twice.market.emodes[0]!, label: 'Other', assets: ['USDC'] });
    expect(problems(twice)).toMatch(/USDC is already in e-mode "Stablecoins"/);
    const low = base();
    low.market.emodes[0]!.liquidationThresholdBps = 8400;
    low.market.emodes[0]!.ltvBps = 8000;
    expect(problems(low)).toMatch(/must exceed USDC's own liquidation threshold \(8500 bps\)/);
    const bonus = base();
    bonus.market.emodes[0]!.liquidationBonusBps = 10600;
    expect(problems(bonus)).toMatch(/threshold × bonus exceeds 100%/);
  });
});
