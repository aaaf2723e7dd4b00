/**
 * Config — the engine's configuration: typed at compile time through `defineConfig`, validated
 * again at load with zod, with every cross-reference (a detector naming a market, a playbook naming
 * a detector or an executor) checked before anything starts.
 *
 * Secrets are references, never values: `{ env: 'FIREBREAK_GUARDIAN_KEY' }`.
 */
import { z } from 'zod';
import { canonicalDetectorType } from '../detectors/debt-concentration';
import { compileRule } from '../detectors/rules';
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
  /**
   * Follow the chain's pending transactions (a subscription when the chain pushes, else a
   * pending-transaction filter polled over `rpc`) so that a containing action outbids pending
   * transactions that touch what it protects (priority mode; docs/playbooks.md).
   */
  mempool: z.boolean().default(false),
});

export const marketConfig = z.strictObject({
  id: z.string().min(1),
  chain: z.string().min(1),
  protocol: z.literal('aave-v3'),
  /** Aave v3's PoolAddressesProvider: the market's identity; pool, oracle and configurator are read from it. */
  addressesProvider: address,
  /**
   * Keep every position of the market in a live position book, built from its logs since this
   * block (the market's deployment block): what `risk-thresholds` reads. Off when omitted.
   */
  positionsFromBlock: z.number().int().min(0).optional(),
});

/** An oracle reference: a feed, or a Uniswap v2 pool's TWAP quoted through a feed for its other token. */
const oracleReference = z.union([
  z.strictObject({ feed: address }),
  z.strictObject({
    pair: address,
    /** Prices the pool's other token in the market's base currency. */
    quoteFeed: address,
    /** Blocks the pool's TWAP averages over. */
    twapBlocks: z.number().int().positive().default(30),
  }),
]);

export const oracleDeviationParams = z.strictObject({
  assets: z
    .array(
      z
        .strictObject({
          asset: address,
          symbol: z.string().optional(),
          /** The independent reference: a Chainlink-compatible feed quoting the asset in the market's base currency. */
          reference: z.strictObject({ feed: address }).optional(),
          /** Several references (feeds and pool TWAPs, pools weighted by depth); the median is used. */
          references: z.array(oracleReference).min(1).optional(),
        })
        .refine((a) => a.reference !== undefined || a.references !== undefined, {
          message: 'needs a reference ({ feed }) or references (feeds and pools)',
        }),
    )
    .min(1),
  /** Deviation that raises a `high` finding. */
  thresholdBps: z.number().int().positive().default(1000),
  /** Deviation that raises a `critical` finding. */
  criticalBps: z.number().int().positive().default(3000),
  /** A smaller deviation that lasts `sustainBlocks` blocks in a row raises `high` (0: off; default 500). */
  sustainBps: z.number().int().min(0).optional(),
  /** Default 10. */
  sustainBlocks: z.number().int().positive().optional(),
});
export type OracleDeviationParams = z.infer<typeof oracleDeviationParams>;

/** Where a detector runs: on a market's chain (and with its addresses), or on a chain by name. */
const detectorPlace = {
  id: z.string().min(1),
  /** A market id: the detector runs on its chain and reads its addresses. */
  market: z.string().min(1).optional(),
  /** A chain name, for a detector that needs no market. */
  chain: z.string().min(1).optional(),
};

export const priceFeedIntegrityParams = z.strictObject({
  feeds: z
    .array(
      z.strictObject({
        feed: address,
        symbol: z.string().optional(),
        /** The market asset the feed prices: with the detector's `market`, findings name it, so playbooks can act on the reserve. */
        asset: address.optional(),
        /** Seconds a round may stand before the feed counts as stale. */
        heartbeatSeconds: z.number().int().positive().default(3600),
        /** A one-round move at least this large, not shared by the references, is a jump. */
        maxJumpBps: z.number().int().positive().default(1000),
        /** Independent feeds quoting the same asset. */
        references: z.array(address).default([]),
        /** Answer bounds in the feed's units, as decimal strings (bigint-safe). */
        minAnswer: z
          .string()
          .regex(/^-?\d+$/, "must be an integer in the feed's units, as a string")
          .optional(),
        maxAnswer: z
          .string()
          .regex(/^-?\d+$/, "must be an integer in the feed's units, as a string")
          .optional(),
        /** Blocks without a change after which a feed whose references moved counts as flat. */
        flatBlocks: z.number().int().positive().default(300),
        flatReferenceMoveBps: z.number().int().positive().default(500),
        /** Senders allowed to publish rounds (empty: not checked; needs a node, not a recording). */
        updaters: z.array(address).default([]),
      }),
    )
    .min(1),
});

export const ammManipulationParams = z.strictObject({
  pools: z.array(z.strictObject({ pair: address, symbol: z.string().optional() })).min(1),
  impactBps: z.number().int().positive().default(2000),
  criticalBps: z.number().int().positive().default(5000),
  volMultiplier: z.number().positive().default(8),
  windowBlocks: z.number().int().positive().default(300),
});

