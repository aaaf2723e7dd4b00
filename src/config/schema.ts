/**
 * Config — the engine's configuration: typed at compile time through `defineConfig`, validated
 * again at load with zod, with every cross-reference (a detector naming a market, a playbook naming
 * a detector or an executor) checked before anything starts.
 *
 * Secrets are references, never values: `{ env: 'FIREBREAK_GUARDIAN_KEY' }`.
 */
import { z } from 'zod';
import type { ConfigProblem } from './errors';

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte hex address (0x followed by 40 hex digits)')
  .transform((s) => s.toLowerCase() as `0x${string}`);

export const secretRef = z.strictObject({
  env: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name such as FIREBREAK_GUARDIAN_KEY'),
});
export type SecretRef = z.infer<typeof secretRef>;

/** A plain RPC URL, or a reference to an environment variable holding one (for URLs with keys). */
const httpEndpoint = z.union([
  z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http(s):// URL, or { env: NAME } for one with a key'),
  secretRef,
]);
const wsEndpoint = z.union([
  z.string().regex(/^wss?:\/\/[^\s]+$/, 'must be a ws(s):// URL, or { env: NAME } for one with a key'),
  secretRef,
]);

const severity = z.enum(['info', 'low', 'medium', 'high', 'critical']);
const kind = z.enum([
  'exploit',
  'manipulation',
  'insolvency',
  'liquidity',
  'governance',
  'anomaly',
  'degraded',
]);

export const chainConfig = z.strictObject({
  id: z.number().int().positive(),
  name: z.string().min(1),
  /** HTTP(S) endpoints, in order of preference; each a plain URL or `{ env }` for one with a key. */
  rpc: z.array(httpEndpoint).min(1, 'needs at least one RPC endpoint'),
  /** Optional WebSocket endpoint: new heads are pushed; the source falls back to polling when it drops. */
  ws: wsEndpoint.optional(),
  /** Blocks after which a block is treated as final (no reorg can orphan it). */
  confirmations: z.number().int().min(0).default(12),
  pollIntervalMs: z.number().int().min(1).default(1000),
  /** Largest block range one `eth_getLogs` asks for during catch-up. */
  maxBlockRange: z.number().int().min(1).default(500),
  /** Requests in flight at once per chain during catch-up. */
  concurrency: z.number().int().min(1).max(64).default(4),
  /** First block to ingest when there is no checkpoint; default: the head at start. */
  startBlock: z.number().int().min(0).optional(),
  /** Independent endpoints that must agree on a block hash and the reads behind an action before it is taken. */
  quorum: z.number().int().min(1).default(1),
});

export const marketConfig = z.strictObject({
  id: z.string().min(1),
  chain: z.string().min(1),
  protocol: z.literal('aave-v3'),
  /** Aave v3's PoolAddressesProvider: the market's identity; pool, oracle and configurator are read from it. */
  addressesProvider: address,
});

export const oracleDeviationParams = z.strictObject({
  assets: z
    .array(
      z.strictObject({
        asset: address,
        symbol: z.string().optional(),
        /** The independent reference: a Chainlink-compatible feed quoting the asset in the market's base currency. */
        reference: z.strictObject({ feed: address }),
      }),
    )
    .min(1),
  /** Deviation that raises a `high` finding. */
  thresholdBps: z.number().int().positive().default(1000),
  /** Deviation that raises a `critical` finding. */
  criticalBps: z.number().int().positive().default(3000),
});
export type OracleDeviationParams = z.infer<typeof oracleDeviationParams>;

export const detectorConfig = z.discriminatedUnion('type', [
  z.strictObject({
    id: z.string().min(1),
    type: z.literal('oracle-deviation'),
    market: z.string().min(1),
    params: oracleDeviationParams,
  }),
]);

export const executorConfig = z.discriminatedUnion('type', [
  z.strictObject({
    id: z.string().min(1),
    type: z.literal('eoa'),
    chain: z.string().min(1),
    key: secretRef,
    /** Tip offered by containing transactions: they must beat an attacker's next transactions to the block. */
    priorityFeeGwei: z.number().positive().default(50),
    maxFeeGwei: z.number().positive().default(500),
    dryRun: z.boolean().default(false),
  }),
]);

export const playbookStep = z.strictObject({
  action: z.enum(['aave-v3.contain-collateral', 'aave-v3.pause-reserve']),
  executor: z.string().min(1),
  autonomy: z.enum(['auto', 'approve', 'notify']).default('auto'),
});

export const playbookConfig = z.strictObject({
  id: z.string().min(1),
  description: z.string().optional(),
  when: z.strictObject({
    detector: z.string().min(1).optional(),
    kind: kind.optional(),
    /** Minimum severity. */
    severity: severity.default('critical'),
    minConfidence: z.number().min(0).max(1).default(0),
  }),
  do: z.array(playbookStep).min(1),
  /** Blocks during which the playbook does not fire again for the same subject. */
  cooldownBlocks: z.number().int().min(0).default(50),
});

