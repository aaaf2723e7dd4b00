/**
 * Risk — liquidations-at-risk and bad-debt curves: for each asset (or group of assets moving
 * together), how much becomes liquidatable, how much a liquidator may repay at once, and how much
 * debt no collateral covers, as that price moves over a grid of price factors, every other price
 * held.
 *
 * Closed form, no per-point evaluation: when a set of assets moves by a factor `g`, an account's
 * weighted collateral and debt are linear in `g` (`W = Wo + Wm·g`, `D = Do + Dm·g`), so "HF < 1"
 * is `(Wo − Do) + g·(Wm − Dm) < 0`, one threshold on `g` per account (below it when `Wm > Dm`,
 * above it when the account borrows the moving asset more than it posts it). Each account adds its
 * linear contribution `c0 + c1·g` to a difference array at its threshold's grid index, and one
 * prefix sum per curve gives every point: O(entries + groups × points).
 */
import { FirebreakError } from '../common/errors';
import { CLOSE_FACTOR_HF_THRESHOLD, compileHealthBook, type HealthBook, LIQUIDATION_HF } from './health';
import type { PositionSnapshot } from './types';

export interface LarOptions {
  /**
   * Price factors to evaluate (1 = today's price, 0.5 = half), strictly monotone (increasing or
   * decreasing), finite and ≥ 0. The curves follow this order.
   */
  factors: ArrayLike<number>;
  /**
   * Which prices move: each entry is a set of asset indexes moving together by the same factor.
   * Default: every asset alone.
   */
  moves?: readonly (readonly number[])[];
  /**
   * Also compute `closeableDebtUsd` (one more threshold per account and move: about a third more
   * work). Default false.
   */
  closeable?: boolean;
}

/** The curves for one move (an asset, or a set of assets moving together). */
export interface LarCurve {
  /** Asset indexes that move. */
  assets: number[];
  label: string;
  factors: Float64Array;
  /** Accounts with HF < 1 at each factor. */
  liquidatableAccounts: Float64Array;
  /** Their debt (USD at the moved prices). */
  liquidatableDebtUsd: Float64Array;
  /** Their collateral (USD at the moved prices). */
  liquidatableCollateralUsd: Float64Array;
  /**
   * Debt a liquidator may repay at once (close factor: 50 %, or 100 % below HF 0.95), USD; only
   * with `closeable: true`.
   */
  closeableDebtUsd?: Float64Array;
  /** Σ max(0, debt − collateral) over accounts, USD. */
  badDebtUsd: Float64Array;
}

const invalid = (message: string) => new FirebreakError('ERR_USAGE', message);

/** `points` factors evenly spaced from `from` to `to` inclusive (e.g. 1 → 0 for a full crash). */
export function factorGrid(from: number, to: number, points: number): Float64Array {
  if (!(Number.isInteger(points) && points >= 2))
    throw invalid('risk: a factor grid needs at least 2 points');
  if (!(Number.isFinite(from) && Number.isFinite(to) && from >= 0 && to >= 0 && from !== to))
    throw invalid('risk: a factor grid needs two different, finite factors ≥ 0');
  const out = new Float64Array(points);
  // Interpolate from both ends so the last point is exactly `to` (no −2e-16 below a 0).
  for (let k = 0; k < points; k++) out[k] = (from * (points - 1 - k) + to * k) / (points - 1);
  return out;
}

// Curve fields, interleaved per grid slot: count, debt c0/c1, coll c0/c1, debt<0.95 c0/c1, bad c0/c1.
const F = 9;

/**
 * Liquidations-at-risk and bad-debt curves, one per move.
 *
 * @example
 * const curves = liquidationsAtRisk(book, { factors: factorGrid(1, 0, 1000) });
 * curves[0].liquidatableDebtUsd[100] // debt of accounts liquidatable when asset 0 is down 10 %
 */