export const outflowRateParams = z.strictObject({
  assets: z
    .array(
      z.strictObject({
        asset: address,
        symbol: z.string().optional(),
        /** Holds the liquidity; default: the market reserve's aToken. */
        holder: address.optional(),
        /** Burned to pay for a withdrawal; default: the aToken when the holder is it. */
        claimToken: address.optional(),
      }),
    )
    .min(1),
  windowBlocks: z.number().int().positive().default(300),
  maxOutflowBps: z.number().int().min(1).max(10_000).default(3000),
  criticalOutflowBps: z.number().int().min(1).max(10_000).default(5000),
  txShareBps: z.number().int().min(1).max(10_000).default(1000),
  txCriticalShareBps: z.number().int().min(1).max(10_000).default(3000),
  maxTrackedAccounts: z.number().int().positive().default(10_000),
});

const priceSource = z.union([
  z.strictObject({ feed: address, symbol: z.string().optional() }),
  /** An asset priced by the market's Aave oracle (needs `market`). */
  z.strictObject({ asset: address, symbol: z.string().optional() }),
  z.strictObject({ pair: address, symbol: z.string().optional() }),
]);

export const volatilityBreakerParams = z.strictObject({
  sources: z.array(priceSource).min(1),
  windowBlocks: z.number().int().min(2).default(50),
  thresholdBps: z.number().int().positive().default(1500),
  criticalBps: z.number().int().positive().default(3000),
  minSamples: z.number().int().min(2).default(5),
});

export const governanceWatchParams = z.strictObject({
  /** Watch the market's PoolConfigurator, AaveOracle, ACLManager and PoolAddressesProvider (needs `market`). */
  marketContracts: z.boolean().default(true),
  /** OpenZeppelin TimelockControllers whose queued calls are watched. */
  timelocks: z.array(address).default([]),
  minDelaySeconds: z.number().int().min(0).default(86_400),
  warnBeforeSeconds: z.number().int().min(0).default(3600),
});

export const sharePriceJumpParams = z.strictObject({
  assets: z
    .array(
      z.union([
        z.strictObject({ vault: address, symbol: z.string().optional() }),
        z.strictObject({ pair: address, symbol: z.string().optional() }),
      ]),
    )
    .min(1),
  thresholdBps: z.number().int().positive().default(500),
  criticalBps: z.number().int().positive().default(2000),
});

const concentrationSides = z.array(z.enum(['debt', 'collateral'])).min(1);
const concentrationFields = {
  /** The assets watched; default every asset the market lists, with no pairs (share measure only). */
  assets: z
    .array(
      z.strictObject({
        asset: address,
        symbol: z.string().optional(),
        /** Uniswap v2 pairs holding the asset: the liquidity a liquidation draws on. */
        pairs: z.array(address).default([]),
      }),
    )
    .min(1)
    .optional(),
  /** The account's debt of the asset, and the collateral a liquidation of it could seize. */
  sides: concentrationSides.default(['debt', 'collateral']),
  /** Amount / the pairs' reserve of the asset, bps: `high` at or above. */
  liquidityBps: z.number().int().positive().default(5000),
  /** … `critical` at or above (default: the pools' whole reserve). */
  criticalLiquidityBps: z.number().int().positive().default(10_000),
  /** Amount / the market's total of the asset (debt, or supply), bps: `high` at or above. */
  shareBps: z.number().int().min(1).max(10_000).default(5000),
  /** … `critical` at or above; unset: a share alone is never more than `high`. */
  criticalShareBps: z.number().int().min(1).max(10_000).optional(),
  /** Positions worth less (USD) on a side are dust: not reported. */
  minUsd: z.number().min(0).default(100_000),
};
const concentrationLines = <
  T extends z.ZodType<{
    liquidityBps: number;
    criticalLiquidityBps: number;
    shareBps: number;
    criticalShareBps?: number | undefined;
  }>,
>(
  schema: T,
) =>
  schema
    .refine((p) => p.criticalLiquidityBps >= p.liquidityBps, {
      message: 'criticalLiquidityBps must be ≥ liquidityBps',
      path: ['criticalLiquidityBps'],
    })
    .refine((p) => p.criticalShareBps === undefined || p.criticalShareBps >= p.shareBps, {
      message: 'criticalShareBps must be ≥ shareBps',
      path: ['criticalShareBps'],
    });

/** One account's debt, or the collateral its liquidation would seize, against the market and the DEX pairs (reads the position book). */
export const concentrationParams = concentrationLines(z.strictObject(concentrationFields));

/**
 * `debt-concentration`, the type `concentration` superseded: the same parameters, the debt side
 * only by default, and its former `thresholdBps` / `criticalBps` read as `liquidityBps` /
 * `criticalLiquidityBps`.
 */
