/**
 * Chain — a WebSocket JSON-RPC endpoint as an EIP-1193 provider: requests matched to responses by
 * id, subscription notifications emitted as `message` events (the same shape Hardhat's in-process
 * provider emits), and a `disconnect` event when the socket drops, so a caller can fall back.
 *
 * Why not viem's `webSocket` transport: viem reaches the socket through `isows`, which imports
 * `ws` as an ES module namespace; in this install `ws` resolves to 7.x (Hardhat's), whose ESM
 * namespace has no `WebSocket` export, so the transport fails with "WebSocket is not a
 * constructor" under Node 20. This module loads `ws` through `require`, which works with 7.x and
 * 8.x. It also owns its socket (viem shares one socket per URL in a module cache, so closing one
 * user's socket closes everyone's) and checks liveness with protocol pings.
 *
 * No reconnection here: a provider is one socket's life. `wsHeads` reconnects by opening a new one.
 */
import { createRequire } from 'node:module';
import { redact } from '../common/errors';

const require = createRequire(import.meta.url);

/** The part of the `ws` package's WebSocket this module uses (7.x and 8.x alike). */
interface WsSocket {
  readonly readyState: number;
  send(data: string, callback?: (error?: Error) => void): void;
  ping(): void;
  close(code?: number): void;
  terminate(): void;
  on(event: 'open' | 'pong', listener: () => void): WsSocket;
  on(event: 'message', listener: (data: unknown) => void): WsSocket;
  on(event: 'close', listener: (code: number) => void): WsSocket;
  on(event: 'error', listener: (error: Error) => void): WsSocket;
  removeAllListeners(): WsSocket;
}
type WsConstructor = new (url: string, options?: { handshakeTimeout?: number }) => WsSocket;

const OPEN = 1;

/** A JSON-RPC error from the endpoint, or an EIP-1193 error (4900: disconnected). */
export interface ProviderRpcError extends Error {
  code: number;
  data?: unknown;
}

function rpcError(code: number, message: string, data?: unknown): ProviderRpcError {
  return Object.assign(new Error(message), data === undefined ? { code } : { code, data });
}

/** What a subscription notification looks like on the `message` event (as Hardhat's provider emits it). */
export interface SubscriptionMessage {
  type: 'eth_subscription';
  data: { subscription: string; result: unknown };
}

export interface WebSocketProvider {
  readonly url: string;
  /** True once the socket has closed, by `close()` or by a drop. */
  readonly closed: boolean;
  request(args: { method: string; params?: unknown }): Promise<unknown>;
  on(event: 'message', listener: (message: SubscriptionMessage) => void): WebSocketProvider;
  on(event: 'disconnect', listener: (error: ProviderRpcError) => void): WebSocketProvider;
  removeListener(event: 'message' | 'disconnect', listener: (...args: never[]) => void): WebSocketProvider;
  close(): void;
}

export interface ConnectWebSocketOptions {
  /** Time allowed to open the socket. */
  connectTimeoutMs?: number;
  /** Time allowed for each request's response. */
  requestTimeoutMs?: number;
  /**
   * A protocol ping every `keepAliveMs`; no pong before the next one and the socket is treated as
   * dropped (a half-open TCP connection never errors by itself). 0 turns it off.
   */
  keepAliveMs?: number;
}

/**
 * Opens a WebSocket JSON-RPC connection; resolves once the socket is open.
 *
 * @example
 * const ws = await connectWebSocket('ws://127.0.0.1:8545');
 * ws.on('message', (m) => console.log(m.data.result));
 * await ws.request({ method: 'eth_subscribe', params: ['newHeads'] });
 * const client = createClient({ transport: custom(ws) }); // a viem client over the socket
 */
