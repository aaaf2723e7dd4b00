/**
 * Chain — what the block source emits: the tagged union every stage downstream sees, in order:
 * `block | reorg | finalized` (the ingestor in `ingest.ts`, decided by the tracker in `reorg.ts`).
 */
import type { Hex, Log } from 'viem';

export interface BlockRef {
  number: bigint;
  hash: Hex;
  parentHash: Hex;
  timestamp: bigint;
  baseFeePerGas?: bigint | null;
}

/**
 * What every stage downstream of the source sees, in order:
 * - `block`: a new block on the canonical chain, each exactly once (unless a reorg orphans it, after
 *   which the replacing block comes as a new `block`);
 * - `reorg`: the listed blocks (highest first) are no longer canonical; everything derived only from
 *   them must be retracted; the new branch follows as `block` events from `ancestor.number + 1`;
 * - `finalized`: every block up to `block` has `confirmations` on top and can no longer be orphaned.
 */
export type ChainEvent =
  | {
      type: 'block';
      chainId: number;
      block: BlockRef;
      /** Monotonic milliseconds (clock.monotonic) when the source had the block. */
      receivedAt: number;
      /**
       * Every log of the block, in log-index order, when the source was asked for them (`logs: true`);
       * checked to carry this block's hash, so they never come from another branch.
       */
      logs?: readonly Log<bigint, number, false>[];
      /**
       * The source already holds later blocks (catching up, replaying): a consumer may batch its
       * bookkeeping (one checkpoint per batch) until a block that comes without it.
       */
      backlog?: boolean;
    }
  | { type: 'reorg'; chainId: number; orphaned: BlockRef[]; ancestor: BlockRef; receivedAt: number }
  | { type: 'finalized'; chainId: number; block: BlockRef };
export type BlockEvent = Extract<ChainEvent, { type: 'block' }>;
export type ReorgEvent = Extract<ChainEvent, { type: 'reorg' }>;
export type FinalizedEvent = Extract<ChainEvent, { type: 'finalized' }>;

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