export const debtConcentrationParams = z.preprocess(
  (p) => {
    if (p === null || typeof p !== 'object' || Array.isArray(p)) return p;
    const { thresholdBps, criticalBps, ...rest } = p as Record<string, unknown>;
    return {
      ...(thresholdBps !== undefined ? { liquidityBps: thresholdBps } : {}),
      ...(criticalBps !== undefined ? { criticalLiquidityBps: criticalBps } : {}),
      ...rest,
    };
  },
  concentrationLines(z.strictObject({ ...concentrationFields, sides: concentrationSides.default(['debt']) })),
);

/** A line on a risk metric, in USD: `high` at `thresholdUsd`, `critical` at `criticalUsd`. */
const riskLine = {
  thresholdUsd: z.number().min(0),
  criticalUsd: z.number().min(0).optional(),
};
const criticalAbove = (line: { thresholdUsd: number; criticalUsd?: number | undefined }) =>
  line.criticalUsd === undefined || line.criticalUsd >= line.thresholdUsd;
const criticalMessage = {
  message: 'criticalUsd must be ≥ thresholdUsd: critical is the larger line',
  path: ['criticalUsd'],
};

export const riskThresholdsParams = z
  .strictObject({
    /** Σ max(0, debt − collateral) at the oracle's prices (kind `insolvency`). */
    badDebt: z.strictObject(riskLine).refine(criticalAbove, criticalMessage).optional(),
    /** Debt of accounts with health factor < 1 now (kind `liquidity`). */
    liquidatable: z.strictObject(riskLine).refine(criticalAbove, criticalMessage).optional(),
    /** Liquidations at risk: debt liquidatable once the assets fall by `shockBps` (kind `liquidity`). */
    lar: z
      .strictObject({
        ...riskLine,
        shockBps: z.number().int().min(1).max(10_000),
        /** Symbols or addresses; default every asset of the market. */
        assets: z.array(z.string().min(1)).optional(),
        /** The assets fall together (one figure) instead of each alone (the worst). */
        together: z.boolean().default(false),
      })
      .refine(criticalAbove, criticalMessage)
      .optional(),
    /** Monte Carlo Value at Risk: the quantile of insolvent debt over price paths (kind `insolvency`). */
    var: z
      .strictObject({
        ...riskLine,
        horizonDays: z.number().positive().default(1),
        steps: z.number().int().min(1).max(10_000).default(24),
        paths: z.number().int().min(1).max(1_000_000).default(1000),
        seed: z.number().int().default(1),
        quantile: z.number().gt(0).max(1).default(0.95),
        /** Annualised volatility: one number, or by symbol with an optional `default`. */
        volatility: z.union([z.number().min(0), z.record(z.string(), z.number().min(0))]).default(0.8),
        /** One correlation for every pair of assets. */
        correlation: z.number().min(0).lt(1).default(0.5),
        jumpIntensity: z.number().min(0).default(0),
        jumpMean: z.number().default(0),
        jumpStdev: z.number().min(0).default(0),
        /** Recompute every this many blocks. */
        everyBlocks: z.number().int().positive().default(50),
        /** Worker threads (0: the engine's thread). */
        workers: z.number().int().min(0).default(0),
        /** Blocks between a snapshot and the use of its VaR (0: at once); with workers, the block loop never waits. */
        lagBlocks: z.number().int().min(0).default(0),
      })
      .refine(criticalAbove, criticalMessage)
      .optional(),
  })
  .refine((p) => p.badDebt || p.liquidatable || p.lar || p.var, {
    message: 'configure at least one of badDebt, liquidatable, lar, var',
  });

/** Accounts left below health factor 1, bad debt, and liquidations that do not pay (reads the position book). */
export const solvencyParams = z
  .strictObject({
    /** Blocks an account (with at least `minDebtUsd` of debt) may stay below HF 1 unliquidated: `high`. */
    unliquidatedBlocks: z.number().int().positive().default(5),
    /** … `critical` from this many. */
    criticalBlocks: z.number().int().positive().default(50),
    /** Dust: accounts with less debt (USD) are not worth a liquidation's gas and are not reported. */
    minDebtUsd: z.number().min(0).default(10_000),
    /** Σ max(0, debt − collateral), USD: `high` at or above. */
    badDebtUsd: z.number().min(0).default(10_000),
    /** … `critical` at or above. */
    criticalBadDebtUsd: z.number().min(0).default(1_000_000),
    /** A liquidation whose collateral fetches this far (bps) below the debt it cleared: `high`. */
    shortfallBps: z.number().int().min(1).max(10_000).default(1000),
    /** … `critical` from this far. */
    criticalShortfallBps: z.number().int().min(1).max(10_000).default(5000),
    /** The Uniswap v2 pair a seized collateral is sold into (valued at the oracle without one). */
    exits: z.array(z.strictObject({ asset: address, pair: address })).default([]),
  })
  .refine((p) => p.criticalBlocks >= p.unliquidatedBlocks, {
    message: 'criticalBlocks must be ≥ unliquidatedBlocks',
    path: ['criticalBlocks'],
  })
  .refine((p) => p.criticalBadDebtUsd >= p.badDebtUsd, {
    message: 'criticalBadDebtUsd must be ≥ badDebtUsd',
    path: ['criticalBadDebtUsd'],
  })
  .refine((p) => p.criticalShortfallBps >= p.shortfallBps, {
    message: 'criticalShortfallBps must be ≥ shortfallBps',
    path: ['criticalShortfallBps'],
  });

