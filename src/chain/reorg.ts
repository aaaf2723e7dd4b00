/**
 * Chain — the reorg tracker: the unfinalized window of the canonical chain, and the one place that
 * decides what a newly fetched block means (`block`, `reorg`, `finalized`).
 *
 * Pure: no I/O. The ingestor fetches blocks and hands them in as a *branch* (ascending, each the
 * parent of the next); the tracker answers with the events to emit, or with what it needs first:
 * the parent of the branch (a walk back by hash, until the branch meets the window) or the blocks
 * of a gap (fetched by number). So the same tracker serves a poller, a WebSocket head stream and a
 * replay, and is tested without a chain.
 *
 * The window holds the blocks from the last finalized one (`tip - confirmations`, kept as the base
 * that a reorg can fall back to) up to the tip. A reorg whose common ancestor is below the base is
 * deeper than the window: the tracker cannot name every orphaned block, so it says so with a
 * `deep-reorg` event (the engine logs it as an error) rather than pretending it was a normal one.
 *
 * @example
 * const tracker = createReorgTracker({ chainId: 1, confirmations: 12 });
 * let branch = [await fetchByNumber(n)];
 * for (;;) {
 *   const next = tracker.advance(branch, performance.now());
 *   if (next.type === 'events') { emit(next.events); break; }
 *   if (next.type === 'need-parent') branch = [await fetchByHash(next.hash), ...branch];
 *   else break; // a gap: fetch from `next.from` by number and try again
 * }
 */
import type { Hex } from 'viem';
import type { BlockRef, ChainEvent, FinalizedEvent, ReorgEvent } from './events';

/**
 * A reorg deeper than the window: every block the tracker held from `orphaned`'s lowest up is no
 * longer canonical, and blocks orphaned below the window (if any) are unknown. The new branch
 * follows as `block` events from `anchor.number + 1`; `anchor` (a block of the new branch, just
 * below the old window) is trusted as canonical but was not emitted.
 */
export interface DeepReorgEvent {
  type: 'deep-reorg';
  chainId: number;
  /** Highest first. */
  orphaned: BlockRef[];
  anchor: BlockRef;
  /** How many blocks the window held when it happened (confirmations + 1 once full). */
  window: number;
  receivedAt: number;
}

/** What the tracker (and so the ingestor) emits: the chain events, plus a reorg it cannot fully see. */
export type TrackedEvent = ChainEvent | DeepReorgEvent;

export type Advance =
  /** Emit these, in order (possibly none: nothing new). */
  | { type: 'events'; events: TrackedEvent[] }
  /** The branch does not meet the window yet: fetch this block (the branch's parent) and prepend it. */
  | { type: 'need-parent'; hash: Hex; number: bigint }
  /** The branch starts above the tip: blocks `from`..`to` are missing; fetch them by number. */
  | { type: 'gap'; from: bigint; to: bigint };

export interface ReorgTrackerOptions {
  chainId: number;
  /** Blocks on top of a block after which it counts as final; the window holds this many plus one. */
  confirmations: number;
  /**
   * Blocks known to be canonical at start, ascending (the last ones processed, from the store). Only
   * the run of blocks linked by `parentHash` that ends at the last one is kept.
   */
  window?: readonly BlockRef[];
}

export interface ReorgTracker {
  /** The highest canonical block held, or `undefined` before the first. */
  readonly tip: BlockRef | undefined;
  /** The lowest block held: the last finalized one once the window is full. */
  readonly base: BlockRef | undefined;
  /** The canonical block held at a height. */
  at(number: bigint): BlockRef | undefined;
  /** The blocks held, ascending. */
  window(): readonly BlockRef[];
  /**
   * Decides what a branch of fetched blocks means. Blocks already held are skipped (a block is never
   * emitted twice); a branch that only reaches below the window decides nothing.
   */
  advance(branch: readonly BlockRef[], receivedAt: number): Advance;
}

