/**
 * Test support — a fault-injecting JSON-RPC proxy: a real HTTP server on 127.0.0.1 (port 0) in
 * front of a real RPC URL (the embedded chain's `serve()`), forwarding every request unless a
 * fault rule matches it.
 *
 * Faults: `drop` (the connection is destroyed, no answer), `delay` (answer after N ms),
 * `http-429` (with `Retry-After`), `http-503`, `truncate` (the real answer cut in half: malformed
 * JSON), `lie` (the real answer with `eth_getBlockByNumber`/`eth_getBlockByHash` results' `hash`
 * and `eth_call` results replaced by a wrong value, derived from `seed`: two liars with the same
 * seed tell the same lie, with different seeds they disagree), `behind` (`null` for
 * `eth_getBlockByNumber`/`eth_getBlockByHash`, as from a node that does not have the block yet).
 *
 * Rules are matched in order: a rule applies to every request, or only to the listed methods,
 * for `times` requests (forever if unset). Bounded: request bodies up to 8 MiB, delays up to
 * `maxDelayMs`; `close()` ends pending delays and every connection.
 *
 * @example
 * const proxy = await startFaultProxy({ target: served.url });
 * proxy.setFault({ kind: 'http-429', retryAfterS: 1 }, { times: 1 });
 * proxy.setFault({ kind: 'lie', seed: 'a' }, { methods: ['eth_getBlockByNumber'] });
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type Hex, hexToBytes, keccak256, toHex } from 'viem';

export type Fault =
  | { kind: 'drop' }
  | { kind: 'delay'; ms: number }
  | { kind: 'http-429'; retryAfterS?: number }
  | { kind: 'http-503' }
  | { kind: 'truncate' }
  | { kind: 'lie'; seed?: string }
  /** A node behind the others: `null` for the block methods (as for a block it does not have yet). */
  | { kind: 'behind' }
  /** A provider that takes no JSON-RPC batches: an array body gets one error object back. */
  | { kind: 'no-batch' };

export type FaultKind = Fault['kind'];

export interface FaultRule {
  fault: Fault;
  /** Only requests for these methods; every request when unset. */
  methods?: readonly string[];
  /** How many matching requests the rule applies to; unset: all of them. */
  times?: number;
}

