/**
 * Drills — the scenario file: a market, its accounts, a timeline of steps at block offsets, the
 * response Firebreak runs with, and how the outcome is scored. Validated with zod at load, with
 * every reference (an asset, a pool, an account) checked; errors name the file, path and fix.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { createRng, mixSeed, normal } from '../common/random';
import { type ConfigProblem, invalidFileError, problemsFromZod } from '../config/errors';
import { readDataFile } from '../config/load';
import { botSchema } from './bots/schema';
import { callProblems, type StaticNames } from './custom-call';
import { populationSchema } from './population-schema';

const symbol = z.string().regex(/^[A-Za-z][A-Za-z0-9.-]*$/, 'must be a token symbol such as WETH');
const positive = z.number().positive();
const bps = z.number().int().min(0).max(10_000);

const priceSource = z.union([
  z.literal('feed'),
  z.strictObject({
    twap: z.strictObject({
      pool: z.string(),
      /** Seconds: `update()` succeeds once per period; the answer is the last window's average. */
      periodSeconds: z.number().int().positive(),
    }),
  }),
  /**
   * An ERC-4626 share (the asset is then the vault itself, over `underlying`): priced as the
   * underlying's price × assets per share, by the market and by the reference alike (Cream's yUSD).
   */
  z.strictObject({ vault: z.strictObject({ underlying: symbol }) }),
]);

export const assetSchema = z.strictObject({
  symbol,
  decimals: z.number().int().min(0).max(36),
  /** The asset's true (reference) price in USD at the start. */
  priceUsd: positive,
  /** How the lending market prices it. */
  oracle: priceSource.default('feed'),
  ltvBps: bps,
  liquidationThresholdBps: bps,
  liquidationBonusBps: z.number().int().min(10_000).max(15_000),
  reserveFactorBps: bps.default(1000),
  borrowingEnabled: z.boolean().default(true),
  /** Whole tokens; none when omitted. */
  supplyCap: z.number().int().positive().optional(),
  borrowCap: z.number().int().positive().optional(),
  /** A stablecoin's peg in USD: the drill's defaults then watch it for a depeg. */
  pegUsd: positive.optional(),
});

export const poolSchema = z.strictObject({
  id: z.string(),
  tokens: z.tuple([symbol, symbol]),
  /** Whole-token reserves, in the order of `tokens`. */
  reserves: z.tuple([positive, positive]),
});

/**
 * An efficiency-mode category (Aave v3 e-mode): its members share a higher LTV and liquidation
 * threshold and their own liquidation bonus for users who choose it (an account's `emode`).
 * Categories get ids 1, 2, … in the order listed.
 */
export const emodeSchema = z.strictObject({
  label: z.string().regex(/^[A-Za-z][A-Za-z0-9 -]*$/, 'must be letters, digits, spaces and dashes'),
  ltvBps: bps,
  liquidationThresholdBps: bps,
  /** Includes the principal: 10100 = a 1% bonus (Aave v3's stablecoin e-mode in March 2023). */
  liquidationBonusBps: z.number().int().min(10_001).max(15_000),
  /** Member assets; each may belong to one category only. */
  assets: z.array(symbol).min(1),
});

export const accountSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes'),
  role: z.enum(['attacker', 'supplier', 'user', 'keeper']),
  /** Whole tokens minted to the account at the start. */
  holds: z.record(symbol, positive).default({}),
  /** Whole tokens supplied to the lending market at the start. */
  supplies: z.record(symbol, positive).default({}),
  /** Whole tokens borrowed (variable rate) at the start, after every account has supplied. */
  borrows: z.record(symbol, positive).default({}),
  /** Label of the e-mode category (market.emodes) the account enters at the start, before borrowing. */
  emode: z.string().optional(),
});

/**
 * A multi-asset lending vault with Euler's bug (contracts/drills/DonationVault.sol, drill-only and
 * deliberately vulnerable), optionally behind an ERC-7265 circuit breaker (contracts/CircuitBreaker.sol)
 * whose guardian is the drill's guardian. Deposits are made at the start and then left to settle
 * for one breaker window, so that they count in the breaker's base (liquidity deposited inside the
 * window does not), before the drill's first block.
 */
export const lendingVaultSchema = z.strictObject({
  assets: z.array(symbol).min(1),
  /** Whole tokens each named account deposits at the start: the honest liquidity at risk. */
  deposits: z.record(z.string(), z.record(symbol, positive)).default({}),
  breaker: z
    .strictObject({
      /** The share of the window's starting liquidity an asset must keep (ERC-7265 `minLiqRetainedBps`). */
      retentionBps: z.number().int().min(1).max(10_000),
      withdrawalPeriodSeconds: z.number().int().positive().default(14_400),
      tickSeconds: z.number().int().positive().default(300),
      cooldownSeconds: z.number().int().min(0).default(86_400),
    })
    .optional(),
});

/**
 * A governor with flash-borrowable voting power and an emergency fast path, after Beanstalk
 * (contracts/drills/FlashGovernor.sol, drill-only and deliberately vulnerable). The treasury is held
 * by the governor, or, with `timelock`, by an OpenZeppelin TimelockController through which the
 * governor's proposals are scheduled and in which the drill's guardian holds CANCELLER_ROLE. The
 * `proposer` submits, before the drill starts (`emergencyDelaySeconds` earlier), a proposal that
 * sends the whole treasury to itself.
 */
export const governanceSchema = z.strictObject({
  /** Staking it in the governor gives voting power, counted when the vote is cast (no snapshot). */
  stakeToken: symbol,
  /** Whole tokens each named account has staked at the start. */
  stakes: z.record(z.string(), positive).default({}),
  supermajorityBps: z.number().int().min(1).max(10_000).default(6667),
  emergencyDelaySeconds: z.number().int().min(0).default(86_400),
  /** Whole tokens the treasury holds. */
  treasury: z.record(symbol, positive),
  proposer: z.string(),
  timelock: z.strictObject({ minDelaySeconds: z.number().int().min(0) }).optional(),
});

/**
 * A k-of-n GuardianHub holding the market's EMERGENCY_ADMIN and RISK_ADMIN (the guardian key loses
 * them): `agents` keys, `threshold` confirmations to act, `running` of the agents running Firebreak
 * in the protected run (default `threshold`; fewer than `threshold` cannot act).
 */
