/**
 * Drills — a drill token as the market deployed it: what the market's parts (extras, the
 * treasury) and the actors need to address and scale an amount of it.
 */
import type { Hex } from 'viem';

export interface DrillToken {
  symbol: string;
  address: Hex;
  decimals: number;
}
