import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import type { BlockRef } from './events';
import {
  type Advance,
  chainEndingAtLast,
  createReorgTracker,
  type ReorgTracker,
  type TrackedEvent,
} from './reorg';

/** A block of a named fork: its hash encodes fork and number, so tests can read them. */
const hashOf = (fork: string, number: bigint): Hex =>
  `0x${Buffer.from(`${fork}:${number}`).toString('hex').padEnd(64, '0')}`;

/** Blocks `from`..`to` of `fork`, the first one's parent being `parent` (default: fork `a`). */
function branch(fork: string, from: bigint, to: bigint, parent?: BlockRef): BlockRef[] {
  const out: BlockRef[] = [];
  let parentHash = parent?.hash ?? hashOf('a', from - 1n);
  for (let n = from; n <= to; n++) {
    const block = { number: n, hash: hashOf(fork, n), parentHash, timestamp: 1_000n + n };
    out.push(block);
    parentHash = block.hash;
  }
  return out;
}

/** What an ingestor does: hand in the blocks, walk back through `all` while parents are asked for. */
function feed(tracker: ReorgTracker, blocks: BlockRef[], all: readonly BlockRef[]): TrackedEvent[] {
  const byHash = new Map(all.map((b) => [b.hash, b]));
  let current = blocks;
  for (let steps = 0; steps < 100; steps++) {
    const next: Advance = tracker.advance(current, 0);
    if (next.type === 'events') return next.events;
    if (next.type === 'gap') throw new Error(`gap ${next.from}..${next.to}`);
    const parent = byHash.get(next.hash);
    if (!parent) throw new Error(`unknown parent ${next.hash}`);
    expect(parent.number).toBe(next.number);
    current = [parent, ...current];
  }
  throw new Error('walked too far');
}

const describeEvents = (events: TrackedEvent[]) =>
  events.map((e) => {
    if (e.type === 'block') return `block ${e.block.number}`;
    if (e.type === 'finalized') return `finalized ${e.block.number}`;
    const orphaned = e.orphaned.map((b) => b.number).join(',');
    return e.type === 'reorg'
      ? `reorg ${orphaned} -> ${e.ancestor.number}`
      : `deep-reorg ${orphaned} anchor ${e.anchor.number}`;
  });