export const guardianHubSchema = z.strictObject({
  agents: z.number().int().min(1).max(32),
  threshold: z.number().int().min(1),
  running: z.number().int().min(0).optional(),
  proposalTtlSeconds: z.number().int().min(60).max(2_592_000).default(3600),
});

/**
 * Protocol-owned liquidity: what the protocol's treasury (its own account, a drill key) holds at the
 * start — a share of a scenario pool's LP, supplies to the market — and the time-locked
 * RecoveryVault (contracts/RecoveryVault.sol) the drill deploys for `liquidity.migrate` to move it to.
 */
export const protocolLiquiditySchema = z
  .strictObject({
    /** Share (0–1) of a pool's starting LP the treasury holds, by pool id: it provided that share of `reserves`. */
    lp: z.record(z.string(), z.number().gt(0).max(1)).default({}),
    /** Whole tokens the treasury supplies to the lending market at the start, by symbol. */
    supplies: z.record(symbol, positive).default({}),
    /** The vault's delay: seconds between governance scheduling a release and its execution (1 h – 60 days). */
    vaultDelaySeconds: z.number().int().min(3600).max(5_184_000).default(172_800),
  })
  .refine((p) => Object.keys(p.lp).length + Object.keys(p.supplies).length > 0, {
    message: 'declare at least one holding: lp or supplies',
  });

const amount = z.union([positive, z.literal('all')]);
const callScalar = z.union([z.string(), z.number(), z.boolean()]);
/** A contract call by signature (`call` steps, and each call of a `flash-loan`). */
const callFields = {
  /** `aave.pool`, `aave.configurator`, …, a token symbol, a pool id, `vault`, `breaker`, `governor`, `timelock`, or 0x. */
  contract: z.string().min(1),
  /** Its Solidity declaration, e.g. `function setReserveFreeze(address asset, bool freeze)`. */
  function: z.string().min(1),
  /** One value per parameter: `@name` for addresses, `"<amount> <SYMBOL>"` or an integer for integers, lists for arrays. */
  args: z.array(z.union([callScalar, z.array(callScalar)])).default([]),
};
const feedTarget = z.enum(['both', 'reference', 'protocol']).default('both');

/** A time offset from the drill's start: seconds, or a duration such as `90s`, `15m`, `2h`, `1d`, `1h30m`. */
const duration = z.union([
  z.number().min(0),
  z
    .string()
    .regex(
      /^(?=\d)(\d+d)?(\d+h)?(\d+m)?(\d+s)?$/,
      'must be seconds or a duration such as 90s, 15m, 2h, 1d or 1h30m',
    ),
]);

/** Seconds in a `duration` (already validated). */
export function durationSeconds(value: number | string): number {
  if (typeof value === 'number') return value;
  const unit = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;
  let total = 0;
  for (const [, n, u] of value.matchAll(/(\d+)([dhms])/g)) total += Number(n) * unit[u as keyof typeof unit];
  return total;
}

/**
 * When a step happens: `block` (offset from the drill's start, 1 = its first block) or `time`
 * (the first block at or after that time from the start; blocks come every
 * `chain.blockTimeSeconds`). Exactly one of the two.
 */
const when = {
  block: z.number().int().positive().optional(),
  time: duration.optional(),
};
/** Fields every step has: when, who acts (an account, or `market` for prices), a label. */
const byAccount = {
  ...when,
  actor: z.string(),
  label: z.string().optional(),
};
const byMarket = { ...byAccount, actor: z.string().default('market') };

