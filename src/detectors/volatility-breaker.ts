/**
 * Detect — `volatility-breaker`: realised volatility of a price over a rolling window beyond a
 * threshold: the automated circuit-breaker trigger (pause new borrows, widen margins) before a
 * crash turns into a liquidation spiral.
 *
 * Each block the price of each source (a Chainlink-compatible feed, an Aave oracle price, or a
 * Uniswap v2 pool's token0 price) joins a window of `windowBlocks`; realised volatility is
 * √Σ r² of the window's log returns (not annualised: the move the window actually saw). At
 * `thresholdBps` the finding is `high`, at `criticalBps` `critical`. Blind spots: a source that
 * stops updating looks calm (see `price-feed-integrity`'s stale and flat checks); a move smaller
 * than the threshold but sustained over longer than the window.
 */
import type { Hex } from 'viem';
import { findingOf } from './finding';
import type { DetectorDefinition, Finding, Severity } from './types';
import type { BlockView } from './view';
import { logReturns, ratio, realisedVolatility, rollingWindow } from './window';

export type PriceSource = { feed: Hex } | { aaveOracle: Hex; asset: Hex } | { pair: Hex };

export interface VolatilityBreakerParams {
  sources: (PriceSource & { symbol?: string | undefined })[];
  windowBlocks: number;
  thresholdBps: number;
  criticalBps: number;
  /** Samples needed before the detector judges (a window just started says little). */
  minSamples: number;
}

/** A source's price as a double (units do not matter: only ratios are used). */
export async function readSourcePrice(view: BlockView, source: PriceSource): Promise<number> {
  if ('feed' in source) return Number((await view.feed(source.feed)).answer);
  if ('aaveOracle' in source) return Number(await view.aaveAssetPrice(source.aaveOracle, source.asset));
  const p = await view.pair(source.pair);
  return ratio(p.reserve1, p.reserve0);
}

export const sourceKey = (source: PriceSource): string =>
  'feed' in source
    ? `feed:${source.feed.toLowerCase()}`
    : 'aaveOracle' in source
      ? `aave:${source.aaveOracle.toLowerCase()}:${source.asset.toLowerCase()}`
      : `pair:${source.pair.toLowerCase()}`;

export const volatilityBreaker: DetectorDefinition<VolatilityBreakerParams> = {
  type: 'volatility-breaker',
  description: 'Realised volatility of a price over a rolling window beyond a threshold.',
  async detect(event, { instanceId, params, view, state }) {
    const findings: Finding[] = [];
    for (const source of params.sources) {
      const key = sourceKey(source);
      const price = await readSourcePrice(view, source);
      const window = rollingWindow<number>(state, `prices:${key}`, { maxBlocks: params.windowBlocks });
      window.push(event.block.number, event.block.timestamp, price);
      const samples = window.samples();
      if (samples.length < params.minSamples) continue;
      const values = samples.map((s) => s.value);
      const vol = realisedVolatility(values) * 10_000;
      if (vol < params.thresholdBps) continue;
      const returns = logReturns(values);
      const largest = returns.reduce((m, r) => (Math.abs(r) > Math.abs(m) ? r : m), 0);
      const severity: Severity = vol >= params.criticalBps ? 'critical' : 'high';
      const first = samples[0]!;
      const label = source.symbol ?? key;
      findings.push(
        findingOf('volatility-breaker', instanceId, event, {
          severity,
          kind: 'anomaly',
          subject: {
            protocol: 'feed' in source ? 'chainlink' : 'aaveOracle' in source ? 'aave-v3' : 'uniswap-v2',
            ...('feed' in source
              ? { market: source.feed }
              : 'pair' in source
                ? { market: source.pair }
                : { market: source.aaveOracle, asset: source.asset }),
          },
          dedupeKey: `volatility-breaker:${event.chainId}:${key}`,
          confidence: Math.min(1, 0.5 + 0.5 * (vol / Math.max(params.criticalBps, 1))),
          title: `${label} realised volatility ${(vol / 100).toFixed(1)}% over ${samples.length} blocks (threshold ${(params.thresholdBps / 100).toFixed(1)}%)`,
          evidence: {
            source: key,
            volatilityBps: Math.round(vol),
            thresholdBps: params.thresholdBps,
            criticalBps: params.criticalBps,
            samples: samples.length,
            fromBlock: first.block,
            firstPrice: first.value,
            lastPrice: price,
            netMoveBps: Math.round((price / first.value - 1) * 10_000),
            largestStepBps: Math.round((Math.exp(largest) - 1) * 10_000),
            block: event.block.number.toString(),
          },
        }),
      );
    }
    return findings;
  },
};
