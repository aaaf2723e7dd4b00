/**
 * Chain — replay of a block range: a finite source over `from..to`, and the helpers that bound a
 * live source to a range and check a range against a chain's head.
 *
 * The same events come out as from the live source (`block`, in order, each once), so everything
 * downstream runs unchanged; against a node or against `createRecordedProvider` alike.
 */
import type { Client } from 'viem';
import { getBlock, getBlockNumber } from 'viem/actions';
import type { Common } from '../common/common';
import { FirebreakError } from '../common/errors';
import { type BlockEvent, toBlockRef } from './events';

export interface BlockRange {
  from: bigint;
  to: bigint;
}

/**
 * Parses a block number given by a user (`1234`, `0x4d2`); `latest` is allowed where `head` is
 * known. Throws `ERR_USAGE` naming the option.
 */
export function parseBlockNumber(text: string | undefined, option: string, head?: bigint): bigint {
  if (text === undefined || text === '')
    throw new FirebreakError(
      'ERR_USAGE',
      `${option} is required\n    fix: give a block number, e.g. ${option} 1000`,
    );
  if (text === 'latest') {
    if (head === undefined)
      throw new FirebreakError(
        'ERR_USAGE',
        `${option} latest: the head is not known here\n    fix: give a number`,
      );
    return head;
  }
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(text))
    throw new FirebreakError(
      'ERR_USAGE',
      `${option} must be a block number (decimal or 0x-hex) or latest, got "${text}"`,
    );
  return BigInt(text);
}

/**
 * Checks a range: `from ≤ to`, and `to` not beyond `head` when the head is given.
 *
 * @example checkRange({ from: 10n, to: 5n }) // throws: from 10 is after to 5
 */
export function checkRange(range: BlockRange, head?: bigint): BlockRange {
  if (range.from < 0n) throw new FirebreakError('ERR_USAGE', `--from ${range.from} is negative`);
  if (range.from > range.to)
    throw new FirebreakError(
      'ERR_USAGE',
      `--from ${range.from} is after --to ${range.to}\n    fix: give the lower block first`,
    );
  if (head !== undefined && range.to > head)
    throw new FirebreakError(
      'ERR_USAGE',
      `--to ${range.to} is beyond the chain's head ${head}\n    fix: use --to ${head} (or latest), or wait for the chain`,
    );
  return range;
}

/** Splits `from..to` into ranges of at most `size` blocks, for `eth_getLogs` during catch-up. */
export function chunkRange(range: BlockRange, size: number): BlockRange[] {
  if (size < 1) throw new RangeError(`chunk size must be ≥ 1, got ${size}`);
  const out: BlockRange[] = [];
  for (let lo = range.from; lo <= range.to; lo += BigInt(size)) {
    const hi = lo + BigInt(size) - 1n;
    out.push({ from: lo, to: hi < range.to ? hi : range.to });
  }
  return out;
}

/**
 * Ends a source after the `block` event for block `toBlock`: no block above it is yielded, and the
 * source is stopped. Other events (`reorg`, `finalized`) pass through. With a live source started
 * at `fromBlock` (the ingestor), this is replay of a range through the ingestion core's own cursor.
 *
 * @example
 * for await (const e of boundSource(createIngestor({ client, fromBlock: 100n, … }), 149n)) …
 */
export async function* boundSource<E extends { type: string }>(
  source: AsyncIterable<E> & { stop?(): void },
  toBlock: bigint,
): AsyncGenerator<E> {
  try {
    for await (const event of source) {
      const number =
        event.type === 'block' ? (event as { block?: { number?: bigint } }).block?.number : undefined;
      if (number !== undefined && number > toBlock) break;
      yield event;
      if (number === toBlock) break;
    }
  } finally {
    source.stop?.();
  }
}

export interface ReplayRangeOptions extends BlockRange {
  client: Client;
  chainId: number;
  common: Pick<Common, 'clock' | 'signal'>;
  /** Blocks fetched ahead. */
  prefetch?: number;
}

/**
 * A finite source: every block of `from..to`, in order, once; ends after `to`. Fails (does not
 * wait) when a block is not there: a range to replay is a range that exists.
 *
 * @example
 * for await (const event of replayRange({ client, chainId: 1, from: 100n, to: 149n, common })) …
 */
export async function* replayRange(options: ReplayRangeOptions): AsyncGenerator<BlockEvent> {
  const { client, chainId, common } = options;
  const head = await getBlockNumber(client, { cacheTime: 0 });
  checkRange(options, head);
  const prefetch = Math.max(1, options.prefetch ?? 8);
  const fetch = (blockNumber: bigint) => getBlock(client, { blockNumber });
  const ahead: ReturnType<typeof fetch>[] = [];
  let next = options.from;
  for (let n = options.from; n <= options.to; n++) {
    if (common.signal.aborted) return;
    while (ahead.length < prefetch && next <= options.to) {
      const p = fetch(next++);
      p.catch(() => {}); // observed in order below
      ahead.push(p);
    }
    const block = await ahead.shift()!;
    yield { type: 'block', chainId, receivedAt: common.clock.monotonic(), block: toBlockRef(block) };
  }
}
