/**
 * Test support — the two assets most drill test markets start from (a dollar stablecoin and
 * ether at $2,000, Aave-like collateral parameters), as scenario `market.assets` entries.
 */
export const USDC_ASSET = {
  symbol: 'USDC',
  decimals: 6,
  priceUsd: 1,
  ltvBps: 8000,
  liquidationThresholdBps: 8500,
  liquidationBonusBps: 10500,
} as const;

export const WETH_ASSET = {
  symbol: 'WETH',
  decimals: 18,
  priceUsd: 2000,
  ltvBps: 8000,
  liquidationThresholdBps: 8250,
  liquidationBonusBps: 10500,
} as const;