export const stepSchema = z.discriminatedUnion('do', [
  z.strictObject({
    ...byAccount,
    do: z.literal('swap'),
    pool: z.string(),
    tokenIn: symbol,
    amountIn: amount,
  }),
  z.strictObject({
    ...byAccount,
    do: z.literal('oracle-update'),
    asset: symbol,
  }),
  z.strictObject({
    ...byAccount,
    do: z.literal('supply'),
    asset: symbol,
    amount,
  }),
  z.strictObject({
    ...byAccount,
    do: z.literal('borrow'),
    asset: symbol,
    /** Whole tokens, or a share of the account's borrowing capacity at the oracle's current prices. */
    amount: positive.optional(),
    capacityShare: z.number().gt(0).max(1).optional(),
  }),
  z.strictObject({
    ...byAccount,
    do: z.literal('withdraw'),
    asset: symbol,
    amount,
  }),
  z.strictObject({
    ...when,
    label: z.string().optional(),
    /**
     * A run on a reserve: several accounts withdraw in the same block, each `share` of what it
     * supplied at the start (`accounts[].supplies`). Default: every account that supplied the asset.
     */
    do: z.literal('mass-withdraw'),
    asset: symbol,
    accounts: z.array(z.string()).min(1).optional(),
    share: z.number().gt(0).max(1).default(1),
  }),
  z.strictObject({
    ...byAccount,
    do: z.literal('repay'),
    asset: symbol,
    amount,
  }),
  z.strictObject({
    ...byAccount,
    /** Deposit whole tokens of the vault's underlying (or all the actor holds) into the vault `asset`. */
    do: z.literal('vault-deposit'),
    asset: symbol,
    amount,
  }),
  z.strictObject({
    ...byAccount,
    /** Redeem whole shares of the vault `asset` (or all the actor holds) for its underlying. */
    do: z.literal('vault-redeem'),
    asset: symbol,
    amount,
  }),
  z.strictObject({
    ...byAccount,
    /** Transfer whole tokens of the vault's underlying straight to the vault `asset`: no shares minted. */
    do: z.literal('donate'),
    asset: symbol,
    amount,
  }),
  z.strictObject({
    ...byMarket,
    do: z.literal('set-price'),
    asset: symbol,
    priceUsd: positive,
    /** Which feeds move: the true (reference) price, the market's own feed, or both. */
    feeds: feedTarget,
  }),
  z.strictObject({
    ...byMarket,
    do: z.literal('price-path'),
    asset: symbol,
    /** Blocks the path lasts: one price per block from `block` on. */
    blocks: z.number().int().positive().max(100_000),
    /** A straight line from the current price to `to`. */
    to: positive.optional(),
    /** Points `[blockWithinPath, priceUsd]`, joined by straight lines (block 0 = `block`). */
    points: z
      .array(z.tuple([z.number().int().min(0), positive]))
      .min(1)
      .optional(),
    /** Geometric Brownian motion from the current price, per block, with optional jumps. */
    gbm: z
      .strictObject({
        /** Drift per block, in basis points. */
        driftBps: z.number().default(0),
        /** Standard deviation of the per-block log return, in basis points. */
        volatilityBps: z.number().min(0),
        /** Chance of a jump in a block (0–1) and its mean size in basis points (signed). */
        jumpProbability: z.number().min(0).max(1).default(0),
        jumpMeanBps: z.number().default(0),
      })
      .optional(),
    feeds: feedTarget,
    /** The market's feed follows the true price this many blocks late (Black Thursday's lagging feeds). */
    lagBlocks: z.number().int().min(0).default(0),
    /**
     * The market's feed behaves like a Chainlink aggregator (with `feeds: both`): it publishes the
     * true price only when it has moved `deviationBps` from the last published price, or when
     * `heartbeatSeconds` have passed since the last update (counted from the path's start).
     * Without it, the feed publishes every block.
     */
    feedUpdates: z
      .strictObject({
        deviationBps: z.number().int().positive().max(10_000),
        heartbeatSeconds: z.number().int().positive(),
      })
      .optional(),
  }),
  z.strictObject({
    ...byAccount,
    /** One Euler-style drain transaction on market.lendingVault: flash loan, lever, donate, self-liquidate, withdraw. */
    do: z.literal('vault-exploit'),
    asset: symbol,
    /** Whole tokens flash-borrowed from the Aave market. */
    flashLoan: positive,
  }),
  z.strictObject({
    ...byAccount,
    /** Beanstalk's transaction: flash-borrow the stake token, stake, vote, emergencyCommit, unstake, repay. */
    do: z.literal('governance-attack'),
    /** Whole tokens of the stake token flash-borrowed from the Aave market. */
    flashLoan: positive,
  }),
  z.strictObject({
    ...byAccount,
    /** Executes the committed proposal's calls queued in market.governance.timelock. */
    do: z.literal('governance-execute'),
  }),
  z.strictObject({
    ...byAccount,
    /** Any function of a drill contract, by its signature (src/drills/custom-call.ts). */
    do: z.literal('call'),
    ...callFields,
    gas: z.number().int().positive().default(1_000_000),
  }),
  z.strictObject({
    ...byAccount,
    /**
     * Flash-borrow `amount` of `asset` from the Aave market: the actor's flash-loan contract makes
     * `calls` as itself (`@self`), repays (the premium from the actor's wallet), and sends every
     * market token it still holds to the actor. One transaction (src/drills/flash-loan.ts).
     */
    do: z.literal('flash-loan'),
    asset: symbol,
    amount: positive,
    calls: z.array(z.strictObject(callFields)).min(1),
  }),
]);

export const scenarioSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes'),
  title: z.string(),
  description: z.string().optional(),
  tags: z.array(z.string()).default([]),
  seed: z.number().int().default(1),
  chain: z
    .strictObject({
      blockTimeSeconds: z.number().int().positive().default(12),
      startDate: z.string().default('2022-04-02T09:00:00Z'),
      /** Tip (gwei) the scenario's actors pay: the engine's transactions compete with theirs. */
      actorPriorityFeeGwei: positive.default(2),
      /**
       * An attacker that sees another transaction waiting with a tip at least its own replaces its
       * waiting transactions once, tipping this much (gwei): priority mode must answer the new bid.
       */
      attackerRebidGwei: positive.optional(),
    })
    .prefault({}),
  market: z.strictObject({
    assets: z.array(assetSchema).min(1),
    pools: z.array(poolSchema).default([]),
    /** A lending vault with Euler's bug, optionally behind an ERC-7265 breaker (SCENARIOS.md §6). */
    lendingVault: lendingVaultSchema.optional(),
    /** A flash-loanable governor and its treasury, optionally behind a timelock (SCENARIOS.md §7). */
    governance: governanceSchema.optional(),
    /** Efficiency-mode categories (Aave v3 e-mode). */
    emodes: z.array(emodeSchema).default([]),
    /** The market's emergency levers behind a k-of-n GuardianHub instead of one guardian key (hub.ts). */
    guardianHub: guardianHubSchema.optional(),
    /** What the protocol's treasury holds (LP, supplies), for `liquidity.migrate` to move to a recovery vault. */
    protocolLiquidity: protocolLiquiditySchema.optional(),
  }),
  accounts: z.array(accountSchema).min(1),
  /** Generated borrowers: many positions drawn from size and health-factor distributions. */
  population: z.array(populationSchema).default([]),
  /** Automated actors: liquidators, arbitrageurs, background users. */
  bots: z.array(botSchema).default([]),
  timeline: z.array(stepSchema).min(1),
  /** Blocks mined after the last step, so that late transactions land and effects are verified. */
  tailBlocks: z.number().int().min(1).default(3),
  response: z
    .strictObject({
      /** Assets the oracle-deviation detector watches; default: every asset used as collateral. */
      watch: z.array(symbol).optional(),
      thresholdBps: z.number().int().positive().default(1000),
      criticalBps: z.number().int().positive().default(3000),
      action: z
        .enum(['aave-v3.contain-collateral', 'aave-v3.pause-reserve'])
        .default('aave-v3.contain-collateral'),
      priorityFeeGwei: positive.default(50),
      /**
       * The engine follows the chain's pending transactions and outbids those touching the market
       * (priority mode): the actors' next transactions wait there while the engine responds.
       */
      mempool: z.boolean().default(false),
    })
    .prefault({}),
  score: z
    .strictObject({
      /** `attack`: the counterfactual must lose and the protected run must keep the loss under the share; `benign`: no containing action may happen. */
      expect: z.enum(['attack', 'benign']).default('attack'),
      maxLossShare: z.number().min(0).max(1).default(0.1),
      /** The counterfactual must lose at least this much, or the drill proves nothing. */
      minCounterfactualLossUsd: z.number().min(0).default(0),
      /** Label of the step the containing transaction must land before. */
      mitigateBefore: z.string().optional(),
      /** Reserves that must still work for an ordinary user after the protected run. */
      usableAfter: z.array(symbol).default([]),
      /**
       * What counts as the loss: bad debt, assets taken from the reserves with no debt behind
       * them, liquidation penalties paid by (non-attacker) users, or the sum of the three; or
       * `attacker-take`: what the attackers carried off, their wallets' gain at true prices (what
       * they leave inside the market they abandon), for attacks whose bad debt sits in a circle of
       * the attackers' own positions (Cream) and so overstates what the other users lose;
       * or `treasury`: what the protocol's own holdings (`market.protocolLiquidity`) lost at true
       * prices, which `sum` includes too.
       */
      loss: z
        .enum(['sum', 'bad-debt', 'assets-taken', 'penalties', 'attacker-take', 'treasury'])
        .default('sum'),
      /** Label of a step the first finding must come before (block-wise). */
      detectBefore: z.string().optional(),
      /** Actions that must happen in the protected run (e.g. aave-v3.contain-collateral). */
      mustAct: z.array(z.string()).default([]),
      /** Actions that must not happen (e.g. aave-v3.pause-pool: "no pool-wide pause"). */
      mustNotAct: z.array(z.string()).default([]),
      /**
       * Why Firebreak, with what it can do today, is expected to fail this scenario. The scenario
       * stays in the suite and is scored honestly; its verdict is `expected-fail` when it fails.
       */
      expectedFailure: z.string().min(1).optional(),
    })
    .prefault({}),
});

