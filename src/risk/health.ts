/**
 * Risk — float health factors on a `PositionSnapshot` (the fast path; the exact `bigint` path lives in
 * the position book). Aave v3 semantics: a collateral balance counts at its asset's liquidation
 * threshold, or at the e-mode category's threshold when the account's e-mode equals the asset's
 * category; HF = Σ collateral·price·LT / Σ debt·price; an account with no debt has HF = Infinity.
 * (Aave v3.0's optional per-category price source is not modelled: every asset has one oracle price.)
 *
 * `compileHealthBook` turns the dense `accounts × assets` matrices into a sparse, per-account list of
 * non-zero entries already multiplied by price and threshold, once; every later pass (one price
 * vector, a stress grid of many shock vectors, the liquidations-at-risk curves) runs tight loops over
 * typed arrays with no allocation inside them.
 */
import { FirebreakError } from '../common/errors';
import type { PositionSnapshot } from './types';

/** Aave v3's liquidation rule: an account is liquidatable when its health factor is below 1. */
export const LIQUIDATION_HF = 1;
/** Below this health factor Aave v3 lets a liquidator repay 100 % of a debt (50 % above it). */
export const CLOSE_FACTOR_HF_THRESHOLD = 0.95;

/**
 * A snapshot compiled for the fast paths: compressed-sparse-row lists of each account's collateral
 * and debt entries, valued in USD at `prices`, in asset order within an account.
 *
 * Accounts are stored by *position*, grouped by pattern (the same collateral assets, the same debt
 * assets, the same e-mode): `order[p]` is the snapshot index of the account at position `p`; its
 * entries lie in `[collStart[p], collStart[p + 1])` and `[debtStart[p], debtStart[p + 1])`. The
 * `debtors` first positions hold every account with debt; debt-free accounts follow.
 */
export interface HealthBook {
  accountCount: number;
  assetCount: number;
  /** The USD prices the values were computed at. */
  prices: Float64Array;
  /** Position → snapshot account index. */
  order: Uint32Array;
  /** Accounts with debt: positions `[0, debtors)`. */
  debtors: number;
  collStart: Uint32Array;
  collAsset: Uint16Array;
  /** collateral · price · effective liquidation threshold. */
  collWeighted: Float64Array;
  /** collateral · price. */
  collValue: Float64Array;
  debtStart: Uint32Array;
  debtAsset: Uint16Array;
  /** debt · price. */
  debtValue: Float64Array;
  /** The debtors' pattern groups, in position order. */
  groups: readonly PatternGroup[];
}

/**
 * Debtors that share one pattern: positions `[start, start + size)`, whose entries are contiguous
 * with a fixed stride (`collAssets.length` collateral and `debtAssets.length` debt entries each).
 *
 * In a group with one collateral and one debt asset (most borrowers), an account's HF under a shock
 * is `ratio · f_c / f_d` with `ratio = weighted collateral / debt`: the stress grid then compares
 * each ratio with a few hundred sorted thresholds once, instead of evaluating every shock.
 */
export interface PatternGroup {
  collAssets: Uint16Array;
  debtAssets: Uint16Array;
  eMode: number;
  start: number;
  size: number;
  /** The threshold of the group's collateral when it has exactly one asset (NaN otherwise). */
  lt: number;
  /** One collateral (with lt > 0) and one debt asset: the grid's threshold path applies. */
  single: boolean;
}

const invalid = (message: string, details: Record<string, unknown> = {}) =>
  new FirebreakError('ERR_USAGE', message, { details });

/**
 * Checks a snapshot's shape and parameters (matrix sizes; finite, non-negative prices; thresholds
 * within [0, 1]; e-mode ids that name a category) and throws `ERR_USAGE` with the first problem
 * found. The amounts themselves are checked by `compileHealthBook` as it reads them (and
 * `checkAmounts` checks one matrix on its own).
 */
