/**
 * Chain — the mempool source: pending transactions as events, before they are mined.
 *
 * Two ways in, one output:
 * - subscription: `eth_subscribe('newPendingTransactions')` on a provider that pushes (the embedded
 *   chain's in-process provider, or a `connectWebSocket` provider);
 * - filter: `eth_newPendingTransactionFilter` + `eth_getFilterChanges` polled over a client (HTTP).
 * When both are given the subscription is used, and the filter takes over if the subscription is
 * refused or its socket drops. With `reopen` (a way to open a new socket) the source tries, while it
 * polls, to subscribe again on a new socket every `resubscribeMs` (doubling to ten times that while
 * it fails), and stops polling once it has: a socket that dropped at 3 a.m. is not left on polling.
 *
 * Transactions already pending when a subscription or filter starts (at start, or after a fallback
 * to the filter) are read from the pending block, so a switch loses none that the node still holds.
 *
 * A subscription asks for whole transactions first (`eth_subscribe('newPendingTransactions', true)`:
 * geth, anvil), and for hashes where the node refuses that (EDR, some clients). Each new hash that
 * came without its transaction is fetched (`eth_getTransactionByHash`, bounded concurrency); every
 * transaction is emitted once: hashes are deduplicated over a bounded window. On mainnet the
 * difference is a hundred or more requests a second to the chain's endpoints. The queue between
 * the source and its consumer is bounded too: a slow consumer loses the oldest pending
 * transactions (counted in `dropped`, logged), never the process's memory.
 */
import { type Client, formatTransaction, type Hex, type RpcTransaction } from 'viem';
import type { Common } from '../common/common';
import { describeError } from '../common/errors';
import type { SubscriptionMessage } from './ws';

export interface PendingTxEvent {
  type: 'pending-tx';
  chainId: number;
  hash: Hex;
  from: Hex;
  /** null for a contract creation. */
  to: Hex | null;
  input: Hex;
  nonce: number;
  value: bigint;
  gas: bigint;
  /** Legacy and EIP-2930 transactions; for EIP-1559 ones, what the node reports (often maxFeePerGas). */
  gasPrice: bigint | null;
  maxFeePerGas: bigint | null;
  maxPriorityFeePerGas: bigint | null;
  /** Monotonic milliseconds (clock.monotonic) when the hash was first seen; comparable to `receivedAt` of block events. */
  seenAt: number;
}

/** A provider that can push subscription notifications as EIP-1193 `message` events. */
export interface PushProvider {
  request(args: { method: string; params?: unknown }): Promise<unknown>;
  on(event: 'message', listener: (message: SubscriptionMessage) => void): unknown;
  on(event: 'disconnect', listener: (error: Error) => void): unknown;
  removeListener(event: 'message' | 'disconnect', listener: (...args: never[]) => void): unknown;
}

/** A push provider its opener owns and closes (a socket). */
export type OwnedPushProvider = PushProvider & { close?(): void };

/** Opens a new push provider (a new socket); the caller closes it. */
export type OpenPushProvider = () => Promise<OwnedPushProvider>;

export interface MempoolSourceOptions {
  /** Polled with pending-transaction filters when no provider is given (or its subscription fails). */
  client?: Client;
  /** Subscribed to with `eth_subscribe('newPendingTransactions')`. */
  provider?: PushProvider;
  /**
   * Opens a new push provider (a new socket) to subscribe on while the source polls the filter:
   * after the provider's socket dropped, or when none could be opened at start. The source closes
   * what it opened when it stops, or when that socket drops in turn.
   */
  reopen?: OpenPushProvider;
  /** How long the source polls before its first attempt to subscribe again (with `reopen`). */
  resubscribeMs?: number;
  /** Stamped on every event; read with `eth_chainId` when omitted. */
  chainId?: number;
  common: Common;
  /** Filter poll interval. */
  pollIntervalMs?: number;
  /** Events held for the consumer; beyond it the oldest are dropped. */
  maxQueue?: number;
  /** Hashes remembered for deduplication. */
  dedupeWindow?: number;
  /** Transactions fetched at once. */
  fetchConcurrency?: number;
}

