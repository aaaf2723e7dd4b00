// A drill behind a k-of-n GuardianHub (`market.guardianHub`): the Inverse Finance scenario with
// the market's EMERGENCY_ADMIN and RISK_ADMIN held by a 2-of-3 hub, the guardian key stripped of
// both. With two Firebreak agents running (two engines, two keys, two stores), their confirmations
// contain INV in time and the protected run passes; with one agent, its confirmation waits for a
// second that never comes, the action stays awaiting the quorum, and the attack goes through.
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../src/drills/runner';
import { loadScenario, parseScenario } from '../../src/drills/scenario';

const base = loadScenario('scenarios/inverse-finance-2022.yaml');
const withHub = (running: number) =>
  parseScenario(
    {
      ...base,
      timeline: base.timeline.map(({ time: _t, ...step }) => step),
      market: { ...base.market, guardianHub: { agents: 3, threshold: 2, running } },
    },
    'scenarios/inverse-finance-2022.yaml (with a 2-of-3 guardian hub)',
  );

describe('drill behind a 2-of-3 GuardianHub (Inverse Finance, real Aave v3)', () => {
  it('two running agents contain INV through the hub: the protected run passes', async () => {
    const result = await runDrill(withHub(2));
    expect(result.counterfactual.lossUsd).toBeGreaterThan(1_000_000);
    expect(result.protected.lossUsd).toBeLessThan(result.counterfactual.lossUsd * 0.1);
    expect(result.verdict).toBe('pass');
    const contain = result.protected.actions.find((a) => a.action === 'aave-v3.contain-collateral');
    expect(contain?.status).toBe('verified');
  }, 240_000);

  it('one running agent cannot reach the threshold: the action waits and the attack goes through', async () => {
    const result = await runDrill(withHub(1));
    expect(result.protected.actions.map((a) => [a.action, a.status])).toContainEqual([
      'aave-v3.contain-collateral',
      'awaiting-quorum',
    ]);
    expect(result.protected.lossUsd).toBeGreaterThan(result.counterfactual.lossUsd * 0.5);
    expect(result.verdict).toBe('fail');
  }, 240_000);
});