export function validateSnapshot(snapshot: PositionSnapshot): void {
  const n = snapshot.accounts.length;
  const a = snapshot.assets.length;
  if (a === 0) throw invalid('risk: the snapshot lists no assets');
  if (a > 65_535) throw invalid(`risk: too many assets (${a}); at most 65,535`);
  for (const [name, m] of [
    ['collateral', snapshot.collateral],
    ['supplied', snapshot.supplied],
    ['debt', snapshot.debt],
  ] as const) {
    if (m.length !== n * a)
      throw invalid(`risk: snapshot.${name} has ${m.length} entries, expected accounts × assets = ${n * a}`);
  }
  if (snapshot.eMode.length !== n)
    throw invalid(
      `risk: snapshot.eMode has ${snapshot.eMode.length} entries, expected one per account (${n})`,
    );
  snapshot.assets.forEach((asset, j) => {
    if (!(asset.priceUsd >= 0 && Number.isFinite(asset.priceUsd)))
      throw invalid(
        `risk: asset ${asset.symbol} (${j}) has price ${asset.priceUsd}; prices must be finite and ≥ 0`,
      );
    if (!(asset.liquidationThreshold >= 0 && asset.liquidationThreshold <= 1))
      throw invalid(
        `risk: asset ${asset.symbol} has liquidation threshold ${asset.liquidationThreshold}; use a fraction in [0, 1]`,
      );
    if (!(asset.liquidationBonus >= 1 && Number.isFinite(asset.liquidationBonus)))
      throw invalid(
        `risk: asset ${asset.symbol} has liquidation bonus ${asset.liquidationBonus}; it includes the principal, so ≥ 1`,
      );
    if (!(asset.liquidationProtocolFee >= 0 && asset.liquidationProtocolFee <= 1))
      throw invalid(
        `risk: asset ${asset.symbol} has protocol fee ${asset.liquidationProtocolFee}; use a fraction in [0, 1]`,
      );
  });
  snapshot.eModes.forEach((cat, id) => {
    if (cat === undefined) return;
    if (!(cat.liquidationThreshold >= 0 && cat.liquidationThreshold <= 1))
      throw invalid(
        `risk: e-mode ${id} has liquidation threshold ${cat.liquidationThreshold}; use a fraction in [0, 1]`,
      );
    if (!(cat.liquidationBonus >= 1 && Number.isFinite(cat.liquidationBonus)))
      throw invalid(
        `risk: e-mode ${id} has liquidation bonus ${cat.liquidationBonus}; it includes the principal, so ≥ 1`,
      );
  });
  for (let i = 0; i < n; i++) {
    const e = snapshot.eMode[i]!;
    if (e !== 0 && snapshot.eModes[e] === undefined)
      throw invalid(
        `risk: account ${snapshot.accounts[i]} is in e-mode ${e}, which the snapshot does not define`,
      );
  }
}

/** Checks that every amount of a matrix is finite and ≥ 0 (throws `ERR_USAGE` naming the first bad one). */
export function checkAmounts(m: Float64Array, assetCount: number, name: string): void {
  for (let k = 0; k < m.length; k++) {
    const v = m[k]!;
    if (!(v >= 0 && v < Number.POSITIVE_INFINITY)) throw badAmount(name, k, assetCount, v);
  }
}

const badAmount = (name: string, k: number, a: number, v: number) =>
  invalid(
    `risk: snapshot.${name} of account ${Math.floor(k / a)}, asset ${k % a} is ${v}; amounts must be finite and ≥ 0`,
  );

/** Checks a price vector against a snapshot (one finite, non-negative price per asset). */
export function checkPrices(prices: ArrayLike<number>, assetCount: number, what = 'prices'): Float64Array {
  if (prices.length !== assetCount)
    throw invalid(`risk: ${what} has ${prices.length} entries, expected one per asset (${assetCount})`);
  const out = new Float64Array(assetCount);
  for (let j = 0; j < assetCount; j++) {
    const p = prices[j]!;
    if (!(p >= 0 && Number.isFinite(p)))
      throw invalid(`risk: ${what}[${j}] is ${p}; it must be finite and ≥ 0`);
    out[j] = p;
  }
  return out;
}

/**
 * The liquidation threshold that applies to account `i`'s collateral in asset `j`: the e-mode
 * category's when the account's e-mode equals the asset's category, the asset's otherwise.
 */
export function effectiveThreshold(snapshot: PositionSnapshot, i: number, j: number): number {
  const e = snapshot.eMode[i]!;
  const asset = snapshot.assets[j]!;
  if (e !== 0 && asset.eModeCategory === e) return snapshot.eModes[e]!.liquidationThreshold;
  return asset.liquidationThreshold;
}

/** The liquidation bonus account `i` pays on collateral `j` (e-mode's when it applies). */
export function effectiveBonus(snapshot: PositionSnapshot, i: number, j: number): number {
  const e = snapshot.eMode[i]!;
  const asset = snapshot.assets[j]!;
  if (e !== 0 && asset.eModeCategory === e) return snapshot.eModes[e]!.liquidationBonus;
  return asset.liquidationBonus;
}

