/**
 * Chain — the RPC pool: several HTTP(S) JSON-RPC endpoints of one chain behind one viem transport.
 *
 * - Fallback in health order, with retries (exponential backoff and jitter between rounds) on
 *   network errors, timeouts, HTTP 429 (its `Retry-After` honoured), 5xx and malformed responses.
 *   Deterministic JSON-RPC errors (a revert, invalid params, a rejected transaction) are returned
 *   at once and never retried elsewhere: a revert stays a revert, with its data, so viem decodes it.
 * - Health per endpoint: recent success rate, latency, cooldown after repeated failures (half-open:
 *   one probe after the cooldown; a failed probe doubles it), demotion after a disagreement.
 * - Quorum reads: the same request to every endpoint, answers grouped by value; at least `k` must
 *   agree, or `ERR_QUORUM_NOT_MET`. An endpoint outvoted by a strict majority is reported and
 *   demoted, so it is never preferred while the demotion lasts. An endpoint that is merely behind
 *   (`null` for a block) is asked again until the deadline: it fails, it does not disagree.
 * - A `null` block from one endpoint in an ordinary read is checked with the others first.
 * - Credentials: endpoints are labelled by `label` or their redacted URL; no message, log line,
 *   metric label or error detail carries a URL path, query or user:password, and no thrown error
 *   carries a lower-level error (whose text could hold the URL) as `cause`.
 *
 * It speaks HTTP itself (node:http/https with one keep-alive agent per endpoint) rather than
 * wrapping viem's `http` transport, to see status codes, `Retry-After` and raw bodies, and to keep
 * URLs out of error text in the first place.
 */

import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { type Chain, type Client, createClient, custom, type Hex, toHex } from 'viem';
import type { Common } from '../common/common';
import { type ErrorCode, FirebreakError, redact, registerSecret } from '../common/errors';
import { createMetrics, type MetricsRegistry, type RpcErrorKind, rpcMetrics } from './metrics';

const ERR_QUORUM_NOT_MET: ErrorCode = 'ERR_QUORUM_NOT_MET';

// ── Options and results ────────────────────────────────────────────────────────────────────────

export interface RpcEndpointConfig {
  /** A resolved URL (secrets already substituted by the caller). Only http(s). */
  url: string;
  /** How the endpoint is named in logs, metrics and errors; default: the redacted URL. */
  label?: string;
}

export interface RpcPoolOptions {
  chainId: number;
  endpoints: readonly RpcEndpointConfig[];
  common: Common;
  metrics?: MetricsRegistry;
  /** Time limit of one HTTP request. Default 10 s. */
  timeoutMs?: number;
  /** Rounds after the first (a round tries every endpoint once; backoff between rounds). Default 4. */
  maxRetries?: number;
  /** A `Retry-After` longer than this fails the request instead of waiting. Default 30 s. */
  maxRetryAfterMs?: number;
  /** Time limit of a whole quorum read. Default 2 × `timeoutMs`. */
  quorumTimeoutMs?: number;
  backoff?: Partial<BackoffPolicy>;
  health?: Partial<HealthPolicy>;
  /** The viem chain for `client` (optional; reads work without it). */
  chain?: Chain;
  /** `client`'s polling interval. */
  pollingIntervalMs?: number;
  /** Largest response body accepted. Default 64 MiB. */
  maxResponseBytes?: number;
  /** Jitter source, for tests. Default Math.random. */
  random?: () => number;
  /**
   * Requests to one endpoint started in the same turn of the event loop go out as one JSON-RPC
   * batch (an array body), at most this many per POST; 1 turns batching off. Default 50. An
   * endpoint that answers a batch with anything but an array (or an error status other than 429)
   * is asked one request at a time from then on.
   */
  maxBatch?: number;
}

export interface EndpointHealth {
  label: string;
  /** Position in the configured list. */
  index: number;
  status: 'up' | 'cooldown' | 'rate-limited';
  /** 0..1: recent success rate less a latency penalty (rounded to 2 decimals). */
  score: number;
  successRate: number;
  /** Moving average of the request latency, or null before the first answer. */
  latencyMs: number | null;
  calls: number;
  failures: number;
  consecutiveFailures: number;
  /** True while a disagreement with a quorum keeps the endpoint behind every other. */
  demoted: boolean;
  demotions: number;
  /** Milliseconds until the endpoint leaves cooldown or its rate limit (0 when up). */
  availableInMs: number;
  lastError: RpcErrorKind | null;
}

export interface QuorumReadArgs<T = unknown> {
  method: string;
  params?: readonly unknown[];
  /** Endpoints that must return the same value. */
  k: number;
  /** What to compare (e.g. a block's `hash`); the whole result by default. */
  select?: (result: unknown) => T;
  /** Time limit for the whole read; default the pool's `quorumTimeoutMs`. */
  timeoutMs?: number;
}

export interface QuorumResult<T = unknown> {
  /** The agreed value (after `select`). */
  value: T;
  agreeing: string[];
  /** Endpoints that answered something else; each is reported (warn, metric `disagreement`). */
  disagreeing: { label: string; value: unknown }[];
  /** Endpoints that did not answer in time or answered with an error. */
  failed: { label: string; kind: RpcErrorKind; message: string }[];
}

export interface QuorumCall {
  to: Hex;
  data: Hex;
  /** A fixed block, so that every endpoint reads the same state. */
  blockNumber: bigint;
}

export interface RpcPool {
  readonly chainId: number;
  /** Endpoint labels, in configured order. */
  readonly labels: readonly string[];
  /** A viem client whose transport is this pool. */
  readonly client: Client;
  /** One JSON-RPC request through the pool: fallback, retries, health. */
  request<T = unknown>(method: string, params?: readonly unknown[]): Promise<T>;
  /** Endpoints, best first (the order requests try them in). */
  health(): EndpointHealth[];
  /**
   * Sends one request to every endpoint and returns the value at least `k` agree on.
   *
   * @example
   * const { value: hash } = await pool.quorumRead({
   *   method: 'eth_getBlockByNumber', params: [toHex(n), false], k: 2,
   *   select: (b) => (b as { hash: Hex } | null)?.hash ?? null,
   * });
   */
  quorumRead<T = unknown>(args: QuorumReadArgs<T>): Promise<QuorumResult<T>>;
  /** Confirms that at least `k` endpoints see block `number` with this `hash`; else `ERR_QUORUM_NOT_MET`. */
  confirmBlockHash(number: bigint, hash: Hex, k: number): Promise<QuorumResult<Hex | null>>;
  /** Confirms each `eth_call` returns `expected[i]` on at least `k` endpoints; else `ERR_QUORUM_NOT_MET`. */
  confirmCalls(
    calls: readonly QuorumCall[],
    expected: readonly Hex[],
    k: number,
  ): Promise<QuorumResult<Hex | null>[]>;
  /** Aborts requests in flight, closes connections. */
  close(): Promise<void>;
}

