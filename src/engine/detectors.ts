/**
 * Engine — the configured detectors: markets resolved from their addresses providers, and each
 * configured detector bound to its market's addresses, grouped by chain. One builder, so the
 * engine, `firebreak record` (which must make the same reads) and replay instantiate them alike.
 */
import type { Client, Hex } from 'viem';
import type { FirebreakConfig } from '../config/schema';
import { oracleDeviation } from '../detectors/oracle-deviation';
import { type DetectorInstance, instantiate } from '../detectors/types';
import { type AaveMarketAddresses, resolveAaveMarket } from '../protocols/aave-v3/market';

export interface ConfiguredDetectors {
  /** Resolved markets by market id. */
  markets: Map<string, AaveMarketAddresses>;
  /** Resolved markets by (lower-case) addresses provider. */
  marketsByAddress: Map<Hex, AaveMarketAddresses>;
  /** Detector instances by chain name. */
  byChain: Map<string, DetectorInstance[]>;
}

/**
 * Resolves the markets and instantiates the detectors of `config` (only those on `chains`, when
 * given), reading through `clientOf(chainName)`.
 *
 * @example
 * const { byChain } = await buildDetectors(config, () => client, { chains: ['mainnet'] });
 */
export async function buildDetectors(
  config: FirebreakConfig,
  clientOf: (chainName: string) => Client,
  options: { chains?: readonly string[] } = {},
): Promise<ConfiguredDetectors> {
  const wanted = (chain: string) => options.chains === undefined || options.chains.includes(chain);
  const markets = new Map<string, AaveMarketAddresses>();
  const marketsByAddress = new Map<Hex, AaveMarketAddresses>();
  for (const m of config.markets) {
    if (!wanted(m.chain)) continue;
    const resolved = await resolveAaveMarket(clientOf(m.chain), m.addressesProvider);
    markets.set(m.id, resolved);
    marketsByAddress.set(resolved.addressesProvider, resolved);
  }
  const byChain = new Map<string, DetectorInstance[]>();
  for (const d of config.detectors) {
    const market = config.markets.find((m) => m.id === d.market)!;
    if (!wanted(market.chain)) continue;
    const resolved = markets.get(d.market)!;
    const instance = instantiate(d.id, oracleDeviation, {
      market: resolved.addressesProvider,
      oracle: resolved.oracle,
      oracleDecimals: resolved.baseCurrencyDecimals,
      assets: d.params.assets,
      thresholdBps: d.params.thresholdBps,
      criticalBps: d.params.criticalBps,
    });
    const list = byChain.get(market.chain) ?? [];
    list.push(instance);
    byChain.set(market.chain, list);
  }
  return { markets, marketsByAddress, byChain };
}