/**
 * Compiles a snapshot for the fast paths (validates it on the way). `prices` overrides the
 * snapshot's oracle prices (USD, one per asset). Linear in `accounts × assets`.
 *
 * @example const book = compileHealthBook(snapshot); const hf = healthFactors(book);
 */
export function compileHealthBook(snapshot: PositionSnapshot, prices?: ArrayLike<number>): HealthBook {
  validateSnapshot(snapshot);
  const n = snapshot.accounts.length;
  const a = snapshot.assets.length;
  const p = checkPrices(prices ?? snapshot.assets.map((x) => x.priceUsd), a);
  // Threshold table: row 0 = no e-mode, row e = e-mode e (the category's LT for its assets).
  const rows = Math.max(1, snapshot.eModes.length);
  const lt = new Float64Array(rows * a);
  for (let e = 0; e < rows; e++) {
    const cat = e === 0 ? undefined : snapshot.eModes[e];
    for (let j = 0; j < a; j++) {
      const asset = snapshot.assets[j]!;
      lt[e * a + j] =
        cat !== undefined && asset.eModeCategory === e
          ? cat.liquidationThreshold
          : asset.liquidationThreshold;
    }
  }
  const { collateral, debt, eMode } = snapshot;

  // Pass 1: each account's pattern, checking every amount.
  const groupOf = new Int32Array(n);
  const shapes: Shape[] = [];
  const small = 2 * a + Math.ceil(Math.log2(rows + 1)) <= 22;
  // Small path: each account's collateral and debt bitmasks, so pass 2 reads only non-zero entries.
  const masks = small ? new Uint32Array(n) : null;
  const counted = masks
    ? classifySmall(collateral, debt, eMode, n, a, rows, groupOf, shapes, masks)
    : classifyAny(collateral, debt, eMode, n, a, groupOf, shapes);
  const nc = counted.nc;
  const nd = counted.nd;

  // Layout: debtor groups first, then debt-free ones; entries follow positions.
  const gs = shapes.length;
  const layout = shapes
    .map((_, g) => g)
    .sort((x, y) => Number(shapes[x]!.debt.length === 0) - Number(shapes[y]!.debt.length === 0));
  const start = new Uint32Array(gs);
  const collBase = new Uint32Array(gs);
  const debtBase = new Uint32Array(gs);
  let pos = 0;
  let cb = 0;
  let db = 0;
  let debtors = 0;
  for (const g of layout) {
    const shape = shapes[g]!;
    start[g] = pos;
    collBase[g] = cb;
    debtBase[g] = db;
    pos += shape.size;
    cb += shape.size * shape.coll.length;
    db += shape.size * shape.debt.length;
    if (shape.debt.length > 0) debtors += shape.size;
  }

  // Pass 2: write every account's entries at its position.
  const order = new Uint32Array(n);
  const collStart = new Uint32Array(n + 1);
  const collAsset = new Uint16Array(nc);
  const collWeighted = new Float64Array(nc);
  const collValue = new Float64Array(nc);
  const debtStart = new Uint32Array(n + 1);
  const debtAsset = new Uint16Array(nd);
  const debtValue = new Float64Array(nd);
  const kcOf = Int32Array.from(shapes, (x) => x.coll.length);
  const kdOf = Int32Array.from(shapes, (x) => x.debt.length);
  writeEntries(
    { collateral, debt, eMode, n, a, p, lt, groupOf, start, collBase, debtBase, kcOf, kdOf, masks },
    { order, collStart, collAsset, collWeighted, collValue, debtStart, debtAsset, debtValue },
  );
  collStart[n] = nc;
  debtStart[n] = nd;

  const groups: PatternGroup[] = [];
  for (const g of layout) {
    const shape = shapes[g]!;
    if (shape.debt.length === 0) continue;
    const groupLt = shape.coll.length === 1 ? lt[shape.eMode * a + shape.coll[0]!]! : Number.NaN;
    groups.push({
      collAssets: Uint16Array.from(shape.coll),
      debtAssets: Uint16Array.from(shape.debt),
      eMode: shape.eMode,
      start: start[g]!,
      size: shape.size,
      lt: groupLt,
      single: shape.coll.length === 1 && shape.debt.length === 1 && groupLt > 0,
    });
  }
  return {
    accountCount: n,
    assetCount: a,
    prices: p,
    order,
    debtors,
    collStart,
    collAsset,
    collWeighted,
    collValue,
    debtStart,
    debtAsset,
    debtValue,
    groups,
  };
}

