/**
 * Risk — the liquidation cascade: a price shock → Aave v3 liquidations → liquidators buy the debt
 * asset and sell the seized collateral into constant-product pools → price impact → the oracle
 * follows the pools → more liquidations, round after round, until nothing changes. Also answers
 * "how deep must the pool be for this position to be liquidated without bad debt" (the CRV case).
 *
 * Model, per round (a round is a block's worth of liquidations at one oracle price vector):
 * - every account with HF < 1 may be liquidated once, worst HF first: the liquidator repays its
 *   largest debt (by value) and seizes its largest collateral (LT > 0), Aave v3.0's
 *   `liquidationCall` arithmetic — close factor 50 %, or 100 % below HF 0.95; collateral =
 *   repaid value × bonus (e-mode bonus when the account's e-mode covers the collateral), capped by
 *   the balance; the protocol fee is a share of the bonus part of the collateral, kept by the
 *   treasury;
 * - the liquidator buys the debt asset from its pool (quote → asset, `getAmountIn` with the 0.3 %
 *   fee) and sells what it seized into the collateral's pool (`getAmountOut`); an asset with no pool
 *   trades at its oracle price with no impact (a deep or external market). A liquidation that would
 *   lose money is halved, up to `maxSizeHalvings` times, then skipped;
 * - after the round, arbitrageurs may pull each pool part of the way back to the outside market's
 *   (shocked) price (`arbitrage`, default none: the pools absorb every trade); then each pooled
 *   asset's oracle moves `oracleWeight` of the way to its pool's spot price of `oracleLagRounds`
 *   rounds ago.
 * The cascade stops when a round liquidates nothing and no oracle price moved more than
 * `priceTolerance` (relative), or after `maxRounds`.
 *
 * Pools quote every asset against one USD numeraire (a stablecoin at $1). Amounts are whole tokens
 * as floats, like the snapshot's.
 */
import { FirebreakError } from '../common/errors';
import { CLOSE_FACTOR_HF_THRESHOLD, checkPrices, validateSnapshot } from './health';
import type { PositionSnapshot } from './types';

const CLOSE_HF = CLOSE_FACTOR_HF_THRESHOLD;

/** A constant-product pool of an asset against the USD numeraire. */
export interface CascadePool {
  /** Asset index in the snapshot. */
  asset: number;
  /** Reserve of the asset, whole tokens. */
  reserveAsset: number;
  /** Reserve of the numeraire (USD). */
  reserveQuote: number;
}

export interface CascadeParams {
  /** Multiplicative factor per asset applied to the oracle price at the start (1 = unchanged). */
  shock: ArrayLike<number>;
  pools: readonly CascadePool[];
  /** How far the oracle moves towards the pool price each round, in [0, 1]. Default 1. */
  oracleWeight?: number;
  /** The oracle follows the pool price of this many rounds ago (≥ 0). Default 0. */
  oracleLagRounds?: number;
  /** Move each pool to its asset's shocked price first (arbitrage before the cascade). Default true. */
  alignPools?: boolean;
  /**
   * After each round's liquidations, arbitrageurs close this fraction (in log price) of the gap
   * between each pool and its asset's shocked (outside-market) price, along the pool's curve.
   * Default 0: nobody refills the pools.
   */
  arbitrage?: number;
  /** Smallest profit (USD) a liquidator accepts. Default 0. */
  minProfitUsd?: number;
  /** How many times an unprofitable liquidation is halved before it is skipped. Default 8. */
  maxSizeHalvings?: number;
  /** Default 100. */
  maxRounds?: number;
  /** Relative oracle move below which prices count as settled. Default 1e-6. */
  priceTolerance?: number;
  /** Only these accounts (snapshot indexes) take part; default: all. */
  accounts?: readonly number[];
}

/** Token flows of one round, per asset (whole tokens; quote amounts in USD). */
export interface RoundFlows {
  debtBefore: Float64Array;
  debtAfter: Float64Array;
  debtRepaid: Float64Array;
  collateralBefore: Float64Array;
  collateralAfter: Float64Array;
  collateralSeized: Float64Array;
  collateralToLiquidators: Float64Array;
  collateralToProtocol: Float64Array;
  /** Sold into the asset's pool by liquidators. */
  poolAssetIn: Float64Array;
  /** Bought from the asset's pool by liquidators. */
  poolAssetOut: Float64Array;
  poolQuoteIn: Float64Array;
  poolQuoteOut: Float64Array;
  reserveAssetBefore: Float64Array;
  reserveAssetAfter: Float64Array;
  reserveQuoteBefore: Float64Array;
  reserveQuoteAfter: Float64Array;
  /** Reserve changes made by arbitrageurs after the liquidations (asset and quote). */
  arbitrageAsset: Float64Array;
  arbitrageQuote: Float64Array;
}