/** A reserve's utilisation near 100 % and the time until its cash runs out at the current outflow. */
export const liquidityExhaustionParams = z
  .strictObject({
    /** The reserves watched; default every reserve the market lists. */
    assets: z.array(z.strictObject({ asset: address, symbol: z.string().optional() })).optional(),
    /** Utilisation (debt / (cash + debt)), bps: `high` at or above. */
    utilisationBps: z.number().int().min(1).max(10_000).default(9500),
    /** … `critical` at or above. */
    criticalUtilisationBps: z.number().int().min(1).max(10_000).default(9900),
    /** Blocks over which the net outflow rate is measured. */
    windowBlocks: z.number().int().min(2).default(100),
    /** Cash exhausted within this many seconds at the current rate: `high`. */
    horizonSeconds: z.number().int().positive().default(3600),
    /** … `critical` within this many. */
    criticalHorizonSeconds: z.number().int().positive().default(900),
    /** The window's net outflow, less its largest block, must be at least this share (bps) of its starting cash. */
    minOutflowBps: z.number().int().min(0).max(10_000).default(1000),
  })
  .refine((p) => p.criticalUtilisationBps >= p.utilisationBps, {
    message: 'criticalUtilisationBps must be ≥ utilisationBps',
    path: ['criticalUtilisationBps'],
  })
  .refine((p) => p.criticalHorizonSeconds <= p.horizonSeconds, {
    message: 'criticalHorizonSeconds must be ≤ horizonSeconds: critical is the nearer exhaustion',
    path: ['criticalHorizonSeconds'],
  });

/** A declarative rule's condition operand source: a view call at the block. */
export const ruleRead = z.strictObject({
  /** `emitter` (the log's contract), `target` (the call's), or an address. */
  address: z.union([z.enum(['emitter', 'target']), address]),
  /** e.g. `totalSupply() returns (uint256)` or `balanceOf(address) returns (uint256)`. */
  function: z.string().min(1),
  /** Literal values or names of decoded arguments (`from`, `args.to`). */
  args: z.array(z.string()).default([]),
});

export const ruleParams = z.strictObject({
  /** What to match: events by signature (and emitter), or top-level calls by function signature (and target). */
  match: z
    .array(
      z.union([
        z.strictObject({ event: z.string().min(1), address: z.array(address).default([]) }),
        z.strictObject({ function: z.string().min(1), address: z.array(address).default([]) }),
      ]),
    )
    .min(1),
  /** A condition on decoded arguments and reads, e.g. `value > 5% of totalSupply && from != 0x0000…`. */
  condition: z.string().optional(),
  reads: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), ruleRead).default({}),
  severity,
  kind,
  /** Title with `{name}` placeholders for arguments and reads. */
  title: z.string().optional(),
  confidence: z.number().min(0).max(1).default(1),
});

export const detectorConfig = z.discriminatedUnion('type', [
  z.strictObject({
    id: z.string().min(1),
    type: z.literal('oracle-deviation'),
    market: z.string().min(1),
    params: oracleDeviationParams,
  }),
  z.strictObject({
    ...detectorPlace,
    type: z.literal('price-feed-integrity'),
    params: priceFeedIntegrityParams,
  }),
  z.strictObject({ ...detectorPlace, type: z.literal('amm-manipulation'), params: ammManipulationParams }),
  z.strictObject({ ...detectorPlace, type: z.literal('outflow-rate'), params: outflowRateParams }),
  z.strictObject({
    ...detectorPlace,
    type: z.literal('volatility-breaker'),
    params: volatilityBreakerParams,
  }),
  z.strictObject({
    ...detectorPlace,
    type: z.literal('governance-watch'),
    params: governanceWatchParams.prefault({}),
  }),
  z.strictObject({ ...detectorPlace, type: z.literal('share-price-jump'), params: sharePriceJumpParams }),
  z.strictObject({ ...detectorPlace, type: z.literal('rule'), params: ruleParams }),
  z.strictObject({
    id: z.string().min(1),
    type: z.literal('concentration'),
    market: z.string().min(1),
    params: concentrationParams.prefault({}),
  }),
  /** Alias of `concentration` (the type it superseded). */
  z.strictObject({
    id: z.string().min(1),
    type: z.literal('debt-concentration'),
    market: z.string().min(1),
    params: debtConcentrationParams,
  }),
  z.strictObject({
    id: z.string().min(1),
    type: z.literal('risk-thresholds'),
    market: z.string().min(1),
    params: riskThresholdsParams,
  }),
  z.strictObject({
    id: z.string().min(1),
    type: z.literal('solvency'),
    market: z.string().min(1),
    params: solvencyParams.prefault({}),
  }),
  z.strictObject({
    id: z.string().min(1),
    type: z.literal('liquidity-exhaustion'),
    market: z.string().min(1),
    params: liquidityExhaustionParams.prefault({}),
  }),
  z.strictObject({
    ...detectorPlace,
    type: z.literal('custom'),
    /** A TypeScript/JavaScript module exporting a detector definition (relative to the working directory). */
    module: z.string().min(1),
    /** The export holding it; default `default`. */
    export: z.string().min(1).default('default'),
    /** Passed to the detector as its params (validated by the module's `paramsSchema` when it has one). */
    params: z.record(z.string(), z.unknown()).default({}),
  }),
]);