/** Pass 2: each account's non-zero entries, valued, at its position (see `compileHealthBook`). */
function writeEntries(
  input: {
    collateral: Float64Array;
    debt: Float64Array;
    eMode: Uint8Array;
    n: number;
    a: number;
    p: Float64Array;
    lt: Float64Array;
    groupOf: Int32Array;
    start: Uint32Array;
    collBase: Uint32Array;
    debtBase: Uint32Array;
    kcOf: Int32Array;
    kdOf: Int32Array;
    /** Per account `collateral mask << 16 | debt mask`, when pass 1 made them. */
    masks: Uint32Array | null;
  },
  out: {
    order: Uint32Array;
    collStart: Uint32Array;
    collAsset: Uint16Array;
    collWeighted: Float64Array;
    collValue: Float64Array;
    debtStart: Uint32Array;
    debtAsset: Uint16Array;
    debtValue: Float64Array;
  },
): void {
  const { collateral, debt, eMode, n, a, p, lt, groupOf, start, collBase, debtBase, kcOf, kdOf, masks } =
    input;
  const { order, collStart, collAsset, collWeighted, collValue, debtStart, debtAsset, debtValue } = out;
  const cursor = new Uint32Array(kcOf.length);
  for (let i = 0; i < n; i++) {
    const g = groupOf[i]!;
    const r = cursor[g]!++;
    const at = start[g]! + r;
    order[at] = i;
    let c = collBase[g]! + r * kcOf[g]!;
    let d = debtBase[g]! + r * kdOf[g]!;
    collStart[at] = c;
    debtStart[at] = d;
    const row = i * a;
    const ltRow = eMode[i]! * a;
    if (masks !== null) {
      // Lowest set bit first: entries stay in asset order.
      for (let m = masks[i]! >>> 16; m !== 0; m &= m - 1) {
        const j = 31 - Math.clz32(m & -m);
        const v = collateral[row + j]! * p[j]!;
        collAsset[c] = j;
        collValue[c] = v;
        collWeighted[c] = v * lt[ltRow + j]!;
        c++;
      }
      for (let m = masks[i]! & 0xffff; m !== 0; m &= m - 1) {
        const j = 31 - Math.clz32(m & -m);
        debtAsset[d] = j;
        debtValue[d] = debt[row + j]! * p[j]!;
        d++;
      }
      continue;
    }
    for (let j = 0; j < a; j++) {
      const x = collateral[row + j]!;
      if (x > 0) {
        const v = x * p[j]!;
        collAsset[c] = j;
        collValue[c] = v;
        collWeighted[c] = v * lt[ltRow + j]!;
        c++;
      }
      const y = debt[row + j]!;
      if (y > 0) {
        debtAsset[d] = j;
        debtValue[d] = y * p[j]!;
        d++;
      }
    }
  }
}

interface Shape {
  coll: number[];
  debt: number[];
  eMode: number;
  size: number;
}

/** Pass 1 for up to ~10 assets: each account's pattern as bitmasks, looked up in a flat table. */
function classifySmall(
  collateral: Float64Array,
  debt: Float64Array,
  eMode: Uint8Array,
  n: number,
  a: number,
  rows: number,
  groupOf: Int32Array,
  shapes: Shape[],
  masks: Uint32Array,
): { nc: number; nd: number } {
  const table = new Int32Array(2 ** (2 * a) * rows).fill(-1);
  const cap = Math.min(n, table.length) + 1;
  const sizes = new Int32Array(cap);
  const kcOf = new Int32Array(cap);
  const kdOf = new Int32Array(cap);
  let nc = 0;
  let nd = 0;
  for (let i = 0; i < n; i++) {
    const row = i * a;
    let cm = 0;
    let dm = 0;
    for (let j = 0; j < a; j++) {
      const x = collateral[row + j]!;
      const y = debt[row + j]!;
      // One comparison for the common case; the rare others say what is wrong.
      if (x > 0) {
        if (x === Number.POSITIVE_INFINITY) throw badAmount('collateral', row + j, a, x);
        cm |= 1 << j;
      } else if (x !== 0) throw badAmount('collateral', row + j, a, x);
      if (y > 0) {
        if (y === Number.POSITIVE_INFINITY) throw badAmount('debt', row + j, a, y);
        dm |= 1 << j;
      } else if (y !== 0) throw badAmount('debt', row + j, a, y);
    }
    const slot = ((cm << a) | dm) * rows + eMode[i]!;
    let g = table[slot]!;
    if (g < 0) {
      g = newShape(shapes, collateral, debt, row, a, eMode[i]!);
      table[slot] = g;
      kcOf[g] = shapes[g]!.coll.length;
      kdOf[g] = shapes[g]!.debt.length;
    }
    sizes[g]!++;
    nc += kcOf[g]!;
    nd += kdOf[g]!;
    groupOf[i] = g;
    masks[i] = (cm << 16) | dm;
  }
  for (let g = 0; g < shapes.length; g++) shapes[g]!.size = sizes[g]!;
  return { nc, nd };
}

