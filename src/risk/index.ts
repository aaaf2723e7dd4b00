/**
 * Risk — the fast paths' public API (everything that runs on a `PositionSnapshot`): health factors
 * and stress grids, liquidations-at-risk curves, the liquidation cascade, contagion, the
 * sensitivity table and Monte Carlo VaR/LaR. Pure functions of (snapshot, parameters) → results;
 * the exact `bigint` position book lives beside them (book.ts, aave-math.ts).
 */
export {
  type CascadeParams,
  type CascadePool,
  type CascadeResult,
  type CascadeRound,
  type PoolDepthAnswer,
  type PoolDepthQuery,
  type RoundFlows,
  requiredPoolDepth,
  runCascade,
} from './cascade';
export {
  type ContagionEdge,
  type ContagionGraph,
  type ContagionResult,
  type ContagionSource,
  type MarketExposure,
  propagateContagion,
} from './contagion';
export {
  compileHealthBook,
  type HealthBook,
  healthFactors,
  type ShockOutcome,
  type StressGridOptions,
  stressGrid,
} from './health';
export { factorGrid, type LarCurve, type LarOptions, liquidationsAtRisk } from './lar';
export {
  type AssetDynamics,
  type MonteCarloParams,
  type MonteCarloResult,
  monteCarloRisk,
} from './montecarlo';
export { type RiskNow, riskNow } from './now';
export {
  type Decline,
  type GovernanceRow,
  governanceDelaySensitivity,
  maliciousExposure,
  type OracleRow,
  oracleSensitivity,
  type ThresholdRow,
  thresholdSensitivity,
} from './sensitivity';
export { snapshotFrom, syntheticSnapshot } from './synthetic';