export const firebreakConfig = z.strictObject({
  dataDir: z.string().default('.firebreak/data'),
  /** When true, nothing is executed automatically: decisions are recorded and refused (also FIREBREAK_KILL_SWITCH=1). */
  killSwitch: z.boolean().default(false),
  chains: z.array(chainConfig).min(1, 'needs at least one chain'),
  markets: z.array(marketConfig).default([]),
  detectors: z.array(detectorConfig).default([]),
  executors: z.array(executorConfig).default([]),
  playbooks: z.array(playbookConfig).default([]),
});

/** What a user writes (defaults optional). */
export type FirebreakConfigInput = z.input<typeof firebreakConfig>;
/** What the engine gets (defaults filled in, addresses lower-cased). */
export type FirebreakConfig = z.output<typeof firebreakConfig>;
export type ChainConfig = FirebreakConfig['chains'][number];
export type MarketConfig = FirebreakConfig['markets'][number];
export type DetectorConfig = FirebreakConfig['detectors'][number];
export type ExecutorConfig = FirebreakConfig['executors'][number];
export type PlaybookConfig = FirebreakConfig['playbooks'][number];

/**
 * Typed configuration for `firebreak.config.ts`.
 *
 * @example
 * export default defineConfig({
 *   chains: [{ id: 1, name: 'mainnet', rpc: [{ env: 'MAINNET_RPC_URL' }] }],
 *   markets: [{ id: 'aave', chain: 'mainnet', protocol: 'aave-v3', addressesProvider: '0x2f39…' }],
 * });
 */
export function defineConfig(config: FirebreakConfigInput): FirebreakConfigInput {
  return config;
}

/** Checks the references between sections; returns every problem, not just the first. */
export function crossReferenceProblems(config: FirebreakConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const unique = (
    section: 'chains' | 'markets' | 'detectors' | 'executors' | 'playbooks',
    key: 'id' | 'name',
  ) => {
    const seen = new Set<string>();
    config[section].forEach((item: Record<string, unknown>, i: number) => {
      const value = String(item[key]);
      if (seen.has(value)) {
        problems.push({
          path: [section, i, key],
          message: `duplicate ${key} "${value}"`,
          fix: `give each entry of ${section} its own ${key}`,
        });
      }
      seen.add(value);
    });
  };
  unique('chains', 'name');
  unique('markets', 'id');
  unique('detectors', 'id');
  unique('executors', 'id');
  unique('playbooks', 'id');

  const chains = new Set(config.chains.map((c) => c.name));
  const markets = new Set(config.markets.map((m) => m.id));
  const detectors = new Set(config.detectors.map((d) => d.id));
  const executors = new Set(config.executors.map((e) => e.id));
  const known = (set: Set<string>) => [...set].map((s) => `"${s}"`).join(', ') || '(none defined)';

  config.chains.forEach((c, i) => {
    if (c.quorum > c.rpc.length) {
      problems.push({
        path: ['chains', i, 'quorum'],
        message: `quorum ${c.quorum} needs at least ${c.quorum} RPC endpoints; ${c.rpc.length} configured`,
        fix: `add RPC endpoints from independent providers, or lower quorum to ≤ ${c.rpc.length}`,
      });
    }
  });
  config.markets.forEach((m, i) => {
    if (!chains.has(m.chain)) {
      problems.push({
        path: ['markets', i, 'chain'],
        message: `unknown chain "${m.chain}"`,
        fix: `use a chain name defined under chains: ${known(chains)}`,
      });
    }
  });
  config.detectors.forEach((d, i) => {
    if (!markets.has(d.market)) {
      problems.push({
        path: ['detectors', i, 'market'],
        message: `unknown market "${d.market}"`,
        fix: `use a market id defined under markets: ${known(markets)}`,
      });
    }
  });
  config.executors.forEach((e, i) => {
    if (!chains.has(e.chain)) {
      problems.push({
        path: ['executors', i, 'chain'],
        message: `unknown chain "${e.chain}"`,
        fix: `use a chain name defined under chains: ${known(chains)}`,
      });
    }
  });
  config.detectors.forEach((d, i) => {
    if (d.params.criticalBps < d.params.thresholdBps) {
      problems.push({
        path: ['detectors', i, 'params', 'criticalBps'],
        message: `criticalBps (${d.params.criticalBps}) is below thresholdBps (${d.params.thresholdBps})`,
        fix: 'make criticalBps ≥ thresholdBps: critical is the larger deviation',
      });
    }
  });
  const detectorTypes = new Set(config.detectors.map((d) => d.type));
  config.playbooks.forEach((p, i) => {
    // A playbook may name a detector instance (its id) or every instance of a type.
    if (
      p.when.detector !== undefined &&
      !detectors.has(p.when.detector) &&
      !detectorTypes.has(p.when.detector as never)
    ) {
      problems.push({
        path: ['playbooks', i, 'when', 'detector'],
        message: `unknown detector "${p.when.detector}"`,
        fix: `use a detector id or type defined under detectors: ${known(new Set([...detectors, ...detectorTypes]))}`,
      });
    }
    p.do.forEach((step, j) => {
      if (!executors.has(step.executor)) {
        problems.push({
          path: ['playbooks', i, 'do', j, 'executor'],
          message: `unknown executor "${step.executor}"`,
          fix: `use an executor id defined under executors: ${known(executors)}`,
        });
      }
    });
  });
  return problems;
}
