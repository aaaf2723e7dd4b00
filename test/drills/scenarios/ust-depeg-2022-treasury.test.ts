// Protocol-owned liquidity in a collapsing stablecoin's pool (UST, May 2022), on the real Aave v3,
// Uniswap v2 (pair and UniswapV2Router02) and RecoveryVault contracts: unprotected, the arbitrage
// that follows UST down to $0.10 drains the treasury's half of the UST/USDC pool; protected, the
// default playbook migrates the LP (and the treasury's USDC supply to the market the finding
// names) into the recovery vault at the first critical depeg.
import { beforeAll, describe, expect, it } from 'vitest';
import { type DrillResult, runDrill } from '../../../src/drills/runner';
import { loadScenario, type Scenario } from '../../../src/drills/scenario';
import { scenarioProblems } from '../../support/scenario';

const FILE = 'scenarios/ust-depeg-2022-treasury.yaml';

describe('drill: UST collapse (2022) with protocol-owned liquidity, liquidity.migrate', () => {
  let result: DrillResult;
  beforeAll(async () => {
    result = await runDrill(loadScenario(FILE), { blockBudgetMs: 5_000 });
  }, 120_000);

  it("unprotected, the treasury's LP loses what a constant-product pool loses to the arbitrage", () => {
    const cf = result.counterfactual;
    const { scenario } = result;
    expect(cf.actions).toEqual([]);
    expect(cf.treasuryLossUsd).toBeGreaterThanOrEqual(scenario.score.minCounterfactualLossUsd);
    // No lending loss: the treasury's is the whole scored loss.
    expect(cf.badDebtUsd).toBe(0);
    expect(cf.scoredLossUsd).toBe(cf.treasuryLossUsd);
    // Cross-check with x·y = k: an LP share s of reserves (x0, y0) held from price 1 to p is worth
    // s·2·√(k·p) in the pool against s·(x0·p + y0) held; the arbitrage's fees make it a little less.
    const pool = scenario.market.pools[0]!;
    const share = scenario.market.protocolLiquidity!.lp[pool.id]!;
    const [x0, y0] = pool.reserves;
    const p = cf.series.at(-1)!.prices.UST!;
    const expected = share * (x0 * p + y0) - share * 2 * Math.sqrt(x0 * y0 * p);
    expect(cf.treasuryLossUsd).toBeGreaterThan(0.97 * expected);
    expect(cf.treasuryLossUsd).toBeLessThanOrEqual(expected);
  });

  it('protected, the LP and the USDC supply move into the recovery vault at the first critical depeg, and it passes', () => {
    const p = result.protected;
    expect(result.verdict).toBe('pass');
    const migration = p.actions.find((a) => a.action === 'liquidity.migrate')!;
    expect(migration).toMatchObject({ asset: 'UST', status: 'verified' });
    expect(p.mitigatedBeforeHarm).toBe(true);
    // At the peg watch's critical line (8% off), not on the first wobble.
    const sent = Number(migration.sentBlock);
    const at = p.series.find((s) => s.block === sent)!;
    expect(at.prices.UST).toBeLessThanOrEqual(0.92 + 1e-9);
    expect(at.prices.UST).toBeGreaterThan(0.85);
    const verified = p.timeline.find(
      (e) => e.type === 'effect-verified' && e.summary.includes('treasury holds no LP'),
    )!;
    expect(verified.summary).toContain('treasury holds no aUSDC');
    expect(verified.summary).toMatch(/vault 0x[0-9a-f]{40} received at least/);
    // Not trivially won: the arbitrage of the first break, before the detection, is lost too.
    expect(p.treasuryLossUsd).toBeGreaterThan(0);
    expect(p.treasuryLossUsd).toBeLessThanOrEqual(
      result.scenario.score.maxLossShare * result.counterfactual.treasuryLossUsd,
    );
    expect(p.usable).toEqual({ USDC: true });
  });
});

describe('scenario protocol-owned liquidity (market.protocolLiquidity)', () => {
  const base = (): Scenario => structuredClone(loadScenario(FILE));
  const problems = scenarioProblems;

  it('refuses an unknown pool or asset, a share above 1, and a section with no holdings', () => {
    expect(problems(base())).toBe('');
    const pool = base();
    pool.market.protocolLiquidity!.lp = { 'UST-DAI': 0.5 };
    expect(problems(pool)).toMatch(
      /market\.protocolLiquidity\.lp\.UST-DAI: unknown pool "UST-DAI"[\s\S]*UST-USDC/,
    );
    const asset = base();
    asset.market.protocolLiquidity!.supplies = { DAI: 1 };
    expect(problems(asset)).toMatch(/unknown asset "DAI"/);
    const share = base();
    share.market.protocolLiquidity!.lp = { 'UST-USDC': 1.5 };
    expect(problems(share)).toMatch(/protocolLiquidity\.lp\.UST-USDC/);
    const empty = base();
    empty.market.protocolLiquidity = { lp: {}, supplies: {}, vaultDelaySeconds: 3600 };
    expect(problems(empty)).toMatch(/declare at least one holding/);
  });
});
