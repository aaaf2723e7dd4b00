/**
 * Detect — `oracle-deviation`: the price a lending market uses for an asset against independent
 * reference prices.
 *
 * Catches: a manipulated or broken protocol oracle (a thin-AMM TWAP pushed by a swap, a feed stuck
 * or mis-set). A deviation of at least `thresholdBps` is `high` at once; at least `criticalBps` is
 * `critical` at once; a smaller one of at least `sustainBps` that lasts `sustainBlocks` blocks in a
 * row is `high` (a slow bleed the instant lines would miss).
 *
 * References: Chainlink-compatible feeds and Uniswap v2 pools. A pool's price is its TWAP over the
 * last `twapBlocks` blocks (from the pair's cumulative price, so one block's swap moves it little),
 * quoted in USD through a feed for the pool's other token. Several pools combine into one price
 * weighted by their depth (the USD value of their reserves); the reference is the median of the
 * feeds and that combined pool price. Blind spots: references that are wrong together, and
 * manipulation that stays under `sustainBps`; the AMM-side signal belongs to `amm-manipulation`.
 */
import type { Hex } from 'viem';
import { erc20Abi } from '../protocols/aave-v3/abi';
import { scaleAnswer } from '../protocols/chainlink/feed';
import { uniswapV2PairAbi } from '../protocols/uniswap-v2/abi';
import { makeFinding } from './finding';
import type { DetectorDefinition, DetectorState, Finding, Severity } from './types';
import type { BlockView } from './view';
import { rollingWindow } from './window';

/** A reference price: a feed, or a Uniswap v2 pool's TWAP quoted through a feed for its other token. */
export type OracleReference = { feed: Hex } | { pair: Hex; quoteFeed: Hex; twapBlocks: number };

export interface OracleDeviationParams {
  /** The market's identity (Aave v3: PoolAddressesProvider). */
  market: Hex;
  /** The market's price oracle (Aave v3: AaveOracle). */
  oracle: Hex;
  /** Decimals of the oracle's quotes (Aave v3: of its base currency; 8 for USD markets). */
  oracleDecimals: number;
  assets: {
    asset: Hex;
    symbol?: string | undefined;
    /** One reference feed (the original form); `references` gives several. */
    reference?: { feed: Hex } | undefined;
    references?: OracleReference[] | undefined;
  }[];
  thresholdBps: number;
  criticalBps: number;
  /** A smaller deviation that lasts `sustainBlocks` blocks is `high` (0: off). */
  sustainBps?: number | undefined;
  sustainBlocks?: number | undefined;
}

const Q112 = 2n ** 112n;

/** Median of bigints (the mean of the middle two for an even count). */
export const median = (values: readonly bigint[]): bigint => {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const mid = Math.floor((sorted.length - 1) / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid]! + sorted[mid + 1]!) / 2n;
};

/**
 * A pool reference's TWAP for `asset`, in `decimals` USD, and its depth in USD (a double): from
 * the pair's cumulative price, sampled each block in `state` (spot on the first block seen).
 */
