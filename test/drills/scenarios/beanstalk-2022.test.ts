// SCENARIOS.md §7, Beanstalk in April 2022, as it happened: flash-borrowed stake votes a day-old
// proposal through `emergencyCommit`, which executes it in the same transaction. Nothing is queued
// for a guardian to cancel, so Firebreak is expected to fail: the scenario says why, and the drill
// must score it honestly (a real loss in both runs, verdict expected-fail, not pass).
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDataFile } from '../../../src/config/load';
import { type DrillResult, runDrill } from '../../../src/drills/runner';
import { loadScenario, parseScenario, type Scenario } from '../../../src/drills/scenario';

const FILE = 'scenarios/beanstalk-2022.yaml';

const treasuryUsd = (s: Scenario) =>
  Object.entries(s.market.governance!.treasury).reduce(
    (sum, [symbol, n]) => sum + n * s.market.assets.find((a) => a.symbol === symbol)!.priceUsd,
    0,
  );

describe('drill: Beanstalk flash-loan governance, same-transaction execution (2022)', () => {
  let result: DrillResult;
  beforeAll(async () => {
    result = await runDrill(loadScenario(FILE), { blockBudgetMs: 5_000 });
  }, 240_000);

  it('takes the whole treasury in one transaction when nobody responds', () => {
    const cf = result.counterfactual;
    expect(cf.steps.map((s) => [s.label, s.status])).toEqual([['flash-vote', ['success']]]);
    expect(cf.scoredLossUsd).toBeGreaterThanOrEqual(result.scenario.score.minCounterfactualLossUsd);
    expect(cf.scoredLossUsd).toBeCloseTo(treasuryUsd(result.scenario), 0);
    expect(cf.attackerProfitUsd).toBeGreaterThan(0.99 * cf.scoredLossUsd);
  });

  it('is scored expected-fail: the same loss protected, nothing to act on, the reason stated', () => {
    const p = result.protected;
    expect(p.scoredLossUsd).toBeCloseTo(result.counterfactual.scoredLossUsd, 0);
    expect(p.actions).toEqual([]);
    expect(result.verdict).toBe('expected-fail');
    expect(result.expectedFailure).toMatch(/inside one transaction/);
    expect(result.reasons.join('\n')).toMatch(/exceeds 10% of the unprotected/);
  });
});

describe('beanstalk scenario checks', () => {
  // biome-ignore lint/suspicious/noExplicitAny: the raw scenario file, edited into bad shapes
  const load = () => readDataFile(resolve(FILE), 'scenario').data as Record<string, any>;
  const problemsOf = (data: unknown) => {
    try {
      parseScenario(data, 'test.yaml');
      return '';
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('names an unknown stake token, treasury asset and proposer', () => {
    const data = load();
    data.market.governance.stakeToken = 'STALK';
    data.market.governance.treasury.LUSD = 5;
    data.market.governance.proposer = 'nobody';
    const message = problemsOf(data);
    expect(message).toMatch(/unknown asset "STALK"/);
    expect(message).toMatch(/unknown asset "LUSD"/);
    expect(message).toMatch(/unknown account "nobody"/);
  });

  it('refuses an execute step without a timelock, and an attack sent by someone other than the proposer', () => {
    const data = load();
    data.timeline.push({ block: 9, actor: 'attacker', do: 'governance-execute' });
    data.timeline.push({ block: 10, actor: 'curve-lps', do: 'governance-attack', flashLoan: 1 });
    const message = problemsOf(data);
    expect(message).toMatch(/without a timelock/);
    expect(message).toMatch(/attacker must send it/);
  });
});