export interface FaultProxyStats {
  requests: number;
  byMethod: Record<string, number>;
  faults: Partial<Record<FaultKind, number>>;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`; any path is accepted (a path can stand in for an API key). */
  readonly url: string;
  /** Replaces every rule with this one (or none, with `undefined`). */
  setFault(fault: Fault | undefined, options?: { methods?: readonly string[]; times?: number }): void;
  /** Appends a rule after the existing ones. */
  addFault(fault: Fault, options?: { methods?: readonly string[]; times?: number }): void;
  stats(): FaultProxyStats;
  resetStats(): void;
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** The real RPC URL requests are forwarded to. */
  target: string;
  /** Upper bound for `delay` faults. Default 30 s. */
  maxDelayMs?: number;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;
const LIE_METHODS = new Set(['eth_getBlockByNumber', 'eth_getBlockByHash', 'eth_call']);

/**
 * A wrong value of the same length, determined by the value and the seed (XOR of its last 32 bytes
 * with keccak(seed)); an empty value becomes keccak(seed).
 */
export function lieAbout(value: Hex, seed: string): Hex {
  const mask = hexToBytes(keccak256(toHex(`firebreak-lie/${seed}`)));
  const bytes = hexToBytes(value);
  if (bytes.length === 0) return toHex(mask);
  const n = Math.min(32, bytes.length);
  for (let i = 0; i < n; i++) bytes[bytes.length - n + i]! ^= mask[i]!;
  return toHex(bytes);
}

interface JsonRpcRequest {
  id?: unknown;
  method?: unknown;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let rules: { fault: Fault; methods: ReadonlySet<string> | undefined; left: number }[] = [];
  let stats: FaultProxyStats = { requests: 0, byMethod: {}, faults: {} };
  /** Pending delays and how to end them early (on close). */
  const timers = new Map<NodeJS.Timeout, () => void>();
  const sockets = new Set<Socket>();
  let closing: Promise<void> | undefined;

  const ruleOf = (fault: Fault, o: { methods?: readonly string[]; times?: number } = {}) => ({
    fault,
    methods: o.methods ? new Set(o.methods) : undefined,
    left: o.times ?? Number.POSITIVE_INFINITY,
  });

  /** The first rule matching any of the request's methods; uses up one of its `times`. */
  const match = (methods: readonly string[]): Fault | undefined => {
    for (const r of rules) {
      if (r.left <= 0) continue;
      if (r.methods && !methods.some((m) => r.methods!.has(m))) continue;
      r.left--;
      return r.fault;
    }
    return undefined;
  };

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(
        () => {
          timers.delete(t);
          resolve();
        },
        Math.min(ms, maxDelayMs),
      );
      timers.set(t, resolve);
    });

  const forward = (body: Buffer) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        target,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 502, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  /** Rewrites the results a liar lies about; every other answer passes unchanged. */
  const lie = (text: string, methodById: Map<unknown, string>, seed: string): string => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return text;
    }
    const rewrite = (message: unknown) => {
      if (typeof message !== 'object' || message === null) return message;
      const m = message as { id?: unknown; result?: unknown };
      const method = methodById.get(m.id);
      if (method === undefined || !LIE_METHODS.has(method) || m.result === null || m.result === undefined)
        return message;
      if (method === 'eth_call' && typeof m.result === 'string') {
        return { ...m, result: lieAbout(m.result as Hex, seed) };
      }
      const block = m.result as { hash?: unknown };
      if (typeof block === 'object' && typeof block.hash === 'string') {
        return { ...m, result: { ...block, hash: lieAbout(block.hash as Hex, seed) } };
      }
      return message;
    };
    return JSON.stringify(Array.isArray(parsed) ? parsed.map(rewrite) : rewrite(parsed));
  };

  /** Answers `null` to the block methods; every other answer passes unchanged. */
  const behind = (text: string, methodById: Map<unknown, string>): string => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return text;
    }
    const rewrite = (message: unknown) => {
      const m = message as { id?: unknown; result?: unknown } | null;
      const method = m === null || typeof m !== 'object' ? undefined : methodById.get(m.id);
      return method === 'eth_getBlockByNumber' || method === 'eth_getBlockByHash'
        ? { ...m, result: null }
        : message;
    };
    return JSON.stringify(Array.isArray(parsed) ? parsed.map(rewrite) : rewrite(parsed));
  };

  const reply = (
    res: http.ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ) => {
    if (res.destroyed) return;
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...headers,
    });
    res.end(body);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const messages = (Array.isArray(parsed) ? parsed : [parsed]) as (JsonRpcRequest | undefined)[];
    const methodById = new Map<unknown, string>();
    const methods: string[] = [];
    for (const m of messages) {
      const method = typeof m?.method === 'string' ? m.method : '(invalid)';
      methods.push(method);
      methodById.set(m?.id, method);
      stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
    }
    stats.requests++;
    const fault = match(methods);
    if (fault) stats.faults[fault.kind] = (stats.faults[fault.kind] ?? 0) + 1;

    switch (fault?.kind) {
      case 'no-batch':
        if (Array.isArray(parsed)) {
          reply(
            res,
            200,
            JSON.stringify({
              jsonrpc: '2.0',
              id: null,
              error: { code: -32600, message: 'batch requests are not supported' },
            }),
          );
          return;
        }
        break;
      case 'drop':
        req.socket.destroy();
        return;
      case 'http-429':
        reply(
          res,
          429,
          JSON.stringify({ error: 'Too Many Requests' }),
          fault.retryAfterS === undefined ? {} : { 'retry-after': String(fault.retryAfterS) },
        );
        return;
      case 'http-503':
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('Service Unavailable');
        return;
      case 'delay':
        await wait(fault.ms);
        if (closing) {
          req.socket.destroy();
          return;
        }
        break;
      default:
        break;
    }

    let upstream: { status: number; text: string };
    try {
      upstream = await forward(body);
    } catch {
      reply(res, 502, JSON.stringify({ error: 'bad gateway' }));
      return;
    }
    if (fault?.kind === 'truncate') {
      reply(res, upstream.status, upstream.text.slice(0, Math.floor(upstream.text.length / 2)));
      return;
    }
    if (fault?.kind === 'behind') {
      reply(res, upstream.status, behind(upstream.text, methodById));
      return;
    }
    if (fault?.kind === 'lie') {
      reply(res, upstream.status, lie(upstream.text, methodById, fault.seed ?? 'lie'));
      return;
    }
    reply(res, upstream.status, upstream.text);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reply(res, 413, JSON.stringify({ error: 'request too large' }));
        req.socket.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return;
      handle(req, res, Buffer.concat(chunks)).catch(() => req.socket.destroy());
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    setFault(fault, o) {
      rules = fault === undefined ? [] : [ruleOf(fault, o)];
    },
    addFault(fault, o) {
      rules.push(ruleOf(fault, o));
    },
    stats: () => ({ requests: stats.requests, byMethod: { ...stats.byMethod }, faults: { ...stats.faults } }),
    resetStats() {
      stats = { requests: 0, byMethod: {}, faults: {} };
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const [t, resolve] of timers) {
          clearTimeout(t);
          resolve();
        }
        timers.clear();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        agent.destroy();
      });
      return closing;
    },
  };
}
