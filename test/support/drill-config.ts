/**
 * Test support — the drill's engine configuration cut down to the one oracle-deviation detector
 * and the playbook that contains the manipulated collateral: what the engine-level tests
 * (live RPC, record/replay, the guardian hub) exercise, without the drill's other default
 * detectors opening incidents of their own about the same attack.
 */
import type { FirebreakConfig } from '../../src/config/schema';
import { drillEngineConfig } from '../../src/drills/defaults';
import type { DrillMarket } from '../../src/drills/market';
import type { Scenario } from '../../src/drills/scenario';

export function oracleDeviationConfig(
  scenario: Scenario,
  market: DrillMarket,
  chainId: number,
): FirebreakConfig {
  const config = drillEngineConfig(scenario, market, chainId);
  return {
    ...config,
    detectors: config.detectors.filter((d) => d.id === 'oracle-deviation'),
    playbooks: config.playbooks.filter((p) => p.when.detector === 'oracle-deviation'),
  };
}
