/**
 * Firebreak as a library: what a config file, a script or another service imports.
 *
 * @example
 * import { defineConfig } from 'firebreak';
 * export default defineConfig({ chains: [{ id: 1, name: 'mainnet', rpc: [{ env: 'MAINNET_RPC_URL' }] }] });
 */
export { createEmbeddedChain, type EmbeddedChain } from './chain/embedded';
export type { BlockEvent, ChainEvent } from './chain/events';
export { connectChain } from './chain/rpc';
export { createCommon } from './common/common';
export { FirebreakError, isFirebreakError, redact } from './common/errors';
export { createLogger } from './common/logger';
export { loadConfig, parseConfig } from './config/load';
export { defineConfig, type FirebreakConfig, type FirebreakConfigInput } from './config/schema';
export type { DetectorDefinition, Finding } from './detectors/types';
export { drillToJson } from './drills/report';
export { type DrillResult, runDrill } from './drills/runner';
export { loadScenario, parseScenario, type Scenario } from './drills/scenario';
export { createEngine, type Engine } from './engine/engine';
export { openStore, type Store } from './store/store';
