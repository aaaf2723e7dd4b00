/**
 * Chain — read-ahead: the reads a block's consumers made, started for the next block as soon as it
 * is known, all at once, so the detectors find their answers in flight instead of waiting on round
 * trips one dependency after another.
 *
 * Live, each block costs the detectors a few waves of requests: the block's logs, the prices and
 * reserves they read, then reads that depend on those (a pair's feeds once the pair is known). The
 * same requests come back block after block with only the block number (or hash) changed. So while
 * block n is processed, every read request that names n — its number as the block tag, or its hash —
 * is kept as a template; `begin(n + 1)` sends each template with n + 1 in its place, and a consumer
 * asking the same thing at n + 1 is handed the request already in flight. A request nobody asks for
 * again is dropped from the set after one block; an answer is never used for another block.
 *
 * Only reads are learned (`eth_call`, `eth_getLogs`, balances, code, storage); a substitution
 * replaces only a whole string value equal to the block's tag or hash (calldata is never touched).
 * An error of a request sent ahead reaches the consumer that asks for it, as it would have; one
 * nobody asks for is dropped. At most `maxTemplates` requests are learned per block.
 *
 * Within the block, a read that names it is asked of the node once: whoever asks the same again
 * (the risk engine's book and a response's plan both read a reserve's configuration at the
 * finding's block) is handed the same answer, with no round trip between finding and broadcast. A
 * failed read is not kept: the next to ask sends it again.
 */
import { type Client, createClient, custom, toHex } from 'viem';
import type { BlockRef } from './events';

/** One JSON-RPC request: what the read-ahead sends on. */
export type RequestFn = (method: string, params: readonly unknown[]) => Promise<unknown>;

export interface ReadAhead {
  /** A viem client whose reads go through the read-ahead (and everything else straight through). */
  readonly client: Client;
  /** The same as a request function (for wrappers that take one: the quorum recorder). */
  request: RequestFn;
  /**
   * A new block is about to be processed: the reads learned on the previous block are sent for
   * this one, and learning starts over for it.
   */
  begin(block: Pick<BlockRef, 'number' | 'hash'>): void;
  /**
   * Counters: requests sent ahead, answered from them, answered again from the block's earlier
   * answer, learned templates at the last `begin`.
   */
  stats(): { sentAhead: number; used: number; repeated: number; templates: number };
}

export interface ReadAheadOptions {
  /** Largest number of requests learned from one block. Default 1,000. */
  maxTemplates?: number;
  /** The viem chain for `client`, if any. */
  chain?: Client['chain'];
}

const READS = new Set(['eth_call', 'eth_getLogs', 'eth_getBalance', 'eth_getCode', 'eth_getStorageAt']);

interface Template {
  method: string;
  params: readonly unknown[];
}

/** Whether `value` holds a string equal to one of `marks` (anywhere in arrays and plain objects). */
function mentions(value: unknown, marks: readonly string[]): boolean {
  if (typeof value === 'string') return marks.includes(value.toLowerCase());
  if (Array.isArray(value)) return value.some((v) => mentions(v, marks));
  if (value !== null && typeof value === 'object')
    return Object.values(value).some((v) => mentions(v, marks));
  return false;
}

/** `value` with each string equal to a key of `to` (lower-cased) replaced by its value. */
function substitute(value: unknown, to: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') return to.get(value.toLowerCase()) ?? value;
  if (Array.isArray(value)) return value.map((v) => substitute(v, to));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, to)]));
  return value;
}

const keyOf = (method: string, params: readonly unknown[]) => `${method}:${JSON.stringify(params)}`;

/**
 * Wraps a request function with a read-ahead.
 *
 * @example
 * const ahead = createReadAhead((m, p) => pool.request(m, p));
 * ahead.begin(block); // then read through ahead.client
 */
export function createReadAhead(send: RequestFn, options: ReadAheadOptions = {}): ReadAhead {
  const maxTemplates = options.maxTemplates ?? 1_000;
  let marks: string[] = [];
  /** Requests seen for the current block, by key. */
  let learned = new Map<string, Template>();
  /** Requests sent ahead for the current block, by key; taken once. */
  let ahead = new Map<string, Promise<unknown>>();
  /** The current block's reads asked so far (sent ahead or not), by key: each is sent once. */
  let answers = new Map<string, Promise<unknown>>();
  let sentAhead = 0;
  let used = 0;
  let repeated = 0;
  let templates = 0;

  const request: RequestFn = (method, params) => {
    if (!READS.has(method) || marks.length === 0) return send(method, params);
    const key = keyOf(method, params);
    const answered = answers.get(key);
    if (answered !== undefined) {
      repeated++;
      return answered;
    }
    if (!mentions(params, marks)) return send(method, params);
    if (learned.size < maxTemplates && !learned.has(key)) learned.set(key, { method, params });
    let answer = ahead.get(key);
    if (answer !== undefined) {
      ahead.delete(key);
      used++;
    } else {
      answer = send(method, params);
    }
    if (answers.size < maxTemplates) {
      const held = answers;
      held.set(key, answer);
      answer.catch(() => {
        if (held.get(key) === answer) held.delete(key); // asked again, sent again
      });
    }
    return answer;
  };

  const begin = (block: Pick<BlockRef, 'number' | 'hash'>) => {
    const previous = marks;
    const next = [toHex(block.number), block.hash.toLowerCase()];
    const templatesOfPrevious = [...learned.values()];
    marks = next;
    learned = new Map();
    ahead = new Map();
    answers = new Map();
    templates = templatesOfPrevious.length;
    if (previous.length === 0) return;
    const to = new Map([
      [previous[0]!, next[0]!],
      [previous[1]!, next[1]!],
    ]);
    for (const t of templatesOfPrevious) {
      const params = substitute(t.params, to) as readonly unknown[];
      const key = keyOf(t.method, params);
      if (ahead.has(key)) continue;
      const pending = send(t.method, params);
      // Nobody may ask for it: its failure must not surface as an unhandled rejection.
      pending.catch(() => undefined);
      ahead.set(key, pending);
      sentAhead++;
    }
  };

  const client = createClient({
    ...(options.chain ? { chain: options.chain } : {}),
    transport: custom(
      {
        request: ({ method, params }: { method: string; params?: unknown }) =>
          request(method, Array.isArray(params) ? params : params === undefined ? [] : [params]),
      },
      { key: 'firebreak-read-ahead', name: 'Firebreak read-ahead', retryCount: 0 },
    ),
  });

  return { client, request, begin, stats: () => ({ sentAhead, used, repeated, templates }) };
}

/** A request function over a viem client (for a chain given as a client alone). */
export function requestOf(client: Client): RequestFn {
  return (method, params) => client.request({ method, params } as never) as Promise<unknown>;
}
