/**
 * Risk — the seed's sensitivity table, computed for a market:
 * (a) liquidation threshold → time to insolvency under a steady price decline;
 * (b) governance delay → the loss accrued while a fix waits out the delay, and the loss a malicious
 *     parameter change could cause if the delay is shorter than the guardians' response;
 * (c) oracle heartbeat and deviation threshold → the largest price error and the bad debt that the
 *     lag lets accrue (positions that gap from healthy to insolvent before the oracle shows it).
 *
 * A decline moves a set of assets together by `(1 − rate)^hours`. Times are found on a grid of
 * `resolution` points over the horizon (the liquidations-at-risk closed form evaluates every point
 * exactly), so they are exact to horizon / (resolution − 1).
 */
import { FirebreakError } from '../common/errors';
import { compileHealthBook, effectiveBonus, type HealthBook } from './health';
import { liquidationsAtRisk } from './lar';
import type { PositionSnapshot } from './types';

/** A steady decline of some assets' prices, moving together. */
export interface Decline {
  /** Asset indexes that fall. */
  assets: readonly number[];
  /** Fraction lost per hour (0.02 = −2 %/h, compounding). */
  ratePerHour: number;
  /** How far to look. Default 72 h. */
  horizonHours?: number;
  /** Grid points over the horizon. Default 2,001. */
  resolution?: number;
}

const invalid = (message: string) => new FirebreakError('ERR_USAGE', message);

function checkDecline(decline: Decline, a: number): Required<Decline> {
  const horizonHours = decline.horizonHours ?? 72;
  const resolution = decline.resolution ?? 2001;
  if (decline.assets.length === 0) throw invalid('risk: a decline needs at least one asset');
  for (const j of decline.assets)
    if (!(Number.isInteger(j) && j >= 0 && j < a))
      throw invalid(`risk: a decline names asset ${j}, not in 0..${a - 1}`);
  if (!(decline.ratePerHour > 0 && decline.ratePerHour < 1))
    throw invalid(`risk: ratePerHour is ${decline.ratePerHour}; use a fraction in (0, 1)`);
  if (!(horizonHours > 0 && Number.isFinite(horizonHours))) throw invalid('risk: horizonHours must be > 0');
  if (!(Number.isInteger(resolution) && resolution >= 2 && resolution <= 65_535))
    throw invalid('risk: resolution must be an integer in 2..65535');
  return { assets: decline.assets, ratePerHour: decline.ratePerHour, horizonHours, resolution };
}

/** The decline's curves over time: hours, and the LaR curve of the moving set at each hour. */
function overTime(book: HealthBook, d: Required<Decline>) {
  const hours = new Float64Array(d.resolution);
  const factors = new Float64Array(d.resolution);
  for (let k = 0; k < d.resolution; k++) {
    hours[k] = (d.horizonHours * k) / (d.resolution - 1);
    factors[k] = (1 - d.ratePerHour) ** hours[k]!;
  }
  const [curve] = liquidationsAtRisk(book, { factors, moves: [d.assets] });
  return { hours, curve: curve! };
}

/** The first hour at which `pred(k)` holds, or null within the horizon. */
const firstHour = (hours: Float64Array, pred: (k: number) => boolean): number | null => {
  for (let k = 0; k < hours.length; k++) if (pred(k)) return hours[k]!;
  return null;
};

const totalDebtUsd = (snapshot: PositionSnapshot) => {
  const a = snapshot.assets.length;
  let sum = 0;
  for (let k = 0; k < snapshot.debt.length; k++) sum += snapshot.debt[k]! * snapshot.assets[k % a]!.priceUsd;
  return sum;
};

export interface ThresholdRow {
  liquidationThreshold: number;
  /** Hours until the first account (healthy today) becomes liquidatable; null: not within the horizon. */
  hoursToFirstLiquidation: number | null;
  /** Hours until the first debt is left uncovered if no liquidation happens. */
  hoursToFirstBadDebt: number | null;
  /** Hours until uncovered debt reaches `insolvencyShare` of the market's debt (no liquidations). */
  hoursToInsolvency: number | null;
  /** Uncovered debt at the horizon, no liquidations (USD). */
  badDebtAtHorizonUsd: number;
}

/**
 * (a) For each candidate liquidation threshold of `asset`: how fast the market becomes insolvent
 * under the decline. With `relever` (default), borrowers are assumed to borrow against what the
 * threshold allows: each account's debt is scaled so its health factor is what it is today — a
 * higher threshold means more debt on the same collateral. Without it, only liquidation times move.
 */