/**
 * A JSON-RPC error answered by an endpoint, shaped as an EIP-1193 provider error (`code`, `data`)
 * so that viem maps it (a revert has `code: 3` and its revert data in `data`).
 */
export class JsonRpcError extends Error {
  override readonly name = 'JsonRpcError';
  readonly code: number;
  readonly data: unknown;
  /** The endpoint's label. */
  readonly endpoint: string;
  readonly method: string;
  constructor(error: RpcErrorObject, endpoint: string, method: string) {
    super(redact(error.message));
    this.code = error.code;
    this.data = error.data;
    this.endpoint = endpoint;
    this.method = method;
  }
}

// ── Pure parts: backoff, Retry-After, classification ──────────────────────────────────────────

export interface BackoffPolicy {
  /** Delay before the second round. */
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay that is random (0: none, 1: "full jitter"). */
  jitter: number;
}
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 50, maxMs: 2_000, jitter: 0.5 };

/**
 * The wait before round `round + 1` (0-based): `min(maxMs, baseMs·2^round)`, of which the
 * `jitter` fraction is random, so retries from many callers do not arrive together.
 *
 * @example backoffDelay(2, { baseMs: 50, maxMs: 2000, jitter: 0.5 }, () => 0) // 200
 */
export function backoffDelay(
  round: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, round));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(exp * (1 - policy.jitter * r));
}

/** Milliseconds to wait from a `Retry-After` header (seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1_000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** The revert data of an error: `data` itself (geth) or `data.data` (Hardhat). */
function revertData(data: unknown): Hex | undefined {
  if (typeof data === 'string' && /^0x[0-9a-fA-F]*$/.test(data)) return data as Hex;
  if (typeof data === 'object' && data !== null) {
    const inner = (data as { data?: unknown }).data;
    if (typeof inner === 'string' && /^0x[0-9a-fA-F]*$/.test(inner)) return inner as Hex;
  }
  return undefined;
}

/** A revert, whatever the node's dialect, as `{ code: 3, message, data: 0x… }` (what viem decodes). */
export function normalizeRpcError(error: RpcErrorObject): RpcErrorObject {
  if (error.code === 3 || /revert/i.test(error.message)) {
    return { code: 3, message: error.message, data: revertData(error.data) ?? '0x' };
  }
  return error;
}

const TX_REJECTED =
  /nonce too low|nonce too high|insufficient funds|already known|replacement transaction underpriced|transaction underpriced|intrinsic gas too low|exceeds block gas limit|gas required exceeds|max fee per gas less than block base fee|invalid sender|invalid signature/i;

/**
 * Whether every honest endpoint would answer the same error: a revert, invalid params or request,
 * a rejected transaction. Such errors are returned, never retried on another endpoint.
 */
export function isDeterministicRpcError(error: RpcErrorObject): boolean {
  const e = normalizeRpcError(error);
  return e.code === 3 || e.code === -32602 || e.code === -32600 || TX_REJECTED.test(e.message);
}

/** `redact` applied to every string inside a JSON value. */
function redactDeep(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(redactDeep);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)]));
  }
  return value;
}

/** A JSON-RPC error that means "slow down" (HTTP 200 with a rate-limit body). */
function isRateLimitRpcError(error: RpcErrorObject): boolean {
  return error.code === 429 || error.code === -32005 || /rate limit|too many requests/i.test(error.message);
}

export type AttemptOutcome =
  | { ok: true; result: unknown }
  | {
      ok: false;
      kind: RpcErrorKind;
      /** Short, redacted. */
      detail: string;
      retryAfterMs?: number;
      /** Set for `rpc-error`: the endpoint's JSON-RPC error (normalized). */
      rpcError?: RpcErrorObject;
      deterministic: boolean;
    };

/**
 * Reads one HTTP answer to a JSON-RPC request with id `id`.
 *
 * @example interpretResponse(429, '2', '', 1, Date.now()) // { ok: false, kind: 'http-429', retryAfterMs: 2000, … }
 */
export function interpretResponse(
  status: number,
  retryAfter: string | undefined,
  text: string,
  id: number,
  nowMs: number,
): AttemptOutcome {
  const fail = (
    kind: RpcErrorKind,
    detail: string,
    extra: { retryAfterMs?: number; rpcError?: RpcErrorObject; deterministic?: boolean } = {},
  ): AttemptOutcome => ({ ok: false, kind, detail: redact(detail), deterministic: false, ...extra });
  if (status === 429) {
    const ms = parseRetryAfter(retryAfter, nowMs);
    return fail('http-429', `HTTP 429${retryAfter ? ` (Retry-After: ${retryAfter})` : ''}`, {
      ...(ms === undefined ? {} : { retryAfterMs: ms }),
    });
  }
  let body: unknown;
  let parsed = true;
  try {
    body = JSON.parse(text);
  } catch {
    parsed = false;
  }
  const message =
    parsed && typeof body === 'object' && body !== null && !Array.isArray(body) ? body : undefined;
  const error = (message as { error?: unknown } | undefined)?.error;
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as RpcErrorObject).code === 'number' &&
    typeof (error as RpcErrorObject).message === 'string'
  ) {
    const raw = error as RpcErrorObject;
    const normalized = normalizeRpcError({
      code: raw.code,
      message: raw.message,
      ...('data' in raw ? { data: raw.data } : {}),
    });
    // The node's text can quote a URL (an upstream's, with its key): redacted before it goes on.
    // Revert data is hex and stays exact, so viem can decode it.
    const rpcError: RpcErrorObject = {
      code: normalized.code,
      message: redact(normalized.message),
      ...('data' in normalized
        ? { data: normalized.code === 3 ? normalized.data : redactDeep(normalized.data) }
        : {}),
    };
    const detail = `JSON-RPC error ${rpcError.code}: ${rpcError.message.split('\n')[0]?.slice(0, 200) ?? ''}`;
    if (isDeterministicRpcError(rpcError))
      return fail('rpc-error', detail, { rpcError, deterministic: true });
    if (isRateLimitRpcError(rpcError)) return fail('http-429', detail);
    if (status >= 500) return fail('http-5xx', `HTTP ${status}, ${detail}`);
    return fail('rpc-error', detail, { rpcError });
  }
  if (status >= 500) return fail('http-5xx', `HTTP ${status}`);
  if (status < 200 || status >= 300) return fail('bad-response', `HTTP ${status}`);
  if (!parsed) return fail('bad-response', `malformed JSON (${text.length} bytes)`);
  if (message === undefined || !('result' in message)) {
    return fail('bad-response', 'not a JSON-RPC response (no result, no error)');
  }
  const gotId = (message as { id?: unknown }).id;
  if (gotId !== id) return fail('bad-response', `JSON-RPC id mismatch (sent ${id}, got ${String(gotId)})`);
  return { ok: true, result: (message as { result: unknown }).result };
}

