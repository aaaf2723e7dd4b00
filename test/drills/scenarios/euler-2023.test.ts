// SCENARIOS.md §6, Euler Finance in March 2023, on the real Aave v3 contracts (the flash-loan
// source) and a drill-only vault with Euler's donate-without-health-check bug behind an ERC-7265
// breaker: six flash-loan drain transactions, one per vault market, each just under the breaker's
// limit. Firebreak must see the first and trip the breaker so the other five fail.
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDataFile } from '../../../src/config/load';
import { crossReferenceProblems, firebreakConfig } from '../../../src/config/schema';
import { type DrillResult, runDrill } from '../../../src/drills/runner';
import { loadScenario, parseScenario, type Scenario } from '../../../src/drills/scenario';

const FILE = 'scenarios/euler-2023.yaml';

/** What the breaker lets leave each market: (1 − retention) of its settled deposits, at true prices. */
function breakerHeadroomUsd(s: Scenario, symbols?: string[]): number {
  const vault = s.market.lendingVault!;
  const share = 1 - vault.breaker!.retentionBps / 10_000;
  let usd = 0;
  for (const amounts of Object.values(vault.deposits))
    for (const [symbol, n] of Object.entries(amounts)) {
      if (symbols && !symbols.includes(symbol)) continue;
      usd += n * share * s.market.assets.find((a) => a.symbol === symbol)!.priceUsd;
    }
  return usd;
}

describe('drill: Euler logic-exploit drain (2023)', () => {
  let result: DrillResult;
  beforeAll(async () => {
    result = await runDrill(loadScenario(FILE), { blockBudgetMs: 5_000 });
  }, 240_000);

  it('drains every vault market up to the breaker limit when nobody responds', () => {
    const cf = result.counterfactual;
    const drains = cf.steps.filter((s) => s.do === 'vault-exploit');
    expect(drains).toHaveLength(6);
    for (const d of drains) expect(d.status).toEqual(['success']);
    // Several blocks apart, not one bundle: there is time to react between them.
    expect(new Set(drains.map((d) => d.block)).size).toBe(6);
    expect(cf.scoredLossUsd).toBeGreaterThanOrEqual(result.scenario.score.minCounterfactualLossUsd);
    // The attacker stayed just inside the breaker: the loss is its headroom, 30 % of each market.
    const headroom = breakerHeadroomUsd(result.scenario);
    expect(cf.scoredLossUsd).toBeLessThanOrEqual(headroom * 1.0001);
    expect(cf.scoredLossUsd).toBeGreaterThan(headroom * 0.99);
    // What the vault lost, the attacker holds (less any flash-loan premium); the Aave market lost nothing.
    expect(cf.attackerProfitUsd).toBeGreaterThan(0.99 * cf.scoredLossUsd);
    expect(cf.attackerProfitUsd).toBeLessThanOrEqual(cf.scoredLossUsd + 1);
    expect(cf.badDebtUsd).toBe(0);
    expect(cf.actions).toEqual([]);
  });

  it('trips the breaker after the first drain, so the five later ones revert, and passes', () => {
    const p = result.protected;
    expect(result.verdict).toBe('pass');
    const drains = p.steps.filter((s) => s.do === 'vault-exploit');
    const [first, ...later] = drains;
    expect(first!.status).toEqual(['success']);
    for (const d of later) expect(d.status).toEqual(['reverted']);
    expect(p.actions.map((a) => [a.action, a.status])).toEqual([['erc7265.trip', 'verified']]);
    expect(p.detectedBlock).toBe(first!.block);
    expect(p.mitigatedBlock).toBe(first!.block! + 1n);
    expect(p.mitigatedBeforeHarm).toBe(true);
    const finding = p.timeline.find((e) => e.type === 'finding')!;
    expect(finding.summary).toMatch(/CRITICAL outflow-rate: DAI: .* next to a flash loan/);
  });

  it('still loses the first transaction: blocks alone cannot stop it (the mempool could)', () => {
    const p = result.protected;
    const firstTake = breakerHeadroomUsd(result.scenario, ['DAI']);
    expect(p.scoredLossUsd).toBeGreaterThan(0.99 * firstTake);
    expect(p.scoredLossUsd).toBeLessThanOrEqual(firstTake * 1.0001);
    expect(p.scoredLossUsd).toBeLessThanOrEqual(
      result.scenario.score.maxLossShare * result.counterfactual.scoredLossUsd,
    );
  });
});

describe('euler scenario and action configuration checks', () => {
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

  it('names an exploit step on an asset the vault does not list, and an unknown depositor', () => {
    const data = load();
    data.timeline[0].asset = 'NOPE';
    data.market.lendingVault.deposits.ghost = { DAI: 1 };
    const message = problemsOf(data);
    expect(message).toMatch(/timeline\[0\]\.asset/);
    expect(message).toMatch(/unknown asset "NOPE"/);
    expect(message).toMatch(/unknown account "ghost"/);
  });

  it('refuses a vault-exploit step when the scenario has no lending vault', () => {
    const data = load();
    delete data.market.lendingVault;
    expect(problemsOf(data)).toMatch(/vault-exploit needs market\.lendingVault/);
  });

  it('refuses a breaker window that is not a whole number of ticks', () => {
    const data = load();
    data.market.lendingVault.breaker.tickSeconds = 7;
    expect(problemsOf(data)).toMatch(/multiple of tickSeconds/);
  });

  it('asks for the breaker address of an erc7265.trip playbook step', () => {
    const config = firebreakConfig.parse({
      chains: [{ id: 1, name: 'main', rpc: ['http://127.0.0.1:8545'] }],
      executors: [{ id: 'g', type: 'eoa', chain: 'main', key: { env: 'K' } }],
      playbooks: [
        { id: 'p', when: { severity: 'critical' }, do: [{ action: 'erc7265.trip', executor: 'g' }] },
      ],
    });
    const problems = crossReferenceProblems(config);
    expect(problems.map((p) => p.path.join('.'))).toEqual(['playbooks.0.do.0.target']);
  });
});