export function thresholdSensitivity(
  snapshot: PositionSnapshot,
  options: {
    asset: number;
    thresholds: readonly number[];
    decline: Decline;
    insolvencyShare?: number;
    relever?: boolean;
  },
): ThresholdRow[] {
  const a = snapshot.assets.length;
  const d = checkDecline(options.decline, a);
  const j0 = options.asset;
  if (!(Number.isInteger(j0) && j0 >= 0 && j0 < a)) throw invalid(`risk: asset ${j0} is not in 0..${a - 1}`);
  const share = options.insolvencyShare ?? 0.01;
  const relever = options.relever ?? true;
  const today = compileHealthBook(snapshot);
  return options.thresholds.map((threshold) => {
    if (!(threshold > 0 && threshold <= 1)) throw invalid(`risk: threshold ${threshold} is not in (0, 1]`);
    const assets = snapshot.assets.map((x, j) => (j === j0 ? { ...x, liquidationThreshold: threshold } : x));
    let debt = snapshot.debt;
    if (relever) {
      // Scale each account's debt by (weighted collateral with the new threshold) / (today's).
      const changed = compileHealthBook({ ...snapshot, assets });
      const wToday = weightedByAccount(today);
      const wNew = weightedByAccount(changed);
      debt = snapshot.debt.slice();
      for (let i = 0; i < snapshot.accounts.length; i++) {
        const s = wToday[i]! > 0 ? wNew[i]! / wToday[i]! : 1;
        for (let j = 0; j < a; j++) debt[i * a + j]! *= s;
      }
    }
    const market = { ...snapshot, assets, debt };
    const { hours, curve } = overTime(compileHealthBook(market), d);
    const total = totalDebtUsd(market);
    const startCount = curve.liquidatableAccounts[0]!;
    const startBad = curve.badDebtUsd[0]!;
    return {
      liquidationThreshold: threshold,
      hoursToFirstLiquidation: firstHour(hours, (k) => curve.liquidatableAccounts[k]! > startCount),
      hoursToFirstBadDebt: firstHour(hours, (k) => curve.badDebtUsd[k]! > startBad + 1e-9 * total),
      hoursToInsolvency: firstHour(hours, (k) => curve.badDebtUsd[k]! >= share * total),
      badDebtAtHorizonUsd: curve.badDebtUsd[hours.length - 1]!,
    };
  });
}

function weightedByAccount(book: HealthBook): Float64Array {
  const out = new Float64Array(book.accountCount);
  for (let p = 0; p < book.accountCount; p++) {
    let w = 0;
    for (let k = book.collStart[p]!, e = book.collStart[p + 1]!; k < e; k++) w += book.collWeighted[k]!;
    out[book.order[p]!] = w;
  }
  return out;
}

export interface GovernanceRow {
  delayHours: number;
  /** Uncovered debt accrued by the time a fix can land, if liquidations fail (USD). */
  stressLossUsd: number;
  /** Debt liquidatable by then (USD): the liquidations the market must absorb while it waits. */
  liquidatableDebtUsd: number;
  /** Whether the guardians' response (`responseHours`) fits inside the delay: a malicious change can be vetoed. */
  vetoable: boolean;
  /** What a malicious change could take if it cannot be vetoed (0 when it can), USD. */
  maliciousLossUsd: number;
}

export interface MaliciousExposure {
  /** Cash a malicious listing or oracle change could borrow out: Σ max(0, supplied − borrowed) · price. */
  drainableLiquidityUsd: number;
  /** Penalties borrowers would pay if every threshold were set to 0 (all liquidated at once). */
  forcedLiquidationPenaltyUsd: number;
}

/** What one malicious parameter change could take from the market today. */
export function maliciousExposure(snapshot: PositionSnapshot): MaliciousExposure {
  const a = snapshot.assets.length;
  const n = snapshot.accounts.length;
  let drain = 0;
  for (let j = 0; j < a; j++) {
    let supplied = 0;
    let borrowed = 0;
    for (let i = 0; i < n; i++) {
      supplied += snapshot.supplied[i * a + j]!;
      borrowed += snapshot.debt[i * a + j]!;
    }
    drain += Math.max(0, supplied - borrowed) * snapshot.assets[j]!.priceUsd;
  }
  let penalty = 0;
  for (let i = 0; i < n; i++) {
    let debt = 0;
    let coll = 0;
    let best = -1;
    let bestValue = 0;
    for (let j = 0; j < a; j++) {
      const price = snapshot.assets[j]!.priceUsd;
      debt += snapshot.debt[i * a + j]! * price;
      const v = snapshot.collateral[i * a + j]! * price;
      coll += v;
      if (v > bestValue) {
        bestValue = v;
        best = j;
      }
    }
    if (debt > 0 && best >= 0)
      penalty += Math.min(debt * (effectiveBonus(snapshot, i, best) - 1), Math.max(0, coll - debt));
  }
  return { drainableLiquidityUsd: drain, forcedLiquidationPenaltyUsd: penalty };
}

/**
 * (b) For each governance delay: the loss accrued under the decline before a fix can execute, and
 * the loss a malicious change could cause — none if the guardians can respond (`responseHours`)
 * within the delay, everything `maliciousExposure` finds otherwise.
 */
