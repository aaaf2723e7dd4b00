/**
 * Drills — the bot kinds a scenario can declare under `bots:`: their schemas only (the scenario
 * schema imports them; the bots themselves are in the files beside this one).
 */
import { z } from 'zod';

const symbol = z.string().regex(/^[A-Za-z][A-Za-z0-9.-]*$/, 'must be a token symbol such as WETH');
const name = z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes');
/** Whole tokens by symbol. */
const holdings = z.record(symbol, z.number().positive()).default({});
const activity = {
  /** First block offset the bot acts in (1 = the first drill block). */
  from: z.number().int().positive().default(1),
  /** Last block offset the bot acts in; it acts to the end when omitted. */
  until: z.number().int().positive().optional(),
  /** Tip in gwei; the scenario's actor tip when omitted. */
  priorityFeeGwei: z.number().positive().optional(),
};

export const liquidatorSchema = z.strictObject({
  kind: z.literal('liquidator'),
  name,
  /** Working capital minted to the bot at the start (debt assets it repays with). */
  holds: holdings,
  /** Off: a keeper that never runs (Black Thursday's failed keepers). */
  enabled: z.boolean().default(true),
  ...activity,
  /** Blocks the bot waits after it first sees a position liquidatable (slow keepers). */
  delayBlocks: z.number().int().min(0).default(0),
  /** Liquidations per block at most. */
  maxPerBlock: z.number().int().positive().default(5),
  /** Sell the seized collateral for the debt asset on the deepest pool that holds both (kept when none does). */
  sell: z.boolean().default(true),
  /**
   * Liquidate only when the sale at the pool's depth (or, without a sale, the seized collateral at
   * the pool's spot price, or the protocol oracle's price when no pool holds both) beats the
   * repaid debt by this much, in USD at true prices: the bot's gas and effort. The bot sizes each
   * liquidation to maximise that margin, so a thin pool gets small liquidations or none.
   */
  minProfitUsd: z.number().min(0).default(0),
});

export const arbitrageurSchema = z.strictObject({
  kind: z.literal('arbitrageur'),
  name,
  holds: holdings,
  ...activity,
  /** Pools it trades toward the reference price. */
  pools: z.array(z.string()).min(1),
  /** It trades when a pool's price is this far from the reference. */
  thresholdBps: z.number().int().positive().default(100),
  /** Most of its holding of the input token it puts into one trade (0–1). */
  maxTradeShare: z.number().gt(0).max(1).default(1),
});

export const backgroundSchema = z.strictObject({
  kind: z.literal('background'),
  name,
  /** How many ordinary users (each its own account). */
  users: z.number().int().positive().max(200).default(5),
  /** Whole tokens minted to each user at the start. */
  holds: holdings,
  ...activity,
  /** Transactions per block across the crowd, on average. */
  txPerBlock: z.number().min(0).max(50).default(2),
  /** Size of one action in USD at the reference price: uniform between min and max. */
  sizeUsd: z
    .strictObject({ min: z.number().positive(), max: z.number().positive() })
    .default({ min: 100, max: 5_000 }),
  /** What they do: supply, withdraw, borrow (at most half their capacity), repay, swap. */
  actions: z
    .array(z.enum(['supply', 'withdraw', 'borrow', 'repay', 'swap']))
    .min(1)
    .default(['supply', 'withdraw', 'borrow', 'repay', 'swap']),
});

export const botSchema = z.discriminatedUnion('kind', [
  liquidatorSchema,
  arbitrageurSchema,
  backgroundSchema,
]);

export type BotSpec = z.output<typeof botSchema>;
export type LiquidatorSpec = z.output<typeof liquidatorSchema>;
export type ArbitrageurSpec = z.output<typeof arbitrageurSchema>;
export type BackgroundSpec = z.output<typeof backgroundSchema>;

/** Funded accounts a bot needs. */
export const botAccounts = (spec: BotSpec): number => (spec.kind === 'background' ? spec.users : 1);

/** Whole tokens each of the bot's accounts is minted at the start (by the bot's own `setup()`). */
export const botHoldings = (spec: BotSpec): Record<string, number> => spec.holds;
