// The skeleton's end-to-end proof: the thin-AMM oracle manipulation (SCENARIOS.md §1) on the real
// Aave v3 and Uniswap v2 contracts, unprotected and then protected by the whole loop.
import { beforeAll, describe, expect, it } from 'vitest';
import { type DrillResult, runDrill } from '../src/drills/runner';
import { loadScenario } from '../src/drills/scenario';

describe('drill: Inverse Finance oracle manipulation', () => {
  let result: DrillResult;
  beforeAll(async () => {
    result = await runDrill(loadScenario('scenarios/inverse-finance-2022.yaml'), { blockBudgetMs: 12_000 });
  }, 120_000);

  it('loses at least $1M when nobody responds', () => {
    expect(result.counterfactual.lossUsd).toBeGreaterThanOrEqual(1_000_000);
    const borrows = result.counterfactual.steps.filter((s) => s.label === 'borrow');
    expect(borrows.length).toBe(2);
    for (const b of borrows) expect(b.status).toEqual(['success']);
  });

  it('keeps the protected loss under 10% of the unprotected loss', () => {
    expect(result.protected.lossUsd).toBeLessThanOrEqual(0.1 * result.counterfactual.lossUsd);
    expect(result.verdict).toBe('pass');
  });

  it('detects the manipulation and lands the containing transaction before the borrow', () => {
    const p = result.protected;
    expect(p.detectedBlock).not.toBeNull();
    expect(p.mitigatedBlock).not.toBeNull();
    expect(p.mitigatedBeforeHarm).toBe(true);
    const borrowBlock = p.steps.find((s) => s.label === 'borrow')!.block!;
    expect(p.detectedBlock!).toBeLessThan(borrowBlock);
    expect(p.mitigatedBlock!).toBeLessThanOrEqual(borrowBlock);
    for (const b of p.steps.filter((s) => s.label === 'borrow')) expect(b.status).toEqual(['reverted']);
    expect(p.actions.map((a) => [a.action, a.asset, a.status])).toEqual([
      ['aave-v3.contain-collateral', 'INV', 'verified'],
    ]);
  });

  it('leaves the USDC and WETH markets working for an ordinary user', () => {
    expect(result.protected.usable).toEqual({ USDC: true, WETH: true });
  });

  it('records the incident timeline from finding to verified effect', () => {
    const types = result.protected.timeline.map((e) => e.type);
    for (const t of ['finding', 'decision', 'simulated', 'tx-sent', 'tx-mined', 'effect-verified'] as const) {
      expect(types).toContain(t);
    }
    expect(types.indexOf('finding')).toBeLessThan(types.indexOf('tx-sent'));
    expect(types.indexOf('tx-sent')).toBeLessThan(types.indexOf('effect-verified'));
  });
});

describe('drill: honest time', () => {
  it('an engine that cannot finish within the block budget misses the block, and the attack lands', async () => {
    // 1 ms is less than the loop needs to see the block and send: the borrow block is mined first.
    const result = await runDrill(loadScenario('scenarios/inverse-finance-2022.yaml'), { blockBudgetMs: 1 });
    expect(result.counterfactual.lossUsd).toBeGreaterThanOrEqual(1_000_000);
    expect(result.protected.mitigatedBeforeHarm).toBe(false);
    expect(result.protected.lossUsd).toBeGreaterThan(0.9 * result.counterfactual.lossUsd);
    expect(result.verdict).toBe('fail');
  }, 120_000);
});
