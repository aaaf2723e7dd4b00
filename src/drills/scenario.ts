/**
 * Drills — the scenario file: a market, its accounts, a timeline of steps at block offsets, the
 * response Firebreak runs with, and how the outcome is scored. Validated with zod at load, with
 * every reference (an asset, a pool, an account) checked; errors name the file, path and fix.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { type ConfigProblem, invalidFileError, problemsFromZod } from '../config/errors';
import { readDataFile } from '../config/load';

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
});

export const poolSchema = z.strictObject({
  id: z.string(),
  tokens: z.tuple([symbol, symbol]),
  /** Whole-token reserves, in the order of `tokens`. */
  reserves: z.tuple([positive, positive]),
});

export const accountSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes'),
  role: z.enum(['attacker', 'supplier', 'user', 'keeper']),
  /** Whole tokens minted to the account at the start. */
  holds: z.record(symbol, positive).default({}),
  /** Whole tokens supplied to the lending market at the start. */
  supplies: z.record(symbol, positive).default({}),
});

const amount = z.union([positive, z.literal('all')]);

export const stepSchema = z.discriminatedUnion('do', [
  z.strictObject({
    block: z.number().int().positive(),
    actor: z.string(),
    label: z.string().optional(),
    do: z.literal('swap'),
    pool: z.string(),
    tokenIn: symbol,
    amountIn: amount,
  }),
  z.strictObject({
    block: z.number().int().positive(),
    actor: z.string(),
    label: z.string().optional(),
    do: z.literal('oracle-update'),
    asset: symbol,
  }),
  z.strictObject({
    block: z.number().int().positive(),
    actor: z.string(),
    label: z.string().optional(),
    do: z.literal('supply'),
    asset: symbol,
    amount,
  }),
  z.strictObject({
    block: z.number().int().positive(),
    actor: z.string(),
    label: z.string().optional(),
    do: z.literal('borrow'),
    asset: symbol,
    /** Whole tokens, or a share of the account's borrowing capacity at the oracle's current prices. */
    amount: positive.optional(),
    capacityShare: z.number().gt(0).max(1).optional(),
  }),
  z.strictObject({
    block: z.number().int().positive(),
    actor: z.string().default('market'),
    label: z.string().optional(),
    do: z.literal('set-price'),
    asset: symbol,
    priceUsd: positive,
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
    })
    .prefault({}),
  market: z.strictObject({
    assets: z.array(assetSchema).min(1),
    pools: z.array(poolSchema).default([]),
  }),
  accounts: z.array(accountSchema).min(1),
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
    })
    .prefault({}),
});

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioAsset = Scenario['market']['assets'][number];
export type ScenarioStep = Scenario['timeline'][number];

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
    if (typeof a.oracle === 'object') {
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
  s.accounts.forEach((a, i) => {
    for (const sym of Object.keys(a.holds)) asset(['accounts', i, 'holds', sym], sym);
    for (const sym of Object.keys(a.supplies)) asset(['accounts', i, 'supplies', sym], sym);
  });
  s.timeline.forEach((step, i) => {
    if (step.actor === 'market' && step.do !== 'set-price') {
      problems.push({
        path: ['timeline', i, 'actor'],
        message: `"market" only publishes prices; it cannot ${step.do}`,
        fix: `use one of accounts: ${list(accounts)}`,
      });
    } else if (step.do === 'set-price' && step.actor !== 'market') {
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
      if (a && typeof a.oracle !== 'object')
        problems.push({
          path: ['timeline', i, 'asset'],
          message: `${step.asset} is priced by a feed, which has no update()`,
          fix: 'use set-price for feed-priced assets',
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
  for (const [i, sym] of (s.response.watch ?? []).entries()) asset(['response', 'watch', i], sym);
  for (const [i, sym] of s.score.usableAfter.entries()) asset(['score', 'usableAfter', i], sym);
  return problems;
}

/** Validates scenario data that came from `file`. */
export function parseScenario(data: unknown, file: string, text?: string): Scenario {
  const result = scenarioSchema.safeParse(data);
  if (!result.success)
    throw invalidFileError('ERR_SCENARIO_INVALID', file, problemsFromZod(result.error), text);
  const problems = referenceProblems(result.data);
  if (problems.length > 0) throw invalidFileError('ERR_SCENARIO_INVALID', file, problems, text);
  return result.data;
}

export function loadScenario(path: string): Scenario {
  const { data, text } = readDataFile(resolve(path), 'scenario');
  return parseScenario(data, path, text);
}
