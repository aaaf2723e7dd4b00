/**
 * Respond — priority mode's feed: which pending transactions a containing action must beat.
 *
 * A chain configured with `mempool: true` has its pending transactions followed in the background
 * (`chain/mempool.ts`) into a book: the transactions seen, by hash, until a block includes them, a
 * newer one from the same sender with the same nonce replaces them, or they are older than the
 * book keeps them. Nothing on a response's path reads the chain for it: the send asks the book,
 * which finds the transactions touching an address through its indexes (0.1–0.3 ms among 20,000
 * pending transactions, against 5–11 ms for a walk of them all; measured with a scratch script).
 *
 * Which pending transactions a plan outbids (`pickOutbid`): those not sent by Firebreak's own
 * executors that either call a contract the response protects (the plan's targets, the market's
 * contracts, the assets the plan changes or the findings name) or come from an account the
 * findings name (a sender in their subject or evidence). An exploit sent by an account no finding
 * names, through a contract of its own, is not recognised; one sent through a private relay is not
 * seen at all. The price then rises strictly above the highest fee cap and the highest tip among
 * them (`fees.ts`), within the executor's `maxFeeGwei`.
 *
 * After the send, while the transactions wait (`watchOutbid`): a matching transaction that arrives
 * later, or an attacker's replacement that bids higher, tells the sender the new price to beat, and
 * the sender replaces its transactions above it (same nonce: exactly once still holds).
 */
