/**
 * Protocols / Chainlink — reading Chainlink-compatible price feeds (`AggregatorV3Interface`).
 * Readers only: this module decides nothing.
 */
import type { Client, Hex } from 'viem';
import { fastRead } from '../../chain/read';

const roundOutputs = [
  { name: 'roundId', type: 'uint80' },
  { name: 'answer', type: 'int256' },
  { name: 'startedAt', type: 'uint256' },
  { name: 'updatedAt', type: 'uint256' },
  { name: 'answeredInRound', type: 'uint80' },
] as const;

export const aggregatorV3Abi = [
  { type: 'function', name: 'decimals', stateMutability: 'view', inputs: [], outputs: [{ type: 'uint8' }] },
  {
    type: 'function',
    name: 'latestRoundData',
    stateMutability: 'view',
    inputs: [],
    outputs: roundOutputs,
  },
  {
    type: 'function',
    name: 'getRoundData',
    stateMutability: 'view',
    inputs: [{ name: 'roundId', type: 'uint80' }],
    outputs: roundOutputs,
  },
] as const;

export interface FeedAnswer {
  answer: bigint;
  decimals: number;
  updatedAt: bigint;
  roundId: bigint;
}

/** Reads a feed's latest answer at a block (latest when omitted). */
export async function readFeed(client: Client, feed: Hex, blockNumber?: bigint): Promise<FeedAnswer> {
  const at = blockNumber === undefined ? {} : { blockNumber };
  const [decimals, round] = await Promise.all([
    fastRead(client, { address: feed, abi: aggregatorV3Abi, functionName: 'decimals', ...at }),
    fastRead(client, { address: feed, abi: aggregatorV3Abi, functionName: 'latestRoundData', ...at }),
  ]);
  return { answer: round[1], decimals, updatedAt: round[3], roundId: round[0] };
}

/** One round of a feed (`getRoundData`). */
export interface FeedRound {
  roundId: bigint;
  answer: bigint;
  updatedAt: bigint;
}

/** Reads one round of a feed at a block; `null` when the feed does not know it (it reverts). */
export async function readFeedRound(
  client: Client,
  feed: Hex,
  roundId: bigint,
  blockNumber?: bigint,
): Promise<FeedRound | null> {
  try {
    const r = await fastRead(client, {
      address: feed,
      abi: aggregatorV3Abi,
      functionName: 'getRoundData',
      args: [roundId],
      ...(blockNumber === undefined ? {} : { blockNumber }),
    });
    return { roundId: r[0], answer: r[1], updatedAt: r[3] };
  } catch {
    return null;
  }
}

/** Scales an answer to `decimals` (e.g. to Aave's 8-decimal base currency). */
export function scaleAnswer(answer: bigint, from: number, to: number): bigint {
  if (from === to) return answer;
  return from > to ? answer / 10n ** BigInt(from - to) : answer * 10n ** BigInt(to - from);
}
