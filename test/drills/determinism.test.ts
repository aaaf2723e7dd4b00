// A scenario has a seed; the same seed gives the same blocks and the same score. Run on a scenario
// with every source of randomness a drill has: a generated population, a random price path, and
// bots (liquidators and an arbitrageur) that act on what they read.
import { describe, expect, it } from 'vitest';
import { createCommon } from '../../src/common/common';
import { type DrillResult, type RunResult, runDrill } from '../../src/drills/runner';
import { loadScenario, type Scenario } from '../../src/drills/scenario';

const FILE = 'scenarios/benign-market-drop.yaml';

/** Everything a run produced on-chain, without wall-clock figures. */
const onChain = (r: RunResult) => ({
  steps: r.steps.map((s) => ({
    label: s.label,
    status: s.status,
    txs: s.txs.map((t) => [t.hash, t.block, t.index]),
  })),
  liquidations: r.liquidations,
  series: r.series,
  bots: r.bots,
  badDebtUsd: r.badDebtUsd,
  scoredLossUsd: r.scoredLossUsd,
  actions: r.actions.map((a) => [a.action, a.asset, a.status, a.txHashes]),
});
const summary = (d: DrillResult) => ({
  verdict: d.verdict,
  counterfactual: onChain(d.counterfactual),
  protected: onChain(d.protected),
});

describe('determinism', () => {
  it('the same seed gives the same transactions, prices and score; another seed does not', async () => {
    const scenario = loadScenario(FILE);
    expect(scenario.population.length + scenario.bots.length).toBeGreaterThan(0);
    expect(scenario.timeline.some((s) => s.do === 'price-path')).toBe(true);
    const run = (s: Scenario) => runDrill(s, { common: createCommon() });
    const first = summary(await run(scenario));
    const second = summary(await run(scenario));
    expect(second).toEqual(first);
    expect(first.counterfactual.liquidations.length).toBeGreaterThan(0);
    const other = summary(await run({ ...scenario, seed: scenario.seed + 1 }));
    expect(other.counterfactual.liquidations).not.toEqual(first.counterfactual.liquidations);
  }, 300_000);
});