// ── Pure parts: health ────────────────────────────────────────────────────────────────────────

export interface HealthPolicy {
  /** Weight of the newest outcome in the success-rate and latency averages. */
  ewmaAlpha: number;
  /** Consecutive failures (network, timeout, 5xx, bad response) before a cooldown. */
  failuresBeforeCooldown: number;
  /** First cooldown; doubles with each failed probe. */
  cooldownMs: number;
  maxCooldownMs: number;
  /** First demotion after a disagreement; doubles with each further one. */
  demotionMs: number;
  maxDemotionMs: number;
  /** Latency at which the score's latency penalty is full (0.25). */
  latencyScaleMs: number;
  /** Rate-limit pause after a 429 without `Retry-After`. */
  defaultRateLimitMs: number;
}
export const DEFAULT_HEALTH: HealthPolicy = {
  ewmaAlpha: 0.2,
  failuresBeforeCooldown: 3,
  cooldownMs: 2_000,
  maxCooldownMs: 60_000,
  demotionMs: 10 * 60_000,
  maxDemotionMs: 24 * 60 * 60_000,
  latencyScaleMs: 1_000,
  defaultRateLimitMs: 1_000,
};

/** Health of one endpoint. Times are `clock.monotonic()` milliseconds. */
export interface EndpointState {
  successRate: number;
  latencyMs: number | undefined;
  calls: number;
  failures: number;
  consecutiveFailures: number;
  /** Cooldowns in a row without a success in between. */
  cooldowns: number;
  cooldownUntil: number;
  rateLimitedUntil: number;
  demotions: number;
  demotedUntil: number;
  lastError: RpcErrorKind | undefined;
}

export function initialEndpointState(): EndpointState {
  return {
    successRate: 1,
    latencyMs: undefined,
    calls: 0,
    failures: 0,
    consecutiveFailures: 0,
    cooldowns: 0,
    cooldownUntil: 0,
    rateLimitedUntil: 0,
    demotions: 0,
    demotedUntil: 0,
    lastError: undefined,
  };
}

const ewma = (prev: number | undefined, next: number, alpha: number) =>
  prev === undefined ? next : prev + alpha * (next - prev);

export function recordSuccess(s: EndpointState, latencyMs: number, policy: HealthPolicy): EndpointState {
  return {
    ...s,
    calls: s.calls + 1,
    successRate: ewma(s.successRate, 1, policy.ewmaAlpha),
    latencyMs: ewma(s.latencyMs, latencyMs, policy.ewmaAlpha),
    consecutiveFailures: 0,
    cooldowns: 0,
  };
}

/**
 * A failed attempt. A 429 pauses the endpoint for its `Retry-After`; a JSON-RPC error counts
 * against the success rate only (the endpoint is up, it answered); other kinds count towards a
 * cooldown, which starts after `failuresBeforeCooldown` in a row, or at once for a failed probe.
 */
export function recordFailure(
  s: EndpointState,
  kind: RpcErrorKind,
  now: number,
  policy: HealthPolicy,
  extra: { retryAfterMs?: number; latencyMs?: number } = {},
): EndpointState {
  const next: EndpointState = {
    ...s,
    calls: s.calls + 1,
    failures: s.failures + 1,
    successRate: ewma(s.successRate, 0, policy.ewmaAlpha),
    lastError: kind,
    ...(kind === 'timeout' && extra.latencyMs !== undefined
      ? { latencyMs: ewma(s.latencyMs, extra.latencyMs, policy.ewmaAlpha) }
      : {}),
  };
  if (kind === 'http-429') {
    next.rateLimitedUntil = Math.max(
      s.rateLimitedUntil,
      now + (extra.retryAfterMs ?? policy.defaultRateLimitMs),
    );
    return next;
  }
  if (kind === 'rpc-error' || kind === 'disagreement') return next;
  next.consecutiveFailures = s.consecutiveFailures + 1;
  const cooling = now < s.cooldownUntil;
  if (!cooling && (next.consecutiveFailures >= policy.failuresBeforeCooldown || s.cooldowns > 0)) {
    next.cooldowns = s.cooldowns + 1;
    next.cooldownUntil = now + Math.min(policy.maxCooldownMs, policy.cooldownMs * 2 ** (next.cooldowns - 1));
  }
  return next;
}

/** The endpoint answered something a quorum outvoted: it goes behind every other one for a while. */
export function recordDisagreement(s: EndpointState, now: number, policy: HealthPolicy): EndpointState {
  const demotions = s.demotions + 1;
  return {
    ...s,
    demotions,
    demotedUntil: Math.max(
      s.demotedUntil,
      now + Math.min(policy.maxDemotionMs, policy.demotionMs * 2 ** (demotions - 1)),
    ),
    lastError: 'disagreement',
  };
}

export function scoreOf(s: EndpointState, policy: HealthPolicy): number {
  const latencyPenalty = 0.25 * Math.min(1, (s.latencyMs ?? 0) / policy.latencyScaleMs);
  return Math.round(Math.max(0, s.successRate - latencyPenalty) * 100) / 100;
}

