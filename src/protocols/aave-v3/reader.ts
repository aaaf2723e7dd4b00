/**
 * Protocols / Aave v3 — readers: a reserve's configuration (decoded from its bitmap), oracle
 * prices, a user's account data and a reserve's token addresses, each at a block (latest when
 * omitted). Readers only: this module decides nothing.
 */
import type { Address, Client } from 'viem';
import { readContract } from 'viem/actions';
import { fastRead } from '../../chain/read';
import { aaveOracleAbi, poolAbi } from './abi';
import type { ReserveConfiguration, UserAccountData } from './types';

/**
 * Bit layout of `ReserveConfigurationMap.data` as `[start bit, width]`, from `ReserveConfiguration.sol`
 * in @aave/core-v3 1.19.3 (reader.test.ts checks it against the shipped source's masks).
 */
export const RESERVE_CONFIGURATION_LAYOUT = {
  ltv: [0, 16],
  liquidationThreshold: [16, 16],
  liquidationBonus: [32, 16],
  decimals: [48, 8],
  active: [56, 1],
  frozen: [57, 1],
  borrowingEnabled: [58, 1],
  stableBorrowingEnabled: [59, 1],
  paused: [60, 1],
  borrowableInIsolation: [61, 1],
  siloedBorrowing: [62, 1],
  flashLoanEnabled: [63, 1],
  reserveFactor: [64, 16],
  borrowCap: [80, 36],
  supplyCap: [116, 36],
  liquidationProtocolFee: [152, 16],
  eModeCategory: [168, 8],
  unbackedMintCap: [176, 36],
  debtCeiling: [212, 40],
} as const satisfies Record<string, readonly [start: number, bits: number]>;

function field(data: bigint, name: keyof typeof RESERVE_CONFIGURATION_LAYOUT): bigint {
  const [start, bits] = RESERVE_CONFIGURATION_LAYOUT[name];
  return (data >> BigInt(start)) & ((1n << BigInt(bits)) - 1n);
}

/**
 * Decodes a reserve configuration bitmap (pure). Bits: LTV 0–15, liquidation threshold 16–31,
 * liquidation bonus 32–47, decimals 48–55, active 56, frozen 57, borrowing 58, stable borrowing 59,
 * paused 60, borrowable in isolation 61, siloed 62, flash loans 63, reserve factor 64–79, borrow cap
 * 80–115, supply cap 116–151, liquidation protocol fee 152–167, eMode category 168–175, unbacked
 * mint cap 176–211, debt ceiling 212–251.
 */
export function decodeReserveConfiguration(data: bigint): ReserveConfiguration {
  const num = (name: keyof typeof RESERVE_CONFIGURATION_LAYOUT) => Number(field(data, name));
  const flag = (name: keyof typeof RESERVE_CONFIGURATION_LAYOUT) => field(data, name) === 1n;
  return {
    data,
    ltvBps: num('ltv'),
    liquidationThresholdBps: num('liquidationThreshold'),
    liquidationBonusBps: num('liquidationBonus'),
    decimals: num('decimals'),
    isActive: flag('active'),
    isFrozen: flag('frozen'),
    borrowingEnabled: flag('borrowingEnabled'),
    stableBorrowingEnabled: flag('stableBorrowingEnabled'),
    isPaused: flag('paused'),
    borrowableInIsolation: flag('borrowableInIsolation'),
    siloedBorrowing: flag('siloedBorrowing'),
    flashLoanEnabled: flag('flashLoanEnabled'),
    reserveFactorBps: num('reserveFactor'),
    borrowCap: field(data, 'borrowCap'),
    supplyCap: field(data, 'supplyCap'),
    liquidationProtocolFeeBps: num('liquidationProtocolFee'),
    eModeCategory: num('eModeCategory'),
    unbackedMintCap: field(data, 'unbackedMintCap'),
    debtCeiling: field(data, 'debtCeiling'),
  };
}

const at = (blockNumber: bigint | undefined) => (blockNumber === undefined ? {} : { blockNumber });

/** Reads and decodes `Pool.getConfiguration(asset)`. An unlisted asset decodes as all zeros. */
export async function readReserveConfiguration(
  client: Client,
  pool: Address,
  asset: Address,
  blockNumber?: bigint,
): Promise<ReserveConfiguration> {
  const { data } = await readContract(client, {
    address: pool,
    abi: poolAbi,
    functionName: 'getConfiguration',
    args: [asset],
    ...at(blockNumber),
  });
  return decodeReserveConfiguration(data);
}

/**
 * Reads `AaveOracle.getAssetPrice(asset)`: the price in the oracle's base currency (USD with 8
 * decimals for markets deployed by the fixture). Reverts if the asset has no source and no fallback.
 */
export async function readAssetPrice(
  client: Client,
  oracle: Address,
  asset: Address,
  blockNumber?: bigint,
): Promise<bigint> {
  // Read every block by the detectors: the cached-calldata path.
  return fastRead(client, {
    address: oracle,
    abi: aaveOracleAbi,
    functionName: 'getAssetPrice',
    args: [asset],
    ...at(blockNumber),
  });
}

/** Reads `Pool.getUserAccountData(user)`. */
export async function readUserAccountData(
  client: Client,
  pool: Address,
  user: Address,
  blockNumber?: bigint,
): Promise<UserAccountData> {
  const [
    totalCollateralBase,
    totalDebtBase,
    availableBorrowsBase,
    currentLiquidationThreshold,
    ltv,
    healthFactor,
  ] = await readContract(client, {
    address: pool,
    abi: poolAbi,
    functionName: 'getUserAccountData',
    args: [user],
    ...at(blockNumber),
  });
  return {
    totalCollateralBase,
    totalDebtBase,
    availableBorrowsBase,
    currentLiquidationThreshold,
    ltv,
    healthFactor,
  };
}

/** A reserve's token and rate-strategy addresses, from `Pool.getReserveData(asset)`. */
export interface ReserveTokens {
  aToken: Address;
  stableDebtToken: Address;
  variableDebtToken: Address;
  interestRateStrategy: Address;
}

/** Reads a reserve's aToken, debt tokens and rate strategy. An unlisted asset gives zero addresses. */
export async function readReserveTokens(
  client: Client,
  pool: Address,
  asset: Address,
  blockNumber?: bigint,
): Promise<ReserveTokens> {
  const data = await readContract(client, {
    address: pool,
    abi: poolAbi,
    functionName: 'getReserveData',
    args: [asset],
    ...at(blockNumber),
  });
  return {
    aToken: data.aTokenAddress,
    stableDebtToken: data.stableDebtTokenAddress,
    variableDebtToken: data.variableDebtTokenAddress,
    interestRateStrategy: data.interestRateStrategyAddress,
  };
}

/** An e-mode category (`Pool.getEModeCategoryData`); basis points, `priceSource` zero = none. */
export interface EModeCategoryData {
  ltvBps: number;
  liquidationThresholdBps: number;
  liquidationBonusBps: number;
  priceSource: Address;
  label: string;
}

/** Reads an e-mode category. An unset id reads as all zeros with an empty label. */
export async function readEModeCategory(
  client: Client,
  pool: Address,
  id: number,
  blockNumber?: bigint,
): Promise<EModeCategoryData> {
  const data = await readContract(client, {
    address: pool,
    abi: poolAbi,
    functionName: 'getEModeCategoryData',
    args: [id],
    ...at(blockNumber),
  });
  return {
    ltvBps: data.ltv,
    liquidationThresholdBps: data.liquidationThreshold,
    liquidationBonusBps: data.liquidationBonus,
    priceSource: data.priceSource,
    label: data.label,
  };
}