export function governanceDelaySensitivity(
  snapshot: PositionSnapshot,
  options: { delaysHours: readonly number[]; decline: Decline; responseHours: number },
): GovernanceRow[] {
  const a = snapshot.assets.length;
  const maxDelay = Math.max(...options.delaysHours);
  if (!options.delaysHours.every((x) => x >= 0 && Number.isFinite(x)))
    throw invalid('risk: delays must be finite and ≥ 0');
  if (!(options.responseHours >= 0)) throw invalid('risk: responseHours must be ≥ 0');
  const d = checkDecline({ ...options.decline, horizonHours: Math.max(maxDelay, 1e-9) }, a);
  const { hours, curve } = overTime(compileHealthBook(snapshot), d);
  const exposure = maliciousExposure(snapshot);
  const at = (t: number) => Math.min(hours.length - 1, Math.round((t / d.horizonHours) * (hours.length - 1)));
  return options.delaysHours.map((delay) => {
    const k = at(delay);
    const vetoable = options.responseHours <= delay;
    return {
      delayHours: delay,
      stressLossUsd: curve.badDebtUsd[k]!,
      liquidatableDebtUsd: curve.liquidatableDebtUsd[k]!,
      vetoable,
      maliciousLossUsd: vetoable ? 0 : exposure.drainableLiquidityUsd + exposure.forcedLiquidationPenaltyUsd,
    };
  });
}

export interface OracleRow {
  heartbeatHours: number;
  deviation: number;
  /** How long the reported price can trail the market (hours). */
  lagHours: number;
  /** The largest relative error of the reported price under the decline. */
  maxPriceError: number;
  /** Debt of positions whose whole liquidation window (HF 1 → insolvent) fits inside the lag. */
  gappedDebtUsd: number;
  /** Uncovered debt the lag lets accrue: found when the oracle finally shows the position liquidatable. */
  badDebtFromLagUsd: number;
}

/**
 * (c) For each oracle configuration (heartbeat, deviation threshold): under the decline, the feed
 * updates when the price has moved by `deviation` or `heartbeatHours` passed, plus
 * `updateLatencyHours` to land; the reported price then trails by up to that lag. A position is
 * liquidatable on-chain only once the reported price crosses its liquidation price; by then the
 * market is lower by the error, and whatever its collateral no longer covers is bad debt.
 */
export function oracleSensitivity(
  snapshot: PositionSnapshot,
  options: {
    configs: readonly { heartbeatHours: number; deviation: number }[];
    decline: Decline;
    updateLatencyHours?: number;
  },
): OracleRow[] {
  const a = snapshot.assets.length;
  const d = checkDecline(options.decline, a);
  const latency = options.updateLatencyHours ?? 0;
  if (!(latency >= 0)) throw invalid('risk: updateLatencyHours must be ≥ 0');
  const book = compileHealthBook(snapshot);
  const moving = new Uint8Array(a);
  for (const j of d.assets) moving[j] = 1;
  // Per debtor: totals and the moving part, so HF, debt and collateral are linear in the factor.
  const { debtors, collStart, collAsset, collWeighted, collValue, debtStart, debtAsset, debtValue } = book;
  const lin = new Float64Array(debtors * 6); // Wo, Wm, Co, Cm, Do, Dm
  for (let p = 0; p < debtors; p++) {
    const o = p * 6;
    for (let k = collStart[p]!, e = collStart[p + 1]!; k < e; k++) {
      const m = moving[collAsset[k]!]!;
      lin[o + m]! += collWeighted[k]!;
      lin[o + 2 + m]! += collValue[k]!;
    }
    for (let k = debtStart[p]!, e = debtStart[p + 1]!; k < e; k++)
      lin[o + 4 + moving[debtAsset[k]!]!]! += debtValue[k]!;
  }
  const floor = (1 - d.ratePerHour) ** d.horizonHours;
  return options.configs.map(({ heartbeatHours, deviation }) => {
    if (!(heartbeatHours > 0 && deviation >= 0 && deviation < 1))
      throw invalid('risk: an oracle config needs heartbeatHours > 0 and a deviation in [0, 1)');
    const toDeviation = deviation > 0 ? Math.log(1 - deviation) / Math.log(1 - d.ratePerHour) : 0;
    const lagHours = Math.min(heartbeatHours, toDeviation) + latency;
    const lagFactor = (1 - d.ratePerHour) ** lagHours;
    let gapped = 0;
    let bad = 0;
    for (let p = 0; p < debtors; p++) {
      const o = p * 6;
      const [Wo, Wm, Co, Cm, Do, Dm] = [
        lin[o]!,
        lin[o + 1]!,
        lin[o + 2]!,
        lin[o + 3]!,
        lin[o + 4]!,
        lin[o + 5]!,
      ];
      if (!(Wm > Dm)) continue; // the decline never makes it liquidatable
      const fL = (Do - Wo) / (Wm - Dm); // HF = 1 here
      if (!(fL > floor && fL < 1)) continue; // already liquidatable, or not within the horizon
      const fTrue = fL * lagFactor;
      const uncovered = (f: number) => Math.max(0, Do + Dm * f - (Co + Cm * f));
      const extra = uncovered(fTrue) - uncovered(fL);
      if (extra > 0) {
        bad += extra;
        gapped += Do + Dm * fTrue;
      }
    }
    return {
      heartbeatHours,
      deviation,
      lagHours,
      maxPriceError: 1 - lagFactor,
      gappedDebtUsd: gapped,
      badDebtFromLagUsd: bad,
    };
  });
}
