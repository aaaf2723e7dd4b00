/**
 * Protocols / Aave v3 — a market's addresses, resolved from its PoolAddressesProvider (the one
 * address a user configures). Readers only.
 */
import type { Client, Hex } from 'viem';
import { readContract } from 'viem/actions';

const addressesProviderAbi = [
  { type: 'function', name: 'getPool', stateMutability: 'view', inputs: [], outputs: [{ type: 'address' }] },
  {
    type: 'function',
    name: 'getPriceOracle',
    stateMutability: 'view',
    inputs: [],
    outputs: [{ type: 'address' }],
  },
  {
    type: 'function',
    name: 'getPoolConfigurator',
    stateMutability: 'view',
    inputs: [],
    outputs: [{ type: 'address' }],
  },
  {
    type: 'function',
    name: 'getPoolDataProvider',
    stateMutability: 'view',
    inputs: [],
    outputs: [{ type: 'address' }],
  },
] as const;

export interface AaveMarketAddresses {
  addressesProvider: Hex;
  pool: Hex;
  oracle: Hex;
  poolConfigurator: Hex;
  dataProvider: Hex;
  /** Decimals of the oracle's base currency (8 for a USD market, 18 for an ETH one). */
  baseCurrencyDecimals: number;
}

const baseCurrencyUnitAbi = [
  {
    type: 'function',
    name: 'BASE_CURRENCY_UNIT',
    stateMutability: 'view',
    inputs: [],
    outputs: [{ type: 'uint256' }],
  },
] as const;

export async function resolveAaveMarket(
  client: Client,
  addressesProvider: Hex,
): Promise<AaveMarketAddresses> {
  const read = (functionName: (typeof addressesProviderAbi)[number]['name']) =>
    readContract(client, { address: addressesProvider, abi: addressesProviderAbi, functionName });
  const [pool, oracle, poolConfigurator, dataProvider] = await Promise.all([
    read('getPool'),
    read('getPriceOracle'),
    read('getPoolConfigurator'),
    read('getPoolDataProvider'),
  ]);
  const unit = await readContract(client, {
    address: oracle,
    abi: baseCurrencyUnitAbi,
    functionName: 'BASE_CURRENCY_UNIT',
  });
  const baseCurrencyDecimals = unit.toString().length - 1;
  const lower = (a: Hex) => a.toLowerCase() as Hex;
  return {
    addressesProvider: lower(addressesProvider),
    pool: lower(pool),
    oracle: lower(oracle),
    poolConfigurator: lower(poolConfigurator),
    dataProvider: lower(dataProvider),
    baseCurrencyDecimals,
  };
}