export interface CascadeRound {
  round: number;
  liquidations: number;
  /** Liquidatable accounts no liquidator would touch at a profit this round. */
  skippedUnprofitable: number;
  /** Valued at this round's oracle prices. */
  debtRepaidUsd: number;
  collateralSeizedUsd: number;
  protocolFeeUsd: number;
  /** The oracle prices the round's liquidations used. */
  oraclePrices: Float64Array;
  /** Pool spot prices after the round (NaN for an asset without a pool). */
  poolPrices: Float64Array;
  flows: RoundFlows;
}

export interface CascadeResult {
  rounds: CascadeRound[];
  converged: boolean;
  /** Debt outstanding before the cascade, at the shocked prices. */
  initialDebtUsd: number;
  liquidatedDebtUsd: number;
  liquidatedCollateralUsd: number;
  protocolFeeUsd: number;
  /** Σ max(0, debt − collateral) over accounts at the final oracle prices. */
  badDebtUsd: number;
  badDebtAccounts: number;
  /** Accounts still below HF 1 with collateral left at the end (no liquidator would profit). */
  stuckAccounts: number;
  finalPrices: Float64Array;
  finalPools: CascadePool[];
  /** Per participating account (snapshot index): debt and collateral left, USD at final prices. */
  accounts: { index: Uint32Array; debtUsd: Float64Array; collateralUsd: Float64Array };
}

const invalid = (message: string) => new FirebreakError('ERR_USAGE', message);

/** Uniswap v2's output for an exact input (0.3 % fee), in floats. */
export function amountOut(amountIn: number, reserveIn: number, reserveOut: number): number {
  if (!(amountIn > 0) || !(reserveIn > 0) || !(reserveOut > 0)) return 0;
  const inWithFee = amountIn * 997;
  return (inWithFee * reserveOut) / (reserveIn * 1000 + inWithFee);
}

/** Uniswap v2's input for an exact output (0.3 % fee), in floats; Infinity when out ≥ reserve. */
export function amountIn(amountOutWanted: number, reserveIn: number, reserveOut: number): number {
  if (!(amountOutWanted > 0)) return 0;
  if (!(amountOutWanted < reserveOut) || !(reserveIn > 0)) return Number.POSITIVE_INFINITY;
  return (reserveIn * amountOutWanted * 1000) / ((reserveOut - amountOutWanted) * 997);
}

/**
 * Finds the liquidatable positions each round without re-reading every position: after a full
 * scan at reference prices, a position's HF now is at least `hfRef · ρmin / ρmax`, where ρ are the
 * assets' price ratios to the reference. Positions sorted by `hfRef` are checked only up to
 * `ρmax / ρmin`, plus the ones liquidated since (their balances changed). When that would read
 * half the positions or more, the scan is full again, with new reference prices.
 */
interface Scanner {
  refPrices: Float64Array;
  /** Positions by ascending HF at the reference prices, and those HFs. */
  byHf: Uint32Array;
  hfSorted: Float64Array;
  dirty: Uint8Array;
  dirtyList: Uint32Array;
  dirtyCount: number;
  fresh: boolean;
}

function newScanner(np: number, a: number): Scanner {
  return {
    refPrices: new Float64Array(a),
    byHf: new Uint32Array(np),
    hfSorted: new Float64Array(np),
    dirty: new Uint8Array(np),
    dirtyList: new Uint32Array(np),
    dirtyCount: 0,
    fresh: false,
  };
}

function markDirty(scan: Scanner, p: number): void {
  if (scan.dirty[p] === 1) return;
  scan.dirty[p] = 1;
  scan.dirtyList[scan.dirtyCount++] = p;
}

/** The HF of position `p` at `prices` (Infinity without debt). */
function positionHf(book: CascadeBook, prices: Float64Array, p: number): number {
  const { start, asset, coll, debt, lt } = book;
  let w = 0;
  let d = 0;
  for (let k = start[p]!, e = start[p + 1]!; k < e; k++) {
    const price = prices[asset[k]!]!;
    w += coll[k]! * price * lt[k]!;
    d += debt[k]! * price;
  }
  return d > 0 ? w / d : Number.POSITIVE_INFINITY;
}

