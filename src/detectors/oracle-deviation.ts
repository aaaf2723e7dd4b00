/**
 * Detect — `oracle-deviation`: the price a lending market uses for an asset against an independent
 * reference price.
 *
 * Catches: a manipulated or broken protocol oracle (a thin-AMM TWAP pushed by a swap, a feed stuck
 * or mis-set). A deviation of at least `thresholdBps` is `high`; at least `criticalBps` is
 * `critical`. Blind spots: a reference that is itself wrong, and manipulation that stays under the
 * threshold; the AMM-side signal belongs to `amm-manipulation`.
 */
import type { Hex } from 'viem';
import { scaleAnswer } from '../protocols/chainlink/feed';
import { makeFinding } from './finding';
import type { DetectorDefinition, Finding, Severity } from './types';

export interface OracleDeviationParams {
  /** The market's identity (Aave v3: PoolAddressesProvider). */
  market: Hex;
  /** The market's price oracle (Aave v3: AaveOracle). */
  oracle: Hex;
  /** Decimals of the oracle's quotes (Aave v3: of its base currency; 8 for USD markets). */
  oracleDecimals: number;
  assets: { asset: Hex; symbol?: string | undefined; reference: { feed: Hex } }[];
  thresholdBps: number;
  criticalBps: number;
}

/** |a − b| / b in basis points (b > 0). */
export function deviationBps(price: bigint, reference: bigint): number {
  if (reference <= 0n) return Number.POSITIVE_INFINITY;
  const diff = price > reference ? price - reference : reference - price;
  return Number((diff * 10_000n) / reference);
}

export const oracleDeviation: DetectorDefinition<OracleDeviationParams> = {
  type: 'oracle-deviation',
  description: "A market's oracle price against an independent reference price.",
  async detect(event, { instanceId, params, view }) {
    const findings: Finding[] = [];
    const reads = await Promise.all(
      params.assets.map(async (a) => {
        const [price, reference] = await Promise.all([
          view.aaveAssetPrice(params.oracle, a.asset),
          view.feed(a.reference.feed),
        ]);
        return {
          a,
          price,
          reference: scaleAnswer(reference.answer, reference.decimals, params.oracleDecimals),
        };
      }),
    );
    for (const { a, price, reference } of reads) {
      const label = a.symbol ?? a.asset;
      if (reference <= 0n) {
        // A reference with no price says nothing about the market: report the detector degraded
        // rather than a critical deviation that would contain a healthy reserve.
        findings.push(
          makeFinding({
            detector: 'oracle-deviation',
            detectorInstance: instanceId,
            severity: 'medium',
            kind: 'degraded',
            subject: { chainId: event.chainId, protocol: 'aave-v3', market: params.market, asset: a.asset },
            dedupeKey: `oracle-deviation:reference-down:${event.chainId}:${a.reference.feed}`,
            confidence: 1,
            title: `${label} reference feed ${a.reference.feed} returned no price (${reference}): deviation not checked`,
            evidence: {
              asset: a.asset,
              symbol: label,
              referenceFeed: a.reference.feed,
              referencePrice: reference.toString(),
            },
            block: event.block,
          }),
        );
        continue;
      }
      const bps = deviationBps(price, reference);
      if (bps < params.thresholdBps) continue;
      const severity: Severity = bps >= params.criticalBps ? 'critical' : 'high';
      const ratio = reference > 0n ? Number((price * 1000n) / reference) / 1000 : Number.POSITIVE_INFINITY;
      findings.push(
        makeFinding({
          detector: 'oracle-deviation',
          detectorInstance: instanceId,
          severity,
          kind: 'manipulation',
          subject: { chainId: event.chainId, protocol: 'aave-v3', market: params.market, asset: a.asset },
          dedupeKey: `oracle-deviation:${event.chainId}:${params.market}:${a.asset}`,
          // Far beyond the critical line there is little doubt; near the threshold, less.
          confidence: Math.min(1, 0.5 + (0.5 * bps) / Math.max(params.criticalBps * 2, 1)),
          title: `${label} oracle price is ${ratio}× its reference (${(bps / 100).toFixed(1)}% off)`,
          evidence: {
            asset: a.asset,
            symbol: label,
            oraclePrice: price.toString(),
            referencePrice: reference.toString(),
            priceDecimals: params.oracleDecimals,
            deviationBps: bps,
            thresholdBps: params.thresholdBps,
            criticalBps: params.criticalBps,
            referenceFeed: a.reference.feed,
            block: event.block.number.toString(),
          },
          block: event.block,
        }),
      );
    }
    return findings;
  },
};
