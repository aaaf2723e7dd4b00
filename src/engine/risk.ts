/**
 * Engine — `firebreak risk`'s wiring: a scenario's market on the embedded chain → the position book
 * fed with the market's logs → a `PositionSnapshot` → every risk function (health factors,
 * liquidations-at-risk and bad-debt curves, the cascade through the scenario's real pools,
 * contagion, the sensitivity table, Monte Carlo VaR/LaR). Returns the results; `risk/report.ts`
 * turns them into Markdown and SVG.
 *
 * The snapshot comes from the exact position book (`risk/book.ts`), built from every log of the
 * Pool and the reserves' tokens since genesis; its health factors are checked against the node's
 * `getUserAccountData` for (up to `parityAccounts`) accounts, and the count of mismatches goes in
 * the report. Prices are the market's oracle prices; the drill's independent reference feeds (the
 * true prices) value the market a second time.
 */
import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Client, Hex } from 'viem';
import { zeroAddress } from 'viem';
import { getBlock, getLogs } from 'viem/actions';
import type { BlockRef } from '../chain/events';
import { createCommon } from '../common/common';
import { FirebreakError } from '../common/errors';
import { prepareDrill, runScenario } from '../drills/runner';
import type { Scenario } from '../drills/scenario';
import { readUserAccountData } from '../protocols/aave-v3/reader';
import type { AaveV3Market } from '../protocols/aave-v3/types';
import { readFeed } from '../protocols/chainlink/feed';
import { readPair } from '../protocols/uniswap-v2/pool';
import { type AaveV3RiskInputs, createPositionBook, type PositionBook } from '../risk/book';
import { type CascadePool, type CascadeResult, runCascade } from '../risk/cascade';
import {
  type ContagionGraph,
  type ContagionResult,
  type ContagionSource,
  propagateContagion,
} from '../risk/contagion';
import { compileHealthBook, healthFactors, stressGrid } from '../risk/health';
import { factorGrid, type LarCurve, liquidationsAtRisk } from '../risk/lar';
import { monteCarloRisk } from '../risk/montecarlo';
import { type RiskNow, riskNow } from '../risk/now';
import { type RiskReportInput, renderRiskReport, riskToJson } from '../risk/report';
import {
  type Decline,
  type GovernanceRow,
  governanceDelaySensitivity,
  type OracleRow,
  oracleSensitivity,
  type ThresholdRow,
  thresholdSensitivity,
} from '../risk/sensitivity';
import { readRiskInputs } from '../risk/tracker';
import type { PositionSnapshot } from '../risk/types';

export interface RiskRunOptions {
  /** `deploy`: the market as the scenario sets it up; `end` (default): after its timeline, nobody responding. */
  at?: 'deploy' | 'end';
  /** The cascade's and contagion's shock, basis points (default 3000: −30 %). */
  shockBps?: number;
  /** Assets that fall (symbols); default: the asset with the most collateral posted. */
  shockAssets?: readonly string[];
  /** Rounds the oracle trails the pools in the cascade (default 1). */
  oracleLagRounds?: number;
  /** Price points of the LaR and bad-debt curves, from today's price to 0 (default 101). */
  curvePoints?: number;
  /** Monte Carlo: paths (default 2000), horizon in days (7), steps (28), seed (the scenario's). */
  paths?: number;
  horizonDays?: number;
  steps?: number;
  seed?: number;
  /** Worker threads for Monte Carlo (default: the library's choice). */
  workers?: number;
  /** Accounts whose book values are checked against the node (default 500). */
  parityAccounts?: number;
  onProgress?: (message: string) => void;
}