/** Pass 1 for any number of assets: patterns keyed by strings. */
function classifyAny(
  collateral: Float64Array,
  debt: Float64Array,
  eMode: Uint8Array,
  n: number,
  a: number,
  groupOf: Int32Array,
  shapes: Shape[],
): { nc: number; nd: number } {
  const map = new Map<string, number>();
  let nc = 0;
  let nd = 0;
  for (let i = 0; i < n; i++) {
    const row = i * a;
    let key = '';
    for (let j = 0; j < a; j++) {
      const x = collateral[row + j]!;
      const y = debt[row + j]!;
      if (!(x >= 0 && x < Number.POSITIVE_INFINITY)) throw badAmount('collateral', row + j, a, x);
      if (!(y >= 0 && y < Number.POSITIVE_INFINITY)) throw badAmount('debt', row + j, a, y);
      if (x > 0 || y > 0) key += `${j}${x > 0 ? 'c' : ''}${y > 0 ? 'd' : ''},`;
    }
    key += `|${eMode[i]}`;
    let g = map.get(key);
    if (g === undefined) {
      g = newShape(shapes, collateral, debt, row, a, eMode[i]!);
      map.set(key, g);
    }
    const shape = shapes[g]!;
    shape.size++;
    nc += shape.coll.length;
    nd += shape.debt.length;
    groupOf[i] = g;
  }
  return { nc, nd };
}

function newShape(
  shapes: Shape[],
  collateral: Float64Array,
  debt: Float64Array,
  row: number,
  a: number,
  eMode: number,
): number {
  const coll: number[] = [];
  const dbt: number[] = [];
  for (let j = 0; j < a; j++) {
    if (collateral[row + j]! > 0) coll.push(j);
    if (debt[row + j]! > 0) dbt.push(j);
  }
  shapes.push({ coll, debt: dbt, eMode, size: 0 });
  return shapes.length - 1;
}

const bookOf = (source: PositionSnapshot | HealthBook): HealthBook =>
  'collStart' in source ? source : compileHealthBook(source);

/**
 * Every account's health factor at the book's prices, indexed like the snapshot's accounts
 * (`Infinity` for an account with no debt). Pass a snapshot to compile it on the way, or a
 * `HealthBook` compiled once.
 */
export function healthFactors(source: PositionSnapshot | HealthBook): Float64Array {
  const book = bookOf(source);
  const { accountCount: n, order, debtors, collStart, collWeighted, debtStart, debtValue } = book;
  const out = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  for (let p = 0; p < debtors; p++) {
    let dsum = 0;
    for (let k = debtStart[p]!, e = debtStart[p + 1]!; k < e; k++) dsum += debtValue[k]!;
    let w = 0;
    for (let k = collStart[p]!, e = collStart[p + 1]!; k < e; k++) w += collWeighted[k]!;
    out[order[p]!] = dsum > 0 ? w / dsum : Number.POSITIVE_INFINITY;
  }
  return out;
}

/** What a stress grid reports for one shock vector. */
export interface ShockOutcome {
  /** Accounts with HF < 1 under the shock. */
  liquidatableAccounts: number;
  /** Debt (USD, at shocked prices) of the accounts with HF < 1. */
  liquidatableDebtUsd: number;
  /** Collateral (USD, at shocked prices) of the accounts with HF < 1. */
  liquidatableCollateralUsd: number;
  /** Debt a liquidator may repay at once: 50 % of it for 0.95 ≤ HF < 1, 100 % below 0.95. */
  closeableDebtUsd: number;
  /** Σ max(0, debt − collateral) over accounts (USD at shocked prices): debt no collateral covers. */
  badDebtUsd: number;
  /** The lowest health factor (Infinity when no account has debt). */
  minHealthFactor: number;
  /** Account counts per health-factor bucket, when `hfEdges` was given (`edges.length + 1` buckets). */
  histogram?: Uint32Array;
}

