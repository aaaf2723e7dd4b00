/**
 * Chain — the block source: how the ingestor reads one chain's blocks from its RPC and when it
 * looks again. No decisions here (those are the tracker's, `reorg.ts`, and the ingestor's,
 * `ingest.ts`): only I/O that never gives up and never lies.
 *
 * - Reads (`createBlockReader`): the head, a block by number or by hash, a range of blocks with
 *   bounded concurrency and in order, and optionally every log of each block (`eth_getLogs` over
 *   ranges of at most `maxBlockRange`, checked against each block's hash and bloom). A failing read
 *   is retried with exponential backoff (capped at 30 s) until it succeeds or the source stops: an
 *   endpoint that fails is waited out, never skipped past. A block whose number or hash is not the
 *   one asked for is a failed read, too.
 * - Wake-ups (`createHeadWaiter`): a head signal (`chain/heads.ts`: polling or WebSocket `newHeads`)
 *   when one is given, else a `newHeads` subscription on an EIP-1193 provider that offers one (the
 *   embedded chain) plus the poll timer. A wake-up only says "look now"; the ingestor always reads
 *   the head itself and fetches from its cursor, so a lost notification delays a block, never skips it.
 */

import type { Client, EIP1193Provider, Hex, Log } from 'viem';
import { getBlock, getBlockNumber, getLogs } from 'viem/actions';
import type { Common } from '../common/common';
import { describeError } from '../common/errors';
import { abortableSleep } from '../common/sleep';
import { type BlockRef, toBlockRef } from './events';

export type BlockLogs = Log<bigint, number, false>[];

/** A block as read from the RPC: its reference, when it was read, and its logs when asked for. */
export interface FetchedBlock {
  block: BlockRef;
  /** Monotonic milliseconds (clock.monotonic) when the block was read. */
  receivedAt: number;
  logs?: BlockLogs;
}

export interface BlockReaderOptions {
  client: Client;
  chainId: number;
  /** First retry delay; doubles per failure, up to 30 s. */
  retryDelayMs: number;
  /** Reads in flight at once during a range. */
  concurrency: number;
  /** Largest block range of one `eth_getLogs`. */
  maxBlockRange: number;
  /** Attach every log of each block. */
  logs: boolean;
  /** Aborting it ends every read (they resolve `undefined`) and every backoff wait. */
  signal: AbortSignal;
  common: Common;
}

/** Every read resolves `undefined` once the source stops, and only then. */
export interface BlockReader {
  head(): Promise<bigint | undefined>;
  byNumber(number: bigint): Promise<FetchedBlock | undefined>;
  byHash(hash: Hex): Promise<FetchedBlock | undefined>;
  /** Blocks `from`..`to`, ascending; at most `concurrency` reads in flight. */
  range(from: bigint, to: bigint): Promise<FetchedBlock[] | undefined>;
}

const EMPTY_BLOOM = `0x${'0'.repeat(512)}`;

export function createBlockReader(options: BlockReaderOptions): BlockReader {
  const { client, common, signal } = options;

  /** Runs a read until it succeeds or the source stops, backing off between failures. */
  async function retrying<T>(what: string, read: () => Promise<T>): Promise<T | undefined> {
    let delay = Math.max(options.retryDelayMs, 100);
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        return await read();
      } catch (error) {
        if (signal.aborted) break;
        common.logger.warn(
          { chainId: options.chainId, attempt, retryInMs: delay, err: describeError(error).split('\n')[0] },
          `block source: ${what} failed; retrying`,
        );
        await abortableSleep(delay, signal);
        delay = Math.min(delay * 2, 30_000);
      }
    }
    return undefined;
  }

  const readByNumber = (number: bigint) =>
    retrying(`reading block ${number}`, async () => {
      const block = await getBlock(client, { blockNumber: number });
      if (block.number !== number)
        throw new Error(`asked for block ${number}, the endpoint answered block ${block.number}`);
      return { block: toBlockRef(block), bloom: block.logsBloom, receivedAt: common.clock.monotonic() };
    });

  const readByHash = (hash: Hex) =>
    retrying(`reading block ${hash}`, async () => {
      const block = await getBlock(client, { blockHash: hash });
      if (block.hash !== hash)
        throw new Error(`asked for block ${hash}, the endpoint answered ${block.hash}`);
      return { block: toBlockRef(block), bloom: block.logsBloom, receivedAt: common.clock.monotonic() };
    });

  const logsOf = (block: BlockRef) =>
    retrying(`reading the logs of block ${block.number}`, async () => {
      const logs = (await getLogs(client, { blockHash: block.hash })) as BlockLogs;
      if (logs.some((l) => l.blockHash !== block.hash))
        throw new Error(`logs of block ${block.hash} carry another block hash`);
      return logs;
    });

  /**
   * The logs that a range query returned for a block, if they are surely all of them and surely
   * its own: every log carries the block's hash, and a block whose bloom says it has logs got some.
   * Otherwise the block's logs are read again by its hash.
   */
  const checkedLogs = async (
    read: { block: BlockRef; bloom: Hex },
    fromRange: BlockLogs | undefined,
  ): Promise<BlockLogs | undefined> => {
    const mine = fromRange ?? [];
    const foreign = mine.some((l) => l.blockHash !== read.block.hash);
    const missing = mine.length === 0 && read.bloom !== EMPTY_BLOOM;
    return foreign || missing ? logsOf(read.block) : mine;
  };

  const single = async (
    read: { block: BlockRef; bloom: Hex; receivedAt: number } | undefined,
  ): Promise<FetchedBlock | undefined> => {
    if (read === undefined) return undefined;
    if (!options.logs) return { block: read.block, receivedAt: read.receivedAt };
    const logs = await checkedLogs(read, undefined);
    return logs === undefined ? undefined : { block: read.block, receivedAt: read.receivedAt, logs };
  };

  return {
    head: () => retrying('reading the head', () => getBlockNumber(client, { cacheTime: 0 })),
    byNumber: async (number) => single(await readByNumber(number)),
    byHash: async (hash) => single(await readByHash(hash)),
    async range(from, to) {
      const count = Number(to - from + 1n);
      const reads: ({ block: BlockRef; bloom: Hex; receivedAt: number } | undefined)[] = new Array(count);
      const logsByNumber = new Map<bigint, BlockLogs>();
      const tasks: (() => Promise<boolean>)[] = [];
      for (let i = 0; i < count; i++) {
        tasks.push(async () => {
          reads[i] = await readByNumber(from + BigInt(i));
          return reads[i] !== undefined;
        });
      }
      if (options.logs) {
        const span = BigInt(options.maxBlockRange);
        for (let start = from; start <= to; start += span) {
          const end = start + span - 1n < to ? start + span - 1n : to;
          tasks.push(async () => {
            const logs = await retrying(`reading logs of blocks ${start}..${end}`, () =>
              getLogs(client, { fromBlock: start, toBlock: end }),
            );
            for (const log of (logs ?? []) as BlockLogs) {
              const list = logsByNumber.get(log.blockNumber) ?? [];
              list.push(log);
              logsByNumber.set(log.blockNumber, list);
            }
            return logs !== undefined;
          });
        }
      }
      if (!(await pool(tasks, options.concurrency))) return undefined;
      const fetched: FetchedBlock[] = [];
      for (const read of reads) {
        if (read === undefined) return undefined;
        if (!options.logs) {
          fetched.push({ block: read.block, receivedAt: read.receivedAt });
          continue;
        }
        const logs = await checkedLogs(read, logsByNumber.get(read.block.number));
        if (logs === undefined) return undefined;
        fetched.push({ block: read.block, receivedAt: read.receivedAt, logs });
      }
      return fetched;
    },
  };
}