export interface RiskAnalysis extends RiskReportInput {
  /** Per snapshot asset: the drill's reference (true) price, NaN when it has none. */
  referencePrices: number[];
  now: RiskNow;
  lar: LarCurve[];
  cascade: {
    shockBps: number;
    shockedAssets: number[];
    shock: number[];
    pools: CascadePool[];
    poolIds: string[];
    oracleLagRounds: number;
    result: CascadeResult;
  };
  contagion: { graph: ContagionGraph; sources: ContagionSource[]; result: ContagionResult };
  sensitivity: {
    asset: number;
    decline: Required<Pick<Decline, 'ratePerHour' | 'horizonHours'>>;
    responseHours: number;
    thresholds: ThresholdRow[];
    governance: GovernanceRow[];
    oracle: OracleRow[];
  };
  monteCarlo: {
    paths: number;
    horizonDays: number;
    steps: number;
    seed: number;
    quantile: number;
    sigmas: number[];
    correlation: number;
    valueAtRiskUsd: number;
    liquidationsAtRiskUsd: number;
    meanInsolventUsd: number;
    meanLiquidatedUsd: number;
    workers: number;
  };
  timingsMs: Record<string, number>;
}

const usage = (message: string) => new FirebreakError('ERR_USAGE', message);

const time = async <T>(
  timings: Record<string, number>,
  name: string,
  f: () => Promise<T> | T,
): Promise<T> => {
  const started = performance.now();
  const out = await f();
  timings[name] = Math.round(performance.now() - started);
  return out;
};

/** A market's snapshot from the position book, and how it was built. */
export interface BookSnapshot {
  snapshot: PositionSnapshot;
  book: PositionBook;
  inputs: AaveV3RiskInputs;
  /** The head block's timestamp. */
  timestamp: bigint;
  logs: number;
  blocks: number;
  /** Accounts whose `getUserAccountData` was compared with the book's, and how many differed. */
  parity: { checked: number; mismatches: number };
  timingsMs: Record<string, number>;
}

/**
 * Builds an Aave v3 market's position book from every log of its Pool and reserve tokens up to
 * `head` (from genesis: for a market deployed on the embedded chain), reads the risk inputs at
 * `head` and takes the snapshot; compares the book with the Pool's `getUserAccountData` for the
 * first `parityAccounts` accounts (default 500; 0: none).
 *
 * @example
 * const { snapshot } = await buildBookSnapshot(chain.client, chain.chainId, market.aave, head);
 */
