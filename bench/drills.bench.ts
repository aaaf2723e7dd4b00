/**
 * Bench `drills` — the whole public suite: every scenario in scenarios/, run as
 * `firebreak drill scenarios/` runs it (deploy, counterfactual, revert, protected, score), one
 * after another on this machine. Reports the suite's wall time against the 10-minute target and
 * each scenario's time, losses and verdict, so a slow or newly failing scenario shows up here.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createCommon } from '../src/common/common';
import { runDrill } from '../src/drills/runner';
import { loadScenario } from '../src/drills/scenario';
import { type Metric, round } from './stats';

export async function run({ log }: { log: (m: string) => void }): Promise<Metric[]> {
  const dir = 'scenarios';
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
  const common = createCommon();
  const metrics: Metric[] = [];
  const started = performance.now();
  let failed = 0;
  for (const file of files) {
    const scenario = loadScenario(join(dir, file));
    const t0 = performance.now();
    const result = await runDrill(scenario, { common });
    const seconds = (performance.now() - t0) / 1000;
    if (result.verdict === 'fail') failed++;
    log(
      `${scenario.name}: ${result.verdict}, ${seconds.toFixed(1)} s, loss unprotected $${result.counterfactual.scoredLossUsd.toFixed(0)} / protected $${result.protected.scoredLossUsd.toFixed(0)}${result.reasons.length ? ` (${result.reasons.join('; ')})` : ''}`,
    );
    metrics.push(
      { id: `${scenario.name}_seconds`, value: round(seconds), unit: 's', target: null, better: 'lower' },
      {
        id: `${scenario.name}_unprotected_loss_usd`,
        value: Math.round(result.counterfactual.scoredLossUsd),
        unit: 'USD',
        target: null,
        better: 'higher',
      },
      {
        id: `${scenario.name}_protected_loss_usd`,
        value: Math.round(result.protected.scoredLossUsd),
        unit: 'USD',
        target: null,
        better: 'lower',
      },
    );
  }
  const suiteSeconds = (performance.now() - started) / 1000;
  log(`suite: ${files.length} scenarios in ${suiteSeconds.toFixed(1)} s, ${failed} failed`);
  return [
    { id: 'suite_seconds', value: round(suiteSeconds), unit: 's', target: 600, better: 'lower' },
    { id: 'scenarios', value: files.length, unit: 'count', target: null, better: 'higher' },
    { id: 'scenarios_failed', value: failed, unit: 'count', target: 0, better: 'lower' },
    ...metrics,
  ];
}