export const isDemoted = (s: EndpointState, now: number) => now < s.demotedUntil;
export const isBlocked = (s: EndpointState, now: number) => now < s.cooldownUntil || now < s.rateLimitedUntil;

/**
 * Endpoint indices, best first: not demoted before demoted, available before cooling down or
 * rate-limited, higher score first, then the configured order (ties keep the user's preference).
 */
export function rankEndpoints(
  states: readonly EndpointState[],
  now: number,
  policy: HealthPolicy = DEFAULT_HEALTH,
): number[] {
  const key = states.map((s) => ({
    demoted: isDemoted(s, now) ? 1 : 0,
    blocked: isBlocked(s, now) ? 1 : 0,
    score: scoreOf(s, policy),
  }));
  return states
    .map((_, i) => i)
    .sort((a, b) => {
      const ka = key[a]!;
      const kb = key[b]!;
      return ka.demoted - kb.demoted || ka.blocked - kb.blocked || kb.score - ka.score || a - b;
    });
}

// ── Pure parts: quorum ────────────────────────────────────────────────────────────────────────

/**
 * A canonical text for deep equality: object keys sorted, hex strings lower-cased (checksummed
 * and plain addresses are the same value), bigints as decimal.
 */
export function canonicalKey(value: unknown): string {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return /^0x[0-9a-fA-F]*$/.test(v) ? v.toLowerCase() : v;
    if (typeof v === 'bigint') return `${v}n`;
    if (v === undefined) return null;
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = walk((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(walk(value)) ?? 'null';
}

export interface VoteGroup<T = unknown> {
  key: string;
  value: T;
  /** Endpoint indices. */
  members: number[];
}

/** Groups answers by deep-equal value, in the order values first appear. */
export function groupVotes<T>(votes: readonly { index: number; value: T }[]): VoteGroup<T>[] {
  const groups = new Map<string, VoteGroup<T>>();
  for (const v of votes) {
    const key = canonicalKey(v.value);
    const g = groups.get(key);
    if (g) g.members.push(v.index);
    else groups.set(key, { key, value: v.value, members: [v.index] });
  }
  return [...groups.values()];
}

/**
 * The winning group: at least `k` members; the largest wins; among equally large groups, the one
 * holding the best-ranked endpoint (the primary, when it answered). `strict` is true when the
 * winner is larger than every other group: only then are the others known to be wrong (demoted).
 */
export function pickQuorum<T>(
  groups: readonly VoteGroup<T>[],
  k: number,
  rank: readonly number[],
): { winner: VoteGroup<T>; strict: boolean } | undefined {
  const position = (i: number) => {
    const p = rank.indexOf(i);
    return p < 0 ? Number.MAX_SAFE_INTEGER : p;
  };
  const best = (g: VoteGroup<T>) => Math.min(...g.members.map(position));
  const eligible = groups
    .filter((g) => g.members.length >= k)
    .sort((a, b) => b.members.length - a.members.length || best(a) - best(b));
  const winner = eligible[0];
  if (!winner) return undefined;
  const strict = groups.every((g) => g === winner || g.members.length < winner.members.length);
  return { winner, strict };
}

/** A short, stable name for a value (error details and logs carry this, not whole blocks). */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(canonicalKey(value)).digest('hex').slice(0, 12);
}

const preview = (value: unknown): unknown =>
  typeof value === 'string' && value.length <= 132
    ? value
    : value === null || typeof value === 'number' || typeof value === 'boolean'
      ? value
      : `sha256:${fingerprint(value)}`;

/**
 * The label of an endpoint without one: scheme, host and port, and `/…` where the URL had a path
 * or query (where providers put keys). Built from the parsed URL, not by `redact`, so it stays the
 * same once the URL is a registered secret (which `redact` would turn into "…(redacted)").
 *
 * @example endpointLabel(new URL('https://u:p@eth.example/v2/KEY')) // 'https://eth.example/…'
 */
export function endpointLabel(url: URL): string {
  const tail = (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '';
  return `${url.protocol}//${url.host}${tail ? '/…' : ''}`;
}

// ── The pool ──────────────────────────────────────────────────────────────────────────────────

class AttemptTimeout extends Error {}
class PoolClosed extends Error {}
class TooLarge extends Error {}

interface Endpoint {
  index: number;
  label: string;
  url: URL;
  agent: http.Agent;
  module: typeof http | typeof https;
  /** Answered a batch with something else than an array: asked one request at a time. */
  noBatch: boolean;
}

/** What one POST brought back. */
interface PostResult {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

/** Block methods whose `null` may only mean "this endpoint is behind": asked of the others first. */
const mayLag = (method: string, params: readonly unknown[]) =>
  method === 'eth_getBlockByHash' ||
  (method === 'eth_getBlockByNumber' && typeof params[0] === 'string' && params[0].startsWith('0x'));

/**
 * Creates the pool of a chain's endpoints.
 *
 * @example
 * const pool = createRpcPool({ chainId: 1, endpoints: urls.map((url) => ({ url })), common, metrics });
 * const block = await getBlock(pool.client, { blockNumber: 19_000_000n });
 * await pool.confirmBlockHash(block.number, block.hash, 2);
 */
export function createRpcPool(options: RpcPoolOptions): RpcPool {
  const { chainId, common } = options;
  if (options.endpoints.length === 0) {
    throw new FirebreakError('ERR_USAGE', `the RPC pool of chain ${chainId} needs at least one endpoint`);
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxRetries = Math.max(0, options.maxRetries ?? 4);
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  const quorumTimeoutMs = options.quorumTimeoutMs ?? 2 * timeoutMs;
  const maxResponseBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
  const backoff: BackoffPolicy = { ...DEFAULT_BACKOFF, ...options.backoff };
  const policy: HealthPolicy = { ...DEFAULT_HEALTH, ...options.health };
  const random = options.random ?? Math.random;
  const maxBatch = Math.max(1, options.maxBatch ?? 50);
  const clock = common.clock;
  const logger = common.logger.child({ chainId });
  const metrics = rpcMetrics(options.metrics ?? createMetrics({ clock }), chainId);

  const seen = new Map<string, number>();
  const endpoints: Endpoint[] = options.endpoints.map((e, index) => {
    let url: URL;
    try {
      url = new URL(e.url);
    } catch {
      throw new FirebreakError(
        'ERR_USAGE',
        `RPC endpoint ${index} of chain ${chainId} is not a URL: "${redact(e.url)}"`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new FirebreakError(
        'ERR_USAGE',
        `RPC endpoint ${index} of chain ${chainId} (${redact(e.url)}) is not http(s); the pool speaks HTTP JSON-RPC\n    fix: put WebSocket URLs in chains[].ws`,
      );
    }
    let label = e.label === undefined ? endpointLabel(url) : redact(e.label);
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    if (n > 1) label = `${label} #${n}`;
    // A URL with a key (path, query, user:password) is a secret wherever it appears.
    if (url.username || url.password || url.search || (url.pathname !== '/' && url.pathname !== '')) {
      registerSecret(e.url);
    }
    const module = url.protocol === 'https:' ? https : http;
    const agent = new module.Agent({ keepAlive: true, maxSockets: 32 });
    return { index, label, url, agent, module, noBatch: false };
  });
  const labels = endpoints.map((e) => e.label);
  if (new Set(labels).size !== labels.length) {
    // Only when a user's label happens to read like another endpoint's "label #n".
    throw new FirebreakError(
      'ERR_USAGE',
      `RPC endpoints of chain ${chainId} need distinct labels, got: ${labels.join(', ')}`,
    );
  }

  const states: EndpointState[] = endpoints.map(() => initialEndpointState());
  const closer = new AbortController();
  // Every request in flight listens for close(): many at once during catch-up is expected.
  setMaxListeners(200, closer.signal);
  let closed = false;
  let nextId = 1;

  const publish = (i: number) => {
    const s = states[i]!;
    const now = clock.monotonic();
    metrics.endpointState(labels[i]!, {
      score: scoreOf(s, policy),
      up: !isBlocked(s, now),
      demoted: isDemoted(s, now),
    });
  };
  endpoints.forEach((_, i) => {
    publish(i);
  });

  const closedError = () =>
    new FirebreakError(
      'ERR_RPC_UNREACHABLE',
      `the RPC pool of chain ${chainId} is closed (or shutting down)`,
      {
        details: { chainId },
      },
    );

  const sleep = (ms: number) =>
    new Promise<void>((resolve, reject) => {
      if (closed || common.signal.aborted) return reject(closedError());
      const done = () => {
        clearTimeout(timer);
        closer.signal.removeEventListener('abort', abort);
        common.signal.removeEventListener('abort', abort);
      };
      const abort = () => {
        done();
        reject(closedError());
      };
      const timer = setTimeout(() => {
        done();
        resolve();
      }, ms);
      closer.signal.addEventListener('abort', abort, { once: true });
      common.signal.addEventListener('abort', abort, { once: true });
    });

  /** One POST; resolves with the status, `Retry-After` and body text, or rejects (network, timeout, closed). */
  const post = (ep: Endpoint, body: string, limitMs: number) =>
    new Promise<PostResult>((resolve, reject) => {
      if (closed) return reject(new PoolClosed());
      // Why this request was cut short, if we cut it. It is settled at once with that reason and
      // then destroyed without an error (an error given to `destroy` can surface as an uncaught
      // exception when the response had already been read off the socket); whatever Node reports
      // afterwards ('aborted', 'socket hang up') finds the promise settled.
      let cut: Error | undefined;
      const fail = (error: Error) => {
        finish();
        reject(cut ?? error);
      };
      const cutShort = (reason: Error) => {
        if (cut) return;
        cut = reason;
        fail(reason);
        req.destroy();
      };
      const req = ep.module.request(
        ep.url,
        {
          method: 'POST',
          agent: ep.agent,
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= maxResponseBytes) chunks.push(chunk);
            else {
              cutShort(new TooLarge(`response larger than ${maxResponseBytes} bytes`));
              res.destroy();
            }
          });
          res.on('end', () => {
            if (cut) return;
            finish();
            const retryAfter = res.headers['retry-after'];
            resolve({
              status: res.statusCode ?? 0,
              retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
              text: Buffer.concat(chunks).toString('utf8'),
            });
          });
          res.on('error', fail);
        },
      );
      const timer = setTimeout(() => cutShort(new AttemptTimeout()), Math.max(1, limitMs));
      const onClose = () => cutShort(new PoolClosed());
      closer.signal.addEventListener('abort', onClose, { once: true });
      const finish = () => {
        clearTimeout(timer);
        closer.signal.removeEventListener('abort', onClose);
      };
      req.on('error', fail);
      req.end(body);
    });

  /** Requests waiting for this turn's batch, by endpoint and time limit. */
  const queued = new Map<
    string,
    { ep: Endpoint; limitMs: number; items: { id: number; body: string; settle: Settle }[] }
  >();
  type Settle = { resolve(r: PostResult): void; reject(e: unknown): void };

  /** Sends each item on its own POST (an endpoint that does not take batches). */
  const postEach = (ep: Endpoint, limitMs: number, items: { body: string; settle: Settle }[]) => {
    for (const item of items) post(ep, item.body, limitMs).then(item.settle.resolve, item.settle.reject);
  };

  /** One POST for a batch; each item is handed its own message as if it had been asked alone. */
  const postBatch = async (
    ep: Endpoint,
    limitMs: number,
    items: { id: number; body: string; settle: Settle }[],
  ) => {
    let res: PostResult;
    try {
      res = await post(ep, `[${items.map((i) => i.body).join(',')}]`, limitMs);
    } catch (error) {
      for (const i of items) i.settle.reject(error);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.text);
    } catch {
      parsed = undefined; // truncated or not JSON: every item sees the same bad answer
    }
    const rejectsBatches =
      (res.status >= 200 && res.status < 300 && parsed !== undefined && !Array.isArray(parsed)) ||
      (res.status >= 400 && res.status < 500 && res.status !== 429);
    if (rejectsBatches) {
      ep.noBatch = true;
      logger.warn(
        { endpoint: ep.label, status: res.status },
        `rpc pool: endpoint ${ep.label} does not take JSON-RPC batches; asking it one request at a time`,
      );
      postEach(ep, limitMs, items);
      return;
    }
    if (!Array.isArray(parsed)) {
      for (const i of items) i.settle.resolve(res);
      return;
    }
    const byId = new Map<unknown, unknown>();
    for (const m of parsed) if (typeof m === 'object' && m !== null) byId.set((m as { id?: unknown }).id, m);
    for (const i of items) {
      const message = byId.get(i.id);
      i.settle.resolve({
        status: res.status,
        retryAfter: res.retryAfter,
        text: message === undefined ? '' : JSON.stringify(message),
      });
    }
  };

  /** A request's POST: joined with the others of this turn to the same endpoint in one batch. */
  const send = (ep: Endpoint, id: number, body: string, limitMs: number): Promise<PostResult> => {
    if (maxBatch <= 1 || ep.noBatch) return post(ep, body, limitMs);
    return new Promise<PostResult>((resolve, reject) => {
      const key = `${ep.index}:${limitMs}`;
      let q = queued.get(key);
      if (!q) {
        q = { ep, limitMs, items: [] };
        queued.set(key, q);
        const batch = q;
        setImmediate(() => {
          queued.delete(key);
          for (let i = 0; i < batch.items.length; i += maxBatch) {
            const chunk = batch.items.slice(i, i + maxBatch);
            if (chunk.length === 1 || ep.noBatch) postEach(ep, limitMs, chunk);
            else void postBatch(ep, limitMs, chunk);
          }
        });
      }
      q.items.push({ id, body, settle: { resolve, reject } });
    });
  };

  /** One attempt on one endpoint: HTTP, classification, health and metrics. */
  const attempt = async (
    i: number,
    method: string,
    params: readonly unknown[],
    limitMs: number,
  ): Promise<AttemptOutcome> => {
    const ep = endpoints[i]!;
    const id = nextId++;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, params });
    const started = clock.monotonic();
    let outcome: AttemptOutcome;
    try {
      const res = await send(ep, id, body, limitMs);
      outcome = interpretResponse(res.status, res.retryAfter, res.text, id, clock.now());
    } catch (error) {
      if (error instanceof PoolClosed) throw closedError();
      const timeout = error instanceof AttemptTimeout;
      const code = (error as { code?: unknown }).code;
      outcome = {
        ok: false,
        kind: timeout ? 'timeout' : error instanceof TooLarge ? 'bad-response' : 'network',
        detail: timeout
          ? `no complete answer within ${Math.round(limitMs)} ms`
          : redact(typeof code === 'string' ? code : ((error as Error).message ?? String(error))),
        deterministic: false,
      };
    }
    const now = clock.monotonic();
    const latencyMs = now - started;
    metrics.call(ep.label, latencyMs);
    const before = states[i]!;
    if (outcome.ok || outcome.deterministic) {
      // A revert or invalid params is an answer: the endpoint works (not counted as its error).
      states[i] = recordSuccess(before, latencyMs, policy);
    } else {
      metrics.error(ep.label, outcome.kind);
      states[i] = recordFailure(before, outcome.kind, now, policy, {
        ...(outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs }),
        latencyMs,
      });
      const after = states[i]!;
      if (after.cooldownUntil > before.cooldownUntil) {
        logger.warn(
          { endpoint: ep.label, kind: outcome.kind, cooldownMs: Math.round(after.cooldownUntil - now) },
          `rpc pool: endpoint ${ep.label} is failing (${outcome.detail}); cooling down`,
        );
      } else {
        logger.debug(
          { endpoint: ep.label, method, kind: outcome.kind, detail: outcome.detail },
          'rpc attempt failed',
        );
      }
    }
    publish(i);
    return outcome;
  };

  type Choice =
    | { type: 'pick'; index: number; waitMs: number }
    | { type: 'round-over' }
    | { type: 'give-up'; why: string };

  /** The next endpoint to try in this round: the best untried available one; else probe or wait. */
  const choose = (tried: ReadonlySet<number>): Choice => {
    const now = clock.monotonic();
    const untried = rankEndpoints(states, now, policy).filter((i) => !tried.has(i));
    if (untried.length === 0) return { type: 'round-over' };
    const ready = untried.find((i) => !isBlocked(states[i]!, now));
    if (ready !== undefined) return { type: 'pick', index: ready, waitMs: 0 };
    // Every untried endpoint is blocked. One that is only cooling down gets a probe now;
    // a rate-limited one is waited for, as its Retry-After asks, if that is not too long.
    const cooling = untried.filter((i) => now >= states[i]!.rateLimitedUntil);
    if (cooling.length > 0) {
      const first = cooling.reduce((a, b) => (states[b]!.cooldownUntil < states[a]!.cooldownUntil ? b : a));
      return { type: 'pick', index: first, waitMs: 0 };
    }
    const soonest = untried.reduce((a, b) =>
      states[b]!.rateLimitedUntil < states[a]!.rateLimitedUntil ? b : a,
    );
    const waitMs = states[soonest]!.rateLimitedUntil - now;
    if (waitMs > maxRetryAfterMs) {
      return { type: 'give-up', why: `every endpoint is rate-limited for ≥ ${Math.ceil(waitMs / 1_000)} s` };
    }
    return { type: 'pick', index: soonest, waitMs };
  };

  const request = async <T = unknown>(method: string, params: readonly unknown[] = []): Promise<T> => {
    if (closed) throw closedError();
    const tried = new Set<number>();
    const failures: { endpoint: string; kind: RpcErrorKind; detail: string }[] = [];
    let lastRpcError: JsonRpcError | undefined;
    let sawNull = false;
    let attempts = 0;
    let round = 0;
    let gaveUp: string | undefined;
    // A round tries every endpoint once; `maxRetries` more rounds follow, with backoff between them.
    // (A budget of attempts across endpoints would let a dead endpoint use up the retry a healthy
    // one needs after a transient failure, such as a reset keep-alive socket.)
    while (round <= maxRetries && attempts < (maxRetries + 1) * endpoints.length) {
      const choice = choose(tried);
      if (choice.type === 'give-up') {
        gaveUp = choice.why;
        break;
      }
      if (choice.type === 'round-over') {
        if (sawNull) return null as T;
        tried.clear();
        await sleep(backoffDelay(round++, backoff, random));
        continue;
      }
      if (choice.waitMs > 0) await sleep(choice.waitMs);
      tried.add(choice.index);
      attempts++;
      const outcome = await attempt(choice.index, method, params, timeoutMs);
      if (outcome.ok) {
        if (outcome.result === null && mayLag(method, params)) {
          sawNull = true;
          continue;
        }
        return outcome.result as T;
      }
      const label = labels[choice.index]!;
      failures.push({ endpoint: label, kind: outcome.kind, detail: outcome.detail });
      if (outcome.rpcError) {
        const error = new JsonRpcError(outcome.rpcError, label, method);
        if (outcome.deterministic) throw error;
        lastRpcError = error;
      }
    }
    if (sawNull) return null as T;
    if (lastRpcError) throw lastRpcError;
    const summary = failures
      .slice(-6)
      .map((f) => `${f.endpoint}: ${f.kind} (${f.detail})`)
      .join('; ');
    throw new FirebreakError(
      'ERR_RPC_UNREACHABLE',
      `${method} failed on the RPC endpoints of chain ${chainId} after ${attempts} attempt(s)${gaveUp ? `; ${gaveUp}` : ''}: ${summary || 'no endpoint available'}\n    fix: check the endpoints (health(), firebreak_rpc_errors_total), the network and the providers' rate limits`,
      // No `cause`: lower-level error text can carry the full URL.
      { retryable: true, details: { chainId, method, attempts: failures } },
    );
  };

  type Answer =
    | { index: number; ok: true; result: unknown }
    | { index: number; ok: false; kind: RpcErrorKind; message: string };

  /**
   * One endpoint's answer for a quorum read. Transient failures are retried with backoff until the
   * deadline; so is a `null` block (the endpoint is behind the others at the tip): it is not a vote,
   * and if it lasts to the deadline the endpoint counts as failed, not as disagreeing.
   */
  const askOne = async (
    i: number,
    method: string,
    params: readonly unknown[],
    deadline: number,
  ): Promise<Answer> => {
    let last: Answer | undefined;
    const behind: Answer = {
      index: i,
      ok: false,
      kind: 'timeout',
      message: 'the block was not available on this endpoint in time',
    };
    let sawNull = false;
    for (let round = 0; ; round++) {
      const left = deadline - clock.monotonic();
      if (left <= 0) break;
      const outcome = await attempt(i, method, params, Math.min(timeoutMs, left));
      if (outcome.ok && !(outcome.result === null && mayLag(method, params))) {
        return { index: i, ok: true, result: outcome.result };
      }
      if (outcome.ok) sawNull = true;
      // A retry cut short by the deadline says less than the null before it.
      last =
        outcome.ok || (sawNull && outcome.kind === 'timeout')
          ? behind
          : { index: i, ok: false, kind: outcome.kind, message: outcome.detail };
      if (!outcome.ok && outcome.deterministic) break;
      const wait = (!outcome.ok && outcome.retryAfterMs) || backoffDelay(round, backoff, random);
      if (clock.monotonic() + wait >= deadline) break;
      await sleep(wait);
    }
    return (
      last ?? { index: i, ok: false, kind: 'timeout', message: 'no time left before the quorum deadline' }
    );
  };

  const quorumRead = async <T = unknown>(args: QuorumReadArgs<T>): Promise<QuorumResult<T>> => {
    if (closed) throw closedError();
    const { method, k } = args;
    const params = args.params ?? [];
    if (!Number.isInteger(k) || k < 1 || k > endpoints.length) {
      throw new FirebreakError(
        'ERR_USAGE',
        `quorum ${k} is impossible with ${endpoints.length} RPC endpoint(s) on chain ${chainId}\n    fix: use 1 ≤ k ≤ ${endpoints.length}, or add independent endpoints`,
      );
    }
    const start = clock.monotonic();
    const rank = rankEndpoints(states, start, policy);
    const deadline = start + (args.timeoutMs ?? quorumTimeoutMs);
    const answers = await Promise.all(endpoints.map((_, i) => askOne(i, method, params, deadline)));
    const select = args.select ?? ((r: unknown) => r as T);
    const votes: { index: number; value: T }[] = [];
    const failed: QuorumResult['failed'] = [];
    for (const a of answers) {
      if (a.ok) votes.push({ index: a.index, value: select(a.result) });
      else failed.push({ label: labels[a.index]!, kind: a.kind, message: a.message });
    }
    const groups = groupVotes(votes);
    const picked = pickQuorum(groups, k, rank);
    if (!picked) {
      metrics.quorum('not-met');
      const largest = Math.max(0, ...groups.map((g) => g.members.length));
      throw new FirebreakError(
        ERR_QUORUM_NOT_MET,
        `quorum not met for ${method} on chain ${chainId}: ${k} endpoint(s) must agree, the largest agreeing group has ${largest} (${votes.length} answered in ${groups.length} different value(s), ${failed.length} failed)`,
        {
          retryable: true,
          details: {
            chainId,
            method,
            k,
            reason: 'no-quorum',
            groups: groups.map((g) => ({
              endpoints: g.members.map((m) => labels[m]!),
              value: preview(g.value),
            })),
            failed,
          },
        },
      );
    }
    const { winner, strict } = picked;
    const disagreeing: QuorumResult['disagreeing'] = [];
    const now = clock.monotonic();
    for (const g of groups) {
      if (g === winner) continue;
      for (const i of g.members) {
        const label = labels[i]!;
        disagreeing.push({ label, value: g.value });
        metrics.error(label, 'disagreement');
        if (strict) {
          states[i] = recordDisagreement(states[i]!, now, policy);
          publish(i);
        }
        logger.warn(
          {
            endpoint: label,
            method,
            agreed: preview(winner.value),
            answered: preview(g.value),
            agreeing: winner.members.map((m) => labels[m]!),
            demoted: strict,
          },
          `rpc pool: endpoint ${label} disagrees with the quorum on ${method}${strict ? '; demoted' : ''}`,
        );
      }
    }
    metrics.quorum('met');
    return { value: winner.value, agreeing: winner.members.map((m) => labels[m]!), disagreeing, failed };
  };

  const mismatch = (what: string, details: Record<string, unknown>) =>
    new FirebreakError(ERR_QUORUM_NOT_MET, what, {
      retryable: true,
      details: { chainId, reason: 'mismatch', ...details },
    });

  const lowerHex = (r: unknown): Hex | null => (typeof r === 'string' ? (r.toLowerCase() as Hex) : null);

  const confirmBlockHash = async (number: bigint, hash: Hex, k: number) => {
    const result = await quorumRead<Hex | null>({
      method: 'eth_getBlockByNumber',
      params: [toHex(number), false],
      k,
      select: (b) => lowerHex((b as { hash?: unknown } | null)?.hash),
    });
    if (result.value !== hash.toLowerCase()) {
      throw mismatch(
        `block ${number} of chain ${chainId} is not confirmed: ${result.agreeing.length} endpoint(s) agree on ${result.value ?? 'no block'}, not ${hash}`,
        { blockNumber: number.toString(), expected: hash, agreed: result.value, agreeing: result.agreeing },
      );
    }
    return result;
  };

  const confirmCalls = async (calls: readonly QuorumCall[], expected: readonly Hex[], k: number) => {
    if (calls.length !== expected.length) {
      throw new FirebreakError(
        'ERR_USAGE',
        `confirmCalls: ${calls.length} call(s) but ${expected.length} expected result(s)`,
      );
    }
    const settled = await Promise.allSettled(
      calls.map((c) =>
        quorumRead<Hex | null>({
          method: 'eth_call',
          params: [{ to: c.to, data: c.data }, toHex(c.blockNumber)],
          k,
          select: lowerHex,
        }),
      ),
    );
    const results: QuorumResult<Hex | null>[] = [];
    for (const [i, s] of settled.entries()) {
      if (s.status === 'rejected') throw s.reason;
      const want = expected[i]!.toLowerCase();
      if (s.value.value !== want) {
        const call = calls[i]!;
        throw mismatch(
          `state read ${i} (eth_call to ${call.to} at block ${call.blockNumber}) of chain ${chainId} is not confirmed: ${s.value.agreeing.length} endpoint(s) agree on ${preview(s.value.value)}, not ${preview(want)}`,
          {
            index: i,
            to: call.to,
            blockNumber: call.blockNumber.toString(),
            expected: preview(want),
            agreed: preview(s.value.value),
            agreeing: s.value.agreeing,
          },
        );
      }
      results.push(s.value);
    }
    return results;
  };

  const health = (): EndpointHealth[] => {
    endpoints.forEach((_, i) => {
      publish(i); // gauges catch up with cooldowns and demotions that ran out
    });
    const now = clock.monotonic();
    return rankEndpoints(states, now, policy).map((i) => {
      const s = states[i]!;
      const status: EndpointHealth['status'] =
        now < s.rateLimitedUntil ? 'rate-limited' : now < s.cooldownUntil ? 'cooldown' : 'up';
      return {
        label: labels[i]!,
        index: i,
        status,
        score: scoreOf(s, policy),
        successRate: Math.round(s.successRate * 1_000) / 1_000,
        latencyMs: s.latencyMs === undefined ? null : Math.round(s.latencyMs * 100) / 100,
        calls: s.calls,
        failures: s.failures,
        consecutiveFailures: s.consecutiveFailures,
        demoted: isDemoted(s, now),
        demotions: s.demotions,
        availableInMs: Math.max(0, Math.ceil(Math.max(s.cooldownUntil, s.rateLimitedUntil) - now)),
        lastError: s.lastError ?? null,
      };
    });
  };

  const client = createClient({
    ...(options.chain ? { chain: options.chain } : {}),
    ...(options.pollingIntervalMs === undefined ? {} : { pollingInterval: options.pollingIntervalMs }),
    transport: custom(
      {
        request: ({ method, params }: { method: string; params?: unknown }) =>
          request(method, Array.isArray(params) ? params : params === undefined ? [] : [params]),
      },
      { key: 'firebreak-pool', name: 'Firebreak RPC pool', retryCount: 0 },
    ),
  });

  return {
    chainId,
    labels,
    client,
    request,
    health,
    quorumRead,
    confirmBlockHash,
    confirmCalls,
    async close() {
      if (closed) return;
      closed = true;
      closer.abort();
      for (const ep of endpoints) ep.agent.destroy();
    },
  };
}