const HF_KEY = 1_048_576;
const POS_KEY = 4_294_967_296;

/**
 * Fills `queue` with the positions whose HF < 1 at `prices`, worst first (HF quantised to 2^-20
 * for the order, ties by position), `hf` with their health factors; returns how many.
 */
function scanLiquidatable(
  book: CascadeBook,
  scan: Scanner,
  prices: Float64Array,
  hf: Float64Array,
  keys: Float64Array,
  queue: Uint32Array,
): number {
  const np = book.index.length;
  const a = prices.length;
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  for (let j = 0; j < a; j++) {
    const ref = scan.refPrices[j]!;
    const r = ref > 0 ? prices[j]! / ref : prices[j]! > 0 ? Number.POSITIVE_INFINITY : 1;
    if (r < lo) lo = r;
    if (r > hi) hi = r;
  }
  let nq = 0;
  const consider = (p: number) => {
    const h = positionHf(book, prices, p);
    if (h < 1) {
      hf[p] = h;
      keys[nq++] = Math.floor(h * HF_KEY) * POS_KEY + p;
    }
  };
  // Candidates under the bound: a prefix of the reference order (binary search).
  const bound = lo > 0 ? hi / lo : Number.POSITIVE_INFINITY;
  let within = 0;
  if (scan.fresh) {
    let top = np;
    while (within < top) {
      const mid = (within + top) >>> 1;
      if (scan.hfSorted[mid]! < bound) within = mid + 1;
      else top = mid;
    }
  }
  // A partial scan pays while it reads well under half the positions; past that, start afresh.
  if (!scan.fresh || within + scan.dirtyCount > np / 2) {
    // Full scan: new reference.
    const all = new Float64Array(np);
    for (let p = 0; p < np; p++) {
      const h = positionHf(book, prices, p);
      all[p] = h;
      if (h < 1) {
        hf[p] = h;
        keys[nq++] = Math.floor(h * HF_KEY) * POS_KEY + p;
      }
    }
    // Order positions by reference HF (finite ones: debtors always have debt until repaid).
    const sortKeys = new Float64Array(np);
    for (let p = 0; p < np; p++) sortKeys[p] = Math.min(all[p]!, 1e6);
    const order = argsortByKey(sortKeys);
    for (let q = 0; q < np; q++) {
      scan.byHf[q] = order[q]!;
      scan.hfSorted[q] = sortKeys[order[q]!]!;
    }
    scan.refPrices.set(prices);
    for (let q = 0; q < scan.dirtyCount; q++) scan.dirty[scan.dirtyList[q]!] = 0;
    scan.dirtyCount = 0;
    scan.fresh = true;
  } else {
    for (let q = 0; q < within; q++) {
      const p = scan.byHf[q]!;
      if (scan.dirty[p] === 0) consider(p);
    }
    for (let q = 0; q < scan.dirtyCount; q++) consider(scan.dirtyList[q]!);
  }
  const sorted = keys.subarray(0, nq).sort();
  for (let q = 0; q < nq; q++) queue[q] = sorted[q]! % POS_KEY;
  return nq;
}

/** Positions sorted by a non-negative key (native numeric sort of packed key·2^32 + index). */
function argsortByKey(key: Float64Array): Uint32Array {
  const n = key.length;
  const packed = new Float64Array(n);
  // 2^20 resolution on the key is enough for a scan bound; exactness comes from re-evaluating.
  for (let p = 0; p < n; p++) packed[p] = Math.floor(key[p]! * HF_KEY) * POS_KEY + p;
  packed.sort();
  const out = new Uint32Array(n);
  for (let q = 0; q < n; q++) out[q] = packed[q]! % POS_KEY;
  return out;
}

/** What a round's liquidations need: the book, the pools, the round's oracle prices, the knobs. */
interface RoundState {
  book: CascadeBook;
  hasPool: Uint8Array;
  rA: Float64Array;
  rQ: Float64Array;
  prices: Float64Array;
  hf: Float64Array;
  scanner: Scanner;
  halvings: number;
  minProfit: number;
}