export interface StressGridOptions {
  /**
   * Health-factor bucket edges, strictly increasing: bucket 0 is HF < edges[0], bucket k is
   * edges[k-1] ≤ HF < edges[k], the last bucket holds the rest (debt-free accounts included).
   */
  hfEdges?: readonly number[];
  /**
   * Optional output for every account's health factor under every shock, row-major
   * `shocks × accounts` (length S·N, accounts indexed like the snapshot). Costs S·N·4 bytes as a
   * Float32Array: size it with care.
   */
  healthFactorsOut?: Float32Array | Float64Array;
}

/**
 * Health factors of every account under many shock vectors at once. Each shock vector holds one
 * multiplicative price factor per asset (0.8 = the asset's price falls 20 %). Returns one
 * `ShockOutcome` per shock vector, in order.
 *
 * @example stressGrid(book, [[0.9, 1, 1], [0.8, 1, 1]]) // two shocks on asset 0
 */
export function stressGrid(
  source: PositionSnapshot | HealthBook,
  shocks: readonly ArrayLike<number>[],
  options: StressGridOptions = {},
): ShockOutcome[] {
  const book = bookOf(source);
  const { accountCount: n, assetCount: a } = book;
  const s = shocks.length;
  const f = new Float64Array(s * a);
  shocks.forEach((shock, si) => {
    f.set(checkPrices(shock, a, `shocks[${si}]`), si * a);
  });
  const edges = options.hfEdges;
  if (edges !== undefined) {
    for (let k = 0; k < edges.length; k++)
      if (!Number.isFinite(edges[k]!) || (k > 0 && edges[k]! <= edges[k - 1]!))
        throw invalid('risk: hfEdges must be finite and strictly increasing');
  }
  const out = options.healthFactorsOut;
  if (out !== undefined && out.length !== s * n)
    throw invalid(`risk: healthFactorsOut has ${out.length} entries, expected shocks × accounts = ${s * n}`);
  const nb = edges === undefined ? 0 : edges.length + 1;
  const acc: Accumulators = {
    count: new Float64Array(s),
    debt: new Float64Array(s),
    coll: new Float64Array(s),
    close: new Float64Array(s),
    bad: new Float64Array(s),
    minHf: new Float64Array(s).fill(Number.POSITIVE_INFINITY),
    hist: new Uint32Array(nb * s),
    edges: new Float64Array(edges ?? []),
  };
  for (const g of book.groups) runGroup(book, g, f, s, acc, out);
  if (out !== undefined)
    for (let p = book.debtors; p < n; p++)
      for (let si = 0; si < s; si++) out[si * n + book.order[p]!] = Number.POSITIVE_INFINITY;
  const debtFree = n - book.debtors;
  const results: ShockOutcome[] = [];
  for (let si = 0; si < s; si++) {
    const r: ShockOutcome = {
      liquidatableAccounts: acc.count[si]!,
      liquidatableDebtUsd: acc.debt[si]!,
      liquidatableCollateralUsd: acc.coll[si]!,
      closeableDebtUsd: acc.close[si]!,
      badDebtUsd: acc.bad[si]!,
      minHealthFactor: acc.minHf[si]!,
    };
    if (nb > 0) {
      const h = acc.hist.slice(si * nb, (si + 1) * nb);
      h[nb - 1]! += debtFree;
      r.histogram = h;
    }
    results.push(r);
  }
  return results;
}

interface Accumulators {
  count: Float64Array;
  debt: Float64Array;
  coll: Float64Array;
  close: Float64Array;
  bad: Float64Array;
  minHf: Float64Array;
  hist: Uint32Array;
  edges: Float64Array;
}

/** The number of ascending `sorted` values ≤ x. */
function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Accounts per tile: a tile's values stay in cache while every shock runs over them. */
const TILE = 2048;

function runGroup(
  book: HealthBook,
  g: PatternGroup,
  f: Float64Array,
  s: number,
  acc: Accumulators,
  out: Float32Array | Float64Array | undefined,
): void {
  const a = book.assetCount;
  const kc = g.collAssets.length;
  const kd = g.debtAssets.length;
  const size = g.size;
  const cs = book.collStart[g.start]!;
  const ds = book.debtStart[g.start]!;
  const view: GroupView = {
    w: book.collWeighted.subarray(cs, cs + size * kc),
    v: book.collValue.subarray(cs, cs + size * kc),
    d: book.debtValue.subarray(ds, ds + size * kd),
    index: book.order.subarray(g.start, g.start + size),
    // Per shock, the factor of each of the group's columns.
    fc: new Float64Array(s * kc),
    fd: new Float64Array(s * kd),
    kc,
    kd,
    size,
  };
  for (let si = 0; si < s; si++) {
    for (let c = 0; c < kc; c++) view.fc[si * kc + c] = f[si * a + g.collAssets[c]!]!;
    for (let c = 0; c < kd; c++) view.fd[si * kd + c] = f[si * a + g.debtAssets[c]!]!;
  }
  if (g.single) singleGroup(view, g.lt, s, acc);
  else if (acc.edges.length === 0 && kc <= 2 && kd <= 2) pairGroup(view, s, acc);
  else genericGroup(view, s, acc, book.accountCount, null);
  if (out !== undefined) genericGroup(view, s, null, book.accountCount, out);
}