describe('reorg tracker', () => {
  it('emits each block that extends the tip once, and nothing for a block it holds', () => {
    const tracker = createReorgTracker({ chainId: 1, confirmations: 12 });
    const a = branch('a', 100n, 105n);
    expect(describeEvents(feed(tracker, a.slice(0, 1), a))).toEqual(['block 100']);
    expect(describeEvents(feed(tracker, a.slice(1, 4), a))).toEqual(['block 101', 'block 102', 'block 103']);
    expect(describeEvents(feed(tracker, [a[4]!], a))).toEqual(['block 104']);
    // Again: nothing new.
    expect(feed(tracker, a.slice(2, 5), a)).toEqual([]);
    expect(describeEvents(feed(tracker, a.slice(3, 6), a))).toEqual(['block 105']);
    expect(tracker.tip?.hash).toBe(a[5]!.hash);
  });

  it('starts an empty window with the first block and what links to it, never with a later run', () => {
    const tracker = createReorgTracker({ chainId: 1, confirmations: 12 });
    const a = branch('a', 10n, 12n);
    const stray = branch('x', 13n, 14n, branch('x', 12n, 12n)[0]);
    expect(describeEvents(feed(tracker, [...a, ...stray], [...a, ...stray]))).toEqual([
      'block 10',
      'block 11',
      'block 12',
    ]);
    expect(tracker.tip?.number).toBe(12n);
  });

  for (let depth = 1; depth <= 12; depth++) {
    it(`sees a reorg of depth ${depth}: the orphaned blocks highest first, the ancestor, then the new branch`, () => {
      const tracker = createReorgTracker({ chainId: 1, confirmations: 12 });
      const a = branch('a', 0n, 30n);
      feed(tracker, a, a);
      const ancestor = a[30 - depth]!;
      const b = branch('b', ancestor.number + 1n, 31n, ancestor);
      // The ingestor reads the next block by number: the tip of branch b; the tracker walks back.
      const events = feed(tracker, [b.at(-1)!], [...a, ...b]);
      const reorg = events[0]!;
      expect(reorg.type).toBe('reorg');
      if (reorg.type !== 'reorg') return;
      expect(reorg.orphaned.map((o) => o.hash)).toEqual(
        a
          .slice(31 - depth)
          .reverse()
          .map((o) => o.hash),
      );
      expect(reorg.ancestor).toEqual(ancestor);
      expect(events.slice(1, 1 + b.length).map((e) => (e.type === 'block' ? e.block.hash : e.type))).toEqual(
        b.map((x) => x.hash),
      );
      expect(describeEvents(events.slice(1 + b.length))).toEqual(['finalized 19']);
      expect(tracker.tip?.hash).toBe(b.at(-1)!.hash);
      // The new branch is held: reading it again emits nothing.
      expect(feed(tracker, b, [...a, ...b])).toEqual([]);
    });
  }

  it('reports finality as blocks pass the confirmations, and holds only the unfinalized window', () => {
    const tracker = createReorgTracker({ chainId: 1, confirmations: 3 });
    const a = branch('a', 0n, 10n);
    const seen: string[] = [];
    for (const block of a) seen.push(...describeEvents(feed(tracker, [block], a)));
    expect(seen.filter((s) => s.startsWith('finalized'))).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7].map((n) => `finalized ${n}`),
    );
    expect(seen.indexOf('finalized 0')).toBe(seen.indexOf('block 3') + 1);
    expect(tracker.window().map((b) => b.number)).toEqual([7n, 8n, 9n, 10n]);
    expect(tracker.base?.number).toBe(7n);
    // A batch reports only the highest block it finalizes.
    const more = branch('a', 11n, 15n, a[10]);
    expect(describeEvents(feed(tracker, more, [...a, ...more])).at(-1)).toBe('finalized 12');
  });

  it('reorgs back to the finalized base itself (depth = confirmations) but reports deeper ones as deep', () => {
    const ok = createReorgTracker({ chainId: 1, confirmations: 3 });
    const a = branch('a', 0n, 10n);
    feed(ok, a, a);
    const b = branch('b', 8n, 11n, a[7]);
    expect(describeEvents(feed(ok, [b.at(-1)!], [...a, ...b]))[0]).toBe('reorg 10,9,8 -> 7');

    const deep = createReorgTracker({ chainId: 1, confirmations: 3 });
    feed(deep, a, a);
    const c = branch('c', 6n, 11n, a[5]);
    const events = feed(deep, [c.at(-1)!], [...a, ...c]);
    expect(describeEvents(events)).toEqual([
      'deep-reorg 10,9,8,7 anchor 6',
      'block 7',
      'block 8',
      'block 9',
      'block 10',
      'block 11',
      'finalized 8',
    ]);
    const first = events[0]!;
    expect(first.type === 'deep-reorg' && first.window).toBe(4);
    expect(deep.tip?.hash).toBe(c.at(-1)!.hash);
    // The tracker goes on from the new branch.
    const d = branch('c', 12n, 12n, c.at(-1));
    expect(describeEvents(feed(deep, d, [...c, ...d]))).toEqual(['block 12', 'finalized 9']);
  });

  it('asks for the blocks of a gap instead of emitting across it', () => {
    const tracker = createReorgTracker({ chainId: 1, confirmations: 12 });
    const a = branch('a', 0n, 10n);
    feed(tracker, a.slice(0, 6), a);
    expect(tracker.advance([a[9]!, a[10]!], 0)).toEqual({ type: 'gap', from: 6n, to: 8n });
    expect(tracker.tip?.number).toBe(5n);
    // A branch with a hole inside: only the freshest linked run counts, so the gap is reported.
    expect(tracker.advance([a[6]!, a[8]!, a[9]!], 0)).toEqual({ type: 'gap', from: 6n, to: 7n });
    expect(describeEvents(feed(tracker, a.slice(6, 10), a))).toEqual([
      'block 6',
      'block 7',
      'block 8',
      'block 9',
    ]);
  });

  it('sees a reorg to a shorter branch, and decides nothing on a block below the window', () => {
    const tracker = createReorgTracker({ chainId: 1, confirmations: 5 });
    const a = branch('a', 0n, 20n);
    feed(tracker, a, a);
    // A node behind (same block at its head): nothing.
    expect(feed(tracker, [a[17]!], a)).toEqual([]);
    // Below the window (base is 15): nothing can be checked.
    expect(feed(tracker, [branch('z', 3n, 3n)[0]!], a)).toEqual([]);
    // A different block at 18: blocks 18..20 are orphaned, even those above the new head.
    const b = branch('b', 18n, 18n, a[17]);
    expect(describeEvents(feed(tracker, b, [...a, ...b]))).toEqual(['reorg 20,19,18 -> 17', 'block 18']);
    expect(tracker.tip?.hash).toBe(b[0]!.hash);
  });

  it('rebuilds its window from stored rows: only the chain that leads to the checkpoint', () => {
    const a = branch('a', 0n, 10n);
    const stray = branch('x', 8n, 9n, a[7]);
    const rows = [...a.slice(4, 10), ...stray, a[10]!];
    expect(chainEndingAtLast(rows).map((b) => b.number)).toEqual([4n, 5n, 6n, 7n, 8n, 9n, 10n]);
    const tracker = createReorgTracker({ chainId: 1, confirmations: 3, window: rows });
    expect(tracker.window().map((b) => b.hash)).toEqual(a.slice(4).map((b) => b.hash));
    // Already final at start: not reported again; the next block finalizes 8.
    const next = branch('a', 11n, 11n, a[10]);
    expect(describeEvents(feed(tracker, next, [...a, ...next]))).toEqual(['block 11', 'finalized 8']);
    // A reorg below the checkpoint, while we were down, is seen from the stored window.
    const b = branch('b', 9n, 12n, a[8]);
    expect(describeEvents(feed(tracker, [b.at(-1)!], [...a, ...b]))[0]).toBe('reorg 11,10,9 -> 8');
  });

  it('walks back through a flip-flop: the old branch may become canonical again', () => {
    const tracker = createReorgTracker({ chainId: 1, confirmations: 12 });
    const a = branch('a', 0n, 10n);
    feed(tracker, a, a);
    const b = branch('b', 9n, 11n, a[8]);
    expect(describeEvents(feed(tracker, [b.at(-1)!], [...a, ...b]))[0]).toBe('reorg 10,9 -> 8');
    const a2 = branch('a', 11n, 12n, a[10]);
    const back = feed(tracker, [a2.at(-1)!], [...a, ...b, ...a2]);
    expect(describeEvents(back)).toEqual([
      'reorg 11,10,9 -> 8',
      'block 9',
      'block 10',
      'block 11',
      'block 12',
      'finalized 0',
    ]);
  });
});