/** Liquidates the queued positions in order (once each), trading through the pools; fills `flows`. */
function liquidateQueue(state: RoundState, order: Uint32Array, nq: number, flows: RoundFlows) {
  const { book, hasPool, rA, rQ, prices, hf, scanner, halvings, minProfit } = state;
  const { start, asset, coll, debt, lt, bonus, fee } = book;
  let liquidations = 0;
  let skipped = 0;
  let repaidUsd = 0;
  let seizedUsd = 0;
  let feeUsd = 0;
  for (let q = 0; q < nq; q++) {
    const p = order[q]!;
    // Largest debt and largest collateral (LT > 0) by value.
    let kd = -1;
    let kc = -1;
    let bestD = 0;
    let bestC = 0;
    for (let k = start[p]!, e = start[p + 1]!; k < e; k++) {
      const price = prices[asset[k]!]!;
      const dv = debt[k]! * price;
      const cv = coll[k]! * price;
      if (dv > bestD) {
        bestD = dv;
        kd = k;
      }
      if (lt[k]! > 0 && cv > bestC) {
        bestC = cv;
        kc = k;
      }
    }
    if (kd < 0 || kc < 0) continue; // nothing to seize: the debt stays as bad debt
    const jd = asset[kd]!;
    const jc = asset[kc]!;
    const pd = prices[jd]!;
    const pc = prices[jc]!;
    if (!(pd > 0 && pc > 0)) continue;
    const b = bonus[kc]!;
    const toCover = (hf[p]! < CLOSE_HF ? 1 : 0.5) * debt[kd]!;
    // Aave v3.0 _calculateAvailableCollateralToLiquidate.
    let seize = (toCover * pd * b) / pc;
    let repay = toCover;
    if (seize > coll[kc]!) {
      seize = coll[kc]!;
      repay = (seize * pc) / (pd * b);
    }
    const protocol = (seize - seize / b) * fee[kc]!;
    const toLiquidator = seize - protocol;
    // At the margin (a vanishing size), is there any profit? If not, no size has one.
    const buyMarginal = hasPool[jd] === 1 ? rQ[jd]! / rA[jd]! / 0.997 : pd;
    const sellMarginal = hasPool[jc] === 1 ? (rQ[jc]! / rA[jc]!) * 0.997 : pc;
    if (!((toLiquidator / repay) * sellMarginal > buyMarginal)) {
      skipped++;
      continue;
    }
    // Size to what the pools make profitable.
    let scale = 1;
    let ok = false;
    let buyCost = 0;
    let sellGain = 0;
    for (let h = 0; h <= halvings; h++, scale *= 0.5) {
      const want = repay * scale;
      const got = toLiquidator * scale;
      let qa = rA[jc]!;
      let qq = rQ[jc]!;
      if (hasPool[jd] === 1) {
        buyCost = amountIn(want, rQ[jd]!, rA[jd]!);
        if (buyCost === Number.POSITIVE_INFINITY) continue;
        if (jd === jc) {
          qa = rA[jd]! - want;
          qq = rQ[jd]! + buyCost;
        }
      } else buyCost = want * pd;
      sellGain = hasPool[jc] === 1 ? amountOut(got, qa, qq) : got * pc;
      if (sellGain - buyCost >= minProfit) {
        ok = true;
        break;
      }
    }
    if (!ok) {
      skipped++;
      continue;
    }
    const want = repay * scale;
    const s = seize * scale;
    const prot = protocol * scale;
    const got = s - prot;
    if (hasPool[jd] === 1) {
      rA[jd]! -= want;
      rQ[jd]! += buyCost;
      flows.poolAssetOut[jd]! += want;
      flows.poolQuoteIn[jd]! += buyCost;
    }
    if (hasPool[jc] === 1) {
      rA[jc]! += got;
      rQ[jc]! -= sellGain;
      flows.poolAssetIn[jc]! += got;
      flows.poolQuoteOut[jc]! += sellGain;
    }
    markDirty(scanner, p);
    debt[kd] = Math.max(0, debt[kd]! - want);
    coll[kc] = Math.max(0, coll[kc]! - s);
    flows.debtRepaid[jd]! += want;
    flows.collateralSeized[jc]! += s;
    flows.collateralToLiquidators[jc]! += got;
    flows.collateralToProtocol[jc]! += prot;
    repaidUsd += want * pd;
    seizedUsd += s * pc;
    feeUsd += prot * pc;
    liquidations++;
  }
  return { liquidations, skipped, repaidUsd, seizedUsd, feeUsd };
}

