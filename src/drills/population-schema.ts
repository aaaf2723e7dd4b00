/**
 * Drills — the schema of a generated population (`population:` in a scenario): borrowers (with
 * `debt` and `healthFactor`) or suppliers (without); the scenario schema imports it without the
 * code that opens the positions (population.ts).
 */
import { z } from 'zod';

const symbol = z.string().regex(/^[A-Za-z][A-Za-z0-9.-]*$/, 'must be a token symbol such as WETH');

export const populationSchema = z.strictObject({
  /** Prefix of the positions' names (crowd-1, crowd-2, …). */
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes'),
  count: z.number().int().positive().max(20_000),
  /** What each position supplies (as collateral; a supplier population just supplies it). */
  collateral: symbol,
  /** What each position borrows; none for a population of suppliers (then no `healthFactor`). */
  debt: symbol.optional(),
  /**
   * Collateral value of one position in USD at the protocol oracle's price when it opens (the
   * scenario's `priceUsd` at the start): log-normal around the median, clamped to [min, max]
   * (default: three sigmas either side of the median).
   */
  sizeUsd: z.strictObject({
    median: z.number().positive(),
    sigma: z.number().min(0).max(3).default(1),
    min: z.number().positive().optional(),
    max: z.number().positive().optional(),
  }),
  /** Health factor at the start, at the protocol's prices: uniform between min and max (borrowers only). */
  healthFactor: z.strictObject({ min: z.number().gt(1), max: z.number().gt(1) }).optional(),
});

export type PopulationSpec = z.output<typeof populationSchema>;