/** A step as written: `block` or `time`. */
type WrittenStep = z.output<typeof scenarioSchema>['timeline'][number];
/** Each step with its `block` resolved (a `time` becomes the first block at or after it). */
type Timed<T> = T extends unknown ? Omit<T, 'block'> & { block: number } : never;
/** A loaded scenario: as written, with every step's block resolved (see `parseScenario`). */
export type Scenario = Omit<z.output<typeof scenarioSchema>, 'timeline'> & {
  timeline: Timed<WrittenStep>[];
};
export type ScenarioAsset = Scenario['market']['assets'][number];
export type ScenarioStep = Scenario['timeline'][number];

/**
 * Gives every step its block: a `time` becomes the first block offset whose timestamp (the start
 * plus offset × `chain.blockTimeSeconds`) is at or after it. Problems for a step with both or neither.
 */
export function resolveStepTimes(parsed: z.output<typeof scenarioSchema>): {
  scenario: Scenario;
  problems: ConfigProblem[];
} {
  const problems: ConfigProblem[] = [];
  const blockTime = parsed.chain.blockTimeSeconds;
  const timeline = parsed.timeline.map((step, i) => {
    if ((step.block === undefined) === (step.time === undefined))
      problems.push({
        path: ['timeline', i],
        message: `a step needs exactly one of block or time${step.block !== undefined ? ', not both' : ''}`,
        fix: "give block (an offset from the drill's start, 1 = its first block) or time (e.g. 90s, 15m, 2h)",
      });
    const block = step.block ?? Math.max(1, Math.ceil(durationSeconds(step.time ?? 0) / blockTime));
    return { ...step, block } as Timed<WrittenStep>;
  });
  return { scenario: { ...parsed, timeline }, problems };
}

