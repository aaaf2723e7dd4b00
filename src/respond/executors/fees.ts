/**
 * Respond / executors — the fee policy of containing transactions (EIP-1559), as pure functions:
 *
 * - `initialFees`: the first price of a transaction: the configured tip, and a fee cap that still
 *   pays it if the base fee doubles; in priority mode (`outbid`), strictly above both the fee cap
 *   and the tip of a pending transaction to beat (anvil and geth-style pools order by fee cap, real
 *   block builders by tip: above both covers both).
 * - `bumpedFees`: the price of a replacement (same nonce) for a transaction that was not mined in
 *   time: both fields raised by at least the replacement minimum (`bumpPercent`, ≥ 10 %: geth's
 *   rule, 12.5 % is the common default), and the fee cap raised to pay the current base fee.
 * - `rebidFees`: the price of a replacement that must beat a higher bid seen after the send
 *   (priority mode): `initialFees`' price against that bid, and at least the replacement minimum.
 *
 * Everything stays under the configured cap (`maxFeeGwei`). When the cap stops a price from
 * beating what it must beat, the result says so in words, for the timeline.
 */
import { formatGwei } from 'viem';
import { larger } from '../../common/bigint';

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface FeePolicy {
  /** The tip offered (wei per gas). */
  tip: bigint;
  /** The fee cap never exceeded, replacements and outbidding included (wei per gas). */
  cap: bigint;
  /** Minimum raise of a replacement, and margin over an outbid transaction, in basis points (1250 = 12.5 %). */
  bumpBps: bigint;
}

/** Priced, and, when the cap kept the price below what it had to beat, why. */
export interface PricedFees {
  fees: Fees;
  /** Set when the cap stopped the price (priority mode: the pending transaction is not outbid). */
  capped?: string;
}

/** Used when the block being responded to has no base fee (pre-London, or unknown). */
export const FALLBACK_BASE_FEE = 1_000_000_000n;

const BPS = 10_000n;

/** `value` raised by `bps` basis points, rounded up (so a raise is never lost to rounding). */
export function raise(value: bigint, bps: bigint): bigint {
  return (value * (BPS + bps) + BPS - 1n) / BPS;
}

const gwei = (wei: bigint) => `${formatGwei(wei)} gwei`;

/**
 * The first price of a transaction sent on top of a block whose base fee is `baseFee`.
 *
 * @example
 * initialFees({ tip: parseGwei('2'), cap: parseGwei('500'), bumpBps: 1250n }, parseGwei('10'))
 * // { fees: { maxFeePerGas: 22 gwei, maxPriorityFeePerGas: 2 gwei } }
 */
export function initialFees(policy: FeePolicy, baseFee: bigint | null, outbid?: Fees): PricedFees {
  const base = baseFee ?? FALLBACK_BASE_FEE;
  let tip = policy.tip;
  let maxFee = 2n * base + tip;
  if (outbid) {
    const theirTip = above(outbid.maxPriorityFeePerGas, policy.bumpBps);
    if (theirTip > tip) tip = theirTip;
    maxFee = 2n * base + tip;
    const theirCap = above(outbid.maxFeePerGas, policy.bumpBps);
    if (theirCap > maxFee) maxFee = theirCap;
  }
  if (maxFee > policy.cap) maxFee = policy.cap;
  if (tip > maxFee) tip = maxFee;
  const fees = { maxFeePerGas: maxFee, maxPriorityFeePerGas: tip };
  if (outbid && !outbids(fees, outbid)) {
    return {
      fees,
      capped: `cannot outbid the pending transaction (fee cap ${gwei(outbid.maxFeePerGas)}, tip ${gwei(outbid.maxPriorityFeePerGas)}): the configured maxFeeGwei ${gwei(policy.cap)} stops the price at fee cap ${gwei(fees.maxFeePerGas)}, tip ${gwei(fees.maxPriorityFeePerGas)}`,
    };
  }
  return { fees };
}

/**
 * The price of a replacement of a transaction priced `previous`, on top of a block whose base fee is
 * `baseFee`: both fields at least `bumpBps` higher (what a node requires to replace a pending
 * transaction), the tip at least the policy's, the fee cap at least twice the base fee plus the
 * tip. Returns `capped` instead when the cap leaves no room for a valid replacement.
 */
