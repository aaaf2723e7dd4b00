import { type Hex, parseGwei } from 'viem';
import { describe, expect, it } from 'vitest';
import type { PendingTxEvent } from '../chain/mempool';
import type { Finding } from '../detectors/types';
import { createPendingBook, outbidRule, outbidSummary, pickOutbid, watchOutbid } from './priority';
import type { ActionPlan } from './types';

const addr = (n: number) => `0x${n.toString(16).padStart(40, '0')}` as Hex;
const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;
const POOL = addr(0xa);
const CONFIGURATOR = addr(0xb);
const ATTACKER = addr(0xe);
const GUARDIAN = addr(0xf);
const USER = addr(0x1);

let next = 1;
const pending = (over: Partial<PendingTxEvent> = {}): PendingTxEvent => ({
  type: 'pending-tx',
  chainId: 1,
  hash: hash(next),
  from: USER,
  to: POOL,
  input: '0x',
  nonce: next++,
  value: 0n,
  gas: 100_000n,
  gasPrice: null,
  maxFeePerGas: parseGwei('30'),
  maxPriorityFeePerGas: parseGwei('2'),
  seenAt: 0,
  ...over,
});
const rule = (over: { to?: string[]; from?: string[]; own?: string[] } = {}) => ({
  to: new Set((over.to ?? [POOL]).map((a) => a.toLowerCase())),
  from: new Set((over.from ?? []).map((a) => a.toLowerCase())),
  own: new Set((over.own ?? [GUARDIAN]).map((a) => a.toLowerCase())),
});

describe('pickOutbid', () => {
  it('beats the highest fee cap and the highest tip among the matching transactions, each on its own', () => {
    const highCap = pending({ maxFeePerGas: parseGwei('300'), maxPriorityFeePerGas: parseGwei('5') });
    const highTip = pending({ maxFeePerGas: parseGwei('150'), maxPriorityFeePerGas: parseGwei('120') });
    const outbid = pickOutbid([highCap, highTip], rule());
    expect(outbid).toEqual({
      maxFeePerGas: parseGwei('300'),
      maxPriorityFeePerGas: parseGwei('120'),
      count: 2,
      hashes: [highTip.hash, highCap.hash],
    });
  });

  it('ignores transactions that neither call a protected contract nor come from a named account', () => {
    const elsewhere = pending({ to: addr(0x99), maxPriorityFeePerGas: parseGwei('900') });
    const creation = pending({ to: null });
    expect(pickOutbid([elsewhere, creation], rule())).toBeUndefined();
    // The same transaction is outbid once its sender is named by a finding.
    const named = pickOutbid([elsewhere], rule({ from: [USER] }));
    expect(named?.maxPriorityFeePerGas).toBe(parseGwei('900'));
  });

  it("never outbids Firebreak's own senders, in any letter case", () => {
    const ours = pending({ from: GUARDIAN.toUpperCase().replace('0X', '0x') as Hex });
    expect(pickOutbid([ours], rule())).toBeUndefined();
  });

  it('prices a legacy transaction by its gas price, both as cap and tip', () => {
    const legacy = pending({ gasPrice: parseGwei('77'), maxFeePerGas: null, maxPriorityFeePerGas: null });
    expect(pickOutbid([legacy], rule())).toMatchObject({
      maxFeePerGas: parseGwei('77'),
      maxPriorityFeePerGas: parseGwei('77'),
    });
  });

  it('names at most five transactions, and says how many more there were', () => {
    const many = Array.from({ length: 7 }, (_, i) => pending({ maxPriorityFeePerGas: BigInt(i + 1) }));
    const outbid = pickOutbid(many, rule())!;
    expect(outbid.count).toBe(7);
    expect(outbid.hashes).toEqual(
      many
        .slice(2)
        .reverse()
        .map((t) => t.hash),
    );
    expect(outbidSummary(outbid)).toMatch(/^outbidding 7 pending tx \(0x[0-9a-f]{8}…, .*, and 2 more\)/);
  });
});

describe('outbidRule', () => {
  const plan = {
    calls: [{ to: CONFIGURATOR }],
    changes: [{ param: 'reserveFrozen', target: CONFIGURATOR, asset: addr(0xc), from: false, to: true }],
  } as unknown as ActionPlan;
  const finding = {
    subject: { chainId: 1, market: addr(0xd), asset: addr(0xc), account: addr(0x77) },
    evidence: { borrower: ATTACKER, price: '123', block: 5, note: 'not an address 0x12' },
  } as unknown as Finding;

  it("protects the plan's targets, the assets it changes, the market's contracts and the finding's subject", () => {
    const r = outbidRule(plan, [finding], [POOL], [GUARDIAN]);
    expect([...r.to].sort()).toEqual(
      [POOL, CONFIGURATOR, addr(0xc), addr(0xd)].map((a) => a.toLowerCase()).sort(),
    );
  });

  it("takes the accounts the finding names (subject and evidence) as senders, and Firebreak's own as never", () => {
    const r = outbidRule(plan, [finding], [], [GUARDIAN]);
    expect([...r.from].sort()).toEqual([addr(0x77), ATTACKER].sort());
    expect([...r.own]).toEqual([GUARDIAN.toLowerCase()]);
  });
});