function referenceProblems(s: Scenario): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const assets = new Set(s.market.assets.map((a) => a.symbol));
  const pools = new Map(s.market.pools.map((p) => [p.id, p]));
  const accounts = new Set(s.accounts.map((a) => a.name));
  const list = (set: Iterable<string>) => [...set].join(', ') || '(none)';
  const asset = (path: (string | number)[], sym: string) => {
    if (!assets.has(sym))
      problems.push({
        path,
        message: `unknown asset "${sym}"`,
        fix: `use one of market.assets: ${list(assets)}`,
      });
  };
  const duplicates = (section: string, names: string[], path: (i: number) => (string | number)[]) => {
    const seen = new Set<string>();
    names.forEach((n, i) => {
      if (seen.has(n))
        problems.push({
          path: path(i),
          message: `duplicate ${section} "${n}"`,
          fix: `give each of ${section} its own name`,
        });
      seen.add(n);
    });
  };
  duplicates(
    'asset symbols',
    s.market.assets.map((a) => a.symbol),
    (i) => ['market', 'assets', i, 'symbol'],
  );
  duplicates(
    'pool ids',
    s.market.pools.map((p) => p.id),
    (i) => ['market', 'pools', i, 'id'],
  );
  duplicates(
    'account names',
    s.accounts.map((a) => a.name),
    (i) => ['accounts', i, 'name'],
  );
  if (s.response.criticalBps < s.response.thresholdBps) {
    problems.push({
      path: ['response', 'criticalBps'],
      message: 'criticalBps is below thresholdBps',
      fix: 'make criticalBps ≥ thresholdBps',
    });
  }
  s.market.assets.forEach((a, i) => {
    if (a.ltvBps > a.liquidationThresholdBps) {
      problems.push({
        path: ['market', 'assets', i, 'ltvBps'],
        message: 'LTV above the liquidation threshold',
        fix: 'make ltvBps ≤ liquidationThresholdBps',
      });
    }
    if (typeof a.oracle === 'object' && 'vault' in a.oracle) problems.push(...vaultProblems(s, a, i));
    if (typeof a.oracle === 'object' && 'twap' in a.oracle) {
      const pool = pools.get(a.oracle.twap.pool);
      if (!pool)
        problems.push({
          path: ['market', 'assets', i, 'oracle', 'twap', 'pool'],
          message: `unknown pool "${a.oracle.twap.pool}"`,
          fix: `use one of market.pools: ${list(pools.keys())}`,
        });
      else if (!pool.tokens.includes(a.symbol))
        problems.push({
          path: ['market', 'assets', i, 'oracle', 'twap', 'pool'],
          message: `pool "${pool.id}" does not hold ${a.symbol}`,
          fix: `price ${a.symbol} over a pool that holds it`,
        });
      else {
        const quote = pool.tokens.find((t) => t !== a.symbol)!;
        const quoteAsset = s.market.assets.find((x) => x.symbol === quote);
        if (quoteAsset && typeof quoteAsset.oracle === 'object') {
          problems.push({
            path: ['market', 'assets', i, 'oracle'],
            message: `the TWAP's quote asset ${quote} must be priced by a feed`,
            fix: `give ${quote} oracle: feed`,
          });
        }
      }
    }
  });
  s.market.pools.forEach((p, i) => {
    for (const [j, t] of p.tokens.entries()) asset(['market', 'pools', i, 'tokens', j], t);
  });
  const owned = s.market.protocolLiquidity;
  for (const id of Object.keys(owned?.lp ?? {}))
    if (!pools.has(id))
      problems.push({
        path: ['market', 'protocolLiquidity', 'lp', id],
        message: `unknown pool "${id}"`,
        fix: `use one of market.pools: ${list(pools.keys())}`,
      });
  for (const sym of Object.keys(owned?.supplies ?? {}))
    asset(['market', 'protocolLiquidity', 'supplies', sym], sym);
  problems.push(...emodeProblems(s, asset));
  const hub = s.market.guardianHub;
  if (hub && hub.threshold > hub.agents)
    problems.push({
      path: ['market', 'guardianHub', 'threshold'],
      message: `a threshold of ${hub.threshold} with ${hub.agents} agents can never be met`,
      fix: `make threshold ≤ agents (${hub.agents})`,
    });
  if (hub?.running !== undefined && hub.running > hub.agents)
    problems.push({
      path: ['market', 'guardianHub', 'running'],
      message: `${hub.running} agents cannot run: the hub has ${hub.agents}`,
      fix: `make running ≤ agents (${hub.agents})`,
    });
  s.accounts.forEach((a, i) => {
    for (const sym of Object.keys(a.holds)) asset(['accounts', i, 'holds', sym], sym);
    for (const sym of Object.keys(a.supplies)) asset(['accounts', i, 'supplies', sym], sym);
    for (const sym of Object.keys(a.borrows)) asset(['accounts', i, 'borrows', sym], sym);
  });
  s.population.forEach((p, i) => {
    asset(['population', i, 'collateral'], p.collateral);
    if (p.debt !== undefined) asset(['population', i, 'debt'], p.debt);
    if ((p.debt === undefined) !== (p.healthFactor === undefined))
      problems.push(
        p.debt === undefined
          ? {
              path: ['population', i, 'healthFactor'],
              message: 'a population without debt (suppliers) has no health factor',
              fix: 'remove healthFactor, or give debt (the asset each position borrows)',
            }
          : {
              path: ['population', i, 'healthFactor'],
              message: 'a population of borrowers needs a health-factor range',
              fix: 'give healthFactor: { min, max } (both above 1), or remove debt for suppliers',
            },
      );
    if (p.healthFactor && p.healthFactor.max < p.healthFactor.min)
      problems.push({
        path: ['population', i, 'healthFactor', 'max'],
        message: 'max is below min',
        fix: 'make healthFactor.max ≥ healthFactor.min',
      });
  });
  s.bots.forEach((b, i) => {
    for (const sym of Object.keys(b.holds)) asset(['bots', i, 'holds', sym], sym);
    if (b.kind === 'arbitrageur')
      b.pools.forEach((id, j) => {
        if (!pools.has(id))
          problems.push({
            path: ['bots', i, 'pools', j],
            message: `unknown pool "${id}"`,
            fix: `use one of market.pools: ${list(pools.keys())}`,
          });
      });
    if (b.until !== undefined && b.until < b.from)
      problems.push({
        path: ['bots', i, 'until'],
        message: 'until is before from',
        fix: 'make until ≥ from, or remove it',
      });
  });
  duplicates(
    'account, population and bot names',
    [...s.accounts.map((a) => a.name), ...s.population.map((p) => p.name), ...s.bots.map((b) => b.name)],
    (i) =>
      i < s.accounts.length
        ? ['accounts', i, 'name']
        : i < s.accounts.length + s.population.length
          ? ['population', i - s.accounts.length, 'name']
          : ['bots', i - s.accounts.length - s.population.length, 'name'],
  );
  s.timeline.forEach((step, i) => {
    if (step.do === 'mass-withdraw') {
      problems.push(...massWithdrawProblems(s, step, i));
    } else if (step.actor === 'market' && step.do !== 'set-price' && step.do !== 'price-path') {
      problems.push({
        path: ['timeline', i, 'actor'],
        message: `"market" only publishes prices; it cannot ${step.do}`,
        fix: `use one of accounts: ${list(accounts)}`,
      });
    } else if ((step.do === 'set-price' || step.do === 'price-path') && step.actor !== 'market') {
      problems.push({
        path: ['timeline', i, 'actor'],
        message: "prices are published by the market (the feeds' updater), not by an account",
        fix: 'remove actor, or set it to "market"',
      });
    } else if (step.actor !== 'market' && !accounts.has(step.actor)) {
      problems.push({
        path: ['timeline', i, 'actor'],
        message: `unknown account "${step.actor}"`,
        fix: `use one of accounts: ${list(accounts)} (or "market" for price steps)`,
      });
    }
    if (step.do === 'swap') {
      const pool = pools.get(step.pool);
      if (!pool)
        problems.push({
          path: ['timeline', i, 'pool'],
          message: `unknown pool "${step.pool}"`,
          fix: `use one of market.pools: ${list(pools.keys())}`,
        });
      else if (!pool.tokens.includes(step.tokenIn))
        problems.push({
          path: ['timeline', i, 'tokenIn'],
          message: `pool "${step.pool}" does not hold ${step.tokenIn}`,
          fix: `use one of ${pool.tokens.join(', ')}`,
        });
    }
    if (step.do === 'oracle-update') {
      const a = s.market.assets.find((x) => x.symbol === step.asset);
      if (a && (typeof a.oracle !== 'object' || !('twap' in a.oracle)))
        problems.push({
          path: ['timeline', i, 'asset'],
          message: `${step.asset} is priced by a feed, which has no update()`,
          fix: 'use set-price for feed-priced assets',
        });
    }
    if (step.do === 'price-path') {
      const shapes = [step.to, step.points, step.gbm].filter((x) => x !== undefined).length;
      if (shapes !== 1)
        problems.push({
          path: ['timeline', i],
          message: 'a price path needs exactly one of to, points or gbm',
          fix: 'give to (a straight line), points ([block, price] pairs) or gbm (a random walk)',
        });
      step.points?.forEach(([b], j) => {
        if (b > step.blocks)
          problems.push({
            path: ['timeline', i, 'points', j, 0],
            message: `point at block ${b} lies beyond the path's ${step.blocks} blocks`,
            fix: `use blocks 0–${step.blocks}, or lengthen blocks`,
          });
      });
    }
    if (step.do === 'set-price' || step.do === 'price-path') {
      const a = s.market.assets.find((x) => x.symbol === step.asset);
      if (a && typeof a.oracle === 'object' && 'vault' in a.oracle)
        problems.push({
          path: ['timeline', i, 'asset'],
          message: `${step.asset} is a vault share, priced from its vault and ${a.oracle.vault.underlying}'s price`,
          fix: `move ${a.oracle.vault.underlying}'s price, or the vault (vault-deposit, vault-redeem, donate)`,
        });
    }
    if (step.do === 'vault-deposit' || step.do === 'vault-redeem' || step.do === 'donate') {
      const a = s.market.assets.find((x) => x.symbol === step.asset);
      if (a && (typeof a.oracle !== 'object' || !('vault' in a.oracle)))
        problems.push({
          path: ['timeline', i, 'asset'],
          message: `${step.asset} is not a vault share`,
          fix: `name an asset with oracle: { vault: { underlying: ... } }`,
        });
    }
    if ((step.do === 'set-price' || step.do === 'price-path') && step.feeds === 'protocol') {
      const a = s.market.assets.find((x) => x.symbol === step.asset);
      if (a && typeof a.oracle === 'object' && 'twap' in a.oracle)
        problems.push({
          path: ['timeline', i, 'feeds'],
          message: `${step.asset} is priced by a TWAP over a pool, not by its own feed`,
          fix: 'move its pool instead (a swap), or use feeds: reference',
        });
    }
    if (step.do === 'call') problems.push(...callProblems(step, callNames(s), ['timeline', i]));
    if (step.do === 'flash-loan') {
      const names = callNames(s);
      const withSelf = { ...names, accounts: new Set([...names.accounts, 'self']) };
      step.calls.forEach((c, j) => {
        problems.push(...callProblems(c, withSelf, ['timeline', i, 'calls', j]));
      });
    }
    if ('asset' in step) asset(['timeline', i, 'asset'], step.asset);
    if (step.do === 'borrow' && (step.amount === undefined) === (step.capacityShare === undefined)) {
      problems.push({
        path: ['timeline', i],
        message: 'a borrow needs exactly one of amount or capacityShare',
        fix: 'give amount (whole tokens) or capacityShare (0–1)',
      });
    }
  });
  if (s.score.mitigateBefore !== undefined && !s.timeline.some((st) => st.label === s.score.mitigateBefore)) {
    problems.push({
      path: ['score', 'mitigateBefore'],
      message: `no timeline step has label "${s.score.mitigateBefore}"`,
      fix: 'add that label to a step, or remove mitigateBefore',
    });
  }
  if (s.score.detectBefore !== undefined && !s.timeline.some((st) => st.label === s.score.detectBefore)) {
    problems.push({
      path: ['score', 'detectBefore'],
      message: `no timeline step has label "${s.score.detectBefore}"`,
      fix: 'add that label to a step, or remove detectBefore',
    });
  }
  for (const [i, sym] of (s.response.watch ?? []).entries()) asset(['response', 'watch', i], sym);
  for (const [i, sym] of s.score.usableAfter.entries()) asset(['score', 'usableAfter', i], sym);
  problems.push(...extraContractProblems(s, asset));
  return problems;
}

