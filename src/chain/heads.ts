/**
 * Chain — head notifications: when the ingestion core should look at the chain's head again.
 *
 * A `HeadSignal` only says "look now" ('head'), "nothing came within your timeout" ('timeout') or
 * "stop" ('closed'); the core always reads the head itself and fetches every block from its cursor,
 * so a lost or coalesced notification can delay a block but never skip one.
 *
 * - `pollHeads(ms)`: a timer; every wait ends in 'head' after `ms`.
 * - `wsHeads({ url })`: `eth_subscribe('newHeads')` over a WebSocket. While the socket is down it
 *   behaves as `pollHeads(fallbackPollMs)` and reconnects with exponential backoff; every switch
 *   between 'ws' and 'poll' is logged, and wakes the waiter so the core checks the head at once.
 */
import type { Common } from '../common/common';
import { describeError, redact } from '../common/errors';
import { connectWebSocket, type WebSocketProvider } from './ws';

export type HeadWait = 'head' | 'timeout' | 'closed';
export type HeadMode = 'ws' | 'poll';

export interface HeadSignal {
  /**
   * Resolves 'head' when the head may have moved (a pushed head, or a poll tick), 'timeout' when
   * `timeoutMs` passed first, 'closed' once `close()` was called. Heads that arrive while nobody
   * waits are latched (coalesced into one): the next call resolves 'head' at once.
   */
  next(timeoutMs: number): Promise<HeadWait>;
  close(): void;
  readonly mode: HeadMode;
}

/** The waiting and latching shared by both signals. */
function createLatch() {
  const waiters = new Set<(result: HeadWait) => void>();
  let latched = false;
  let closed = false;
  return {
    get closed() {
      return closed;
    },
    /** A head (or a reason to look): wakes every waiter, or latches for the next one. */
    notify() {
      if (closed) return;
      if (waiters.size === 0) latched = true;
      for (const w of [...waiters]) w('head');
    },
    close() {
      if (closed) return;
      closed = true;
      for (const w of [...waiters]) w('closed');
    },
    /** Waits `ms`; then resolves `onTimer`. A notify or close ends the wait early. */
    wait(ms: number, onTimer: HeadWait): Promise<HeadWait> {
      if (closed) return Promise.resolve('closed');
      if (latched) {
        latched = false;
        return Promise.resolve('head');
      }
      return new Promise((resolve) => {
        const done = (result: HeadWait) => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve(result);
        };
        const timer = setTimeout(() => done(onTimer), Math.max(0, ms));
        waiters.add(done);
      });
    },
  };
}

/**
 * A head signal that is only a timer: every `next` resolves 'head' after `intervalMs` (or
 * 'timeout' after `timeoutMs` when that is shorter).
 *
 * @example
 * const heads = pollHeads(1_000);
 * while ((await heads.next(5_000)) !== 'closed') await catchUpToHead();
 */
export function pollHeads(intervalMs: number, options: { signal?: AbortSignal } = {}): HeadSignal {
  const latch = createLatch();
  options.signal?.addEventListener('abort', () => latch.close(), { once: true });
  return {
    mode: 'poll',
    next: (timeoutMs) =>
      intervalMs <= timeoutMs ? latch.wait(intervalMs, 'head') : latch.wait(timeoutMs, 'timeout'),
    close: () => latch.close(),
  };
}

export interface WsHeadsOptions {
  /** `ws://` or `wss://` URL (resolved: secrets already substituted). Never logged unredacted. */
  url: string;
  /** Poll interval while the socket is down. */
  fallbackPollMs: number;
  common: Common;
  /** Reconnect delays: `initialMs`, doubling up to `maxMs`. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Protocol pings to notice a silent (half-open) socket; 0 turns them off. */
  keepAliveMs?: number;
  connectTimeoutMs?: number;
  /** Called on every switch, after it is logged (metrics, tests). */
  onModeChange?: (mode: HeadMode, reason: string) => void;
}

