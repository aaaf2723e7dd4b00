// SCENARIOS.md §2, Aave v2's CRV short squeeze of November 2022, on the real Aave v3 and Uniswap v2
// contracts: one account borrows CRV in steps until it owes several times the DEX's CRV, CRV
// squeezes +58 %, and the liquidator cannot clear the position through the thin pool before CRV is
// worth more than the collateral — unless the borrow cap is lowered during the build-up.
import { beforeAll, describe, expect, it } from 'vitest';
import { type DrillResult, runDrill } from '../../../src/drills/runner';
import { loadScenario } from '../../../src/drills/scenario';

describe('drill: CRV short squeeze (2022)', () => {
  let result: DrillResult;
  beforeAll(async () => {
    result = await runDrill(loadScenario('scenarios/crv-2022.yaml'), { blockBudgetMs: 5_000 });
  }, 240_000);

  it('leaves bad debt when nobody responds: liquidations start but cannot clear on the thin pool', () => {
    const cf = result.counterfactual;
    expect(cf.badDebtUsd).toBeGreaterThanOrEqual(result.scenario.score.minCounterfactualLossUsd);
    const buildUp = cf.steps.filter((s) => s.label === 'build-up');
    expect(buildUp.length).toBe(6);
    for (const s of buildUp) expect(s.status).toEqual(['success']);
    // The liquidator did work, against CRV debt and USDC collateral, but cleared a small part.
    expect(cf.liquidations.length).toBeGreaterThan(0);
    for (const l of cf.liquidations) expect([l.collateral, l.debt]).toEqual(['USDC', 'CRV']);
    const repaid = cf.liquidations.reduce((s, l) => s + l.debtRepaidUsd, 0);
    expect(repaid).toBeLessThan(cf.badDebtUsd);
    // No liquidation before the squeeze: the build-up alone left the position healthy.
    const squeeze = Number(cf.steps.find((s) => s.label === 'squeeze')!.block!);
    expect(Math.min(...cf.liquidations.map((l) => l.block))).toBeGreaterThan(squeeze);
  });

  it('lowers the CRV borrow cap during the build-up, before the squeeze, and passes', () => {
    const p = result.protected;
    expect(result.verdict).toBe('pass');
    expect(result.reasons).toEqual([]);
    expect(p.actions.map((a) => [a.action, a.asset, a.status])).toEqual([
      ['aave-v3.lower-borrow-cap', 'CRV', 'verified'],
    ]);
    const squeeze = p.steps.find((s) => s.label === 'squeeze')!.block!;
    expect(p.mitigatedBlock).not.toBeNull();
    expect(p.mitigatedBlock!).toBeLessThan(squeeze);
    // The cap stopped the build-up: some borrows went through, the later ones reverted.
    const statuses = p.steps.filter((s) => s.label === 'build-up').map((s) => s.status[0]);
    expect(statuses[0]).toBe('success');
    expect(statuses.at(-1)).toBe('reverted');
    expect(p.badDebtUsd).toBeLessThanOrEqual(
      result.scenario.score.maxLossShare * result.counterfactual.badDebtUsd,
    );
  });

  it('detects the concentration from the borrows themselves and leaves USDC working', () => {
    const p = result.protected;
    const first = p.timeline.find((e) => e.type === 'finding');
    expect(first).toBeDefined();
    const firstBorrow = p.steps.find((s) => s.label === 'build-up')!.block!;
    expect(p.detectedBlock).toBe(firstBorrow);
    expect(p.usable).toEqual({ USDC: true });
  });
});