async function poolReference(
  view: BlockView,
  state: DetectorState,
  timestamp: bigint,
  asset: Hex,
  ref: { pair: Hex; quoteFeed: Hex; twapBlocks: number },
  decimals: number,
): Promise<{ price: bigint; depthUsd: number; twap: boolean }> {
  const p = await view.pair(ref.pair);
  const isToken0 = p.token0 === asset.toLowerCase();
  if (!isToken0 && p.token1 !== asset.toLowerCase())
    throw new Error(`oracle-deviation: ${asset} is not a token of pair ${ref.pair}`);
  const quote = isToken0 ? p.token1 : p.token0;
  const [cumulativeLast, reserves, quoteAnswer, assetDecimals, quoteDecimals] = await Promise.all([
    view.call<bigint>({
      address: ref.pair,
      abi: uniswapV2PairAbi,
      functionName: isToken0 ? 'price0CumulativeLast' : 'price1CumulativeLast',
    }),
    view.call<readonly [bigint, bigint, number]>({
      address: ref.pair,
      abi: uniswapV2PairAbi,
      functionName: 'getReserves',
    }),
    view.feed(ref.quoteFeed),
    view.call<number>({ address: asset, abi: erc20Abi, functionName: 'decimals' }),
    view.call<number>({ address: quote, abi: erc20Abi, functionName: 'decimals' }),
  ]);
  const [rAsset, rQuote] = isToken0 ? [reserves[0], reserves[1]] : [reserves[1], reserves[0]];
  // The cumulative price extended to this block, as Uniswap's oracle library does.
  const spot = rAsset === 0n ? 0n : (rQuote * Q112) / rAsset;
  const cumulative = cumulativeLast + spot * (timestamp - BigInt(reserves[2]));
  const window = rollingWindow<{ t: string; c: string }>(
    state,
    `twap:${ref.pair.toLowerCase()}:${asset.toLowerCase()}`,
    {
      maxBlocks: ref.twapBlocks + 1,
    },
  );
  const oldest = window.samples().find((s) => BigInt(s.value.t) < timestamp);
  window.push(view.blockNumber, timestamp, { t: timestamp.toString(), c: cumulative.toString() });
  const average = oldest
    ? (cumulative - BigInt(oldest.value.c)) / (timestamp - BigInt(oldest.value.t))
    : spot;
  const quoteUsd = scaleAnswer(quoteAnswer.answer, quoteAnswer.decimals, decimals);
  // quote units per asset unit (UQ112) × 10^assetDecimals / 10^quoteDecimals × quote USD.
  const price = (average * 10n ** BigInt(assetDecimals) * quoteUsd) / (Q112 * 10n ** BigInt(quoteDecimals));
  const depthUsd = (2 * Number(rQuote) * Number(quoteUsd)) / 10 ** (quoteDecimals + decimals);
  return { price, depthUsd, twap: oldest !== undefined };
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
  async detect(event, { instanceId, params, view, state }) {
    const findings: Finding[] = [];
    const reads = await Promise.all(
      params.assets.map(async (a) => {
        const refs = a.references ?? (a.reference ? [a.reference] : []);
        const feeds = refs.filter((r): r is { feed: Hex } => 'feed' in r);
        const pools = refs.filter((r): r is Exclude<OracleReference, { feed: Hex }> => 'pair' in r);
        const [price, feedAnswers, poolPrices] = await Promise.all([
          view.aaveAssetPrice(params.oracle, a.asset),
          Promise.all(feeds.map((f) => view.feed(f.feed))),
          Promise.all(
            pools.map((p) =>
              poolReference(view, state, event.block.timestamp, a.asset, p, params.oracleDecimals),
            ),
          ),
        ]);
        const feedPrices = feedAnswers.map((r) => scaleAnswer(r.answer, r.decimals, params.oracleDecimals));
        // Pools combine into one price weighted by depth; then the median with the feeds.
        let poolPrice: bigint | undefined;
        const depth = poolPrices.reduce((s, p) => s + p.depthUsd, 0);
        if (poolPrices.length > 0 && depth > 0) {
          const scale = 1_000_000;
          poolPrice =
            poolPrices.reduce((s, p) => s + p.price * BigInt(Math.round((p.depthUsd / depth) * scale)), 0n) /
            BigInt(scale);
        }
        const candidates = [...feedPrices, ...(poolPrice !== undefined ? [poolPrice] : [])];
        const reference =
          candidates.length === 0 || feedPrices.some((p) => p <= 0n) ? 0n : median(candidates);
        const several = refs.length > 1 || pools.length > 0;
        return {
          a,
          price,
          reference,
          referenceFeed: feeds[0]?.feed ?? pools[0]?.pair ?? ('0x' as Hex),
          detail: several
            ? {
                references: refs.length,
                feedPrices: feedPrices.map(String).join(','),
                ...(poolPrice !== undefined
                  ? {
                      poolPrice: poolPrice.toString(),
                      poolDepthUsd: Math.round(depth),
                      poolTwap: poolPrices.every((p) => p.twap),
                    }
                  : {}),
              }
            : {},
        };
      }),
    );
    for (const { a, price, reference, referenceFeed, detail } of reads) {
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
            dedupeKey: `oracle-deviation:reference-down:${event.chainId}:${referenceFeed}`,
            confidence: 1,
            title: `${label} reference feed ${referenceFeed} returned no price (${reference}): deviation not checked`,
            evidence: {
              asset: a.asset,
              symbol: label,
              referenceFeed,
              referencePrice: reference.toString(),
              ...detail,
            },
            block: event.block,
          }),
        );
        continue;
      }
      const bps = deviationBps(price, reference);
      // Sustained: how many blocks in a row the gap has been at least sustainBps.
      const sustainBps = params.sustainBps ?? 0;
      const sinceKey = `sustain:${a.asset.toLowerCase()}`;
      const since = state.get<number>(sinceKey);
      const block = Number(event.block.number);
      const start =
        sustainBps > 0 && bps >= sustainBps
          ? since !== undefined && since <= block
            ? since
            : block
          : undefined;
      if (start === undefined) state.set(sinceKey, undefined);
      else state.set(sinceKey, start);
      const lasted = start === undefined ? 0 : block - start + 1;
      const sustained = start !== undefined && lasted >= (params.sustainBlocks ?? 1);
      if (bps < params.thresholdBps && !sustained) continue;
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
          title: `${label} oracle price is ${ratio}× its reference (${(bps / 100).toFixed(1)}% off)${bps < params.thresholdBps ? ` for ${lasted} blocks` : ''}`,
          evidence: {
            asset: a.asset,
            symbol: label,
            oraclePrice: price.toString(),
            referencePrice: reference.toString(),
            priceDecimals: params.oracleDecimals,
            deviationBps: bps,
            thresholdBps: params.thresholdBps,
            criticalBps: params.criticalBps,
            referenceFeed,
            block: event.block.number.toString(),
            ...(bps < params.thresholdBps ? { sustainedBlocks: lasted, sustainBps } : {}),
            ...detail,
          },
          block: event.block,
        }),
      );
    }
    return findings;
  },
};
