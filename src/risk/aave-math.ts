/**
 * Risk — Aave v3's fixed-point arithmetic, reproduced exactly in `bigint`: `WadRayMath` (wad = 1e18,
 * ray = 1e27, half-up rounding), `PercentageMath` (basis points, half-up), `MathUtils`' linear and
 * compounded interest, and the reserve's normalized income and debt (`ReserveLogic`), as in
 * @aave/core-v3 1.19.3. Pure functions; the position book builds every exact figure on them.
 *
 * Where the contracts revert (a product that overflows uint256, a division by zero), these throw a
 * `FirebreakError` instead of returning a number the chain could never produce.
 */
import { FirebreakError } from '../common/errors';

export const WAD = 10n ** 18n;
export const HALF_WAD = WAD / 2n;
export const RAY = 10n ** 27n;
export const HALF_RAY = RAY / 2n;
export const PERCENTAGE_FACTOR = 10_000n;
export const HALF_PERCENTAGE_FACTOR = PERCENTAGE_FACTOR / 2n;
export const SECONDS_PER_YEAR = 365n * 24n * 60n * 60n;
export const MAX_UINT256 = (1n << 256n) - 1n;

function overflow(op: string, a: bigint, b: bigint): never {
  throw new FirebreakError(
    'ERR_RISK_INPUT',
    `Aave math: ${op}(${a}, ${b}) overflows uint256 (the contract reverts)`,
    {
      details: { op, a: a.toString(), b: b.toString() },
    },
  );
}

function divByZero(op: string, a: bigint): never {
  throw new FirebreakError(
    'ERR_RISK_INPUT',
    `Aave math: ${op}(${a}, 0) divides by zero (the contract reverts)`,
    {
      details: { op, a: a.toString() },
    },
  );
}

/** `WadRayMath.rayMul`: (a·b + ½ray) / ray. */
export function rayMul(a: bigint, b: bigint): bigint {
  const p = a * b + HALF_RAY;
  if (p > MAX_UINT256) overflow('rayMul', a, b);
  return p / RAY;
}

/** `WadRayMath.rayDiv`: (a·ray + ⌊b/2⌋) / b. */
export function rayDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) divByZero('rayDiv', a);
  const p = a * RAY + b / 2n;
  if (p > MAX_UINT256) overflow('rayDiv', a, b);
  return p / b;
}

/** `WadRayMath.wadMul`: (a·b + ½wad) / wad. */
export function wadMul(a: bigint, b: bigint): bigint {
  const p = a * b + HALF_WAD;
  if (p > MAX_UINT256) overflow('wadMul', a, b);
  return p / WAD;
}

/** `WadRayMath.wadDiv`: (a·wad + ⌊b/2⌋) / b. */
export function wadDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) divByZero('wadDiv', a);
  const p = a * WAD + b / 2n;
  if (p > MAX_UINT256) overflow('wadDiv', a, b);
  return p / b;
}

/** `PercentageMath.percentMul`: (value·bps + 5000) / 10000. */
export function percentMul(value: bigint, bps: bigint): bigint {
  const p = value * bps + HALF_PERCENTAGE_FACTOR;
  if (p > MAX_UINT256) overflow('percentMul', value, bps);
  return p / PERCENTAGE_FACTOR;
}

/** `PercentageMath.percentDiv`: (value·10000 + ⌊bps/2⌋) / bps. */
export function percentDiv(value: bigint, bps: bigint): bigint {
  if (bps === 0n) divByZero('percentDiv', value);
  const p = value * PERCENTAGE_FACTOR + bps / 2n;
  if (p > MAX_UINT256) overflow('percentDiv', value, bps);
  return p / bps;
}

function elapsed(from: bigint, to: bigint): bigint {
  if (to < from) {
    throw new FirebreakError(
      'ERR_RISK_INPUT',
      `Aave math: timestamp ${to} is before the reserve's last update ${from} (the contract reverts)`,
      { details: { lastUpdateTimestamp: from.toString(), timestamp: to.toString() } },
    );
  }
  return to - from;
}

/**
 * `MathUtils.calculateLinearInterest`: ray + rate·Δt / year, the liquidity index's growth factor
 * from `lastUpdateTimestamp` to `timestamp` (the contract uses `block.timestamp`).
 */
export function calculateLinearInterest(
  rate: bigint,
  lastUpdateTimestamp: bigint,
  timestamp: bigint,
): bigint {
  return RAY + (rate * elapsed(lastUpdateTimestamp, timestamp)) / SECONDS_PER_YEAR;
}

/**
 * `MathUtils.calculateCompoundedInterest`: the variable borrow index's growth factor, a three-term
 * binomial approximation of (1 + rate/year)^Δt, truncated at each step as the contract does.
 */
export function calculateCompoundedInterest(
  rate: bigint,
  lastUpdateTimestamp: bigint,
  timestamp: bigint,
): bigint {
  const exp = elapsed(lastUpdateTimestamp, timestamp);
  if (exp === 0n) return RAY;
  const expMinusOne = exp - 1n;
  const expMinusTwo = exp > 2n ? exp - 2n : 0n;
  const basePowerTwo = rayMul(rate, rate) / (SECONDS_PER_YEAR * SECONDS_PER_YEAR);
  const basePowerThree = rayMul(basePowerTwo, rate) / SECONDS_PER_YEAR;
  const secondTerm = (exp * expMinusOne * basePowerTwo) / 2n;
  const thirdTerm = (exp * expMinusOne * expMinusTwo * basePowerThree) / 6n;
  return RAY + (rate * exp) / SECONDS_PER_YEAR + secondTerm + thirdTerm;
}

/** The part of a reserve's state its normalized income and debt depend on (`ReserveData`). */
export interface ReserveIndexes {
  /** Ray. */
  liquidityIndex: bigint;
  /** Ray. */
  variableBorrowIndex: bigint;
  /** Ray per year. */
  currentLiquidityRate: bigint;
  /** Ray per year. */
  currentVariableBorrowRate: bigint;
  /** Seconds. */
  lastUpdateTimestamp: bigint;
}

/** `ReserveLogic.getNormalizedIncome` at `timestamp`: what one scaled aToken unit is worth (ray). */
export function getNormalizedIncome(reserve: ReserveIndexes, timestamp: bigint): bigint {
  if (reserve.lastUpdateTimestamp === timestamp) return reserve.liquidityIndex;
  return rayMul(
    calculateLinearInterest(reserve.currentLiquidityRate, reserve.lastUpdateTimestamp, timestamp),
    reserve.liquidityIndex,
  );
}

/** `ReserveLogic.getNormalizedDebt` at `timestamp`: what one scaled variable-debt unit is worth (ray). */
export function getNormalizedDebt(reserve: ReserveIndexes, timestamp: bigint): bigint {
  if (reserve.lastUpdateTimestamp === timestamp) return reserve.variableBorrowIndex;
  return rayMul(
    calculateCompoundedInterest(reserve.currentVariableBorrowRate, reserve.lastUpdateTimestamp, timestamp),
    reserve.variableBorrowIndex,
  );
}