export async function connectWebSocket(
  url: string,
  options: ConnectWebSocketOptions = {},
): Promise<WebSocketProvider> {
  const { connectTimeoutMs = 5_000, requestTimeoutMs = 10_000, keepAliveMs = 15_000 } = options;
  const where = redact(url);
  const WebSocket = require('ws') as WsConstructor;
  const socket = new WebSocket(url, { handshakeTimeout: connectTimeoutMs });

  await new Promise<void>((resolve, reject) => {
    const fail = (error: Error) => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.terminate();
      reject(rpcError(4900, `cannot open WebSocket ${where}: ${redact(error.message)}`));
    };
    socket.on('open', () => {
      socket.removeAllListeners();
      resolve();
    });
    socket.on('error', fail);
    socket.on('close', (code) => fail(new Error(`closed with code ${code}`)));
  });

  const pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  const messageListeners = new Set<(message: SubscriptionMessage) => void>();
  const disconnectListeners = new Set<(error: ProviderRpcError) => void>();
  let nextId = 1;
  let closed = false;
  let awaitingPong = false;
  let keepAlive: NodeJS.Timeout | undefined;

  const shutdown = (reason: ProviderRpcError, expected: boolean) => {
    if (closed) return;
    closed = true;
    if (keepAlive) clearInterval(keepAlive);
    for (const { reject, timer } of pending.values()) {
      clearTimeout(timer);
      reject(reason);
    }
    pending.clear();
    socket.removeAllListeners();
    socket.on('error', () => {});
    if (socket.readyState === OPEN) socket.close();
    else socket.terminate();
    if (!expected) for (const listener of [...disconnectListeners]) listener(reason);
  };

  socket.on('message', (raw) => {
    let message: {
      id?: unknown;
      method?: string;
      params?: { subscription: string; result: unknown };
      result?: unknown;
      error?: { code: number; message: string; data?: unknown };
    };
    try {
      message = JSON.parse(String(raw));
    } catch {
      return; // not JSON: nothing we asked for
    }
    if (message.method === 'eth_subscription' && message.params) {
      const event: SubscriptionMessage = { type: 'eth_subscription', data: message.params };
      for (const listener of [...messageListeners]) listener(event);
      return;
    }
    if (typeof message.id !== 'number') return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    clearTimeout(waiter.timer);
    if (message.error) waiter.reject(rpcError(message.error.code, message.error.message, message.error.data));
    else waiter.resolve(message.result);
  });
  socket.on('pong', () => {
    awaitingPong = false;
  });
  socket.on('error', (error) =>
    shutdown(rpcError(4900, `WebSocket ${where}: ${redact(error.message)}`), false),
  );
  socket.on('close', (code) => shutdown(rpcError(4900, `WebSocket ${where} closed (code ${code})`), false));
  if (keepAliveMs > 0) {
    keepAlive = setInterval(() => {
      if (awaitingPong) {
        shutdown(rpcError(4900, `WebSocket ${where}: no pong within ${keepAliveMs} ms`), false);
        return;
      }
      awaitingPong = true;
      try {
        socket.ping();
      } catch (error) {
        shutdown(rpcError(4900, `WebSocket ${where}: ping failed: ${String(error)}`), false);
      }
    }, keepAliveMs);
    keepAlive.unref();
  }

  const provider: WebSocketProvider = {
    url,
    get closed() {
      return closed;
    },
    request({ method, params }) {
      if (closed) return Promise.reject(rpcError(4900, `WebSocket ${where} is closed (${method})`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(rpcError(-32603, `WebSocket ${where}: ${method} timed out after ${requestTimeoutMs} ms`));
        }, requestTimeoutMs);
        pending.set(id, { resolve, reject, timer });
        socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params: params ?? [] }), (error) => {
          if (!error) return;
          const waiter = pending.get(id);
          if (!waiter) return;
          pending.delete(id);
          clearTimeout(waiter.timer);
          waiter.reject(
            rpcError(4900, `WebSocket ${where}: sending ${method} failed: ${redact(error.message)}`),
          );
        });
      });
    },
    on(event: 'message' | 'disconnect', listener: (arg: never) => void) {
      if (event === 'message') messageListeners.add(listener as (m: SubscriptionMessage) => void);
      else disconnectListeners.add(listener as (e: ProviderRpcError) => void);
      return provider;
    },
    removeListener(event, listener) {
      if (event === 'message') messageListeners.delete(listener as (m: SubscriptionMessage) => void);
      else disconnectListeners.delete(listener as (e: ProviderRpcError) => void);
      return provider;
    },
    close() {
      shutdown(rpcError(4900, `WebSocket ${where} closed by the caller`), true);
    },
  };
  return provider;
}
