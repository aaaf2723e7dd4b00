// The same market with ordinary trading that moves prices a few percent: no containing action.
import { describe, expect, it } from 'vitest';
import { runDrill } from '../src/drills/runner';
import { loadScenario } from '../src/drills/scenario';

describe('drill: benign trading on the thin pool', () => {
  it('takes no containing action and leaves every market usable', async () => {
    const result = await runDrill(loadScenario('scenarios/benign-thin-pool-trading.yaml'), {
      blockBudgetMs: 12_000,
    });
    expect(result.protected.actions).toEqual([]);
    expect(result.protected.timeline.filter((e) => e.type === 'tx-sent')).toEqual([]);
    expect(result.verdict).toBe('pass');
    expect(result.protected.usable).toEqual({ USDC: true, WETH: true });
    // The activity really happened: every step's transactions were mined successfully.
    for (const step of result.protected.steps) expect(step.status.every((s) => s === 'success')).toBe(true);
    expect(result.protected.steps.filter((s) => s.do === 'swap').length).toBeGreaterThanOrEqual(4);
  }, 120_000);
});
