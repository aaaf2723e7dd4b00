/**
 * Chain — the ingestor: one chain's cursor, from a checkpoint to the head and then live, emitting
 * `block | reorg | finalized` (and `deep-reorg`) in order: never a block skipped, never one twice.
 *
 * 1. Start. From a checkpoint (the last block processed, with the canonical blocks below it that
 *    the store kept), else from `fromBlock`, else from the head. A checkpoint is checked first: the
 *    block at its height is read again, and if the chain reorganised while we were down the `reorg`
 *    comes before anything else.
 * 2. Catch up. Blocks from the cursor to the head are read in batches (at most `maxBlockRange`, and
 *    at most 100), `concurrency` reads in flight, in order; the next batch is read while the
 *    current one is being processed. Every batch goes through the reorg tracker, which links it to
 *    the window by `parentHash`: a parent that does not match is walked back by hash until the
 *    branch meets the window (`reorg`, then the new branch); a jump in numbers is back-filled by
 *    reading again from the tip. After a reorg or a gap, what was read ahead is dropped and read again.
 * 3. Live. Caught up, it waits for a wake-up (head signal, `newHeads`, or the poll timer), then
 *    reads the head again. A head below our tip (the node's chain got shorter) is checked by hash.
 *
 * The consumer pulls: a block is emitted only after the previous event was handled, so the
 * consumer's checkpoint is exactly the last block it finished, and a restart resumes from it.
 * A block below the head it was read against carries `backlog: true`: the consumer may batch its
 * checkpoints during catch-up, and must not wait for more before handling a block without it.
 */
import type { Client, EIP1193Provider } from 'viem';
import { minBig } from '../common/bigint';
import { anySignal, type Common } from '../common/common';
import {
  type BlockReader,
  createBlockReader,
  createHeadWaiter,
  type FetchedBlock,
  type HeadWakeups,
} from './block-source';
import type { BlockRef } from './events';
import { createReorgTracker, type ReorgTracker, type TrackedEvent } from './reorg';

/** Largest batch read ahead during catch-up (also bounded by `maxBlockRange`). */
const MAX_BATCH = 100;

export interface IngestorOptions {
  client: Client;
  chainId: number;
  /** Blocks on top of a block before it is `finalized`; the reorg window is this deep. */
  confirmations: number;
  pollIntervalMs: number;
  /** Largest block range of one `eth_getLogs`, and of one catch-up batch. */
  maxBlockRange: number;
  /** Reads in flight at once during catch-up. */
  concurrency: number;
  /**
   * Resume after this block (the consumer's checkpoint), with the canonical blocks just below it
   * (ascending; up to `confirmations` of them) so that a reorg reaching below the checkpoint is seen.
   */
  checkpoint?: { block: BlockRef; window?: readonly BlockRef[] };
  /** Without a checkpoint: the first block to emit. Without either: the head at start. */
  fromBlock?: bigint;
  /** Attach every log of each block to its `block` event (`eth_getLogs` over ranges). */
  logs?: boolean;
  /** Wake-ups from a head signal (`chain/heads.ts`); otherwise `subscribeVia` and the poll timer. */
  heads?: HeadWakeups;
  /** Provider offering `eth_subscribe('newHeads')`, to wake without waiting for the poll timer. */
  subscribeVia?: EIP1193Provider;
  common: Common;
}

export interface Ingestor extends AsyncIterable<TrackedEvent> {
  /** The last block emitted on the canonical chain (after a reorg: the ancestor until the new branch comes). */
  readonly tip: BlockRef | undefined;
  /** Ends the iteration: reads and waits in flight resolve at once. */
  stop(): void;
}

/**
 * Follows one chain. Iterate it once.
 *
 * @example
 * const ingestor = createIngestor({ client, chainId: 1, confirmations: 12, pollIntervalMs: 1000,
 *   maxBlockRange: 500, concurrency: 4, checkpoint: await loadCheckpoint(), common });
 * for await (const event of ingestor) {
 *   if (event.type === 'block') await processAndCheckpoint(event);
 *   else if (event.type === 'reorg') await retract(event.orphaned);
 * }
 */
