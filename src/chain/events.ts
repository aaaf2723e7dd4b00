/**
 * Chain — what the block source emits: the tagged union every stage downstream sees. Reorg and
 * finality events join it with the Watch issue (`{ type: 'reorg' } | { type: 'finalized' }`).
 */
import type { Hex } from 'viem';

export interface BlockRef {
  number: bigint;
  hash: Hex;
  parentHash: Hex;
  timestamp: bigint;
  baseFeePerGas?: bigint | null;
}

/** What every stage downstream of the source sees. Later: `reorg` and `finalized`. */
export type ChainEvent = {
  type: 'block';
  chainId: number;
  block: BlockRef;
  /** Monotonic milliseconds (clock.monotonic) when the source had the block. */
  receivedAt: number;
};
export type BlockEvent = Extract<ChainEvent, { type: 'block' }>;

/** The block reference of a fetched block (a mined one: number and hash are set). */
export function toBlockRef(block: {
  number: bigint;
  hash: Hex;
  parentHash: Hex;
  timestamp: bigint;
  baseFeePerGas?: bigint | null;
}): BlockRef {
  return {
    number: block.number,
    hash: block.hash,
    parentHash: block.parentHash,
    timestamp: block.timestamp,
    baseFeePerGas: block.baseFeePerGas ?? null,
  };
}
