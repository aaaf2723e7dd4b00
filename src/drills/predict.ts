/**
 * Drills — the risk engine's prediction on a drill market: the positions of chosen borrowers as a
 * `PositionSnapshot` (from the exact position book fed with the market's logs, valued with the
 * configuration and oracle prices read at the block), the scenario's Uniswap v2 pairs as
 * `CascadePool`s, and `runCascade` on them for a price shock, so that a drill can compare the bad
 * debt the engine predicted before the shock with the bad debt the drill then produces on-chain.
 *
 * What the cascade assumes about liquidators, against the drill's liquidator bots
 * (src/drills/bots, `kind: liquidator`: repay from their own working capital, sell the seized
 * collateral for the debt asset on a pool that holds both, liquidate only when the sale covers the
 * repaid debt plus `minProfitUsd`):
 * - profit test — the same: a liquidation happens only when selling the seized collateral into its
 *   pool (`amountOut`, 0.3 % fee, at the pool's current reserves) returns at least the debt repaid
 *   plus `minProfitUsd`; an unprofitable one is halved up to `maxSizeHalvings` times, then skipped;
 * - funding — the cascade *buys* the debt asset from that asset's own pool when it has one; a bot
 *   repays from working capital. They agree when the debt asset is the pools' quote (a $1
 *   stablecoin: USDC in a WETH/USDC pair), which is how the pools are read here; a debt asset with
 *   a pool of its own is bought through it in the model and not by the bot;
 * - venue — the cascade sells every asset against one USD numeraire: a WETH/USDC pair is exact; a
 *   CRV/WETH pair is read as CRV priced in USD at WETH's oracle price (the WETH leg does not move);
 * - rate — the cascade liquidates every liquidatable account once per round, worst health factor
 *   first, with no cap; a bot takes at most `maxPerBlock` per block and may wait `delayBlocks`. The
 *   cascade's fixpoint is the drill's end state only if the drill runs enough blocks;
 * - oracle — the cascade moves every pooled asset's oracle `oracleWeight` of the way to its pool
 *   (after `oracleLagRounds` rounds). On a drill market a feed-priced asset's oracle does not follow
 *   the pool at all (weight 0) while a TWAP-priced one does (weight 1, lagging); one weight covers
 *   every asset, so a market pricing some pooled assets by feed and others by TWAP needs an
 *   explicit choice (see `oracleWeightFor`).
 */
import { type Address, type Client, type Hex, type Log, zeroAddress } from 'viem';
import { getBlock, getLogs } from 'viem/actions';
import type { EmbeddedChain } from '../chain/embedded';
import { FirebreakError } from '../common/errors';
import { readPair } from '../protocols/uniswap-v2/pool';
import { createPositionBook } from '../risk/book';
import { type CascadeParams, type CascadePool, type CascadeResult, runCascade } from '../risk/cascade';
import { readRiskInputs } from '../risk/tracker';
import type { PositionSnapshot } from '../risk/types';
import type { DrillMarket } from './market';

const usage = (message: string) => new FirebreakError('ERR_USAGE', message);

/** Positions of a drill market at a block, as the risk engine takes them. */
export interface DrillPositions {
  snapshot: PositionSnapshot;
  /** The scenario's pairs as constant-product pools against USD, one per asset. */
  pools: CascadePool[];
  /** The scenario pool id of each of `pools`. */
  poolIds: string[];
  blockNumber: bigint;
}

export interface ReadDrillPositionsOptions {
  /**
   * Which token of a pair is the pooled asset (the other is the quote), by pool id. Default: the
   * side not priced at about $1; when both or neither are, the side with more collateral posted by
   * the accounts read.
   */
  poolAssets?: Readonly<Record<string, string>>;
}

/**
 * The positions of `addresses` (in that order; an address with no position gives an empty row) at
 * `blockNumber` (default: the latest block), and the market's pools at that block.
 *
 * @example
 * const { snapshot, pools } = await readDrillPositions(chain, market, crowd.map((p) => p.address));
 */