/** An encrypted JSON keystore (Web3 Secret Storage v3) and the secret reference of its password. */
export const keystoreRef = z.strictObject({
  /** The keystore file, resolved against the current directory. */
  keystore: z.string().min(1),
  password: secretRef,
});
/** A signing key: an environment variable holding it, or an encrypted keystore. */
const signerKey = z.union([secretRef, keystoreRef]);
export type SignerKeyRef = z.infer<typeof signerKey>;

/** Replacement of a stuck transaction (same nonce, higher fees), for the executors that send with a key. */
const feeBumpFields = {
  /** Replace a transaction not mined after this many blocks (default 2). */
  bumpAfterBlocks: z.number().int().min(1).optional(),
  /** Raise of both fee fields per replacement, percent (default 12.5): nodes refuse a replacement under +10 %. */
  bumpPercent: z.number().min(10).max(1000).optional(),
};

export const executorConfig = z.discriminatedUnion('type', [
  z.strictObject({
    id: z.string().min(1),
    type: z.literal('eoa'),
    chain: z.string().min(1),
    key: signerKey,
    /** Tip offered by containing transactions: they must beat an attacker's next transactions to the block. */
    priorityFeeGwei: z.number().positive().default(50),
    /** Fee cap never exceeded, by fee bumps and priority-mode outbidding included. */
    maxFeeGwei: z.number().positive().default(500),
    ...feeBumpFields,
    dryRun: z.boolean().default(false),
  }),
  /** One agent of a k-of-n GuardianHub: its key confirms each call on the hub, the k-th confirmation makes it. */
  z.strictObject({
    id: z.string().min(1),
    type: z.literal('guardian-hub'),
    chain: z.string().min(1),
    /** The GuardianHub contract (holding the market's EMERGENCY_ADMIN / RISK_ADMIN roles). */
    hub: address,
    /** This agent's own key; every agent (every Firebreak instance) has its own. */
    key: signerKey,
    priorityFeeGwei: z.number().positive().default(50),
    maxFeeGwei: z.number().positive().default(500),
    ...feeBumpFields,
    dryRun: z.boolean().default(false),
  }),
  /**
   * A Safe (1.4.1) holding the market role: the agent keys (owners of the Safe) sign its
   * transaction; when they meet the threshold the first key executes it at once, otherwise it waits
   * for owners' signatures given with `firebreak approve <action-id> --key-env VAR`.
   */
  z.strictObject({
    id: z.string().min(1),
    type: z.literal('safe'),
    chain: z.string().min(1),
    /** The Safe proxy (holding the market's EMERGENCY_ADMIN / RISK_ADMIN roles). */
    safe: address,
    /** The agents' keys, each an owner of the Safe; the first one also pays the gas of `execTransaction`. */
    keys: z.array(signerKey).min(1),
    /** MultiSendCallOnly 1.4.1, for a plan of several calls (one Safe transaction); default: its canonical address. */
    multiSend: address.default('0x9641d764fc13c8b624c04430c7356c1c7c8102e2'),
    priorityFeeGwei: z.number().positive().default(50),
    maxFeeGwei: z.number().positive().default(500),
    /** For `execTransaction`, sent by the first key. */
    ...feeBumpFields,
    dryRun: z.boolean().default(false),
  }),
  /**
   * An OpenZeppelin TimelockController for non-emergency changes: its key (a proposer and
   * executor of the timelock) schedules the calls, and executes them once the delay has passed.
   */
  z.strictObject({
    id: z.string().min(1),
    type: z.literal('timelock'),
    chain: z.string().min(1),
    /** The TimelockController (holding the market role the calls need, e.g. RISK_ADMIN). */
    timelock: address,
    key: signerKey,
    /** The delay to schedule with, seconds; default (and minimum): the timelock's `getMinDelay()`. */
    delaySeconds: z.number().int().min(0).optional(),
    /** Not a race: an ordinary tip. */
    priorityFeeGwei: z.number().positive().default(2),
    maxFeeGwei: z.number().positive().default(500),
    ...feeBumpFields,
    dryRun: z.boolean().default(false),
  }),
]);