interface GroupView {
  w: Float64Array;
  v: Float64Array;
  d: Float64Array;
  index: Uint32Array;
  fc: Float64Array;
  fd: Float64Array;
  kc: number;
  kd: number;
  size: number;
}

/**
 * One collateral, one debt: HF = ratio · r with r = f_c / f_d, so "HF < bound" is
 * "ratio < bound / r". Every (shock, bound) pair gives a threshold on the ratio; each account is
 * placed among the sorted thresholds once (binary search), then prefix sums answer every pair.
 * (At an exact tie, `ratio < bound / r` and `ratio · r < bound` may round differently.)
 */
function singleGroup(view: GroupView, lt: number, s: number, acc: Accumulators): void {
  const { w, v, d, fc, fd, size } = view;
  const edges = acc.edges;
  const ne = edges.length;
  const bounds = [LIQUIDATION_HF, CLOSE_FACTOR_HF_THRESHOLD, lt, ...edges];
  const nbd = bounds.length;
  // thresholds[si * nbd + b] = bounds[b] / r_si (Infinity when the debt factor is 0: nothing below).
  const raw = new Float64Array(s * nbd);
  let minRatio = Number.POSITIVE_INFINITY;
  for (let k = 0; k < size; k++) {
    // A debt priced at 0 weighs nothing: its HF is Infinity.
    const ratio = d[k]! > 0 ? w[k]! / d[k]! : Number.POSITIVE_INFINITY;
    if (ratio < minRatio) minRatio = ratio;
  }
  for (let si = 0; si < s; si++) {
    const r = fc[si]! / fd[si]!;
    for (let b = 0; b < nbd; b++) raw[si * nbd + b] = fd[si]! > 0 ? bounds[b]! / r : Number.NEGATIVE_INFINITY;
  }
  const sorted = Float64Array.from(raw).sort();
  const m = sorted.length;
  const cnt = new Float64Array(m + 1);
  const sd = new Float64Array(m + 1);
  const sv = new Float64Array(m + 1);
  for (let k = 0; k < size; k++) {
    // A debt priced at 0 weighs nothing: its HF is Infinity.
    const ratio = d[k]! > 0 ? w[k]! / d[k]! : Number.POSITIVE_INFINITY;
    const q = upperBound(sorted, ratio);
    cnt[q]!++;
    sd[q]! += d[k]!;
    sv[q]! += v[k]!;
  }
  // Prefix: accounts with ratio < sorted[q] are those in buckets 0..q.
  for (let q = 1; q <= m; q++) {
    cnt[q]! += cnt[q - 1]!;
    sd[q]! += sd[q - 1]!;
    sv[q]! += sv[q - 1]!;
  }
  const below = (t: number) => {
    // Accounts with ratio < t: buckets 0..(index of t among the sorted thresholds).
    if (t === Number.NEGATIVE_INFINITY) return -1;
    let lo = 0;
    let hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo; // sorted[lo] === t
  };
  const { count, debt, coll, close, bad, minHf, hist } = acc;
  const nb = ne > 0 ? ne + 1 : 0;
  for (let si = 0; si < s; si++) {
    const f0 = fc[si]!;
    const f1 = fd[si]!;
    if (!(f1 > 0)) {
      if (nb > 0) hist[si * nb + ne]! += size;
      continue;
    }
    const lo = minRatio * (f0 / f1);
    if (lo < minHf[si]!) minHf[si] = lo;
    const q1 = below(raw[si * nbd]!);
    const q95 = below(raw[si * nbd + 1]!);
    const qBad = below(raw[si * nbd + 2]!);
    count[si]! += cnt[q1]!;
    debt[si]! += sd[q1]! * f1;
    coll[si]! += sv[q1]! * f0;
    close[si]! += 0.5 * (sd[q1]! + sd[q95]!) * f1;
    // Collateral value = weighted / lt, so debt > collateral exactly when HF < lt.
    const b = sd[qBad]! * f1 - sv[qBad]! * f0;
    if (b > 0) bad[si]! += b;
    if (nb > 0) {
      let prev = 0;
      for (let e = 0; e < ne; e++) {
        const c = cnt[below(raw[si * nbd + 3 + e]!)]!;
        hist[si * nb + e]! += c - prev;
        prev = c;
      }
      hist[si * nb + ne]! += size - prev;
    }
  }
}