/** The positions a cascade works on: the participating debtors, CSR over their non-zero assets. */
interface CascadeBook {
  index: Uint32Array;
  start: Uint32Array;
  asset: Uint16Array;
  coll: Float64Array;
  debt: Float64Array;
  lt: Float64Array;
  bonus: Float64Array;
  fee: Float64Array;
}

function buildBook(snapshot: PositionSnapshot, only: readonly number[] | undefined): CascadeBook {
  const a = snapshot.assets.length;
  const n = snapshot.accounts.length;
  const { collateral, debt, eMode } = snapshot;
  let candidates: Uint32Array;
  if (only === undefined) {
    candidates = new Uint32Array(n);
    for (let i = 0; i < n; i++) candidates[i] = i;
  } else {
    const seen = new Set<number>();
    for (const i of only) {
      if (!(Number.isInteger(i) && i >= 0 && i < n))
        throw invalid(`risk: account index ${i} is not in 0..${n - 1}`);
      if (seen.has(i)) throw invalid(`risk: account index ${i} is listed twice`);
      seen.add(i);
    }
    candidates = Uint32Array.from(only);
  }
  // Pass 1: check amounts; keep the accounts with debt; count their non-zero entries.
  const chosen = new Uint32Array(candidates.length);
  let np = 0;
  let nnz = 0;
  for (let q = 0; q < candidates.length; q++) {
    const i = candidates[q]!;
    const row = i * a;
    let has = false;
    let entries = 0;
    for (let j = 0; j < a; j++) {
      const x = collateral[row + j]!;
      const y = debt[row + j]!;
      if (!(x >= 0 && x < Number.POSITIVE_INFINITY && y >= 0 && y < Number.POSITIVE_INFINITY))
        throw invalid(
          `risk: account ${i}, asset ${j} has collateral ${x} and debt ${y}; amounts must be finite and ≥ 0`,
        );
      if (y > 0) has = true;
      if (x > 0 || y > 0) entries++;
    }
    if (has) {
      chosen[np++] = i;
      nnz += entries;
    }
  }
  // Per e-mode row: each asset's threshold and bonus for an account in that e-mode.
  const rows = Math.max(1, snapshot.eModes.length);
  const ltOf = new Float64Array(rows * a);
  const bonusOf = new Float64Array(rows * a);
  const feeOf = new Float64Array(a);
  for (let e = 0; e < rows; e++) {
    const cat = e === 0 ? undefined : snapshot.eModes[e];
    for (let j = 0; j < a; j++) {
      const asset = snapshot.assets[j]!;
      const inCat = cat !== undefined && asset.eModeCategory === e;
      ltOf[e * a + j] = inCat ? cat.liquidationThreshold : asset.liquidationThreshold;
      bonusOf[e * a + j] = inCat ? cat.liquidationBonus : asset.liquidationBonus;
      feeOf[j] = asset.liquidationProtocolFee;
    }
  }
  const book: CascadeBook = {
    index: chosen.slice(0, np),
    start: new Uint32Array(np + 1),
    asset: new Uint16Array(nnz),
    coll: new Float64Array(nnz),
    debt: new Float64Array(nnz),
    lt: new Float64Array(nnz),
    bonus: new Float64Array(nnz),
    fee: new Float64Array(nnz),
  };
  // Pass 2: the entries.
  let k = 0;
  for (let p = 0; p < np; p++) {
    book.start[p] = k;
    const i = chosen[p]!;
    const row = i * a;
    const er = eMode[i]! * a;
    for (let j = 0; j < a; j++) {
      const x = collateral[row + j]!;
      const y = debt[row + j]!;
      if (!(x > 0 || y > 0)) continue;
      book.asset[k] = j;
      book.coll[k] = x;
      book.debt[k] = y;
      book.lt[k] = ltOf[er + j]!;
      book.bonus[k] = bonusOf[er + j]!;
      book.fee[k] = feeOf[j]!;
      k++;
    }
  }
  book.start[np] = k;
  return book;
}