/** A bound on automatic changes of one parameter, in the style of Aave's risk stewards (defaults: guardrails.ts). */
const parameterBound = z.strictObject({
  /** Largest cut in one change, relative to the current value, bps (10000: down to 0, or from no limit). */
  maxDecreaseBps: z.number().int().min(0).max(10_000).optional(),
  /** Seconds of chain time between two automatic changes of this parameter of one asset. */
  minDelaySeconds: z.number().int().min(0).optional(),
});

/** What the automatic path may do (risk-reducing only, never raising a limit, is not configurable). */
export const guardrailsConfig = z.strictObject({
  parameters: z
    .strictObject({
      ltv: parameterBound.optional(),
      liquidationThreshold: parameterBound.optional(),
      supplyCap: parameterBound.optional(),
      borrowCap: parameterBound.optional(),
      debtCeiling: parameterBound.optional(),
    })
    .default({}),
  /** At most `maxActions` automatic actions per chain in any `windowSeconds` of chain time. */
  rateLimit: z
    .strictObject({
      maxActions: z.number().int().min(1).default(10),
      windowSeconds: z.number().int().min(1).default(3600),
    })
    .prefault({}),
  /** The recovery vaults: the only addresses an action may move funds to. */
  vaults: z.array(z.strictObject({ chain: z.string().min(1), address })).default([]),
});
export type GuardrailsConfig = z.output<typeof guardrailsConfig>;

export const playbookStep = z.strictObject({
  action: z.enum([
    'aave-v3.contain-collateral',
    'aave-v3.pause-reserve',
    'aave-v3.freeze-borrowing',
    'aave-v3.lower-borrow-cap',
    'erc7265.trip',
    'timelock.cancel',
    'liquidity.migrate',
  ]),
  executor: z.string().min(1),
  autonomy: z.enum(['auto', 'approve', 'notify']).default('auto'),
  /** `approve` steps: seconds a human has to run `firebreak approve <action-id>`; `safe` steps: seconds the Safe transaction waits for owners' signatures (default 900); then the action fails and is escalated. */
  approvalTimeoutSeconds: z.number().int().positive().optional(),
  /** The contract the action acts on when the finding does not name it: the breaker of `erc7265.trip`; for `timelock.cancel`, the only timelock it may cancel in. */
  target: address.optional(),
  /** `liquidity.migrate`: move only the treasury holdings exposed to the finding's subject (default), or all of them. */
  scope: z.enum(['subject', 'all']).optional(),
});

/**
 * Protocol-owned liquidity: what a treasury holds (Uniswap v2 LP, Aave v3 supplies), the executor
 * that acts for it, and the recovery vault `liquidity.migrate` moves it to.
 */
export const treasuryConfig = z
  .strictObject({
    id: z.string().min(1),
    chain: z.string().min(1),
    /** The account holding the positions: the Safe of a `safe` executor, or the account of an `eoa` executor's key. */
    holder: address,
    /** The executor that signs for the holder (`safe` or `eoa`). */
    executor: z.string().min(1),
    /** The RecoveryVault the holdings move to: one of `guardrails.vaults` on this chain. */
    vault: address,
    uniswapV2: z
      .strictObject({
        /** UniswapV2Router02: the liquidity is withdrawn through it, straight to the vault. */
        router: address,
        /** The pairs whose LP tokens the holder has. */
        pairs: z.array(address).min(1),
        /** The least a withdrawal accepts, below what the pair's reserves pay when planned, bps. */
        slippageBps: z.number().int().min(0).max(5000).default(100),
        /** Seconds the router accepts the withdrawal after it is planned. */
        deadlineSeconds: z.number().int().min(60).default(1800),
      })
      .optional(),
    /** Aave v3 supplies: the market (an id under `markets`) and the assets supplied. */
    aave: z.array(z.strictObject({ market: z.string().min(1), assets: z.array(address).min(1) })).default([]),
  })
  .refine((t) => t.uniswapV2 !== undefined || t.aave.length > 0, {
    message: 'declare at least one holding: uniswapV2.pairs or aave',
  });