export async function readDrillPositions(
  chain: EmbeddedChain,
  market: DrillMarket,
  addresses: readonly Hex[],
  blockNumber?: bigint,
  options: ReadDrillPositionsOptions = {},
): Promise<DrillPositions> {
  const client = chain.client;
  const head = blockNumber ?? (await client.getBlockNumber());
  const aave = market.aave;
  const reserves = Object.values(aave.reserves);
  const book = createPositionBook({ chainId: chain.chainId, pool: aave.pool, reserves });
  const logAddresses = [
    aave.pool,
    ...reserves.flatMap((r) => [r.aToken, r.variableDebtToken, r.stableDebtToken]),
  ]
    .filter((a) => a.toLowerCase() !== zeroAddress)
    .map((a) => a.toLowerCase() as Hex);
  const logs = await getLogsSplit(client, logAddresses, 0n, head);
  const byBlock = new Map<bigint, typeof logs>();
  for (const log of logs) {
    const list = byBlock.get(log.blockNumber);
    if (list) list.push(log);
    else byBlock.set(log.blockNumber, [log]);
  }
  if (!byBlock.has(head)) byBlock.set(head, []);
  const numbers = [...byBlock.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  for (const n of numbers) {
    const b = await getBlock(client, { blockNumber: n });
    book.applyBlock(
      { number: n, hash: b.hash!, parentHash: b.parentHash, timestamp: b.timestamp },
      byBlock.get(n)!,
    );
  }
  const all = book.snapshot(await readRiskInputs(client, aave, head));

  // Keep the rows of `addresses`, in their order.
  const a = all.assets.length;
  const row = new Map(all.accounts.map((x, i) => [x.toLowerCase(), i]));
  const n = addresses.length;
  const collateral = new Float64Array(n * a);
  const supplied = new Float64Array(n * a);
  const debt = new Float64Array(n * a);
  const eMode = new Uint8Array(n);
  addresses.forEach((address, i) => {
    const from = row.get(address.toLowerCase());
    if (from === undefined) return;
    collateral.set(all.collateral.subarray(from * a, from * a + a), i * a);
    supplied.set(all.supplied.subarray(from * a, from * a + a), i * a);
    debt.set(all.debt.subarray(from * a, from * a + a), i * a);
    eMode[i] = all.eMode[from]!;
  });
  const snapshot: PositionSnapshot = {
    ...all,
    blockNumber: head,
    accounts: addresses.map((x) => x.toLowerCase() as Address),
    collateral,
    supplied,
    debt,
    eMode,
  };
  const { pools, poolIds } = await readDrillPools(client, market, snapshot, head, options.poolAssets ?? {});
  return { snapshot, pools, poolIds, blockNumber: head };
}

/** Blocks per `eth_getLogs` request at first (a range whose answer is too large is halved). */
const LOG_RANGE = 2_000n;

/**
 * The logs of `address` over [fromBlock, toBlock], in order, in ranges of at most `LOG_RANGE`
 * blocks; a range the node will not answer in one piece (anvil over HTTP caps a response at
 * 10 MB: a few hundred generated positions' openings) is split in two until it does.
 */
async function getLogsSplit(
  client: Client,
  address: Hex[],
  fromBlock: bigint,
  toBlock: bigint,
): Promise<Log<bigint, number, false>[]> {
  const out: Log<bigint, number, false>[] = [];
  const range = async (from: bigint, to: bigint): Promise<void> => {
    let got: Log<bigint, number, false>[];
    try {
      got = await getLogs(client, { address, fromBlock: from, toBlock: to });
    } catch (error) {
      if (to <= from) throw error;
      const mid = from + (to - from) / 2n;
      await range(from, mid);
      await range(mid + 1n, to);
      return;
    }
    for (const log of got) out.push(log);
  };
  for (let from = fromBlock; from <= toBlock; from += LOG_RANGE)
    await range(from, from + LOG_RANGE - 1n < toBlock ? from + LOG_RANGE - 1n : toBlock);
  return out;
}

/** The market's pairs at a block as constant-product pools of one asset against USD (one per asset: the deepest). */
async function readDrillPools(
  client: Client,
  market: DrillMarket,
  snapshot: PositionSnapshot,
  blockNumber: bigint,
  poolAssets: Readonly<Record<string, string>>,
): Promise<{ pools: CascadePool[]; poolIds: string[] }> {
  const a = snapshot.assets.length;
  const index = new Map(snapshot.assets.map((x, j) => [x.address.toLowerCase(), j]));
  const posted = snapshot.assets.map((x, j) => {
    let s = 0;
    for (let i = 0; i < snapshot.accounts.length; i++) s += snapshot.collateral[i * a + j]!;
    return s * x.priceUsd;
  });
  const dollar = (j: number) => Math.abs(snapshot.assets[j]!.priceUsd - 1) < 0.02;
  const chosen = new Map<number, { pool: CascadePool; id: string }>();
  for (const [id, pair] of market.pools) {
    const state = await readPair(client, pair, blockNumber);
    const j0 = index.get(state.token0.toLowerCase());
    const j1 = index.get(state.token1.toLowerCase());
    if (j0 === undefined || j1 === undefined) continue; // a pair of an asset the market does not list
    let assetIs0: boolean;
    const named = poolAssets[id];
    if (named !== undefined) {
      const s0 = snapshot.assets[j0]!.symbol;
      const s1 = snapshot.assets[j1]!.symbol;
      if (named !== s0 && named !== s1)
        throw usage(
          `poolAssets names ${named} for pool "${id}", which holds ${s0} and ${s1}\n    fix: use ${s0} or ${s1}`,
        );
      assetIs0 = named === s0;
    } else if (dollar(j0) !== dollar(j1)) assetIs0 = dollar(j1);
    else assetIs0 = posted[j0]! >= posted[j1]!;
    const [ja, jq] = assetIs0 ? [j0, j1] : [j1, j0];
    const [ra, rq] = assetIs0 ? [state.reserve0, state.reserve1] : [state.reserve1, state.reserve0];
    const pool: CascadePool = {
      asset: ja,
      reserveAsset: Number(ra) / 10 ** snapshot.assets[ja]!.decimals,
      reserveQuote: (Number(rq) / 10 ** snapshot.assets[jq]!.decimals) * snapshot.assets[jq]!.priceUsd,
    };
    if (!(pool.reserveAsset > 0 && pool.reserveQuote > 0)) continue;
    const kept = chosen.get(ja);
    if (!kept || kept.pool.reserveQuote < pool.reserveQuote) chosen.set(ja, { pool, id });
  }
  const list = [...chosen.values()].sort((x, y) => x.pool.asset - y.pool.asset);
  return { pools: list.map((c) => c.pool), poolIds: list.map((c) => c.id) };
}

/**
 * The oracle weight the cascade should use on this market: 0 when every pooled asset is priced by
 * a feed (the drill's feeds never follow the pools), 1 when every one is priced by a TWAP over its
 * pool; undefined for a mix, which one weight cannot express.
 */
export function oracleWeightFor(market: DrillMarket, positions: DrillPositions): number | undefined {
  const symbols = positions.pools.map((p) => positions.snapshot.assets[p.asset]!.symbol);
  const twap = symbols.filter((s) => market.twaps.has(s)).length;
  if (twap === 0) return 0;
  if (twap === symbols.length) return 1;
  return undefined;
}

export interface PredictOptions
  extends Partial<Omit<CascadeParams, 'shock' | 'pools' | 'accounts'>>,
    ReadDrillPositionsOptions {
  /** Block the positions and pools are read at (default: the latest). */
  blockNumber?: bigint;
}

/** A cascade prediction and what it was run on. */
export interface DrillCascadePrediction {
  result: CascadeResult;
  positions: DrillPositions;
  /** Per snapshot asset: the factor applied to its oracle price. */
  shock: number[];
  /** The cascade parameters used (without the snapshot). */
  params: CascadeParams;
}

/**
 * Runs the risk engine's liquidation cascade on the positions of `addresses` for a shock that
 * sets the named assets' oracle prices (USD); unnamed assets keep theirs. `result.badDebtUsd` is
 * the predicted bad debt. The oracle weight defaults to `oracleWeightFor` (0 on a feed-priced
 * market); pools are aligned to the shocked prices first (`alignPools`, default true: the outside
 * market moved and arbitrage carried the pools along).
 *
 * @example
 * const { result } = await predictDrillCascade(chain, market, crowd.map((p) => p.address), { WETH: 1500 });
 * result.badDebtUsd;
 */
export async function predictDrillCascade(
  chain: EmbeddedChain,
  market: DrillMarket,
  addresses: readonly Hex[],
  shock: Readonly<Record<string, number>>,
  options: PredictOptions = {},
): Promise<DrillCascadePrediction> {
  const { blockNumber, poolAssets, ...cascade } = options;
  const positions = await readDrillPositions(
    chain,
    market,
    addresses,
    blockNumber,
    poolAssets === undefined ? {} : { poolAssets },
  );
  const { snapshot } = positions;
  const factors = snapshot.assets.map(() => 1);
  for (const [symbol, price] of Object.entries(shock)) {
    const j = snapshot.assets.findIndex((x) => x.symbol === symbol);
    if (j < 0)
      throw usage(
        `the shock names ${symbol}, which the market does not list\n    fix: use one of ${snapshot.assets.map((x) => x.symbol).join(', ')}`,
      );
    if (!(price > 0 && Number.isFinite(price)))
      throw usage(`the shock sets ${symbol} to ${price}\n    fix: give a price in USD > 0`);
    const now = snapshot.assets[j]!.priceUsd;
    if (!(now > 0)) throw usage(`${symbol} has no oracle price at block ${positions.blockNumber}`);
    factors[j] = price / now;
  }
  let oracleWeight = cascade.oracleWeight;
  if (oracleWeight === undefined) {
    oracleWeight = oracleWeightFor(market, positions);
    if (oracleWeight === undefined)
      throw usage(
        'the market prices some pooled assets by feed and others by TWAP; one oracleWeight cannot model both\n' +
          '    fix: pass oracleWeight (0: oracles ignore the pools, 1: they follow them)',
      );
  }
  const params: CascadeParams = { ...cascade, oracleWeight, shock: factors, pools: positions.pools };
  return { result: runCascade(snapshot, params), positions, shock: factors, params };
}
