/**
 * Small bigint helpers (Math.min/max do not take bigints).
 */
export const maxBig = (values: readonly bigint[]): bigint | null =>
  values.reduce<bigint | null>((m, v) => (m === null || v > m ? v : m), null);

export const minBig = (values: readonly bigint[]): bigint | null =>
  values.reduce<bigint | null>((m, v) => (m === null || v < m ? v : m), null);

/** The larger of two bigints. */
export const larger = (a: bigint, b: bigint): bigint => (a > b ? a : b);
