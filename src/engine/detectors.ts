/**
 * Engine — the configured detectors: markets resolved from their addresses providers, and each
 * configured detector bound to its market's addresses (or to its chain), grouped by chain. One
 * builder, so the engine, `firebreak record` (which must make the same reads) and replay
 * instantiate them alike. Custom detectors in code are loaded here; declarative rules compiled.
 */
import type { Client, Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { DetectorConfig, FirebreakConfig } from '../config/schema';
import { ammManipulation } from '../detectors/amm-manipulation';
import { concentration } from '../detectors/concentration';
import { loadCustomDetector } from '../detectors/custom';
import { governanceWatch } from '../detectors/governance-watch';
import { liquidityExhaustion } from '../detectors/liquidity-exhaustion';
import { oracleDeviation } from '../detectors/oracle-deviation';
import { outflowRate } from '../detectors/outflow-rate';
import { priceFeedIntegrity } from '../detectors/price-feed-integrity';
import { riskThresholds } from '../detectors/risk-thresholds';
import { ruleDetector } from '../detectors/rules';
import { sharePriceJump } from '../detectors/share-price-jump';
import { solvency } from '../detectors/solvency';
import { type DetectorInstance, instantiate } from '../detectors/types';
import { volatilityBreaker } from '../detectors/volatility-breaker';
import { poolAddressesProviderAbi } from '../protocols/aave-v3/abi';
import { type AaveMarketAddresses, resolveAaveMarket } from '../protocols/aave-v3/market';

export interface ConfiguredDetectors {
  /** Resolved markets by market id. */
  markets: Map<string, AaveMarketAddresses>;
  /** Resolved markets by (lower-case) addresses provider. */
  marketsByAddress: Map<Hex, AaveMarketAddresses>;
  /** Detector instances by chain name. */
  byChain: Map<string, DetectorInstance[]>;
}

export interface BuildDetectorsOptions {
  /** Only the detectors of these chains (and only their markets are resolved). */
  chains?: readonly string[];
  /** Where relative `module` paths of custom detectors start; the working directory by default. */
  baseDir?: string;
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
  options: BuildDetectorsOptions = {},
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
    const marketConfig = d.market !== undefined ? config.markets.find((m) => m.id === d.market) : undefined;
    const chain = marketConfig?.chain ?? ('chain' in d ? d.chain : undefined);
    if (chain === undefined || !wanted(chain)) continue;
    const market = d.market !== undefined ? markets.get(d.market) : undefined;
    const instance = await instantiateConfigured(
      d,
      market,
      () => clientOf(chain),
      options.baseDir ?? process.cwd(),
    );
    const list = byChain.get(chain) ?? [];
    list.push(instance);
    byChain.set(chain, list);
  }
  return { markets, marketsByAddress, byChain };
}

const needMarket = (d: DetectorConfig, market: AaveMarketAddresses | undefined): AaveMarketAddresses => {
  if (!market) throw new Error(`detector ${d.id} (${d.type}) needs a market`); // the config's cross-checks say so first
  return market;
};

async function instantiateConfigured(
  d: DetectorConfig,
  market: AaveMarketAddresses | undefined,
  client: () => Client,
  baseDir: string,
): Promise<DetectorInstance> {
  switch (d.type) {
    case 'oracle-deviation': {
      const m = needMarket(d, market);
      return instantiate(d.id, oracleDeviation, {
        market: m.addressesProvider,
        oracle: m.oracle,
        oracleDecimals: m.baseCurrencyDecimals,
        assets: d.params.assets,
        thresholdBps: d.params.thresholdBps,
        criticalBps: d.params.criticalBps,
        sustainBps: d.params.sustainBps ?? 500,
        sustainBlocks: d.params.sustainBlocks ?? 10,
      });
    }
    case 'price-feed-integrity':
      return instantiate(d.id, priceFeedIntegrity, { ...d.params, market: market?.addressesProvider });
    case 'amm-manipulation':
      return instantiate(d.id, ammManipulation, d.params);
    case 'outflow-rate':
      return instantiate(d.id, outflowRate, {
        ...d.params,
        pool: market?.pool,
        market: market?.addressesProvider,
      });
    case 'volatility-breaker':
      return instantiate(d.id, volatilityBreaker, {
        ...d.params,
        sources: d.params.sources.map((s) =>
          'asset' in s ? { aaveOracle: needMarket(d, market).oracle, asset: s.asset, symbol: s.symbol } : s,
        ),
      });
    case 'governance-watch': {
      const contracts = d.params.marketContracts && market;
      const aclManager = contracts
        ? ((
            await readContract(client(), {
              address: market.addressesProvider,
              abi: poolAddressesProviderAbi,
              functionName: 'getACLManager',
            })
          ).toLowerCase() as Hex)
        : undefined;
      return instantiate(d.id, governanceWatch, {
        market: market?.addressesProvider,
        pool: contracts ? market.pool : undefined,
        poolConfigurator: contracts ? market.poolConfigurator : undefined,
        oracle: contracts ? market.oracle : undefined,
        aclManager,
        addressesProvider: contracts ? market.addressesProvider : undefined,
        timelocks: d.params.timelocks,
        minDelaySeconds: d.params.minDelaySeconds,
        warnBeforeSeconds: d.params.warnBeforeSeconds,
      });
    }
    case 'share-price-jump':
      return instantiate(d.id, sharePriceJump, { ...d.params, market: market?.addressesProvider });
    case 'rule':
      return instantiate(d.id, ruleDetector(d.id, d.params), d.params);
    // `debt-concentration` is the alias `concentration` superseded: same detector.
    case 'concentration':
    case 'debt-concentration': {
      const m = needMarket(d, market);
      return instantiate(d.id, concentration, { ...d.params, market: m.addressesProvider, pool: m.pool });
    }
    case 'risk-thresholds':
      return instantiate(d.id, riskThresholds, {
        ...d.params,
        market: needMarket(d, market).addressesProvider,
      });
    case 'solvency': {
      const m = needMarket(d, market);
      return instantiate(d.id, solvency, { ...d.params, market: m.addressesProvider, pool: m.pool });
    }
    case 'liquidity-exhaustion': {
      const m = needMarket(d, market);
      return instantiate(d.id, liquidityExhaustion, {
        ...d.params,
        market: m.addressesProvider,
        pool: m.pool,
      });
    }
    case 'custom': {
      const { definition, params } = await loadCustomDetector(d.module, d.export, d.params, baseDir, d.id);
      return instantiate(d.id, definition, params);
    }
  }
}
