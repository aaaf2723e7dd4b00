/**
 * Bench `loop` — the whole loop's latency on the Inverse Finance drill: from the block carrying the
 * manipulation (the TWAP update that makes the market's oracle diverge) being available to the
 * containing transaction being broadcast, over 20 protected runs from the same snapshot; the
 * real Aave v3 market's deploy time; and the demo drill's wall time (`npm start`).
 */
import { createCommon } from '../src/common/common';
import { prepareDrill, runDrill, runScenario } from '../src/drills/runner';
import { loadScenario } from '../src/drills/scenario';
import { type Metric, percentile, round } from './stats';

const RUNS = 20;
const DEPLOYS = 5;

export async function run({ log }: { log: (m: string) => void }): Promise<Metric[]> {
  const scenario = loadScenario('scenarios/inverse-finance-2022.yaml');
  const common = createCommon();

  const deployMs: number[] = [];
  for (let i = 0; i < DEPLOYS; i++) {
    const prepared = await prepareDrill(scenario);
    deployMs.push(prepared.marketDeployMs);
    await prepared.chain.close();
  }
  log(`market deploy (ms): ${deployMs.map((m) => m.toFixed(0)).join(', ')}`);

  const prepared = await prepareDrill(scenario);
  const latencies: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const snapshot = await prepared.chain.snapshot();
    const result = await runScenario('protected', prepared, scenario, { budget: 12_000, common });
    await prepared.chain.revert(snapshot);
    const sent = result.actions.find((a) => a.latencyMs !== null);
    if (!sent || sent.latencyMs === null) throw new Error(`run ${i + 1}: no containing transaction was sent`);
    if (result.lossUsd > 0)
      throw new Error(`run ${i + 1}: the protected run lost $${result.lossUsd.toFixed(0)}`);
    latencies.push(sent.latencyMs);
  }
  await prepared.chain.close();
  log(`block → containing tx broadcast (ms): ${latencies.map((m) => m.toFixed(1)).join(', ')}`);

  const started = performance.now();
  const demo = await runDrill(scenario, { blockBudgetMs: 12_000 });
  const demoSeconds = (performance.now() - started) / 1000;
  log(`demo drill: ${demo.verdict}, ${demoSeconds.toFixed(1)} s`);

  return [
    {
      id: 'manipulation_to_tx_sent_p50_ms',
      value: round(percentile(latencies, 50)),
      unit: 'ms',
      target: null,
      better: 'lower',
    },
    {
      id: 'manipulation_to_tx_sent_p99_ms',
      value: round(percentile(latencies, 99)),
      unit: 'ms',
      target: 250,
      better: 'lower',
    },
    {
      id: 'market_deploy_ms',
      value: round(percentile(deployMs, 50)),
      unit: 'ms',
      target: null,
      better: 'lower',
    },
    { id: 'demo_drill_s', value: round(demoSeconds), unit: 's', target: 60, better: 'lower' },
  ];
}
