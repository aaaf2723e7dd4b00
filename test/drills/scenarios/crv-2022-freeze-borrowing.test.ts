// The CRV short squeeze (SCENARIOS.md §2) answered with the other lever the scenario names:
// disabling borrowing of CRV (`aave-v3.freeze-borrowing`, PoolConfigurator.setReserveBorrowing
// false) instead of the default playbook's borrow cap. The action is sent by the guardian on the
// real Aave v3 market, verified by reading the reserve back, and wins the drill the same way.
import { beforeAll, describe, expect, it } from 'vitest';
import type { PlaybookConfig } from '../../../src/config/schema';
import { DRILL_EXECUTOR_ID } from '../../../src/drills/defaults';
import { type DrillResult, runDrill } from '../../../src/drills/runner';
import { loadScenario } from '../../../src/drills/scenario';

const playbooks: PlaybookConfig[] = [
  {
    id: 'stop-crv-borrowing',
    when: { detector: 'debt-concentration', severity: 'critical', minConfidence: 0 },
    do: [{ action: 'aave-v3.freeze-borrowing', executor: DRILL_EXECUTOR_ID, autonomy: 'auto' }],
    cooldownBlocks: 50,
  },
];

describe('drill: CRV short squeeze, answered by disabling CRV borrowing', () => {
  let result: DrillResult;
  beforeAll(async () => {
    const scenario = loadScenario('scenarios/crv-2022.yaml');
    scenario.score.mustAct = ['aave-v3.freeze-borrowing'];
    result = await runDrill(scenario, { blockBudgetMs: 5_000, playbooks });
  }, 240_000);

  it('disables CRV borrowing during the build-up, verified on-chain, and passes', () => {
    const p = result.protected;
    expect(p.actions.map((a) => [a.action, a.asset, a.status])).toEqual([
      ['aave-v3.freeze-borrowing', 'CRV', 'verified'],
    ]);
    const squeeze = p.steps.find((s) => s.label === 'squeeze')!.block!;
    expect(p.mitigatedBlock!).toBeLessThan(squeeze);
    expect(p.steps.filter((s) => s.label === 'build-up').at(-1)!.status).toEqual(['reverted']);
    expect(result.counterfactual.badDebtUsd).toBeGreaterThanOrEqual(
      result.scenario.score.minCounterfactualLossUsd,
    );
    expect(result.verdict).toBe('pass');
    expect(result.reasons).toEqual([]);
  });
});