export interface RecordedCall extends QuorumCall {
  /** What the pool answered. */
  result: Hex;
}

/**
 * A client over the pool that remembers each successful `eth_call` pinned to a block number: the
 * state reads behind a block's findings, to confirm with `confirmCalls` before acting on them.
 * Calls at a tag (`latest`) or with state overrides are not recorded (another endpoint could not
 * reproduce them). One per block; cheap.
 *
 * @example
 * const reads = recordingClient(pool);
 * const view = createBlockView(reads.client, chainId, block.number); // detectors read through it
 * // … before an action on these findings:
 * const calls = reads.calls();
 * await pool.confirmCalls(calls, calls.map((c) => c.result), quorum);
 */
export function recordingClient(pool: {
  client: Client;
  request(method: string, params: readonly unknown[]): Promise<unknown>;
}): {
  client: Client;
  calls(): RecordedCall[];
} {
  const recorded = new Map<string, RecordedCall>();
  const client = createClient({
    ...(pool.client.chain ? { chain: pool.client.chain } : {}),
    transport: custom(
      {
        async request({ method, params }: { method: string; params?: unknown }) {
          const args = Array.isArray(params) ? params : params === undefined ? [] : [params];
          const result = await pool.request(method, args);
          const [call, block, overrides] = args as [
            { to?: unknown; data?: unknown } | undefined,
            unknown,
            unknown,
          ];
          if (
            method === 'eth_call' &&
            overrides === undefined &&
            typeof block === 'string' &&
            /^0x[0-9a-fA-F]+$/.test(block) &&
            typeof call?.to === 'string' &&
            typeof call.data === 'string' &&
            typeof result === 'string'
          ) {
            const entry: RecordedCall = {
              to: call.to as Hex,
              data: call.data as Hex,
              blockNumber: BigInt(block),
              result: result as Hex,
            };
            recorded.set(`${entry.to.toLowerCase()}|${entry.data.toLowerCase()}|${entry.blockNumber}`, entry);
          }
          return result;
        },
      },
      { key: 'firebreak-pool-recording', name: 'Firebreak RPC pool (recording)', retryCount: 0 },
    ),
  });
  return { client, calls: () => [...recorded.values()] };
}