const newFlows = (a: number): RoundFlows => ({
  debtBefore: new Float64Array(a),
  debtAfter: new Float64Array(a),
  debtRepaid: new Float64Array(a),
  collateralBefore: new Float64Array(a),
  collateralAfter: new Float64Array(a),
  collateralSeized: new Float64Array(a),
  collateralToLiquidators: new Float64Array(a),
  collateralToProtocol: new Float64Array(a),
  poolAssetIn: new Float64Array(a),
  poolAssetOut: new Float64Array(a),
  poolQuoteIn: new Float64Array(a),
  poolQuoteOut: new Float64Array(a),
  reserveAssetBefore: new Float64Array(a),
  reserveAssetAfter: new Float64Array(a),
  reserveQuoteBefore: new Float64Array(a),
  reserveQuoteAfter: new Float64Array(a),
  arbitrageAsset: new Float64Array(a),
  arbitrageQuote: new Float64Array(a),
});

/**
 * Runs a liquidation cascade to its fixpoint.
 *
 * @example
 * const r = runCascade(snapshot, { shock: [0.7, 1, 1], pools: [{ asset: 0, reserveAsset: 1e4, reserveQuote: 3e7 }] });
 * r.badDebtUsd; r.rounds.length; r.finalPrices[0];
 */
export function runCascade(snapshot: PositionSnapshot, params: CascadeParams): CascadeResult {
  validateSnapshot(snapshot);
  const a = snapshot.assets.length;
  const shock = checkPrices(params.shock, a, 'shock');
  const weight = params.oracleWeight ?? 1;
  const lag = params.oracleLagRounds ?? 0;
  const minProfit = params.minProfitUsd ?? 0;
  const halvings = params.maxSizeHalvings ?? 8;
  const maxRounds = params.maxRounds ?? 100;
  const arbitrage = params.arbitrage ?? 0;
  if (!(arbitrage >= 0 && arbitrage <= 1))
    throw invalid(`risk: arbitrage is ${arbitrage}; use a fraction in [0, 1]`);
  const tol = params.priceTolerance ?? 1e-6;
  if (!(weight >= 0 && weight <= 1))
    throw invalid(`risk: oracleWeight is ${weight}; use a fraction in [0, 1]`);
  if (!(Number.isInteger(lag) && lag >= 0))
    throw invalid(`risk: oracleLagRounds is ${lag}; use an integer ≥ 0`);
  if (!(Number.isInteger(halvings) && halvings >= 0))
    throw invalid('risk: maxSizeHalvings must be an integer ≥ 0');
  if (!(Number.isInteger(maxRounds) && maxRounds >= 1))
    throw invalid('risk: maxRounds must be an integer ≥ 1');
  if (!Number.isFinite(minProfit)) throw invalid('risk: minProfitUsd must be finite');

  const hasPool = new Uint8Array(a);
  const rA = new Float64Array(a);
  const rQ = new Float64Array(a);
  for (const pool of params.pools) {
    const j = pool.asset;
    if (!(Number.isInteger(j) && j >= 0 && j < a))
      throw invalid(`risk: a pool names asset ${j}, not in 0..${a - 1}`);
    if (hasPool[j] === 1) throw invalid(`risk: two pools for asset ${snapshot.assets[j]!.symbol}; give one`);
    if (
      !(
        pool.reserveAsset > 0 &&
        pool.reserveQuote > 0 &&
        Number.isFinite(pool.reserveAsset * pool.reserveQuote)
      )
    )
      throw invalid(`risk: the pool of ${snapshot.assets[j]!.symbol} needs finite reserves > 0`);
    hasPool[j] = 1;
    rA[j] = pool.reserveAsset;
    rQ[j] = pool.reserveQuote;
  }
  const prices = new Float64Array(a);
  for (let j = 0; j < a; j++) prices[j] = snapshot.assets[j]!.priceUsd * shock[j]!;
  const outside = prices.slice();
  if (params.alignPools ?? true)
    for (let j = 0; j < a; j++) {
      if (hasPool[j] === 0 || !(prices[j]! > 0)) continue;
      const k = rA[j]! * rQ[j]!;
      rA[j] = Math.sqrt(k / prices[j]!);
      rQ[j] = Math.sqrt(k * prices[j]!);
    }

  const book = buildBook(snapshot, params.accounts);
  const np = book.index.length;
  const { start, asset, coll, debt, lt } = book;
  const hf = new Float64Array(np);
  const queue = new Uint32Array(np);
  const keys = new Float64Array(np);
  const scanner = newScanner(np, a);
  const spotHistory: Float64Array[] = [];
  const rounds: CascadeRound[] = [];
  let initialDebtUsd = 0;
  for (let k = 0; k < debt.length; k++) initialDebtUsd += debt[k]! * prices[asset[k]!]!;
  let converged = false;
  let quiet = 0;
  let totalDebtUsd = 0;
  let totalCollUsd = 0;
  let totalFeeUsd = 0;

  for (let round = 1; round <= maxRounds; round++) {
    const flows = newFlows(a);
    // Totals before: the previous round's totals after (summed afresh from the balances).
    const previous = rounds[rounds.length - 1]?.flows;
    if (previous !== undefined) {
      flows.debtBefore.set(previous.debtAfter);
      flows.collateralBefore.set(previous.collateralAfter);
    } else
      for (let k = 0; k < debt.length; k++) {
        flows.debtBefore[asset[k]!]! += debt[k]!;
        flows.collateralBefore[asset[k]!]! += coll[k]!;
      }
    flows.reserveAssetBefore.set(rA);
    flows.reserveQuoteBefore.set(rQ);
    // Who is liquidatable at this round's oracle prices, worst first.
    const nq = scanLiquidatable(book, scanner, prices, hf, keys, queue);
    const order = queue;
    const tally = liquidateQueue(
      { book, hasPool, rA, rQ, prices, hf, scanner, halvings, minProfit },
      order,
      nq,
      flows,
    );
    const { liquidations, skipped, repaidUsd, seizedUsd, feeUsd } = tally;
    if (liquidations === 0) {
      // No balance was written this round: the totals stand.
      flows.debtAfter.set(flows.debtBefore);
      flows.collateralAfter.set(flows.collateralBefore);
    } else
      for (let k = 0; k < debt.length; k++) {
        flows.debtAfter[asset[k]!]! += debt[k]!;
        flows.collateralAfter[asset[k]!]! += coll[k]!;
      }
    if (arbitrage > 0)
      for (let j = 0; j < a; j++) {
        if (hasPool[j] === 0 || !(outside[j]! > 0)) continue;
        const spot = rQ[j]! / rA[j]!;
        const target = spot * (outside[j]! / spot) ** arbitrage;
        const k = rA[j]! * rQ[j]!;
        const na = Math.sqrt(k / target);
        const nq = Math.sqrt(k * target);
        flows.arbitrageAsset[j] = na - rA[j]!;
        flows.arbitrageQuote[j] = nq - rQ[j]!;
        rA[j] = na;
        rQ[j] = nq;
      }
    flows.reserveAssetAfter.set(rA);
    flows.reserveQuoteAfter.set(rQ);
    const spot = new Float64Array(a).fill(Number.NaN);
    for (let j = 0; j < a; j++) if (hasPool[j] === 1) spot[j] = rQ[j]! / rA[j]!;
    spotHistory.push(spot);
    rounds.push({
      round,
      liquidations,
      skippedUnprofitable: skipped,
      debtRepaidUsd: repaidUsd,
      collateralSeizedUsd: seizedUsd,
      protocolFeeUsd: feeUsd,
      oraclePrices: prices.slice(),
      poolPrices: spot,
      flows,
    });
    totalDebtUsd += repaidUsd;
    totalCollUsd += seizedUsd;
    totalFeeUsd += feeUsd;
    // The oracle follows the pools (of `lag` rounds ago; before round 1, the aligned start).
    const target = spotHistory[spotHistory.length - 1 - lag];
    let moved = 0;
    if (target !== undefined)
      for (let j = 0; j < a; j++) {
        if (hasPool[j] === 0) continue;
        const before = prices[j]!;
        const after = before + weight * (target[j]! - before);
        prices[j] = after;
        const rel = before > 0 ? Math.abs(after - before) / before : Math.abs(after - before);
        if (rel > moved) moved = rel;
      }
    // Settled: no trade for lag + 1 rounds (no pool price still on its way) and the oracle still.
    quiet = liquidations === 0 ? quiet + 1 : 0;
    if (quiet > lag && moved <= tol) {
      converged = true;
      break;
    }
  }

  // Final state.
  let bad = 0;
  let badAccounts = 0;
  let stuck = 0;
  const accDebt = new Float64Array(np);
  const accColl = new Float64Array(np);
  for (let p = 0; p < np; p++) {
    let d = 0;
    let c = 0;
    let w = 0;
    for (let k = start[p]!, e = start[p + 1]!; k < e; k++) {
      const price = prices[asset[k]!]!;
      d += debt[k]! * price;
      c += coll[k]! * price;
      w += coll[k]! * price * lt[k]!;
    }
    accDebt[p] = d;
    accColl[p] = c;
    if (d > c) {
      bad += d - c;
      badAccounts++;
    }
    if (d > 0 && w < d && c > 0) stuck++;
  }
  const finalPools: CascadePool[] = [];
  for (let j = 0; j < a; j++)
    if (hasPool[j] === 1) finalPools.push({ asset: j, reserveAsset: rA[j]!, reserveQuote: rQ[j]! });
  return {
    rounds,
    converged,
    initialDebtUsd,
    liquidatedDebtUsd: totalDebtUsd,
    liquidatedCollateralUsd: totalCollUsd,
    protocolFeeUsd: totalFeeUsd,
    badDebtUsd: bad,
    badDebtAccounts: badAccounts,
    stuckAccounts: stuck,
    finalPrices: prices,
    finalPools,
    accounts: { index: book.index, debtUsd: accDebt, collateralUsd: accColl },
  };
}

