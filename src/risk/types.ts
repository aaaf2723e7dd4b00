/**
 * Risk — the shapes shared by the position book (exact, `bigint`) and the fast paths (stress grid,
 * liquidations-at-risk, cascade, Monte Carlo), which work on a struct-of-arrays `float64` copy.
 * Types only. The risk engine never reads the chain: it is handed this state.
 */
import type { Address } from 'viem';

/** One listed asset of a lending market, as the fast paths see it. */
export interface RiskAsset {
  symbol: string;
  address: Address;
  decimals: number;
  /** Oracle price in USD (the market's base currency converted to dollars). */
  priceUsd: number;
  /** Fractions, not basis points: 0.8 = 80 %. */
  ltv: number;
  liquidationThreshold: number;
  /** Includes the principal: 1.05 = a 5 % bonus to the liquidator. */
  liquidationBonus: number;
  /** Share of the bonus that goes to the protocol (Aave's liquidation protocol fee), fraction. */
  liquidationProtocolFee: number;
  /** Aave v3 e-mode category the asset belongs to; 0 = none. */
  eModeCategory: number;
}

/** An Aave v3 e-mode category. */
export interface EModeCategory {
  id: number;
  label: string;
  ltv: number;
  liquidationThreshold: number;
  liquidationBonus: number;
}

/**
 * Every position of one market at one block, struct-of-arrays. Matrices are row-major
 * `accounts × assets`: account `i`, asset `j` lives at `i * assets.length + j`. Amounts are whole
 * tokens as floats (already multiplied by the reserve's current index, so interest accrued to the
 * snapshot's block is included). `collateral` only counts balances enabled as collateral;
 * `supplied` counts every aToken balance.
 */
export interface PositionSnapshot {
  chainId: number;
  blockNumber: bigint;
  assets: readonly RiskAsset[];
  /** Indexed by category id; index 0 is unused. */
  eModes: readonly (EModeCategory | undefined)[];
  accounts: readonly Address[];
  collateral: Float64Array;
  supplied: Float64Array;
  debt: Float64Array;
  /** Per account: its e-mode category id (0 = none). */
  eMode: Uint8Array;
}
