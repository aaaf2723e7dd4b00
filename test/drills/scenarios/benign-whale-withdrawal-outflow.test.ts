/**
 * The benign whale withdrawal seen by `outflow-rate` on the Aave reserves themselves. The drill's
 * defaults run outflow-rate only on a scenario's own lending vault, so the drill cannot show this;
 * here the detector, with its defaults, runs over the same blocks the drill mined: a fifth of the
 * USDC reserve leaving in one transaction, paid for by the whale's burned aTokens, must be `info`
 * (a legitimate large withdrawal); nothing in the run is critical. The window check does rate it `high` (a false positive, pinned below).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommon } from '../../../src/common/common';
import { firebreakConfig } from '../../../src/config/schema';
import type { Finding } from '../../../src/detectors/types';
import { type PreparedDrill, prepareDrill, type RunResult, runScenario } from '../../../src/drills/runner';
import { loadScenario } from '../../../src/drills/scenario';
import { above, brief, detectRange } from '../../detectors/support';

const scenario = loadScenario('scenarios/benign-whale-withdrawal.yaml');

describe('benign whale withdrawal, under outflow-rate on the Aave reserves', () => {
  let prepared: PreparedDrill;
  let run: RunResult;
  let findings: Finding[];
  beforeAll(async () => {
    prepared = await prepareDrill(scenario);
    run = await runScenario('counterfactual', prepared, scenario, { budget: 2_000, common: createCommon() });
    const { market, chain } = prepared;
    const config = firebreakConfig.parse({
      chains: [{ id: chain.chainId, name: 'embedded', rpc: ['http://127.0.0.1:1'], confirmations: 0 }],
      markets: [
        {
          id: 'drill',
          chain: 'embedded',
          protocol: 'aave-v3',
          addressesProvider: market.aave.addressesProvider,
        },
      ],
      detectors: [
        {
          id: 'reserve-outflow',
          type: 'outflow-rate',
          market: 'drill',
          params: {
            assets: [...market.tokens.values()].map((t) => ({ asset: t.address, symbol: t.symbol })),
          },
        },
      ],
    });
    ({ findings } = await detectRange(config, chain.client, run.startBlock + 1n, run.endBlock));
  }, 180_000);
  afterAll(async () => {
    await prepared?.chain.close();
  });

  it('rates the whale’s withdrawal a legitimate large one (info)', () => {
    const step = run.steps.find((s) => s.label === 'whale-withdrawal')!;
    expect(step.status).toEqual(['success']);
    const tx = step.txs[0]!.hash.toLowerCase();
    const mine = findings.filter((f) => JSON.stringify(f.evidence).toLowerCase().includes(tx));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.map((f) => [f.severity, f.kind])).toEqual(mine.map(() => ['info', 'liquidity']));
  });

  it('raises nothing critical, and above medium only the window check: a known false positive', () => {
    // The window check measures the reserve's net outflow against its cash (the aToken's balance),
    // not against what depositors are owed, and does not net out outflows paid for by burned
    // aTokens: the whale's 2M is ~32% of the ~6.2M of USDC cash, over its 30% line, so it is `high`
    // on every block after. No default playbook acts on it; a playbook containing on outflow-rate
    // `high` would contain a benign withdrawal. Reported; pinned here so a fix shows.
    expect(above(findings, 'high').map(brief)).toEqual([]);
    const whaleBlock = run.steps.find((s) => s.label === 'whale-withdrawal')!.block!;
    const high = above(findings, 'medium');
    for (const f of high) {
      expect([f.severity, f.kind, f.evidence.asset]).toEqual([
        'high',
        'liquidity',
        prepared.market.tokens.get('USDC')!.address,
      ]);
      expect(f.evidence.netOutflow).toBeDefined(); // the window check, not the per-transaction one
      expect(f.block.number).toBeGreaterThanOrEqual(whaleBlock);
    }
    expect(high.length).toBeGreaterThan(0);
  });
});