/** The names a `call` step may use, as the scenario declares them. */
function callNames(s: Scenario): StaticNames {
  const extras = new Set<string>();
  if (s.market.lendingVault) extras.add('vault');
  if (s.market.lendingVault?.breaker) extras.add('breaker');
  if (s.market.governance) extras.add('governor');
  if (s.market.governance?.timelock) extras.add('timelock');
  return {
    tokens: new Set(s.market.assets.map((a) => a.symbol)),
    pools: new Set(s.market.pools.map((p) => p.id)),
    accounts: new Set(s.accounts.map((a) => a.name)),
    extras,
  };
}

/** A mass withdrawal: its accounts known, each with an opening supply of the asset to withdraw. */
function massWithdrawProblems(
  s: Scenario,
  step: Extract<ScenarioStep, { do: 'mass-withdraw' }>,
  i: number,
): ConfigProblem[] {
  const suppliers = s.accounts.filter((a) => (a.supplies[step.asset] ?? 0) > 0).map((a) => a.name);
  if (step.accounts === undefined)
    return suppliers.length > 0
      ? []
      : [
          {
            path: ['timeline', i, 'asset'],
            message: `no account supplies ${step.asset} at the start: nobody to withdraw`,
            fix: `give accounts supplies of ${step.asset}, or withdraw another asset`,
          },
        ];
  const problems: ConfigProblem[] = [];
  step.accounts.forEach((name, j) => {
    if (!s.accounts.some((a) => a.name === name))
      problems.push({
        path: ['timeline', i, 'accounts', j],
        message: `unknown account "${name}"`,
        fix: `use one of accounts: ${s.accounts.map((a) => a.name).join(', ')}`,
      });
    else if (!suppliers.includes(name))
      problems.push({
        path: ['timeline', i, 'accounts', j],
        message: `${name} supplies no ${step.asset} at the start`,
        fix: `name accounts that supply ${step.asset}: ${suppliers.join(', ') || '(none)'}`,
      });
  });
  return problems;
}