export function createReorgTracker(options: ReorgTrackerOptions): ReorgTracker {
  const { chainId } = options;
  const confirmations = BigInt(options.confirmations);
  /** Ascending, contiguous, each the parent of the next. */
  let window: BlockRef[] = chainEndingAtLast(options.window ?? []);
  /** The highest block number reported `finalized` (or final at start). */
  let finalizedNumber: bigint | undefined =
    window.length > 0 ? last(window).number - confirmations : undefined;

  const at = (number: bigint): BlockRef | undefined => {
    const first = window[0];
    if (first === undefined) return undefined;
    const index = Number(number - first.number);
    return index >= 0 && index < window.length ? window[index] : undefined;
  };
  const isKnown = (block: BlockRef) => at(block.number)?.hash === block.hash;

  /** `finalized` once the tip has `confirmations` blocks on a block not reported yet; trims the window to it. */
  const finality = (): FinalizedEvent[] => {
    const tip = window.at(-1);
    if (tip === undefined) return [];
    const number = tip.number - confirmations;
    const block = at(number);
    if (block === undefined) return [];
    window = window.slice(Number(number - window[0]!.number));
    if (finalizedNumber !== undefined && number <= finalizedNumber) return [];
    finalizedNumber = number;
    return [{ type: 'finalized', chainId, block }];
  };

  const blocks = (branch: readonly BlockRef[], receivedAt: number): ChainEvent[] =>
    branch.map((block) => ({ type: 'block', chainId, block, receivedAt }));

  return {
    get tip() {
      return window.at(-1);
    },
    get base() {
      return window[0];
    },
    at,
    window: () => window,
    advance(input, receivedAt) {
      const base = window[0];
      const tip = window.at(-1);
      if (base === undefined || tip === undefined) {
        // Nothing to link to: the first block starts the window, with what links to it (the caller
        // reads the rest again, from the new tip).
        const start = linkedPrefix(input);
        window = start;
        return { type: 'events', events: [...blocks(start, receivedAt), ...finality()] };
      }
      // The freshest view wins: the run at the end of the branch, to be linked to the window.
      let branch = linkedSuffix(input);
      // Below the window nothing can be checked; the last such block anchors the branch above it.
      let anchor: BlockRef | undefined;
      while (branch[0] !== undefined && branch[0].number < base.number) {
        anchor = branch[0];
        branch = branch.slice(1);
      }
      // Already held: skipped (never emitted twice).
      while (branch[0] !== undefined && isKnown(branch[0])) {
        anchor = undefined;
        branch = branch.slice(1);
      }
      const first = branch[0];
      if (first === undefined) return { type: 'events', events: [] };
      const parentNumber = first.number - 1n;
      if (parentNumber > tip.number) return { type: 'gap', from: tip.number + 1n, to: parentNumber };

      if (parentNumber >= base.number) {
        const parent = at(parentNumber)!;
        if (parent.hash !== first.parentHash)
          return { type: 'need-parent', hash: first.parentHash, number: parentNumber };
        const events: TrackedEvent[] = [];
        const orphaned = window.filter((b) => b.number > parentNumber).reverse();
        if (orphaned.length > 0) {
          const reorg: ReorgEvent = { type: 'reorg', chainId, orphaned, ancestor: parent, receivedAt };
          events.push(reorg);
        }
        window = [...window.filter((b) => b.number <= parentNumber), ...branch];
        events.push(...blocks(branch, receivedAt));
        return { type: 'events', events: [...events, ...finality()] };
      }

      // The branch replaces the base itself: the common ancestor is below the window.
      if (anchor === undefined) return { type: 'need-parent', hash: first.parentHash, number: parentNumber };
      const deep: DeepReorgEvent = {
        type: 'deep-reorg',
        chainId,
        orphaned: [...window].reverse(),
        anchor,
        window: window.length,
        receivedAt,
      };
      window = [anchor, ...branch];
      return { type: 'events', events: [deep, ...blocks(branch, receivedAt), ...finality()] };
    },
  };
}

const links = (parent: BlockRef, child: BlockRef) =>
  child.parentHash === parent.hash && child.number === parent.number + 1n;

/** The longest run at the start of `blocks` in which each block is the parent of the next. */
export function linkedPrefix(blocks: readonly BlockRef[]): BlockRef[] {
  let end = Math.min(1, blocks.length);
  while (end < blocks.length && links(blocks[end - 1]!, blocks[end]!)) end++;
  return blocks.slice(0, end);
}

/** The longest run at the end of `blocks` in which each block is the parent of the next. */
export function linkedSuffix(blocks: readonly BlockRef[]): BlockRef[] {
  let start = blocks.length - 1;
  while (start > 0 && links(blocks[start - 1]!, blocks[start]!)) start--;
  return start < 0 ? [] : blocks.slice(start);
}

/**
 * The blocks linked by `parentHash` down from the last one of `blocks` (any order, duplicates and
 * strays allowed), ascending: a window rebuilt from stored rows keeps only what leads to its tip.
 */
export function chainEndingAtLast(blocks: readonly BlockRef[]): BlockRef[] {
  const tip = blocks[blocks.length - 1];
  if (tip === undefined) return [];
  const byHash = new Map(blocks.map((b) => [b.hash, b]));
  const chain = [tip];
  for (
    let parent = byHash.get(tip.parentHash);
    parent !== undefined;
    parent = byHash.get(parent.parentHash)
  ) {
    if (!links(parent, chain[0]!)) break;
    chain.unshift(parent);
  }
  return chain;
}

function last<T>(items: readonly T[]): T {
  return items[items.length - 1]!;
}
