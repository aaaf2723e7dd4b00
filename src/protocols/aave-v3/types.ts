/**
 * Protocols / Aave v3 — the shapes shared by the fixture, the readers and the action builders:
 * a market's addresses and a decoded reserve configuration. Types only.
 */
import type { Address } from 'viem';

/** One listed reserve: its underlying asset and the three tokens the pool minted for it. */
export interface AaveV3Reserve {
  symbol: string;
  asset: Address;
  decimals: number;
  aToken: Address;
  variableDebtToken: Address;
  stableDebtToken: Address;
  interestRateStrategy: Address;
}

/**
 * An Aave v3 market by its addresses. `pool` and `poolConfigurator` are the proxies (what users
 * and admins call); the PoolAddressesProvider identifies the market.
 */
export interface AaveV3Market {
  addressesProvider: Address;
  pool: Address;
  poolConfigurator: Address;
  aclManager: Address;
  oracle: Address;
  dataProvider: Address;
  /** Keyed by symbol. */
  reserves: Record<string, AaveV3Reserve>;
}

/**
 * A reserve's configuration bitmap, decoded (`ReserveConfiguration.sol`). Field names follow the
 * fixture's options and Aave's data provider (`isActive`, `isFrozen`, ...). Percentages are basis
 * points (10000 = 100%; the bonus includes the principal: 10500 = a 5% bonus); caps are whole
 * tokens (0 = no cap); the debt ceiling has 2 decimals.
 */
export interface ReserveConfiguration {
  /** The raw `ReserveConfigurationMap.data`. */
  data: bigint;
  ltvBps: number;
  liquidationThresholdBps: number;
  liquidationBonusBps: number;
  decimals: number;
  isActive: boolean;
  isFrozen: boolean;
  borrowingEnabled: boolean;
  stableBorrowingEnabled: boolean;
  isPaused: boolean;
  borrowableInIsolation: boolean;
  siloedBorrowing: boolean;
  flashLoanEnabled: boolean;
  reserveFactorBps: number;
  borrowCap: bigint;
  supplyCap: bigint;
  liquidationProtocolFeeBps: number;
  eModeCategory: number;
  unbackedMintCap: bigint;
  debtCeiling: bigint;
}

/** `Pool.getUserAccountData`: amounts in the oracle's base currency (USD, 8 decimals). */
export interface UserAccountData {
  totalCollateralBase: bigint;
  totalDebtBase: bigint;
  availableBorrowsBase: bigint;
  /** Weighted average liquidation threshold, basis points. */
  currentLiquidationThreshold: bigint;
  /** Weighted average LTV, basis points. */
  ltv: bigint;
  /** 18 decimals; `maxUint256` when the user has no debt. Below 1e18 the position is liquidatable. */
  healthFactor: bigint;
}