export async function buildBookSnapshot(
  client: Client,
  chainId: number,
  market: Pick<AaveV3Market, 'pool' | 'oracle' | 'reserves'>,
  head: bigint,
  options: { parityAccounts?: number; fromBlock?: bigint } = {},
): Promise<BookSnapshot> {
  const timings: Record<string, number> = {};
  const reserves = Object.values(market.reserves);
  const book = createPositionBook({ chainId, pool: market.pool, reserves });
  const { logs, blocks } = await time(timings, 'book', async () => {
    const addresses = [
      market.pool,
      ...reserves.flatMap((r) => [r.aToken, r.variableDebtToken, r.stableDebtToken]),
    ]
      .filter((a) => a.toLowerCase() !== zeroAddress)
      .map((a) => a.toLowerCase() as Hex);
    const all = await getLogs(client, {
      address: addresses,
      fromBlock: options.fromBlock ?? 0n,
      toBlock: head,
    });
    const byBlock = new Map<bigint, typeof all>();
    for (const log of all) {
      const list = byBlock.get(log.blockNumber);
      if (list) list.push(log);
      else byBlock.set(log.blockNumber, [log]);
    }
    if (!byBlock.has(head)) byBlock.set(head, []);
    const numbers = [...byBlock.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    for (const n of numbers) {
      const b = await getBlock(client, { blockNumber: n });
      const ref: BlockRef = { number: n, hash: b.hash!, parentHash: b.parentHash, timestamp: b.timestamp };
      book.applyBlock(ref, byBlock.get(n)!);
    }
    return { logs: all.length, blocks: numbers.length };
  });
  const inputs = await readRiskInputs(client, market, head);
  const snapshot = book.snapshot(inputs);
  const parity = await time(timings, 'parity', async () => {
    const accounts = book.accounts().slice(0, options.parityAccounts ?? 500);
    let mismatches = 0;
    for (const account of accounts) {
      const mine = book.accountData(account, inputs);
      const node = await readUserAccountData(client, market.pool, account, head);
      if (
        mine.healthFactor !== node.healthFactor ||
        mine.totalDebtBase !== node.totalDebtBase ||
        mine.totalCollateralBase !== node.totalCollateralBase
      )
        mismatches++;
    }
    return { checked: accounts.length, mismatches };
  });
  return {
    snapshot,
    book,
    inputs,
    timestamp: book.head()!.timestamp,
    logs,
    blocks,
    parity,
    timingsMs: timings,
  };
}

/**
 * Deploys the scenario's market, optionally plays its timeline unprotected, builds the snapshot
 * and runs every risk function on it.
 *
 * @example
 * const analysis = await analyseScenarioRisk(loadScenario('scenarios/inverse-finance-2022.yaml'));
 * const { markdown, files } = renderRiskReport(analysis, { svgPrefix: 'report' });
 */
export async function analyseScenarioRisk(
  scenario: Scenario,
  options: RiskRunOptions = {},
): Promise<RiskAnalysis> {
  const at = options.at ?? 'end';
  const shockBps = options.shockBps ?? 3000;
  if (!(Number.isInteger(shockBps) && shockBps > 0 && shockBps < 10_000))
    throw usage(`the shock must be whole basis points in 1..9999, got ${shockBps}`);
  const listed = scenario.market.assets.map((x) => x.symbol);
  for (const name of options.shockAssets ?? [])
    if (!listed.some((x) => x.toLowerCase() === name.toLowerCase()))
      throw usage(
        `--shock-assets names "${name}", which scenario ${scenario.name} does not list\n    fix: use one of ${listed.join(', ')}`,
      );
  const progress = options.onProgress ?? (() => {});
  const timings: Record<string, number> = {};

  const prepared = await time(timings, 'deploy', () => prepareDrill(scenario, progress));
  const { chain, market } = prepared;
  try {
    if (at === 'end') {
      progress('playing the scenario timeline (nobody responds)');
      await time(timings, 'timeline', () =>
        runScenario('counterfactual', prepared, scenario, { budget: 1, common: createCommon() }),
      );
    }
    const client = chain.client;
    const head = await client.getBlockNumber();

    progress('building the position book from the market logs');
    const built = await buildBookSnapshot(client, chain.chainId, market.aave, head, {
      parityAccounts: options.parityAccounts ?? 500,
    });
    const { snapshot, logs, blocks, timestamp } = built;
    const { checked, mismatches } = built.parity;
    Object.assign(timings, built.timingsMs);

    // ---- Reference prices and pools ----
    const symbolOf = new Map([...market.tokens.values()].map((t) => [t.address.toLowerCase(), t.symbol]));
    const indexOf = (symbol: string) =>
      snapshot.assets.findIndex((x) => symbolOf.get(x.address.toLowerCase()) === symbol);
    const referencePrices = await Promise.all(
      snapshot.assets.map(async (x) => {
        const feed = market.referenceFeeds.get(symbolOf.get(x.address.toLowerCase()) ?? '');
        if (!feed) return Number.NaN;
        const r = await readFeed(client, feed, head);
        return Number(r.answer) / 10 ** r.decimals;
      }),
    );
    const pools: CascadePool[] = [];
    const poolIds: string[] = [];
    const poolTokens: [string, string][] = [];
    for (const p of scenario.market.pools) {
      // A pool prices its first token against the second, unless the first is a $1 asset and the
      // second is not (a USDC/WETH pool prices WETH).
      const dollar = (symbol: string) =>
        Math.abs((snapshot.assets[indexOf(symbol)]?.priceUsd ?? 0) - 1) < 0.02;
      const [x, y] = dollar(p.tokens[0]) && !dollar(p.tokens[1]) ? [p.tokens[1], p.tokens[0]] : p.tokens;
      const jx = indexOf(x);
      const jy = indexOf(y);
      const pair = market.pools.get(p.id);
      if (jx < 0 || jy < 0 || !pair || pools.some((q) => q.asset === jx)) continue;
      const state = await readPair(client, pair, head);
      const tx = market.tokens.get(x)!;
      const ty = market.tokens.get(y)!;
      const xIs0 = state.token0.toLowerCase() === tx.address.toLowerCase();
      const [rx, ry] = xIs0 ? [state.reserve0, state.reserve1] : [state.reserve1, state.reserve0];
      pools.push({
        asset: jx,
        reserveAsset: Number(rx) / 10 ** tx.decimals,
        reserveQuote: (Number(ry) / 10 ** ty.decimals) * snapshot.assets[jy]!.priceUsd,
      });
      poolIds.push(p.id);
      poolTokens.push([x, y]);
    }

    progress('computing health factors, curves, cascade, contagion, sensitivity, Monte Carlo');
    return await analyseSnapshot(snapshot, {
      scenario: { name: scenario.name, title: scenario.title, seed: scenario.seed },
      at,
      timestamp,
      book: { logs, blocks, parityChecked: checked, parityMismatches: mismatches },
      referencePrices,
      pools: pools.map((pool, k) => ({
        id: poolIds[k]!,
        tokens: poolTokens[k]!,
        pool,
      })),
      options,
      timings,
    });
  } finally {
    await chain.close();
  }
}

/** What `analyseSnapshot` needs besides the snapshot: where it comes from, and the pools. */
export interface SnapshotContext {
  scenario: RiskAnalysis['scenario'];
  at: RiskAnalysis['at'];
  timestamp: bigint;
  book: RiskAnalysis['book'];
  /** Per snapshot asset: a reference (true) price, NaN for none. */
  referencePrices: number[];
  /** Constant-product pools: `pool.asset` priced against the second token, valued in USD. */
  pools: readonly { id: string; tokens: readonly [string, string]; pool: CascadePool }[];
  options?: RiskRunOptions;
  timings?: Record<string, number>;
}

/**
 * Every risk function on one snapshot (no chain): health factors, LaR and bad-debt curves, the
 * cascade through `pools`, contagion, the sensitivity table and Monte Carlo VaR/LaR.
 */
export async function analyseSnapshot(
  snapshot: PositionSnapshot,
  context: SnapshotContext,
): Promise<RiskAnalysis> {
  const options = context.options ?? {};
  const timings = context.timings ?? {};
  const referencePrices = context.referencePrices;
  const pools = context.pools.map((p) => p.pool);
  const poolIds = context.pools.map((p) => p.id);
  const shockBps = options.shockBps ?? 3000;
  if (!(Number.isInteger(shockBps) && shockBps > 0 && shockBps < 10_000))
    throw usage(`the shock must be whole basis points in 1..9999, got ${shockBps}`);
  const a = snapshot.assets.length;
  const compiled = compileHealthBook(snapshot);
  const hf = healthFactors(compiled);
  const now = riskNow(snapshot);
  const collateralUsd = snapshot.assets.map((x, j) => {
    let s = 0;
    for (let i = 0; i < snapshot.accounts.length; i++) s += snapshot.collateral[i * a + j]!;
    return s * x.priceUsd;
  });
  const largest = collateralUsd.reduce((best, v, j) => (v > collateralUsd[best]! ? j : best), 0);
  const shocked =
    options.shockAssets && options.shockAssets.length > 0
      ? options.shockAssets.map((s) => {
          const j = snapshot.assets.findIndex((x) => x.symbol.toLowerCase() === s.toLowerCase());
          if (j < 0)
            throw usage(
              `--shock-assets names "${s}", which the market does not list\n    fix: use one of ${snapshot.assets.map((x) => x.symbol).join(', ')}`,
            );
          return j;
        })
      : [largest];

  const atReference = referencePrices.every(
    (p, j) => !Number.isFinite(p) || p === snapshot.assets[j]!.priceUsd,
  )
    ? null
    : stressGrid(compiled, [
        referencePrices.map((p, j) =>
          Number.isFinite(p) && snapshot.assets[j]!.priceUsd > 0 ? p / snapshot.assets[j]!.priceUsd : 1,
        ),
      ])[0]!;

  const lar = await time(timings, 'lar', () =>
    liquidationsAtRisk(compiled, {
      factors: factorGrid(1, 0, options.curvePoints ?? 101),
      closeable: true,
    }).map((curve) => ({ ...curve, label: curve.assets.map((j) => snapshot.assets[j]!.symbol).join('+') })),
  );

  const shock = snapshot.assets.map((_, j) => (shocked.includes(j) ? 1 - shockBps / 10_000 : 1));
  const oracleLagRounds = options.oracleLagRounds ?? 1;
  const cascadeResult = await time(timings, 'cascade', () =>
    runCascade(snapshot, { shock, pools, oracleLagRounds }),
  );

  const graph: ContagionGraph = {
    assets: snapshot.assets.map((x) => ({ id: x.symbol })),
    markets: [
      {
        id: `aave-v3:${context.scenario.name}`,
        collateral: snapshot.assets.map((x, j) => ({ asset: x.symbol, amountUsd: collateralUsd[j]! })),
        debtUsd: now.totalDebtUsd,
        suppliedUsd: snapshot.assets.reduce((s, x, j) => {
          let t = 0;
          for (let i = 0; i < snapshot.accounts.length; i++) t += snapshot.supplied[i * a + j]!;
          return s + t * x.priceUsd;
        }, 0),
      },
    ],
    pools: pools.map((p, k) => {
      const ids = context.pools[k]!.tokens;
      return {
        id: poolIds[k]!,
        reserves: [
          { asset: ids[0], amountUsd: p.reserveAsset * snapshot.assets[p.asset]!.priceUsd },
          { asset: ids[1], amountUsd: p.reserveQuote },
        ],
      };
    }),
    protocols: [
      { id: 'aave-v3', issues: [], operates: [`aave-v3:${context.scenario.name}`] },
      ...(pools.length > 0 ? [{ id: 'uniswap-v2', issues: [], operates: [...poolIds] }] : []),
    ],
  };
  const sources: ContagionSource[] = shocked.map((j) => ({
    kind: 'asset',
    id: snapshot.assets[j]!.symbol,
    loss: shockBps / 10_000,
  }));
  const contagion = propagateContagion(graph, sources);

  const decline = { ratePerHour: 0.02, horizonHours: 72 };
  const lt = snapshot.assets[largest]!.liquidationThreshold;
  const candidates = [
    ...new Set(
      [lt - 0.15, lt - 0.1, lt - 0.05, lt, Math.min(lt + 0.05, 0.95)].map((x) => Math.round(x * 1e4) / 1e4),
    ),
  ]
    .filter((x) => x > 0 && x <= 1)
    .sort((x, y) => x - y);
  const sensitivity = await time(timings, 'sensitivity', () => ({
    asset: largest,
    decline,
    responseHours: 1,
    thresholds: thresholdSensitivity(snapshot, {
      asset: largest,
      thresholds: candidates,
      decline: { assets: [largest], ...decline },
    }),
    governance: governanceDelaySensitivity(snapshot, {
      delaysHours: [0, 1, 6, 24, 48, 72],
      decline: { assets: [largest], ratePerHour: decline.ratePerHour },
      responseHours: 1,
    }),
    oracle: oracleSensitivity(snapshot, {
      configs: [
        { heartbeatHours: 1, deviation: 0.005 },
        { heartbeatHours: 24, deviation: 0.01 },
        { heartbeatHours: 24, deviation: 0.02 },
        { heartbeatHours: 24, deviation: 0.05 },
      ],
      decline: { assets: [largest], ...decline },
    }),
  }));

  // Assets priced at about $1 are taken for stablecoins (2 % volatility, no jumps).
  const stable = snapshot.assets.map((x) => Math.abs(x.priceUsd - 1) < 0.02);
  const sigmas = stable.map((s) => (s ? 0.02 : 0.8));
  const correlation = 0.5;
  const mcParams = {
    paths: options.paths ?? 2000,
    horizonDays: options.horizonDays ?? 7,
    steps: options.steps ?? 28,
    seed: options.seed ?? context.scenario.seed,
    quantile: 0.95,
  };
  const mc = await time(timings, 'monteCarlo', () =>
    monteCarloRisk(compiled, {
      ...mcParams,
      dynamics: sigmas.map((sigma, j) => ({
        mu: 0,
        sigma,
        jumpIntensity: stable[j] ? 0 : 6,
        jumpMean: -0.1,
        jumpStdev: 0.1,
      })),
      correlation: sigmas.map((_, i) => sigmas.map((_, j) => (i === j ? 1 : correlation))),
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
    }),
  );

  return {
    scenario: context.scenario,
    at: context.at,
    chainId: snapshot.chainId,
    blockNumber: snapshot.blockNumber,
    timestamp: context.timestamp,
    book: context.book,
    snapshot,
    referencePrices,
    now,
    healthFactors: hf,
    atReference,
    lar,
    cascade: {
      shockBps,
      shockedAssets: shocked,
      shock,
      pools,
      poolIds,
      oracleLagRounds,
      result: cascadeResult,
    },
    contagion: { graph, sources, result: contagion },
    sensitivity,
    monteCarlo: {
      ...mcParams,
      sigmas,
      correlation,
      valueAtRiskUsd: mc.valueAtRiskUsd,
      liquidationsAtRiskUsd: mc.liquidationsAtRiskUsd,
      meanInsolventUsd: mc.meanInsolventUsd,
      meanLiquidatedUsd: mc.meanLiquidatedUsd,
      workers: mc.workers,
    },
    timingsMs: timings,
  };
}

/**
 * Checks, before any work, that a report can be written at `path` (its folder exists and is
 * writable, and it is not a folder itself); throws `ERR_USAGE` naming the path and the fix.
 */
export function checkOutputPath(path: string, flag: string): void {
  const full = resolve(path);
  const dir = dirname(full);
  const fail = (why: string, fix: string) => {
    throw new FirebreakError('ERR_USAGE', `${flag} ${path}: ${why}\n    fix: ${fix}`);
  };
  if (existsSync(full) && statSync(full).isDirectory())
    fail('is a folder', `name a file, e.g. ${join(path, 'report.md')}`);
  if (!existsSync(dir))
    fail(`the folder ${dir} does not exist`, `create it (mkdir -p ${dir}) or write the report elsewhere`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    fail(`the folder ${dir} is not writable`, 'choose a folder you can write to');
  }
}

/** Writes the Markdown report, its SVG charts next to it, and the JSON figures when asked; returns the paths. */
export function writeRiskReport(
  analysis: RiskAnalysis,
  out: { md: string; json?: string | undefined },
): string[] {
  const md = resolve(out.md);
  const prefix = basename(md, extname(md));
  const { markdown, svgs } = renderRiskReport(analysis, { svgPrefix: prefix });
  const written: string[] = [];
  for (const [name, svg] of Object.entries(svgs)) {
    const file = join(dirname(md), name);
    writeFileSync(file, svg);
    written.push(file);
  }
  writeFileSync(md, markdown);
  written.unshift(md);
  if (out.json) {
    const json = resolve(out.json);
    writeFileSync(json, `${JSON.stringify(riskToJson(analysis), null, 2)}\n`);
    written.push(json);
  }
  return written;
}