export function createIngestor(options: IngestorOptions): Ingestor {
  const { common, chainId } = options;
  const stopController = new AbortController();
  const signal = anySignal([common.signal, stopController.signal]);
  const reader: BlockReader = createBlockReader({
    client: options.client,
    chainId,
    retryDelayMs: options.pollIntervalMs,
    concurrency: options.concurrency,
    maxBlockRange: options.maxBlockRange,
    logs: options.logs ?? false,
    signal,
    common,
  });
  const waiter = createHeadWaiter({
    pollIntervalMs: options.pollIntervalMs,
    ...(options.heads ? { heads: options.heads } : {}),
    ...(options.subscribeVia ? { subscribeVia: options.subscribeVia } : {}),
    signal,
  });
  const tracker: ReorgTracker = createReorgTracker({
    chainId,
    confirmations: options.confirmations,
    ...(options.checkpoint
      ? { window: [...(options.checkpoint.window ?? []), options.checkpoint.block] }
      : {}),
  });
  const batchSize = BigInt(Math.max(1, Math.min(options.maxBlockRange, MAX_BATCH)));
  const log = common.logger.child({ chainId });

  /**
   * Runs fetched blocks through the tracker, walking back by hash while it asks for parents, and
   * yields what it decides. Returns whether the caller must read again from the tip (a reorg or
   * a gap makes whatever was read ahead suspect).
   */
  async function* settle(
    fetched: readonly FetchedBlock[],
    head?: bigint,
  ): AsyncGenerator<TrackedEvent, boolean> {
    const byHash = new Map(fetched.map((f) => [f.block.hash, f]));
    let branch = fetched.map((f) => f.block);
    const receivedAt = fetched[0]?.receivedAt ?? common.clock.monotonic();
    for (;;) {
      const next = tracker.advance(branch, receivedAt);
      if (next.type === 'events') {
        let reread = false;
        for (const event of next.events) {
          if (event.type === 'block') {
            const read = byHash.get(event.block.hash);
            if (read) {
              event.receivedAt = read.receivedAt;
              if (read.logs) event.logs = read.logs;
            }
            if (head !== undefined && event.block.number < head) event.backlog = true;
          } else if (event.type === 'reorg' || event.type === 'deep-reorg') {
            reread = true;
            log.warn(
              {
                type: event.type,
                depth: event.orphaned.length,
                from: event.orphaned.at(-1)?.number.toString(),
                to: event.orphaned[0]?.number.toString(),
              },
              'chain reorganised',
            );
          }
          yield event;
        }
        return reread;
      }
      if (next.type === 'gap') {
        log.warn(
          { from: next.from.toString(), to: next.to.toString() },
          'gap in the blocks read; back-filling',
        );
        return true;
      }
      const parent = await reader.byHash(next.hash);
      if (parent === undefined) return true; // stopped
      if (parent.block.number !== next.number) {
        log.warn(
          { hash: next.hash, expected: next.number.toString(), got: parent.block.number.toString() },
          'the endpoint gave a parent at the wrong height; reading again',
        );
        return true;
      }
      byHash.set(parent.block.hash, parent);
      branch = [parent.block, ...branch];
    }
  }

  async function* run(): AsyncGenerator<TrackedEvent> {
    let cursor: bigint | undefined = options.checkpoint ? undefined : options.fromBlock;
    if (options.checkpoint) {
      // Is the checkpoint still canonical? Read its height again (or the head, if the chain is shorter now).
      const head = await reader.head();
      if (head === undefined) return;
      const at = minBig([options.checkpoint.block.number, head])!;
      const block = await reader.byNumber(at);
      if (block === undefined) return;
      yield* settle([block]);
    }
    while (!signal.aborted) {
      const head = await reader.head();
      if (head === undefined) return;
      const tip = tracker.tip;
      if (tip !== undefined && head < tip.number) {
        // The node's chain is shorter than ours: a reorg to a shorter branch, or a node behind. Only
        // a block that differs from ours at the same height proves a reorg.
        const block = await reader.byNumber(head);
        if (block === undefined) return;
        if (tracker.at(head)?.hash !== block.block.hash) yield* settle([block]);
      }
      if (tracker.tip !== undefined) cursor = tracker.tip.number + 1n;
      cursor ??= head;
      if (cursor > head) {
        await waiter.wait();
        continue;
      }
      // Catch up to the head in batches, reading the next batch while this one is handled.
      const upTo = (from: bigint) => minBig([from + batchSize - 1n, head])!;
      let pending: Promise<FetchedBlock[] | undefined> | undefined = reader.range(cursor, upTo(cursor));
      while (pending !== undefined) {
        const fetched = await pending;
        pending = undefined;
        if (fetched === undefined || fetched.length === 0) return;
        const after = fetched[fetched.length - 1]!.block.number + 1n;
        if (after <= head) pending = reader.range(after, upTo(after));
        const reread = yield* settle(fetched, head);
        if (reread || tracker.tip?.number !== after - 1n) {
          // Read ahead on a view of the chain we no longer trust: drop it, read again from the tip.
          pending?.catch(() => undefined);
          pending = undefined;
        }
        if (signal.aborted) return;
      }
    }
  }

  const stop = () => {
    stopController.abort();
    waiter.close();
  };
  let iterating = false;
  return {
    get tip() {
      return tracker.tip;
    },
    [Symbol.asyncIterator]() {
      if (iterating) throw new Error('an ingestor can be iterated only once');
      iterating = true;
      const events = run();
      return {
        next: () => events.next(),
        // Leaving a `for await` early stops the ingestor: its reads and waits end at once.
        async return() {
          stop();
          await events.return(undefined);
          return { done: true, value: undefined };
        },
        throw: (error?: unknown) => events.throw(error),
      };
    },
    stop,
  };
}