describe('createPendingBook', () => {
  /** Every transaction the book holds (each test's transactions call the pool). */
  const held = (book: ReturnType<typeof createPendingBook>) => book.touching([POOL.toLowerCase()], []);

  let now = 0;
  const clock = { monotonic: () => now };

  it('keeps a transaction until a block mines it', () => {
    const book = createPendingBook({ clock });
    const tx = pending();
    book.add(tx);
    expect(held(book)).toEqual([tx]);
    book.mined([tx.hash.toUpperCase().replace('0X', '0x')]);
    expect(book.size).toBe(0);
  });

  it('drops a transaction replaced by one with the same sender and nonce', () => {
    const book = createPendingBook({ clock });
    const first = pending({ from: ATTACKER, nonce: 4 });
    const replacement = pending({ from: ATTACKER, nonce: 4, maxPriorityFeePerGas: parseGwei('9') });
    const other = pending({ from: ATTACKER, nonce: 5 });
    book.add(first);
    book.add(replacement);
    book.add(other);
    expect(held(book).map((t) => t.hash)).toEqual([replacement.hash, other.hash]);
  });

  it('finds the transactions touching given addresses through its indexes, which follow drops and replacements', () => {
    const book = createPendingBook({ clock: { monotonic: () => 0 }, maxAgeMs: 1_000 });
    const toPool = pending({ to: POOL });
    const fromAttacker = pending({ from: ATTACKER, to: addr(0x99) });
    const elsewhere = pending({ to: addr(0x98) });
    for (const tx of [toPool, fromAttacker, elsewhere]) book.add(tx);
    const touching = () =>
      book
        .touching([POOL.toLowerCase()], [ATTACKER.toLowerCase()])
        .map((t) => t.hash)
        .sort();
    expect(touching()).toEqual([toPool.hash, fromAttacker.hash].sort());
    book.mined([toPool.hash]);
    expect(touching()).toEqual([fromAttacker.hash]);
    // The attacker replaces its transaction with one to the pool: found once, by either index.
    const replacement = pending({ from: ATTACKER, to: POOL, nonce: fromAttacker.nonce });
    book.add(replacement);
    expect(touching()).toEqual([replacement.hash]);
    expect(book.size).toBe(2);
  });

  it('forgets transactions older than it keeps them, and the oldest beyond its size', () => {
    now = 1_000;
    const book = createPendingBook({ clock, maxAgeMs: 500, maxEntries: 2 });
    const old = pending({ seenAt: 400 });
    const a = pending({ seenAt: 900 });
    const b = pending({ seenAt: 950 });
    const c = pending({ seenAt: 990 });
    book.add(old);
    expect(held(book)).toEqual([]);
    book.add(a);
    book.add(b);
    book.add(c);
    expect(held(book).map((t) => t.hash)).toEqual([b.hash, c.hash]);
  });
});

describe('watchOutbid', () => {
  const clock = { monotonic: () => 0 };

  it('tells the price to beat each time a matching transaction arrives, a higher replacement included', () => {
    const book = createPendingBook({ clock });
    const first = pending({ from: ATTACKER, nonce: 7, maxPriorityFeePerGas: parseGwei('20') });
    book.add(first);
    const told: { tip: bigint; count: number }[] = [];
    const stop = watchOutbid(book, rule(), (o) => told.push({ tip: o.maxPriorityFeePerGas, count: o.count }));
    // Neither matching nor threatening: a transaction elsewhere, and the guardian's own.
    book.add(pending({ to: addr(0x98) }));
    book.add(pending({ from: GUARDIAN, maxPriorityFeePerGas: parseGwei('500') }));
    expect(told).toEqual([]);
    // The attacker replaces its transaction with a higher tip: the price is the replacement's alone.
    book.add(pending({ from: ATTACKER, nonce: 7, maxPriorityFeePerGas: parseGwei('300') }));
    expect(told).toEqual([{ tip: parseGwei('300'), count: 1 }]);
    stop();
    book.add(pending({ maxPriorityFeePerGas: parseGwei('400') }));
    expect(told).toHaveLength(1);
  });

  it('a listener that throws does not stop the book or the other listeners', () => {
    const book = createPendingBook({ clock });
    const told: bigint[] = [];
    watchOutbid(book, rule(), () => {
      throw new Error('listener failed');
    });
    watchOutbid(book, rule(), (o) => told.push(o.maxPriorityFeePerGas));
    const tx = pending({ maxPriorityFeePerGas: parseGwei('9') });
    expect(() => book.add(tx)).not.toThrow();
    expect(book.size).toBe(1);
    expect(told).toEqual([parseGwei('9')]);
  });
});
