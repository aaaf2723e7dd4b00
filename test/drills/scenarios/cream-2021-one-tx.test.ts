/**
 * The Cream Finance drill (SCENARIOS.md §8) as it really happened: the donation and the borrow in
 * one block. The unprotected market loses more than the scenario's minimum; Firebreak, which sees
 * blocks only once mined, detects the jump in that same block and contains the share a block late,
 * so the scenario is an honest expected failure (`score.expectedFailure`: it needs the mempool).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type DrillResult, runDrill } from '../../../src/drills/runner';
import { loadScenario } from '../../../src/drills/scenario';

const scenario = loadScenario('scenarios/cream-2021-one-tx.yaml');

describe('drill: Cream Finance donation-inflated collateral, one transaction', () => {
  let result: DrillResult;
  beforeAll(async () => {
    result = await runDrill(scenario, { blockBudgetMs: 12_000 });
  }, 180_000);

  it('lands the whole attack in one block and loses at least the scenario minimum unprotected', () => {
    const cf = result.counterfactual;
    const attack = cf.steps.filter((s) => s.actor !== 'market');
    expect(new Set(attack.map((s) => s.block)).size).toBe(1);
    for (const s of attack) expect(s.status.every((t) => t === 'success')).toBe(true);
    expect(cf.scoredLossUsd).toBeGreaterThanOrEqual(scenario.score.minCounterfactualLossUsd);
  });

  it('detects the jump only in the block that already holds the borrow, and contains a block late', () => {
    const p = result.protected;
    const borrow = p.steps.find((s) => s.label === 'borrow')!;
    expect(borrow.status).toEqual(['success']);
    expect(p.detectedBlock).toBe(borrow.block);
    expect(p.actions.map((a) => [a.action, a.asset, a.status])).toEqual([
      ['aave-v3.contain-collateral', 'yUSD', 'verified'],
    ]);
    expect(p.mitigatedBlock!).toBeGreaterThan(borrow.block!);
    expect(p.mitigatedBeforeHarm).toBe(false);
  });

  it('is scored as an expected failure, for the reason the scenario states', () => {
    expect(result.protected.scoredLossUsd).toBeGreaterThan(
      scenario.score.maxLossShare * result.counterfactual.scoredLossUsd,
    );
    expect(result.reasons).toContain('the containing transaction did not land before "borrow"');
    expect(result.expectedFailure).toMatch(/mempool/);
    expect(result.verdict).toBe('expected-fail');
  });
});