export function bumpedFees(
  policy: FeePolicy,
  previous: Fees,
  baseFee: bigint | null,
): { fees: Fees } | { capped: string } {
  const minMax = raise(previous.maxFeePerGas, policy.bumpBps);
  let tip = raise(previous.maxPriorityFeePerGas, policy.bumpBps);
  if (policy.tip > tip) tip = policy.tip;
  let maxFee = 2n * (baseFee ?? 0n) + tip;
  if (minMax > maxFee) maxFee = minMax;
  if (maxFee > policy.cap) maxFee = policy.cap;
  if (maxFee < minMax) {
    return {
      capped: `fee bump stopped by the configured maxFeeGwei ${gwei(policy.cap)}: a replacement needs a fee cap of at least ${gwei(minMax)} (${previous.maxFeePerGas === 0n ? 'from 0' : `${gwei(previous.maxFeePerGas)} + ${Number(policy.bumpBps) / 100} %`})${baseFee === null ? '' : `; the base fee is ${gwei(baseFee)}`}`,
    };
  }
  if (tip > maxFee) tip = maxFee;
  return { fees: { maxFeePerGas: maxFee, maxPriorityFeePerGas: tip } };
}

/** Whether `fees` beat `bid` on both fields: strictly above its fee cap and its tip. */
export function outbids(fees: Fees, bid: Fees): boolean {
  return fees.maxFeePerGas > bid.maxFeePerGas && fees.maxPriorityFeePerGas > bid.maxPriorityFeePerGas;
}

/**
 * The price of a replacement for a transaction priced `previous` that a higher bid (`bid`, seen
 * after the send) now beats: priced against `bid` as `initialFees` prices a first send, and both
 * fields at least the replacement minimum over `previous` (a node refuses a smaller raise).
 *
 * Returns `capped` alone when the cap leaves no room for a valid replacement. A valid replacement
 * the cap keeps from beating `bid` on both fields comes with `capped` saying so: it still beats
 * more of what waits, or the fee cap geth-style pools order by.
 *
 * @example
 * rebidFees({ tip: parseGwei('2'), cap: parseGwei('500'), bumpBps: 1250n },
 *   { maxFeePerGas: parseGwei('160'), maxPriorityFeePerGas: parseGwei('135') }, parseGwei('10'),
 *   { maxFeePerGas: parseGwei('320'), maxPriorityFeePerGas: parseGwei('300') })
 * // { fees: { maxFeePerGas: 360 gwei, maxPriorityFeePerGas: 337.5 gwei } }
 */
export function rebidFees(
  policy: FeePolicy,
  previous: Fees,
  baseFee: bigint | null,
  bid: Fees,
): PricedFees | { capped: string } {
  const wanted = initialFees(policy, baseFee, bid).fees;
  const minMax = raise(previous.maxFeePerGas, policy.bumpBps);
  const minTip = raise(previous.maxPriorityFeePerGas, policy.bumpBps);
  let maxFee = larger(wanted.maxFeePerGas, minMax);
  let tip = larger(wanted.maxPriorityFeePerGas, minTip);
  if (maxFee > policy.cap) maxFee = policy.cap;
  if (tip > maxFee) tip = maxFee;
  if (maxFee < minMax || tip < minTip) {
    return {
      capped: `cannot replace the transaction to outbid a pending one (fee cap ${gwei(bid.maxFeePerGas)}, tip ${gwei(bid.maxPriorityFeePerGas)}): the configured maxFeeGwei ${gwei(policy.cap)} leaves no room above fee cap ${gwei(previous.maxFeePerGas)}, tip ${gwei(previous.maxPriorityFeePerGas)}`,
    };
  }
  const fees = { maxFeePerGas: maxFee, maxPriorityFeePerGas: tip };
  if (outbids(fees, bid)) return { fees };
  return {
    fees,
    capped: `cannot outbid the pending transaction (fee cap ${gwei(bid.maxFeePerGas)}, tip ${gwei(bid.maxPriorityFeePerGas)}): the configured maxFeeGwei ${gwei(policy.cap)} stops the replacement at fee cap ${gwei(maxFee)}, tip ${gwei(tip)}`,
  };
}

/** Strictly above `value` by at least `bps` basis points. */
function above(value: bigint, bps: bigint): bigint {
  const raised = raise(value, bps);
  return raised > value ? raised : value + 1n;
}

/** The policy from an executor's config (gwei numbers, a percentage). */
export function feePolicy(config: {
  priorityFeeGwei: number;
  maxFeeGwei: number;
  bumpPercent: number;
}): FeePolicy {
  return {
    tip: gweiToWei(config.priorityFeeGwei),
    cap: gweiToWei(config.maxFeeGwei),
    bumpBps: BigInt(Math.round(config.bumpPercent * 100)),
  };
}

/** A decimal gwei amount to wei, exactly for up to 9 decimals (no float error on e.g. 0.1). */
export function gweiToWei(value: number): bigint {
  const [whole = '0', fraction = ''] = value.toFixed(9).split('.');
  return BigInt(whole) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9));
}
