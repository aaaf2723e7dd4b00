/**
 * Drills — bots: the seam between the runner and the scenario's automated actors (liquidators,
 * arbitrageurs, background users). Each block, before it is mined, the runner asks every bot for
 * the calls it would make in the next block, reading the pending state as a bot watching the
 * chain would; the actors module signs them with the bot's own account and broadcasts them the
 * moment the current block exists. A bot never sees anything a real bot could not.
 */
import type { Abi, Hex } from 'viem';
import type { EmbeddedChain, FundedAccount } from '../../chain/embedded';
import type { DrillMarket } from '../market';
import type { Scenario } from '../scenario';

/** One contract call a bot wants in the next block. */
export interface BotCall {
  to: Hex;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  gas: bigint;
  /** Which of the bot's accounts sends it (index into `BotContext.accounts`); 0 when omitted. */
  from?: number;
  /** A line for the drill's record, e.g. "liquidate 0xab… USDC debt 1,200 / WETH". */
  note?: string;
}

export interface BotContext {
  chain: EmbeddedChain;
  market: DrillMarket;
  scenario: Scenario;
  /** The bot's funded accounts (one for most bots; `users` for a background crowd). */
  accounts: readonly FundedAccount[];
  /** Every address that may hold an Aave position: named accounts, the population, bots. */
  borrowers(): readonly Hex[];
}

export interface BotTurn {
  /** Block offset the calls are meant for (the block about to be built, 1-based like the timeline). */
  offset: number;
  /** Deterministic randomness for this bot and block (seeded from the scenario seed, the bot's name and the offset). */
  random: () => number;
}

export interface Bot {
  readonly name: string;
  readonly kind: string;
  /** After the market is deployed, with automine on: mint working capital, approve, etc. */
  setup?(): Promise<void>;
  /** The calls for the block at `turn.offset`, from the pending state. */
  plan(turn: BotTurn): Promise<BotCall[]>;
}