/** market.lendingVault and market.governance: assets and accounts known, steps that need them. */
function extraContractProblems(
  s: Scenario,
  asset: (path: (string | number)[], sym: string) => void,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const accounts = new Set(s.accounts.map((a) => a.name));
  const account = (path: (string | number)[], name: string) => {
    if (!accounts.has(name))
      problems.push({
        path,
        message: `unknown account "${name}"`,
        fix: `use one of accounts: ${[...accounts].join(', ')}`,
      });
  };
  const vault = s.market.lendingVault;
  if (vault) {
    for (const [i, sym] of vault.assets.entries()) asset(['market', 'lendingVault', 'assets', i], sym);
    for (const [name, amounts] of Object.entries(vault.deposits)) {
      account(['market', 'lendingVault', 'deposits', name], name);
      for (const sym of Object.keys(amounts))
        if (!vault.assets.includes(sym))
          problems.push({
            path: ['market', 'lendingVault', 'deposits', name, sym],
            message: `the vault does not list ${sym}`,
            fix: `add ${sym} to market.lendingVault.assets, or deposit one of ${vault.assets.join(', ')}`,
          });
    }
    const b = vault.breaker;
    if (
      b &&
      (b.withdrawalPeriodSeconds % b.tickSeconds !== 0 || b.withdrawalPeriodSeconds / b.tickSeconds > 1024)
    )
      problems.push({
        path: ['market', 'lendingVault', 'breaker', 'withdrawalPeriodSeconds'],
        message: 'the withdrawal period must be a multiple of tickSeconds, at most 1024 ticks',
        fix: 'choose tickSeconds that divides withdrawalPeriodSeconds into ≤ 1024 ticks',
      });
  }
  const gov = s.market.governance;
  if (gov) {
    asset(['market', 'governance', 'stakeToken'], gov.stakeToken);
    for (const sym of Object.keys(gov.treasury)) asset(['market', 'governance', 'treasury', sym], sym);
    for (const name of Object.keys(gov.stakes)) account(['market', 'governance', 'stakes', name], name);
    account(['market', 'governance', 'proposer'], gov.proposer);
  }
  s.timeline.forEach((step, i) => {
    if (step.do === 'vault-exploit') {
      if (!vault)
        problems.push({
          path: ['timeline', i, 'do'],
          message: 'vault-exploit needs market.lendingVault',
          fix: 'declare market.lendingVault, or remove the step',
        });
      else if (!vault.assets.includes(step.asset))
        problems.push({
          path: ['timeline', i, 'asset'],
          message: `the vault does not list ${step.asset}`,
          fix: `use one of market.lendingVault.assets: ${vault.assets.join(', ')}`,
        });
    }
    if (step.do === 'governance-attack' || step.do === 'governance-execute') {
      if (!gov)
        problems.push({
          path: ['timeline', i, 'do'],
          message: `${step.do} needs market.governance`,
          fix: 'declare market.governance, or remove the step',
        });
      else if (step.do === 'governance-attack' && step.actor !== gov.proposer)
        problems.push({
          path: ['timeline', i, 'actor'],
          message: `the attack commits the proposal of ${gov.proposer}, so ${gov.proposer} must send it`,
          fix: `set actor to "${gov.proposer}"`,
        });
      else if (step.do === 'governance-execute' && !gov.timelock)
        problems.push({
          path: ['timeline', i, 'do'],
          message:
            'without a timelock the proposal runs inside emergencyCommit: there is nothing to execute later',
          fix: 'add market.governance.timelock, or remove the step',
        });
    }
  });
  return problems;
}

/** E-mode categories: members known and in one category, thresholds Aave accepts, accounts' choices known. */
function emodeProblems(
  s: Scenario,
  asset: (path: (string | number)[], sym: string) => void,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const labels = s.market.emodes.map((e) => e.label);
  const memberOf = new Map<string, string>();
  s.market.emodes.forEach((e, i) => {
    const at = ['market', 'emodes', i];
    if (labels.indexOf(e.label) !== i)
      problems.push({
        path: [...at, 'label'],
        message: `duplicate e-mode label "${e.label}"`,
        fix: 'give each category its own label',
      });
    if (e.ltvBps > e.liquidationThresholdBps)
      problems.push({
        path: [...at, 'ltvBps'],
        message: 'LTV above the liquidation threshold',
        fix: 'make ltvBps ≤ liquidationThresholdBps',
      });
    if (e.liquidationThresholdBps * e.liquidationBonusBps > 10_000 * 10_000)
      problems.push({
        path: [...at, 'liquidationBonusBps'],
        message: 'liquidation threshold × bonus exceeds 100% (Aave refuses it)',
        fix: 'lower the bonus or the threshold',
      });
    e.assets.forEach((sym, j) => {
      asset([...at, 'assets', j], sym);
      const other = memberOf.get(sym);
      if (other !== undefined)
        problems.push({
          path: [...at, 'assets', j],
          message: `${sym} is already in e-mode "${other}"`,
          fix: 'put each asset in one category only',
        });
      memberOf.set(sym, e.label);
      const a = s.market.assets.find((x) => x.symbol === sym);
      if (a && a.liquidationThresholdBps >= e.liquidationThresholdBps)
        problems.push({
          path: [...at, 'liquidationThresholdBps'],
          message: `must exceed ${sym}'s own liquidation threshold (${a.liquidationThresholdBps} bps)`,
          fix: `raise it above ${a.liquidationThresholdBps}, or lower ${sym}'s`,
        });
    });
  });
  s.accounts.forEach((a, i) => {
    if (a.emode !== undefined && !labels.includes(a.emode))
      problems.push({
        path: ['accounts', i, 'emode'],
        message: `unknown e-mode "${a.emode}"`,
        fix: `use one of market.emodes: ${labels.join(', ') || '(none)'}`,
      });
  });
  return problems;
}

/** What a vault-share asset (`oracle: { vault }`) must satisfy: an underlying priced by a feed, with its decimals and price. */
function vaultProblems(s: Scenario, a: ScenarioAsset, i: number): ConfigProblem[] {
  if (typeof a.oracle !== 'object' || !('vault' in a.oracle)) return [];
  const path = ['market', 'assets', i, 'oracle', 'vault', 'underlying'];
  const name = a.oracle.vault.underlying;
  const u = s.market.assets.find((x) => x.symbol === name);
  if (!u)
    return [
      {
        path,
        message: `unknown asset "${name}"`,
        fix: `use one of market.assets: ${s.market.assets.map((x) => x.symbol).join(', ')}`,
      },
    ];
  const problems: ConfigProblem[] = [];
  if (u.oracle !== 'feed')
    problems.push({
      path,
      message: `the vault's underlying ${name} must be priced by a feed`,
      fix: `give ${name} oracle: feed`,
    });
  if (u.decimals !== a.decimals)
    problems.push({
      path: ['market', 'assets', i, 'decimals'],
      message: `a vault share has its underlying's decimals (${u.decimals}), not ${a.decimals}`,
      fix: `set decimals: ${u.decimals}`,
    });
  // A new vault starts at one asset per share: its share is worth exactly the underlying.
  if (Math.abs(a.priceUsd - u.priceUsd) > 1e-9 * u.priceUsd)
    problems.push({
      path: ['market', 'assets', i, 'priceUsd'],
      message: `a new vault's share is worth one ${name} ($${u.priceUsd}), not $${a.priceUsd}`,
      fix: `set priceUsd: ${u.priceUsd}`,
    });
  return problems;
}