/**
 * Pushed heads over a WebSocket, falling back to polling while the socket is down. Starts in
 * 'poll' mode and switches to 'ws' as soon as the subscription is up.
 *
 * @example
 * const heads = wsHeads({ url: 'wss://eth.example/ws', fallbackPollMs: 1_000, common });
 * heads.mode; // 'poll' until subscribed, then 'ws'; 'poll' again while the socket is down
 */
export function wsHeads(options: WsHeadsOptions): HeadSignal {
  const { fallbackPollMs, common } = options;
  const initialMs = options.backoff?.initialMs ?? 250;
  const maxMs = options.backoff?.maxMs ?? 30_000;
  const where = redact(options.url);
  const log = common.logger.child({ component: 'heads', url: where });
  const latch = createLatch();
  let mode: HeadMode = 'poll';
  let socket: WebSocketProvider | undefined;
  let wakeLoop: (() => void) | undefined;

  const switchTo = (next: HeadMode, reason: string, details: Record<string, unknown> = {}) => {
    if (mode === next) return;
    mode = next;
    if (next === 'ws') log.info({ mode, ...details }, `heads: WebSocket subscribed to newHeads (${reason})`);
    else
      log.warn({ mode, fallbackPollMs, ...details }, `heads: polling every ${fallbackPollMs} ms (${reason})`);
    options.onModeChange?.(next, reason);
    latch.notify(); // whatever happened meanwhile, look at the head now
  };

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeLoop = undefined;
        resolve();
      }
      wakeLoop = done;
    });

  const close = () => {
    if (latch.closed) return;
    common.signal.removeEventListener('abort', close);
    latch.close();
    socket?.close();
    socket = undefined;
    wakeLoop?.();
  };
  common.signal.addEventListener('abort', close, { once: true });

  void (async () => {
    let delay = initialMs;
    let failures = 0;
    let everConnected = false;
    let downSince: number | undefined;
    while (!latch.closed) {
      let ws: WebSocketProvider | undefined;
      try {
        ws = await connectWebSocket(options.url, {
          keepAliveMs: options.keepAliveMs ?? 15_000,
          connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
        });
        if (latch.closed) {
          ws.close();
          break;
        }
        const dropped = new Promise<string>((resolve) => {
          ws!.on('disconnect', (error) => resolve(error.message));
        });
        if (ws.closed) throw new Error('the socket closed as it opened');
        // The socket carries one subscription, ours: every notification on it is a new head.
        ws.on('message', () => latch.notify());
        await ws.request({ method: 'eth_subscribe', params: ['newHeads'] });
        socket = ws;
        everConnected = true;
        failures = 0;
        delay = initialMs;
        const downMs = downSince === undefined ? undefined : common.clock.monotonic() - downSince;
        switchTo(
          'ws',
          downMs === undefined ? 'connected' : `reconnected after ${Math.round(downMs)} ms`,
          downMs === undefined ? {} : { downMs: Math.round(downMs) },
        );
        const reason = await dropped;
        socket = undefined;
        if (latch.closed) break;
        downSince = common.clock.monotonic();
        switchTo('poll', `WebSocket dropped: ${reason}; reconnecting`, { retryInMs: delay });
      } catch (error) {
        ws?.close();
        failures++;
        downSince ??= common.clock.monotonic();
        const reason = describeError(error).split('\n')[0];
        if (failures === 1 && !everConnected)
          log.warn(
            { mode, fallbackPollMs, retryInMs: delay, err: reason },
            'heads: WebSocket unavailable; polling meanwhile',
          );
        else log.debug({ attempt: failures, retryInMs: delay, err: reason }, 'heads: reconnect failed');
      }
      if (latch.closed) break;
      await pause(delay);
      delay = Math.min(delay * 2, maxMs);
    }
  })();

  return {
    get mode() {
      return mode;
    },
    next: (timeoutMs) =>
      mode === 'ws' || fallbackPollMs > timeoutMs
        ? latch.wait(timeoutMs, 'timeout')
        : latch.wait(fallbackPollMs, 'head'),
    close,
  };
}