/** Runs tasks with at most `limit` in flight; false as soon as one returns false (the source stopped). */
async function pool(tasks: readonly (() => Promise<boolean>)[], limit: number): Promise<boolean> {
  let next = 0;
  let ok = true;
  const worker = async () => {
    while (ok && next < tasks.length) {
      const task = tasks[next++]!;
      if (!(await task())) ok = false;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  return ok;
}

/**
 * A head signal as `chain/heads.ts` makes them (`pollHeads`, `wsHeads`): `next` resolves when the
 * head may have moved ('head'), after `timeoutMs` ('timeout'), or once closed ('closed').
 */
export interface HeadWakeups {
  next(timeoutMs: number): Promise<'head' | 'timeout' | 'closed'>;
}

export interface HeadWaiterOptions {
  pollIntervalMs: number;
  /** A head signal to wait on; the waiter does not close it (its owner does). */
  heads?: HeadWakeups;
  /** Provider offering `eth_subscribe('newHeads')` (EIP-1193 `message` events), used when no `heads` is given. */
  subscribeVia?: EIP1193Provider;
  signal: AbortSignal;
}

export interface HeadWaiter {
  /** Resolves when the head may have moved, after the poll interval at the latest, or at once when stopped. */
  wait(): Promise<void>;
  close(): void;
}

export function createHeadWaiter(options: HeadWaiterOptions): HeadWaiter {
  const { signal } = options;
  if (options.heads) {
    const heads = options.heads;
    return {
      async wait() {
        if (signal.aborted) return;
        let onAbort: (() => void) | undefined;
        const aborted = new Promise<void>((resolve) => {
          onAbort = () => resolve();
          signal.addEventListener('abort', onAbort, { once: true });
        });
        try {
          await Promise.race([heads.next(options.pollIntervalMs), aborted]);
        } finally {
          if (onAbort) signal.removeEventListener('abort', onAbort);
        }
      },
      close() {},
    };
  }

  /** A head pushed while nobody waited: the next wait returns at once. */
  let latched = false;
  let wake: (() => void) | undefined;
  const onMessage = (message: unknown) => {
    if ((message as { type?: string }).type !== 'eth_subscription') return;
    if (wake) wake();
    else latched = true;
  };
  let subscription: Promise<string | undefined> | undefined;
  let closed = false;
  const provider = options.subscribeVia;
  if (provider) {
    provider.on('message' as never, onMessage as never);
    subscription = (
      provider.request({ method: 'eth_subscribe', params: ['newHeads'] } as never) as Promise<string>
    ).catch(() => undefined);
  }
  return {
    wait() {
      if (signal.aborted) return Promise.resolve();
      if (latched) {
        latched = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, options.pollIntervalMs);
        signal.addEventListener('abort', done, { once: true });
        wake = done;
      });
    },
    close() {
      if (!provider || closed) return;
      closed = true;
      provider.removeListener('message' as never, onMessage as never);
      void subscription?.then((id) => {
        if (id)
          void provider.request({ method: 'eth_unsubscribe', params: [id] } as never).catch(() => undefined);
      });
    },
  };
}