export type TreasuryConfig = z.output<typeof treasuryConfig>;

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
  /** Bounds, rate limits and recovery vaults of the automatic path; omitted: the defaults (guardrails.ts). */
  guardrails: guardrailsConfig.optional(),
  chains: z.array(chainConfig).min(1, 'needs at least one chain'),
  markets: z.array(marketConfig).default([]),
  detectors: z.array(detectorConfig).default([]),
  executors: z.array(executorConfig).default([]),
  playbooks: z.array(playbookConfig).default([]),
  /** Protocol-owned liquidity `liquidity.migrate` may move to a recovery vault. */
  treasuries: z.array(treasuryConfig).optional(),
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
  // Checkpoints, findings and processed blocks are kept per chain id: two chains with one id would share them.
  unique('chains', 'id');
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
    if (d.market !== undefined && !markets.has(d.market)) {
      problems.push({
        path: ['detectors', i, 'market'],
        message: `unknown market "${d.market}"`,
        fix: `use a market id defined under markets: ${known(markets)}`,
      });
    }
    const chain = 'chain' in d ? d.chain : undefined;
    if (chain !== undefined && !chains.has(chain)) {
      problems.push({
        path: ['detectors', i, 'chain'],
        message: `unknown chain "${chain}"`,
        fix: `use a chain name defined under chains: ${known(chains)}`,
      });
    }
    if (d.market === undefined && chain === undefined) {
      problems.push({
        path: ['detectors', i],
        message: `detector "${d.id}" names neither a market nor a chain`,
        fix: 'add `market: <market id>` (or `chain: <chain name>` for a detector that needs no market)',
      });
    }
    if (d.market !== undefined && chain !== undefined) {
      problems.push({
        path: ['detectors', i, 'chain'],
        message: `detector "${d.id}" names both a market and a chain`,
        fix: "keep `market` (the detector runs on the market's chain) and remove `chain`",
      });
    }
    if (d.type === 'rule') {
      try {
        compileRule(d.id, d.params);
      } catch (error) {
        problems.push({
          path: ['detectors', i, 'params'],
          message: (error as Error).message.replace(`rule ${d.id}: `, ''),
          fix: 'fix the signature or condition (see docs/detectors.md, "Declarative rules")',
        });
      }
    }
    const needsMarket =
      (d.type === 'governance-watch' && d.params.marketContracts) ||
      (d.type === 'outflow-rate' && d.params.assets.some((a) => a.holder === undefined)) ||
      (d.type === 'volatility-breaker' && d.params.sources.some((src) => 'asset' in src));
    if (needsMarket && d.market === undefined) {
      problems.push({
        path: ['detectors', i, 'market'],
        message: `detector "${d.id}" (${d.type}) reads a market's contracts but names no market`,
        fix:
          d.type === 'governance-watch'
            ? 'add `market: <market id>`, or set `params.marketContracts: false` to watch timelocks only'
            : 'add `market: <market id>`, or give every asset its `holder` / price source explicitly',
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
  config.guardrails?.vaults.forEach((v, i) => {
    if (!chains.has(v.chain)) {
      problems.push({
        path: ['guardrails', 'vaults', i, 'chain'],
        message: `unknown chain "${v.chain}"`,
        fix: `use a chain name defined under chains: ${known(chains)}`,
      });
    }
  });
  config.executors.forEach((e, i) => {
    if (e.type === 'timelock' && /^0x0{40}$/.test(e.timelock)) {
      problems.push({
        path: ['executors', i, 'timelock'],
        message: 'the zero address is not a timelock',
        fix: 'use the address of the deployed TimelockController',
      });
    }
  });
  config.executors.forEach((e, i) => {
    if (e.type !== 'safe') return;
    if (/^0x0{40}$/.test(e.safe)) {
      problems.push({
        path: ['executors', i, 'safe'],
        message: 'the zero address is not a Safe',
        fix: 'use the address of the Safe (its proxy) that holds the market roles',
      });
    }
    // One key listed twice would sign twice, and the Safe counts an owner once (it reverts GS026).
    const seen = new Map<string, number>();
    e.keys.forEach((k, j) => {
      const where = 'env' in k ? k.env : k.keystore;
      const first = seen.get(where);
      if (first !== undefined) {
        problems.push({
          path: ['executors', i, 'keys', j],
          message: `keys[${first}] is already the key in ${where}`,
          fix: "list each agent key of the Safe once (each one an owner's key)",
        });
      } else seen.set(where, j);
    });
  });
  const hubAgents = new Map<string, number>();
  config.executors.forEach((e, i) => {
    if (e.type !== 'guardian-hub') return;
    if (/^0x0{40}$/.test(e.hub)) {
      problems.push({
        path: ['executors', i, 'hub'],
        message: 'the zero address is not a guardian hub',
        fix: 'use the address of the deployed GuardianHub contract',
      });
    }
    // Two executors confirming on one hub with one key would be one agent counted once: a quorum
    // needs independent keys, normally in separate Firebreak instances.
    const where = 'env' in e.key ? e.key.env : e.key.keystore;
    const agent = `${e.chain}|${e.hub}|${where}`;
    const first = hubAgents.get(agent);
    if (first !== undefined) {
      problems.push({
        path: ['executors', i, 'key'],
        message: `executors[${first}] already confirms on hub ${e.hub} with the key in ${where}`,
        fix: 'give each guardian-hub executor of one hub its own agent key (or keep one executor)',
      });
    } else hubAgents.set(agent, i);
  });
  config.detectors.forEach((d, i) => {
    // Every detector with a high and a critical line: the critical one must be the larger.
    const lines: [string, string][] = [
      ['thresholdBps', 'criticalBps'],
      ['impactBps', 'criticalBps'],
      ['maxOutflowBps', 'criticalOutflowBps'],
      ['txShareBps', 'txCriticalShareBps'],
    ];
    const params = d.params as Record<string, unknown>;
    for (const [low, high] of lines) {
      const a = params[low];
      const b = params[high];
      if (typeof a === 'number' && typeof b === 'number' && b < a) {
        problems.push({
          path: ['detectors', i, 'params', high],
          message: `${high} (${b}) is below ${low} (${a})`,
          fix: `make ${high} ≥ ${low}: critical is the larger deviation`,
        });
      }
    }
  });
  const detectorTypes = new Set<string>(config.detectors.map((d) => d.type));
  // An alias (`debt-concentration`) names the type it stands for (`concentration`), and back.
  const canonicalTypes = new Set([...detectorTypes].map(canonicalDetectorType));
  config.playbooks.forEach((p, i) => {
    // A playbook may name a detector instance (its id) or every instance of a type.
    if (
      p.when.detector !== undefined &&
      !detectors.has(p.when.detector) &&
      !canonicalTypes.has(canonicalDetectorType(p.when.detector))
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
      if (step.action === 'erc7265.trip' && step.target === undefined) {
        problems.push({
          path: ['playbooks', i, 'do', j, 'target'],
          message: 'erc7265.trip needs the circuit breaker to trip',
          fix: "add `target: <the breaker's address>`",
        });
      }
      if (
        step.action === 'liquidity.migrate' &&
        !(config.treasuries ?? []).some((t) => t.executor === step.executor)
      ) {
        problems.push({
          path: ['playbooks', i, 'do', j, 'executor'],
          message: `liquidity.migrate through "${step.executor}", which acts for no treasury`,
          fix: `declare the holdings under treasuries with \`executor: ${step.executor}\`, or use the executor of a treasury`,
        });
      }
    });
  });
  problems.push(...treasuryProblems(config, known(chains), known(markets)));
  return problems;
}

/** The `treasuries` section's references: chain, executor (a Safe or a key on that chain, acting for the holder), markets, vault. */
function treasuryProblems(config: FirebreakConfig, chains: string, markets: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const byExecutor = new Map<string, number>();
  const treasuries = config.treasuries ?? [];
  treasuries.forEach((t, i) => {
    const at = (...rest: (string | number)[]) => ['treasuries', i, ...rest];
    const seenId = treasuries.findIndex((o) => o.id === t.id);
    if (seenId !== i)
      problems.push({
        path: at('id'),
        message: `duplicate id "${t.id}"`,
        fix: 'give each treasury its own id',
      });
    if (!config.chains.some((c) => c.name === t.chain))
      problems.push({
        path: at('chain'),
        message: `unknown chain "${t.chain}"`,
        fix: `use a chain name defined under chains: ${chains}`,
      });
    const executor = config.executors.find((e) => e.id === t.executor);
    if (!executor) {
      problems.push({
        path: at('executor'),
        message: `unknown executor "${t.executor}"`,
        fix: 'use the id of the `safe` or `eoa` executor that signs for the holder',
      });
    } else if (executor.type !== 'safe' && executor.type !== 'eoa') {
      problems.push({
        path: at('executor'),
        message: `executor "${t.executor}" is a ${executor.type} executor: it cannot act for a treasury's funds`,
        fix: 'use a `safe` executor (the treasury Safe) or an `eoa` executor holding the funds',
      });
    } else {
      if (executor.chain !== t.chain)
        problems.push({
          path: at('executor'),
          message: `executor "${t.executor}" is on chain "${executor.chain}", the treasury on "${t.chain}"`,
          fix: "use an executor of the treasury's chain",
        });
      if (executor.type === 'safe' && executor.safe !== t.holder)
        problems.push({
          path: at('holder'),
          message: `holder ${t.holder} is not the Safe ${executor.safe} of executor "${t.executor}"`,
          fix: 'the holder of a Safe-run treasury is the Safe itself',
        });
    }
    const first = byExecutor.get(t.executor);
    if (first !== undefined)
      problems.push({
        path: at('executor'),
        message: `treasuries[${first}] already acts through executor "${t.executor}"`,
        fix: 'declare all holdings of one holder in one treasury',
      });
    else byExecutor.set(t.executor, i);
    t.aave.forEach((a, j) => {
      const market = config.markets.find((m) => m.id === a.market);
      if (!market)
        problems.push({
          path: at('aave', j, 'market'),
          message: `unknown market "${a.market}"`,
          fix: `use a market id defined under markets: ${markets}`,
        });
      else if (market.chain !== t.chain)
        problems.push({
          path: at('aave', j, 'market'),
          message: `market "${a.market}" is on chain "${market.chain}", the treasury on "${t.chain}"`,
          fix: 'declare holdings of another chain in a treasury of that chain',
        });
    });
    const vaults = config.guardrails?.vaults.filter((v) => v.chain === t.chain) ?? [];
    if (!vaults.some((v) => v.address === t.vault))
      problems.push({
        path: at('vault'),
        message: `vault ${t.vault} is not a recovery vault of chain "${t.chain}" under guardrails.vaults: a migration to it would be refused`,
        fix: `add { chain: ${t.chain}, address: ${t.vault} } to guardrails.vaults (the deployed RecoveryVault), or use one listed there`,
      });
  });
  return problems;
}