export function liquidationsAtRisk(source: PositionSnapshot | HealthBook, options: LarOptions): LarCurve[] {
  const book = 'collStart' in source ? source : compileHealthBook(source);
  const symbols = 'collStart' in source ? null : source.assets.map((x) => x.symbol);
  const a = book.assetCount;
  const g = options.factors.length;
  if (g < 1 || g > 65_535) throw invalid('risk: liquidationsAtRisk needs 1 to 65,535 factors');
  const input = Float64Array.from(options.factors);
  for (let k = 0; k < g; k++)
    if (!(input[k]! >= 0 && Number.isFinite(input[k]!)))
      throw invalid(`risk: factors[${k}] is ${input[k]}; factors must be finite and ≥ 0`);
  const descending = g > 1 && input[1]! < input[0]!;
  for (let k = 1; k < g; k++)
    if (descending ? !(input[k]! < input[k - 1]!) : !(input[k]! > input[k - 1]!))
      throw invalid('risk: factors must be strictly increasing or strictly decreasing');
  const grid = descending ? input.slice().reverse() : input;

  const moves = options.moves ?? Array.from({ length: a }, (_, j) => [j]);
  const m = moves.length;
  // For each asset, the moves it belongs to.
  const movesOf: number[][] = Array.from({ length: a }, () => []);
  moves.forEach((set, mi) => {
    if (set.length === 0) throw invalid(`risk: moves[${mi}] is empty`);
    for (const j of set) {
      if (!(Number.isInteger(j) && j >= 0 && j < a))
        throw invalid(`risk: moves[${mi}] names asset ${j}, not in 0..${a - 1}`);
      if (!movesOf[j]!.includes(mi)) movesOf[j]!.push(mi);
    }
  });

  // Uniform grid: index by arithmetic (then corrected), else binary search.
  const step = g > 1 ? (grid[g - 1]! - grid[0]!) / (g - 1) : 0;
  let uniform = g > 1;
  for (let k = 0; uniform && k < g; k++)
    if (Math.abs(grid[k]! - (grid[0]! + step * k)) > 1e-9 * Math.abs(step)) uniform = false;
  const gridInfo = { u0: grid[0]!, last: grid[g - 1]!, invStep: uniform ? 1 / step : 0 };
  const diff = new Float64Array(m * (g + 1) * F);
  // Per move, a constant correction (accounts exposed to the move leave the baseline).
  const corr = new Float64Array(m * F);
  const base = new Float64Array(F);
  const LIQ = LIQUIDATION_HF;
  const DEEP = CLOSE_FACTOR_HF_THRESHOLD;

  const { collStart, collWeighted, collValue, debtStart, debtValue } = book;
  const { u0, last, invStep } = gridInfo;
  const cond = new Float64Array(6);
  const withClose = options.closeable === true;
  for (const group of book.groups) {
    const kc = group.collAssets.length;
    const kd = group.debtAssets.length;
    // The moves that touch this group, and which of its columns each one moves.
    const touching: { mi: number; coll: number[]; debt: number[] }[] = [];
    movesOf.forEach((list, j) => {
      const ci = group.collAssets.indexOf(j);
      const di = group.debtAssets.indexOf(j);
      if (ci < 0 && di < 0) return;
      for (const mi of list) {
        let t = touching.find((x) => x.mi === mi);
        if (t === undefined) {
          t = { mi, coll: [], debt: [] };
          touching.push(t);
        }
        if (ci >= 0) t.coll.push(ci);
        if (di >= 0) t.debt.push(di);
      }
    });
    const nt = touching.length;
    const tMove = Int32Array.from(touching, (t) => t.mi);
    // Column masks per touching move (a group has at most `assets` columns of each kind).
    const tColl = touching.map((t) => Int32Array.from(t.coll));
    const tDebt = touching.map((t) => Int32Array.from(t.debt));
    const cs0 = collStart[group.start]!;
    const ds0 = debtStart[group.start]!;
    for (let r = 0; r < group.size; r++) {
      const cs = cs0 + r * kc;
      const ds = ds0 + r * kd;
      let W = 0;
      let C = 0;
      let D = 0;
      for (let c = 0; c < kc; c++) {
        W += collWeighted[cs + c]!;
        C += collValue[cs + c]!;
      }
      for (let c = 0; c < kd; c++) D += debtValue[ds + c]!;
      // Today's (constant) contribution, for every move that does not touch the account.
      const liq = W < D * LIQ;
      const deep = W < D * DEEP;
      const bad0 = D > C ? D - C : 0;
      if (liq) {
        base[0]! += 1;
        base[1]! += D;
        base[3]! += C;
        if (deep) base[5]! += D;
      }
      if (bad0 > 0) base[7]! += bad0;
      for (let t = 0; t < nt; t++) {
        const mi = tMove[t]!;
        const colls = tColl[t]!;
        const debts = tDebt[t]!;
        let Wm = 0;
        let Cm = 0;
        let Dm = 0;
        for (let q = 0; q < colls.length; q++) {
          Wm += collWeighted[cs + colls[q]!]!;
          Cm += collValue[cs + colls[q]!]!;
        }
        for (let q = 0; q < debts.length; q++) Dm += debtValue[ds + debts[q]!]!;
        const c = mi * F;
        if (liq) {
          corr[c]! -= 1;
          corr[c + 1]! -= D;
          corr[c + 3]! -= C;
          if (deep) corr[c + 5]! -= D;
        }
        if (bad0 > 0) corr[c + 7]! -= bad0;
        const Wo = W - Wm;
        const Co = C - Cm;
        const Do = D - Dm;
        const o = mi * (g + 1) * F;
        // Three conditions of the form a0 + b·g < 0, each active over a span of grid slots:
        // 0: HF < 1 ⇔ (Wo − Do) + g·(Wm − Dm) < 0; 1: HF < 0.95; 2: debt > collateral.
        cond[0] = Wo - Do * LIQ;
        cond[1] = Wm - Dm * LIQ;
        cond[2] = Wo - Do * DEEP;
        cond[3] = Wm - Dm * DEEP;
        cond[4] = Co - Do;
        cond[5] = Cm - Dm;
        for (let q = 0; q < 3; q++) {
          if (q === 1 && !withClose) continue;
          const a0 = cond[2 * q]!;
          const b = cond[2 * q + 1]!;
          let lo = 0;
          let hi = g;
          if (b !== 0) {
            const r = -a0 / b;
            // k = #{grid < r}: arithmetic on a uniform grid, corrected; binary search otherwise.
            let k: number;
            if (!(r > u0)) k = 0;
            else if (r > last) k = g;
            else if (invStep > 0) {
              k = Math.ceil((r - u0) * invStep);
              if (k > g) k = g;
              while (k > 0 && !(grid[k - 1]! < r)) k--;
              while (k < g && grid[k]! < r) k++;
            } else k = searchBelow(grid, r);
            if (b > 0) hi = k;
            else {
              while (k < g && grid[k]! <= r) k++;
              lo = k;
            }
          } else if (!(a0 < 0)) continue;
          if (lo >= hi) continue;
          // Slot g is past the last point (never read): a span reaching the end needs no closing entry.
          const x = o + lo * F;
          const y = o + hi * F;
          if (q === 0) {
            // One account; debt Do + Dm·g; collateral Co + Cm·g.
            diff[x]! += 1;
            diff[x + 1]! += Do;
            diff[x + 2]! += Dm;
            diff[x + 3]! += Co;
            diff[x + 4]! += Cm;
            if (hi < g) {
              diff[y]! -= 1;
              diff[y + 1]! -= Do;
              diff[y + 2]! -= Dm;
              diff[y + 3]! -= Co;
              diff[y + 4]! -= Cm;
            }
          } else if (q === 1) {
            // The other half of the debt becomes closeable.
            diff[x + 5]! += Do;
            diff[x + 6]! += Dm;
            if (hi < g) {
              diff[y + 5]! -= Do;
              diff[y + 6]! -= Dm;
            }
          } else {
            // Uncovered debt (Do − Co) + g·(Dm − Cm).
            diff[x + 7]! += Do - Co;
            diff[x + 8]! += Dm - Cm;
            if (hi < g) {
              diff[y + 7]! -= Do - Co;
              diff[y + 8]! -= Dm - Cm;
            }
          }
        }
      }
    }
  }

  const curves: LarCurve[] = [];
  for (let mi = 0; mi < m; mi++) {
    const cnt = new Float64Array(g);
    const debt = new Float64Array(g);
    const coll = new Float64Array(g);
    const close = new Float64Array(g);
    const bad = new Float64Array(g);
    const run = new Float64Array(F);
    const o = mi * (g + 1) * F;
    for (let k = 0; k < g; k++) {
      for (let f = 0; f < F; f++) run[f]! += diff[o + k * F + f]!;
      const x = grid[k]!;
      const liqDebt = base[1]! + corr[mi * F + 1]! + run[1]! + run[2]! * x;
      const deepDebt = base[5]! + corr[mi * F + 5]! + run[5]! + run[6]! * x;
      const out = descending ? g - 1 - k : k;
      cnt[out] = Math.round(base[0]! + corr[mi * F]! + run[0]!);
      // Sums of positive terms: clamp the rounding noise of the differences at 0.
      debt[out] = Math.max(0, liqDebt);
      coll[out] = Math.max(0, base[3]! + corr[mi * F + 3]! + run[3]! + run[4]! * x);
      close[out] = Math.max(0, 0.5 * (liqDebt + deepDebt));
      bad[out] = Math.max(0, base[7]! + corr[mi * F + 7]! + run[7]! + run[8]! * x);
    }
    const assets = [...moves[mi]!];
    const curve: LarCurve = {
      assets,
      label: assets.map((j) => symbols?.[j] ?? `#${j}`).join('+'),
      factors: input.slice(),
      liquidatableAccounts: cnt,
      liquidatableDebtUsd: debt,
      liquidatableCollateralUsd: coll,
      badDebtUsd: bad,
    };
    if (withClose) curve.closeableDebtUsd = close;
    curves.push(curve);
  }
  return curves;
}

/** #{k : u[k] < r} over an ascending grid, by binary search. */
function searchBelow(u: Float64Array, r: number): number {
  let lo = 0;
  let hi = u.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (u[mid]! < r) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