/** A concrete step the actors perform (price paths and mass withdrawals expanded). */
export type DrillStep = Exclude<ScenarioStep, { do: 'price-path' | 'mass-withdraw' }>;

/**
 * The timeline as the actors run it, in block order:
 * - every price path becomes one `set-price` per block; the market's feed follows `lagBlocks`
 *   behind the true price, and with `feedUpdates` only on deviation or heartbeat;
 * - a mass withdrawal becomes one `withdraw` per account, in the same block.
 * Deterministic: a random path draws from the scenario's seed and the step's position in the file.
 */
export function expandTimeline(s: Scenario): DrillStep[] {
  /** The true price, and the price the market's feed last published, per asset. */
  const current = new Map(s.market.assets.map((a) => [a.symbol, a.priceUsd]));
  const published = new Map(current);
  const out: DrillStep[] = [];
  const ordered = s.timeline
    .map((step, index) => ({ step, index }))
    .sort((a, b) => a.step.block - b.step.block);
  for (const { step, index } of ordered) {
    if (step.do === 'mass-withdraw') {
      out.push(...massWithdrawals(s, step));
      continue;
    }
    if (step.do !== 'price-path') {
      if (step.do === 'set-price' && step.feeds !== 'protocol') current.set(step.asset, step.priceUsd);
      if (step.do === 'set-price' && step.feeds !== 'reference') published.set(step.asset, step.priceUsd);
      out.push(step);
      continue;
    }
    const start = current.get(step.asset)!;
    const prices = pricePath(step, start, mixSeed(s.seed, index));
    const price = (p: number) => Math.round(p * 1e8) / 1e8;
    const heartbeatBlocks = step.feedUpdates
      ? Math.max(1, Math.round(step.feedUpdates.heartbeatSeconds / s.chain.blockTimeSeconds))
      : 1;
    let lastUpdate = step.block - 1;
    prices.forEach((p, k) => {
      const base = { actor: 'market', do: 'set-price' as const, asset: step.asset, priceUsd: price(p) };
      const label = k === 0 ? step.label : undefined;
      const at = step.block + k;
      const split = step.feeds === 'both' && (step.lagBlocks > 0 || step.feedUpdates !== undefined);
      if (!split) {
        out.push({ ...base, block: at, feeds: step.feeds, ...(label ? { label } : {}) });
        if (step.feeds !== 'reference') published.set(step.asset, base.priceUsd);
        return;
      }
      out.push({ ...base, block: at, feeds: 'reference', ...(label ? { label } : {}) });
      const last = published.get(step.asset)!;
      const moved = Math.abs(base.priceUsd - last) * 10_000 >= (step.feedUpdates?.deviationBps ?? 0) * last;
      if (moved || at - lastUpdate >= heartbeatBlocks) {
        out.push({ ...base, block: at + step.lagBlocks, feeds: 'protocol' });
        published.set(step.asset, base.priceUsd);
        lastUpdate = at;
      }
    });
    if (step.feeds !== 'protocol') current.set(step.asset, prices.at(-1)!);
  }
  return out.sort((a, b) => a.block - b.block);
}

/** One `withdraw` per account of a mass withdrawal: `share` of its opening supply (all of it at 1). */
function massWithdrawals(s: Scenario, step: Extract<ScenarioStep, { do: 'mass-withdraw' }>): DrillStep[] {
  const names =
    step.accounts ?? s.accounts.filter((a) => (a.supplies[step.asset] ?? 0) > 0).map((a) => a.name);
  return names.map((name, k) => {
    const supplied = s.accounts.find((a) => a.name === name)?.supplies[step.asset] ?? 0;
    const label = k === 0 ? step.label : undefined;
    return {
      block: step.block,
      actor: name,
      do: 'withdraw' as const,
      asset: step.asset,
      amount: step.share === 1 ? ('all' as const) : supplied * step.share,
      ...(label ? { label } : {}),
    };
  });
}

/** One price per block of a path: `blocks` prices, the first one block after `start` applied. */
function pricePath(step: Extract<ScenarioStep, { do: 'price-path' }>, start: number, seed: number): number[] {
  const n = step.blocks;
  if (step.to !== undefined)
    return Array.from({ length: n }, (_, k) => start + ((step.to! - start) * (k + 1)) / n);
  if (step.points) {
    const points: [number, number][] = [[0, start], ...step.points];
    points.sort((a, b) => a[0] - b[0]);
    return Array.from({ length: n }, (_, k) => {
      const b = k + 1;
      const right = points.findIndex(([x]) => x >= b);
      if (right === -1) return points.at(-1)![1];
      if (right === 0) return points[0]![1];
      const [x0, y0] = points[right - 1]!;
      const [x1, y1] = points[right]!;
      return y0 + ((y1 - y0) * (b - x0)) / (x1 - x0);
    });
  }
  const g = step.gbm!;
  const rng = createRng(seed);
  const out: number[] = [];
  let p = start;
  for (let k = 0; k < n; k++) {
    let r = g.driftBps / 1e4 + (g.volatilityBps / 1e4) * normal(rng);
    if (g.jumpProbability > 0 && rng() < g.jumpProbability) r += g.jumpMeanBps / 1e4;
    p *= Math.exp(r);
    out.push(p);
  }
  return out;
}

/** Validates scenario data that came from `file`. */
export function parseScenario(data: unknown, file: string, text?: string): Scenario {
  const result = scenarioSchema.safeParse(data);
  if (!result.success)
    throw invalidFileError('ERR_SCENARIO_INVALID', file, problemsFromZod(result.error), text);
  const { scenario, problems: timing } = resolveStepTimes(result.data);
  const problems = [...timing, ...referenceProblems(scenario)];
  if (problems.length > 0) throw invalidFileError('ERR_SCENARIO_INVALID', file, problems, text);
  return scenario;
}

export function loadScenario(path: string): Scenario {
  const { data, text } = readDataFile(resolve(path), 'scenario');
  return parseScenario(data, path, text);
}
