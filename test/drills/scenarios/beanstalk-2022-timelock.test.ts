// SCENARIOS.md §7, Beanstalk's attack against a governor whose proposals go through an
// OpenZeppelin TimelockController with a 60 s delay, in which the guardian holds CANCELLER_ROLE:
// governance-watch decodes the queued treasury transfers and the guardian cancels them before the
// attacker can execute.
import { beforeAll, describe, expect, it } from 'vitest';
import { type DrillResult, runDrill } from '../../../src/drills/runner';
import { loadScenario, type Scenario } from '../../../src/drills/scenario';

const treasuryUsd = (s: Scenario) =>
  Object.entries(s.market.governance!.treasury).reduce(
    (sum, [symbol, n]) => sum + n * s.market.assets.find((a) => a.symbol === symbol)!.priceUsd,
    0,
  );

describe('drill: Beanstalk flash-loan governance through a short timelock', () => {
  let result: DrillResult;
  beforeAll(async () => {
    result = await runDrill(loadScenario('scenarios/beanstalk-2022-timelock.yaml'), { blockBudgetMs: 5_000 });
  }, 240_000);

  it('takes the whole treasury once the delay has passed when nobody responds', () => {
    const cf = result.counterfactual;
    expect(cf.steps.map((s) => [s.label, s.status])).toEqual([
      ['flash-vote', ['success']],
      ['execute', ['success']],
    ]);
    expect(cf.scoredLossUsd).toBeGreaterThanOrEqual(result.scenario.score.minCounterfactualLossUsd);
    expect(cf.scoredLossUsd).toBeCloseTo(treasuryUsd(result.scenario), 0);
  });

  it('cancels the queued proposal in the next block, so the execution reverts, and passes', () => {
    const p = result.protected;
    expect(result.verdict).toBe('pass');
    const vote = p.steps.find((s) => s.label === 'flash-vote')!;
    const execute = p.steps.find((s) => s.label === 'execute')!;
    expect(vote.status).toEqual(['success']);
    expect(execute.status).toEqual(['reverted']);
    expect(p.actions.map((a) => [a.action, a.status])).toEqual([['timelock.cancel', 'verified']]);
    expect(p.detectedBlock).toBe(vote.block);
    expect(p.mitigatedBlock).toBe(vote.block! + 1n);
    expect(p.scoredLossUsd).toBe(0);
    const summaries = p.timeline.map((e) => e.summary);
    expect(
      summaries.some((s) =>
        /CRITICAL governance-watch: funds call queued in timelock .* executable in 60 s/.test(s),
      ),
    ).toBe(true);
    expect(summaries.some((s) => /queued funds call cancelled/.test(s))).toBe(true);
  });
});
