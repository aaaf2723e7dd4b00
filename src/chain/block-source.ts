/**
 * Chain — the block source: follows a chain's head and yields every block once, in order.
 *
 * It wakes on a `newHeads` subscription where it is given a provider that offers one (the embedded
 * chain; WebSocket endpoints join with the Watch issue) and on a poll timer otherwise, then fetches every block from its cursor to
 * the head, so a missed notification or a burst of blocks never skips one. (Reorg tracking,
 * checkpoints and back-fill arrive with the Watch issue; the event union already leaves room.)
 */
import type { Client, EIP1193Provider } from 'viem';
import { getBlock, getBlockNumber } from 'viem/actions';
import type { Common } from '../common/common';
import { describeError } from '../common/errors';
import { type BlockEvent, toBlockRef } from './events';

export interface BlockSourceOptions {
  client: Client;
  chainId: number;
  /** First block to yield; defaults to the block after the head at start. */
  fromBlock?: bigint;
  pollIntervalMs: number;
  /** Provider offering `eth_subscribe('newHeads')` (EIP-1193 `message` events), to wake without polling. */
  subscribeVia?: EIP1193Provider;
  common: Common;
}

export interface BlockSource {
  [Symbol.asyncIterator](): AsyncIterator<BlockEvent>;
  stop(): void;
}

export function createBlockSource(options: BlockSourceOptions): BlockSource {
  const { client, common } = options;
  let stopped = false;
  let wake: (() => void) | undefined;
  const stopController = new AbortController();
  const onAbort = () => {
    stopped = true;
    wake?.();
  };
  common.signal.addEventListener('abort', onAbort, { once: true });
  stopController.signal.addEventListener('abort', onAbort, { once: true });

  let subscription: Promise<string | undefined> | undefined;
  const onMessage = (message: unknown) => {
    if ((message as { type?: string }).type === 'eth_subscription') wake?.();
  };
  if (options.subscribeVia) {
    const provider = options.subscribeVia;
    provider.on('message' as never, onMessage as never);
    subscription = (
      provider.request({ method: 'eth_subscribe', params: ['newHeads'] } as never) as Promise<string>
    ).catch(() => undefined);
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  /**
   * Runs an RPC read until it succeeds or the source stops: a failing endpoint is retried with
   * exponential backoff (capped at 30 s), never skipped past and never allowed to kill the loop.
   */
  async function retrying<T>(what: string, read: () => Promise<T>): Promise<T | undefined> {
    let delay = Math.max(options.pollIntervalMs, 100);
    for (let attempt = 1; !stopped; attempt++) {
      try {
        return await read();
      } catch (error) {
        common.logger.warn(
          { chainId: options.chainId, attempt, retryInMs: delay, err: describeError(error).split('\n')[0] },
          `block source: ${what} failed; retrying`,
        );
        await sleep(delay);
        delay = Math.min(delay * 2, 30_000);
      }
    }
    return undefined;
  }

  async function* blocks(): AsyncGenerator<BlockEvent> {
    let cursor = options.fromBlock;
    if (cursor === undefined) {
      const head = await retrying('reading the head', () => getBlockNumber(client, { cacheTime: 0 }));
      if (head === undefined) return;
      cursor = head + 1n;
    }
    while (!stopped) {
      const head = await retrying('reading the head', () => getBlockNumber(client, { cacheTime: 0 }));
      if (head === undefined) return;
      while (cursor <= head && !stopped) {
        const number = cursor;
        const block = await retrying(`reading block ${number}`, () =>
          getBlock(client, { blockNumber: number }),
        );
        if (block === undefined) return;
        const receivedAt = common.clock.monotonic();
        yield {
          type: 'block',
          chainId: options.chainId,
          receivedAt,
          block: toBlockRef(block),
        };
        cursor++;
      }
      if (!stopped) await sleep(options.pollIntervalMs);
    }
  }

  return {
    [Symbol.asyncIterator]: () => blocks(),
    stop() {
      stopController.abort();
      common.signal.removeEventListener('abort', onAbort);
      if (options.subscribeVia) {
        const provider = options.subscribeVia;
        provider.removeListener('message' as never, onMessage as never);
        void subscription?.then((id) => {
          if (id)
            void provider
              .request({ method: 'eth_unsubscribe', params: [id] } as never)
              .catch(() => undefined);
        });
      }
    },
  };
}