export interface PoolDepthQuery {
  /** The position (snapshot account index) to clear. */
  account: number;
  /** Which pools to scale (asset indexes); default every pool in `params.pools`. */
  scalePools?: readonly number[];
  /** Search range of the depth multiplier. Defaults 1e-4 and 1e6. */
  minMultiplier?: number;
  maxMultiplier?: number;
  /** Bisection steps on log(multiplier). Default 40. */
  iterations?: number;
  /** Bad debt (USD) still counted as none. Default 1e-6. */
  tolerance?: number;
}

export interface PoolDepthAnswer {
  /** The smallest multiplier of the pools' reserves (price unchanged) that clears the position. */
  multiplier: number;
  /** The scaled pools. */
  pools: CascadePool[];
  /** The position's bad debt and liquidated debt at that depth. */
  badDebtUsd: number;
  liquidatedDebtUsd: number;
}

/**
 * How deep the pools must be (a multiplier of today's reserves, price unchanged) for one position
 * to be liquidated without bad debt and end healthy (HF ≥ 1) after the shock — the CRV question.
 * Runs the cascade on that account alone and bisects on log(depth); assumes deeper never hurts.
 * Returns null when even `maxMultiplier` does not clear it (the shock alone leaves it insolvent).
 */
export function requiredPoolDepth(
  snapshot: PositionSnapshot,
  params: CascadeParams,
  query: PoolDepthQuery,
): PoolDepthAnswer | null {
  const lo0 = query.minMultiplier ?? 1e-4;
  const hi0 = query.maxMultiplier ?? 1e6;
  const iterations = query.iterations ?? 40;
  const tolerance = query.tolerance ?? 1e-6;
  if (!(lo0 > 0 && hi0 > lo0 && Number.isFinite(hi0)))
    throw invalid('risk: need 0 < minMultiplier < maxMultiplier');
  const scaled = new Set(query.scalePools ?? params.pools.map((p) => p.asset));
  const at = (m: number) => {
    const pools = params.pools.map((p) =>
      scaled.has(p.asset)
        ? { asset: p.asset, reserveAsset: p.reserveAsset * m, reserveQuote: p.reserveQuote * m }
        : p,
    );
    const result = runCascade(snapshot, { ...params, pools, accounts: [query.account] });
    const d = result.accounts.debtUsd[0] ?? 0;
    const c = result.accounts.collateralUsd[0] ?? 0;
    const clears = result.badDebtUsd <= tolerance && result.stuckAccounts === 0 && d <= c;
    return { clears, pools, result };
  };
  let top = at(hi0);
  if (!top.clears) return null;
  const bottom = at(lo0);
  if (bottom.clears) top = bottom;
  else {
    let lo = Math.log(lo0);
    let hi = Math.log(hi0);
    for (let i = 0; i < iterations; i++) {
      const mid = (lo + hi) / 2;
      const probe = at(Math.exp(mid));
      if (probe.clears) {
        hi = mid;
        top = probe;
      } else lo = mid;
    }
  }
  const m = top.pools.find((p) => scaled.has(p.asset));
  const base = params.pools.find((p) => scaled.has(p.asset));
  return {
    multiplier: m !== undefined && base !== undefined ? m.reserveAsset / base.reserveAsset : 1,
    pools: top.pools,
    badDebtUsd: top.result.badDebtUsd,
    liquidatedDebtUsd: top.result.liquidatedDebtUsd,
  };
}