/** Up to two collateral and two debt assets, no histogram: unrolled, divisions only when needed. */
function pairGroup(view: GroupView, s: number, acc: Accumulators): void {
  const { w, v, d, fc, fd, kc, kd, size } = view;
  const { count, debt, coll, close, bad, minHf } = acc;
  for (let t0 = 0; t0 < size; t0 += TILE) {
    const t1 = Math.min(size, t0 + TILE);
    for (let si = 0; si < s; si++) {
      const c0 = fc[si * kc]!;
      const c1 = kc === 2 ? fc[si * kc + 1]! : 0;
      const d0 = fd[si * kd]!;
      const d1 = kd === 2 ? fd[si * kd + 1]! : 0;
      let cnt = 0;
      let sumDebt = 0;
      let sumColl = 0;
      let sumClose = 0;
      let sumBad = 0;
      let lo = minHf[si]!;
      for (let k = t0; k < t1; k++) {
        const num = kc === 2 ? w[2 * k]! * c0 + w[2 * k + 1]! * c1 : w[k]! * c0;
        const den = kd === 2 ? d[2 * k]! * d0 + d[2 * k + 1]! * d1 : d[k]! * d0;
        if (num < lo * den) lo = num / den;
        if (num < den) {
          const cv = kc === 2 ? v[2 * k]! * c0 + v[2 * k + 1]! * c1 : v[k]! * c0;
          cnt++;
          sumDebt += den;
          sumColl += cv;
          sumClose += num < CLOSE_FACTOR_HF_THRESHOLD * den ? den : 0.5 * den;
          if (den > cv) sumBad += den - cv;
        }
      }
      minHf[si] = lo;
      count[si]! += cnt;
      debt[si]! += sumDebt;
      coll[si]! += sumColl;
      close[si]! += sumClose;
      bad[si]! += sumBad;
    }
  }
}

/** Any shape; also writes per-account health factors (`acc` null: only write them). */
function genericGroup(
  view: GroupView,
  s: number,
  acc: Accumulators | null,
  n: number,
  out: Float32Array | Float64Array | null,
): void {
  const { w, v, d, fc, fd, kc, kd, size, index } = view;
  const edges = acc?.edges ?? new Float64Array(0);
  const ne = edges.length;
  const nb = ne > 0 ? ne + 1 : 0;
  for (let t0 = 0; t0 < size; t0 += TILE) {
    const t1 = Math.min(size, t0 + TILE);
    for (let si = 0; si < s; si++) {
      let cnt = 0;
      let sumDebt = 0;
      let sumColl = 0;
      let sumClose = 0;
      let sumBad = 0;
      let lo = acc === null ? 0 : acc.minHf[si]!;
      const cb = si * kc;
      const db = si * kd;
      for (let k = t0; k < t1; k++) {
        let num = 0;
        for (let c = 0, o = k * kc; c < kc; c++) num += w[o + c]! * fc[cb + c]!;
        let den = 0;
        for (let c = 0, o = k * kd; c < kd; c++) den += d[o + c]! * fd[db + c]!;
        const hf = den > 0 ? num / den : Number.POSITIVE_INFINITY;
        if (out !== null) out[si * n + index[k]!] = hf;
        if (acc === null) continue;
        if (hf < lo) lo = hf;
        if (nb > 0) {
          let b = 0;
          while (b < ne && hf >= edges[b]!) b++;
          acc.hist[si * nb + b]!++;
        }
        if (hf < LIQUIDATION_HF) {
          let cv = 0;
          for (let c = 0, o = k * kc; c < kc; c++) cv += v[o + c]! * fc[cb + c]!;
          cnt++;
          sumDebt += den;
          sumColl += cv;
          sumClose += hf < CLOSE_FACTOR_HF_THRESHOLD ? den : 0.5 * den;
          if (den > cv) sumBad += den - cv;
        }
      }
      if (acc === null) continue;
      acc.minHf[si] = lo;
      acc.count[si]! += cnt;
      acc.debt[si]! += sumDebt;
      acc.coll[si]! += sumColl;
      acc.close[si]! += sumClose;
      acc.bad[si]! += sumBad;
    }
  }
}