import { formatGwei, type Hex } from 'viem';
import type { PendingTxEvent } from '../chain/mempool';
import type { Clock } from '../common/common';
import { describeError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { Finding } from '../detectors/types';
import type { ActionPlan } from './types';

/** The price to beat and the transactions that set it. */
export interface Outbid {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  /** How many pending transactions set it. */
  count: number;
  /** The first few of them (five at most), highest tip first. */
  hashes: Hex[];
}

/** Lower-cased addresses: what a pending transaction may call, or who may send it, to be outbid. */
export interface OutbidRule {
  /** Contracts the response protects. */
  to: ReadonlySet<string>;
  /** Accounts the findings name. */
  from: ReadonlySet<string>;
  /** Firebreak's own senders on the chain: never outbid. */
  own: ReadonlySet<string>;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
/** At most this many hashes are named on the timeline. */
const MAX_HASHES = 5;

/** What a pending transaction pays per gas at most, and as a tip (a legacy one: its gas price for both). */
function priceOf(tx: PendingTxEvent): { cap: bigint; tip: bigint } | null {
  const cap = tx.maxFeePerGas ?? tx.gasPrice;
  const tip = tx.maxPriorityFeePerGas ?? tx.gasPrice;
  return cap === null || tip === null ? null : { cap, tip };
}

/** Whether `rule` says to beat `tx`: not Firebreak's own, and calling a protected contract or sent by a named account. */
function matches(tx: PendingTxEvent, rule: OutbidRule): boolean {
  const from = tx.from.toLowerCase();
  if (rule.own.has(from)) return false;
  return rule.from.has(from) || (tx.to !== null && rule.to.has(tx.to.toLowerCase()));
}

/**
 * The pending transactions `rule` says to beat, and the price that beats all of them: the highest
 * fee cap and the highest tip among them (the two may come from different transactions). Undefined
 * when none matches.
 *
 * @example
 * pickOutbid(book.touching([pool], []), { to: new Set([pool]), from: new Set(), own: new Set([guardian]) })
 * // { maxFeePerGas: 260 gwei, maxPriorityFeePerGas: 120 gwei, hashes: ['0xab…'] }
 */
export function pickOutbid(pending: Iterable<PendingTxEvent>, rule: OutbidRule): Outbid | undefined {
  const matched: { hash: Hex; cap: bigint; tip: bigint }[] = [];
  for (const tx of pending) {
    if (!matches(tx, rule)) continue;
    const price = priceOf(tx);
    if (price) matched.push({ hash: tx.hash, ...price });
  }
  if (matched.length === 0) return undefined;
  matched.sort((a, b) => (a.tip === b.tip ? 0 : a.tip > b.tip ? -1 : 1));
  let cap = 0n;
  for (const m of matched) if (m.cap > cap) cap = m.cap;
  return {
    maxFeePerGas: cap,
    maxPriorityFeePerGas: matched[0]!.tip,
    count: matched.length,
    hashes: matched.slice(0, MAX_HASHES).map((m) => m.hash),
  };
}

/** For the timeline: "outbidding 2 pending tx (0xab…, 0xcd…): above fee cap 260 gwei and tip 120 gwei". */
export function outbidSummary(outbid: Outbid): string {
  const named = outbid.hashes.map((h) => `${h.slice(0, 10)}…`).join(', ');
  const more = outbid.count > outbid.hashes.length ? `, and ${outbid.count - outbid.hashes.length} more` : '';
  return `outbidding ${outbid.count} pending tx (${named}${more}): above fee cap ${formatGwei(outbid.maxFeePerGas)} gwei and tip ${formatGwei(outbid.maxPriorityFeePerGas)} gwei`;
}

/** For the timeline's data: the outbid transactions and their price (wei, as strings). */
export function outbidDetails(outbid: Outbid): Record<string, unknown> {
  return {
    count: outbid.count,
    hashes: outbid.hashes,
    maxFeePerGas: outbid.maxFeePerGas.toString(),
    maxPriorityFeePerGas: outbid.maxPriorityFeePerGas.toString(),
  };
}

/**
 * The rule for one plan: its call targets, the assets it changes, the market contracts and the
 * addresses its findings name as what is protected (`to`); the accounts the findings name, in
 * their subject or as any address in their evidence, as possible senders (`from`).
 */
export function outbidRule(
  plan: ActionPlan,
  findings: readonly Finding[],
  protect: readonly Hex[],
  own: readonly Hex[],
): OutbidRule {
  const to = new Set<string>();
  const from = new Set<string>();
  const add = (set: Set<string>, a: string | null | undefined) => {
    if (a && ADDRESS.test(a)) set.add(a.toLowerCase());
  };
  for (const call of plan.calls) add(to, call.to);
  for (const change of plan.changes ?? []) add(to, change.asset);
  for (const address of protect) add(to, address);
  for (const finding of findings) {
    add(to, finding.subject.asset);
    add(to, finding.subject.market);
    add(from, finding.subject.account);
    for (const value of Object.values(finding.evidence)) if (typeof value === 'string') add(from, value);
  }
  return { to, from, own: new Set(own.map((a) => a.toLowerCase())) };
}

export interface PendingBook {
  /** Pending transactions held now. */
  readonly size: number;
  /**
   * The pending transactions that call one of `to` or come from one of `from` (lower-cased
   * addresses), found through the book's indexes: a response does not walk a mainnet mempool.
   */
  touching(to: Iterable<string>, from: Iterable<string>): PendingTxEvent[];
  /** Adds a pending transaction (a newer one with the same sender and nonce replaces the older). */
  add(tx: PendingTxEvent): void;
  /** Drops transactions a block included (by hash), and any older than the book keeps them. */
  mined(hashes: Iterable<string>): void;
  /** Tells `listener` of every transaction added from now on; returns the unsubscribe. */
  subscribe(listener: (tx: PendingTxEvent) => void): () => void;
}

export interface PendingBookOptions {
  clock: Pick<Clock, 'monotonic'>;
  /** Held at most this long after they were seen (default 120 s: ten mainnet blocks). */
  maxAgeMs?: number;
  /** Held at most this many; the oldest go first (default 20 000). */
  maxEntries?: number;
}

/** The pending transactions seen and not yet mined, replaced or expired (see the module's doc). */
export function createPendingBook(options: PendingBookOptions): PendingBook {
  const maxAgeMs = options.maxAgeMs ?? 120_000;
  const maxEntries = options.maxEntries ?? 20_000;
  /** By hash, in the order seen (a Map keeps insertion order: the oldest first). */
  const byHash = new Map<string, PendingTxEvent>();
  /** `from:nonce` → hash: a replacement drops the transaction it replaces. */
  const bySlot = new Map<string, string>();
  /** Lower-cased callee and sender → hashes. */
  const byTo = new Map<string, Set<string>>();
  const byFrom = new Map<string, Set<string>>();
  const listeners = new Set<(tx: PendingTxEvent) => void>();
  const index = (map: Map<string, Set<string>>, key: string | null, hash: string) => {
    if (key === null) return;
    let set = map.get(key);
    if (!set) {
      set = new Set();
      map.set(key, set);
    }
    set.add(hash);
  };
  const unindex = (map: Map<string, Set<string>>, key: string | null, hash: string) => {
    if (key === null) return;
    const set = map.get(key);
    if (!set) return;
    set.delete(hash);
    if (set.size === 0) map.delete(key);
  };
  const drop = (hash: string) => {
    const tx = byHash.get(hash);
    if (!tx) return;
    byHash.delete(hash);
    const from = tx.from.toLowerCase();
    const slot = `${from}:${tx.nonce}`;
    if (bySlot.get(slot) === hash) bySlot.delete(slot);
    unindex(byTo, tx.to?.toLowerCase() ?? null, hash);
    unindex(byFrom, from, hash);
  };
  const expire = () => {
    const oldest = options.clock.monotonic() - maxAgeMs;
    for (const [hash, tx] of byHash) {
      if (tx.seenAt >= oldest && byHash.size <= maxEntries) break;
      drop(hash);
    }
  };
  return {
    get size() {
      return byHash.size;
    },
    touching(to, from) {
      expire();
      const hashes = new Set<string>();
      for (const a of to) for (const h of byTo.get(a) ?? []) hashes.add(h);
      for (const a of from) for (const h of byFrom.get(a) ?? []) hashes.add(h);
      return [...hashes].map((h) => byHash.get(h)!);
    },
    add(tx) {
      const hash = tx.hash.toLowerCase();
      const from = tx.from.toLowerCase();
      const slot = `${from}:${tx.nonce}`;
      const replaced = bySlot.get(slot);
      if (replaced !== undefined && replaced !== hash) drop(replaced);
      if (byHash.has(hash)) drop(hash);
      byHash.set(hash, tx);
      bySlot.set(slot, hash);
      index(byTo, tx.to?.toLowerCase() ?? null, hash);
      index(byFrom, from, hash);
      if (byHash.size > maxEntries) expire();
      for (const listener of listeners) {
        try {
          listener(tx);
        } catch {
          // Listeners handle their own failures; one that throws must not stop the book's feed.
        }
      }
    },
    mined(hashes) {
      for (const hash of hashes) drop(hash.toLowerCase());
      expire();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * Follows the price `rule` says to beat while a plan's transactions wait: each pending transaction
 * the rule matches that arrives from now on (a new one, or a replacement bidding higher) tells
 * `listener` the price to beat among everything the book holds (`pickOutbid`). Returns the
 * unsubscribe. The listener judges whether the price is above its own.
 */
export function watchOutbid(
  book: PendingBook,
  rule: OutbidRule,
  listener: (outbid: Outbid) => void,
): () => void {
  return book.subscribe((tx) => {
    if (!matches(tx, rule)) return;
    const outbid = pickOutbid(book.touching(rule.to, rule.from), rule);
    if (outbid) listener(outbid);
  });
}

/**
 * Fills `book` from a mempool source until the source ends (it is stopped, or the engine stops).
 * Never throws: a source that fails is logged, and responses then price without the mempool.
 */
export async function followMempool(
  source: AsyncIterable<PendingTxEvent>,
  book: PendingBook,
  logger: Logger,
): Promise<void> {
  try {
    for await (const tx of source) book.add(tx);
  } catch (error) {
    logger.error(
      { err: describeError(error) },
      'mempool: following pending transactions failed; responses are priced without them',
    );
  }
}