export interface MempoolSource extends AsyncIterable<PendingTxEvent> {
  /** 'subscription' or 'filter'; 'starting' until `ready()` resolves. */
  readonly mode: 'starting' | 'subscription' | 'filter';
  /** Pending transactions dropped because the consumer fell behind. */
  readonly dropped: number;
  /** Resolves once the subscription or filter is installed: transactions sent after it are seen. */
  ready(): Promise<void>;
  stop(): void;
}

/**
 * Pending transactions as events.
 *
 * @example
 * const mempool = createMempoolSource({ provider: chain.provider, common });
 * await mempool.ready();
 * for await (const tx of mempool) if (tx.to === pool) consider(tx);
 */
export function createMempoolSource(options: MempoolSourceOptions): MempoolSource {
  const { common, client } = options;
  if (!client && !options.provider) throw new Error('createMempoolSource needs a client or a provider');
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const maxQueue = options.maxQueue ?? 10_000;
  const dedupeWindow = options.dedupeWindow ?? 100_000;
  const fetchConcurrency = options.fetchConcurrency ?? 8;
  const resubscribeMs = options.resubscribeMs ?? 30_000;
  const log = common.logger.child({ component: 'mempool' });
  /** The provider subscribed on (or to subscribe on); `reopen` replaces it after a drop. */
  let provider: PushProvider | undefined = options.provider;
  /** The provider this source opened itself (`reopen`), closed when it drops or the source stops. */
  let opened: OwnedPushProvider | undefined;
  /**
   * Whether polling should try a new socket (`reopen`): after a drop, or with no socket at start;
   * not when the node refused the first subscription (a new socket to it would be refused too).
   * Once a socket has dropped, a refusal on a new one is taken as the node still restarting.
   */
  let mayResubscribe = options.reopen !== undefined && options.provider === undefined;

  // Requests go through the client when there is one (its transport retries), else the provider.
  const request = (method: string, params: unknown[] = []): Promise<unknown> =>
    client
      ? client.request({ method, params } as never)
      : provider!.request({ method, params: params as never });
  const pollRequest = (method: string, params: unknown[] = []): Promise<unknown> =>
    client ? client.request({ method, params } as never, { retryCount: 0 }) : request(method, params);

  let mode: MempoolSource['mode'] = 'starting';
  let stopped = false;
  let dropped = 0;
  let chainId = options.chainId;

  // ---- output queue (single consumer) ----
  const queue: PendingTxEvent[] = [];
  let wakeConsumer: (() => void) | undefined;
  const push = (event: PendingTxEvent) => {
    if (queue.length >= maxQueue) {
      queue.shift();
      dropped++;
      if (dropped === 1 || dropped % 1_000 === 0)
        log.warn({ dropped, maxQueue }, 'mempool: consumer behind; dropping the oldest pending transactions');
    }
    queue.push(event);
    wakeConsumer?.();
  };

  // ---- dedupe and fetch ----
  const seen = new Set<string>();
  const toFetch: { hash: Hex; seenAt: number; tx?: RpcTransaction }[] = [];
  let fetching = 0;
  const onHash = (hashOrTx: unknown) => {
    const seenAt = common.clock.monotonic();
    const tx =
      typeof hashOrTx === 'object' && hashOrTx !== null && 'hash' in hashOrTx
        ? (hashOrTx as RpcTransaction)
        : undefined;
    const hash = (tx?.hash ?? hashOrTx) as Hex;
    if (typeof hash !== 'string' || stopped) return;
    const key = hash.toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    if (seen.size > dedupeWindow) seen.delete(seen.values().next().value as string);
    toFetch.push(tx ? { hash, seenAt, tx } : { hash, seenAt });
    pump();
  };
  const pump = () => {
    while (fetching < fetchConcurrency && toFetch.length > 0 && !stopped) {
      const item = toFetch.shift()!;
      fetching++;
      void fetchOne(item).finally(() => {
        fetching--;
        pump();
      });
    }
  };
  const fetchOne = async (item: { hash: Hex; seenAt: number; tx?: RpcTransaction }) => {
    try {
      // A pushed transaction without its sender (a node's trimmed form) is read whole instead.
      const raw =
        (item.tx?.from ? item.tx : undefined) ??
        ((await request('eth_getTransactionByHash', [item.hash])) as RpcTransaction | null);
      if (!raw || stopped) return; // dropped from the pool before we asked
      chainId ??= Number(await request('eth_chainId'));
      const tx = formatTransaction(raw);
      push({
        type: 'pending-tx',
        chainId,
        hash: tx.hash,
        from: tx.from,
        to: tx.to ?? null,
        input: tx.input,
        nonce: tx.nonce,
        value: tx.value,
        gas: tx.gas,
        gasPrice: tx.gasPrice ?? null,
        maxFeePerGas: tx.maxFeePerGas ?? null,
        maxPriorityFeePerGas: tx.maxPriorityFeePerGas ?? null,
        seenAt: item.seenAt,
      });
    } catch (error) {
      log.debug(
        { hash: item.hash, err: describeError(error) },
        'mempool: fetching a pending transaction failed',
      );
    }
  };

  /**
   * What was already pending when a subscription or filter started (neither reports it): read from
   * the pending block, best effort (a node may leave it empty). Deduplication drops the overlap.
   */
  const catchUp = async () => {
    try {
      const pendingBlock = (await request('eth_getBlockByNumber', ['pending', false])) as {
        transactions?: unknown[];
      } | null;
      for (const hash of pendingBlock?.transactions ?? []) onHash(hash);
    } catch (error) {
      log.debug({ err: describeError(error) }, 'mempool: reading the pending block failed');
    }
  };

  // ---- subscription ----
  let subscriptionId: string | undefined;
  const early: SubscriptionMessage[] = [];
  const onMessage = (message: SubscriptionMessage) => {
    if (message?.type !== 'eth_subscription') return;
    if (subscriptionId === undefined) early.push(message);
    else if (message.data.subscription === subscriptionId) onHash(message.data.result);
  };
  const onDisconnect = (error: Error) => {
    if (stopped || mode !== 'subscription') return;
    subscriptionId = undefined;
    detach();
    mayResubscribe = options.reopen !== undefined;
    if (client) {
      log.warn(
        { err: describeError(error) },
        'mempool: subscription dropped; polling a pending-transaction filter',
      );
      void startFilter(false);
    } else {
      log.error(
        { err: describeError(error) },
        'mempool: subscription dropped and no client to poll; stopping',
      );
      stop();
    }
  };
  /** Stops listening to the provider (and closes it if this source opened it). */
  const detach = () => {
    provider?.removeListener('message', onMessage);
    provider?.removeListener('disconnect', onDisconnect);
    if (opened && opened === provider) {
      opened.close?.();
      opened = undefined;
    }
  };
  /** Subscribes on `provider`; false (with `client`) when refused. `again`: a retry while polling. */
  const subscribe = async (again = false): Promise<boolean> => {
    if (!provider) return false;
    const on = provider;
    on.on('message', onMessage);
    on.on('disconnect', onDisconnect);
    const ask = (params: unknown[]) =>
      on.request({ method: 'eth_subscribe', params: params as never }) as Promise<string>;
    try {
      // Whole transactions where the node offers them; hashes (each fetched) where it refuses.
      subscriptionId = await ask(['newPendingTransactions', true]).catch((error: unknown) => {
        log.debug(
          { err: describeError(error) },
          'mempool: node refused whole pending transactions; subscribing to hashes',
        );
        return ask(['newPendingTransactions']);
      });
    } catch (error) {
      on.removeListener('message', onMessage);
      on.removeListener('disconnect', onDisconnect);
      if (!client) throw error;
      // Once already polling, a refusal is the node still starting: no warning at every retry.
      if (again)
        log.debug(
          { err: describeError(error) },
          'mempool: new socket refused the subscription; still polling',
        );
      else
        log.warn(
          { err: describeError(error) },
          'mempool: subscription refused; polling a pending-transaction filter',
        );
      return false;
    }
    for (const m of early.splice(0)) if (m.data.subscription === subscriptionId) onHash(m.data.result);
    mode = 'subscription';
    void catchUp();
    return true;
  };

  // ---- filter polling ----
  let filterId: string | undefined;
  let wakePoller: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakePoller = undefined;
        resolve();
      }
      wakePoller = done;
    });
  const installFilter = async () => {
    filterId = (await request('eth_newPendingTransactionFilter')) as string;
    void catchUp();
  };
  /**
   * While polling: a new socket (`reopen`) and a subscription on it. True once subscribed; the
   * caller then stops polling.
   */
  const resubscribe = async (): Promise<boolean> => {
    let next: OwnedPushProvider;
    try {
      next = await options.reopen!();
    } catch (error) {
      log.debug({ err: describeError(error) }, 'mempool: cannot open a new socket yet; still polling');
      return false;
    }
    if (stopped) {
      next.close?.();
      return false;
    }
    provider = next;
    opened = next;
    if (await subscribe(true).catch(() => false)) return true;
    detach();
    provider = undefined;
    return false;
  };
  /** Polls a filter; installs it first when `installNow` (else the loop installs it, retrying). */
  const startFilter = async (installNow: boolean) => {
    if (installNow) await installFilter();
    mode = 'filter';
    void (async () => {
      let delay = pollIntervalMs;
      let resubscribeIn = resubscribeMs;
      let nextResubscribe = common.clock.monotonic() + resubscribeIn;
      while (!stopped) {
        await sleep(delay);
        if (stopped) break;
        if (mayResubscribe && common.clock.monotonic() >= nextResubscribe) {
          if (await resubscribe()) {
            // Subscribed (what was pending meanwhile came with it, from the pending block): the
            // filter is no longer needed.
            if (filterId !== undefined)
              void request('eth_uninstallFilter', [filterId]).catch(() => undefined);
            filterId = undefined;
            log.info('mempool: subscribed again on a new socket; stopped polling the filter');
            return;
          }
          resubscribeIn = Math.min(resubscribeIn * 2, resubscribeMs * 10);
          nextResubscribe = common.clock.monotonic() + resubscribeIn;
          if (stopped) break;
        }
        try {
          if (filterId === undefined) await installFilter();
          const changes = (await pollRequest('eth_getFilterChanges', [filterId])) as unknown[];
          for (const hash of changes) onHash(hash);
          delay = pollIntervalMs;
        } catch (error) {
          const message = describeError(error);
          // A node that restarted or expired the filter: install a new one (what was pending meanwhile is lost).
          if (/filter/i.test(message) && /not found|unknown|expired|does not exist/i.test(message)) {
            filterId = undefined;
            log.warn({ err: message }, 'mempool: filter lost; installing a new one');
            continue;
          }
          delay = Math.min(delay * 2, 30_000);
          log.warn({ err: message, retryInMs: delay }, 'mempool: polling the filter failed');
        }
      }
    })();
  };

  const started = (async () => {
    if (!(await subscribe())) await startFilter(true);
    log.info({ mode }, `mempool: following pending transactions by ${mode}`);
  })();
  started.catch(() => {});

  function stop() {
    if (stopped) return;
    stopped = true;
    common.signal.removeEventListener('abort', stop);
    wakePoller?.();
    wakeConsumer?.();
    if (provider) {
      const was = provider;
      if (subscriptionId !== undefined)
        void was
          .request({ method: 'eth_unsubscribe', params: [subscriptionId] as never })
          .catch(() => undefined)
          .finally(detach);
      else detach();
    }
    if (filterId !== undefined) void request('eth_uninstallFilter', [filterId]).catch(() => undefined);
  }
  common.signal.addEventListener('abort', stop, { once: true });

  return {
    get mode() {
      return mode;
    },
    get dropped() {
      return dropped;
    },
    ready: () => started,
    stop,
    /** One consumer. Leaving the loop (break, return, throw) stops the source. */
    async *[Symbol.asyncIterator]() {
      try {
        await started;
        while (true) {
          const next = queue.shift();
          if (next) {
            yield next;
            continue;
          }
          if (stopped) return;
          await new Promise<void>((resolve) => {
            wakeConsumer = () => {
              wakeConsumer = undefined;
              resolve();
            };
          });
        }
      } finally {
        stop();
      }
    },
  };
}
