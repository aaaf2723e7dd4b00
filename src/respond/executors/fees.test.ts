import fc from 'fast-check';
import { parseGwei } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  bumpedFees,
  type FeePolicy,
  feePolicy,
  gweiToWei,
  initialFees,
  outbids,
  raise,
  rebidFees,
} from './fees';

const policy: FeePolicy = { tip: parseGwei('2'), cap: parseGwei('500'), bumpBps: 1250n };
const wei = fc.bigInt({ min: 0n, max: parseGwei('2000') });
const bumpBps = fc.bigInt({ min: 1000n, max: 5000n });
const arbPolicy = fc.record({ tip: wei, cap: fc.bigInt({ min: 1n, max: parseGwei('2000') }), bumpBps });

describe('fee policy', () => {
  it('prices the first transaction at twice the base fee plus the tip, under the cap', () => {
    expect(initialFees(policy, parseGwei('10'))).toEqual({
      fees: { maxFeePerGas: parseGwei('22'), maxPriorityFeePerGas: parseGwei('2') },
    });
    expect(initialFees({ ...policy, cap: parseGwei('15') }, parseGwei('10')).fees).toEqual({
      maxFeePerGas: parseGwei('15'),
      maxPriorityFeePerGas: parseGwei('2'),
    });
  });

  it('replaces an underpriced transaction (fee cap under the base fee) at a price that pays the base fee', () => {
    const stuck = { maxFeePerGas: parseGwei('3'), maxPriorityFeePerGas: parseGwei('2') };
    const next = bumpedFees(policy, stuck, parseGwei('10'));
    expect(next).toEqual({
      fees: { maxFeePerGas: parseGwei('22.25'), maxPriorityFeePerGas: parseGwei('2.25') },
    });
  });

  it('says so, instead of bumping, when the cap leaves no room for a valid replacement', () => {
    const stuck = { maxFeePerGas: parseGwei('480'), maxPriorityFeePerGas: parseGwei('2') };
    const next = bumpedFees(policy, stuck, parseGwei('300'));
    expect(next).toHaveProperty('capped');
    expect((next as { capped: string }).capped).toContain('maxFeeGwei 500 gwei');
    expect((next as { capped: string }).capped).toContain('at least 540 gwei');
  });

  it('property: a replacement raises both fields by at least the bump, stays under the cap, tip ≤ fee cap', () => {
    fc.assert(
      fc.property(arbPolicy, wei, wei, fc.option(wei, { nil: null }), (p, a, b, base) => {
        // biome-ignore lint/complexity/useMathMinMax: bigints (Math.max throws on them)
        const previous = { maxFeePerGas: a > b ? a : b, maxPriorityFeePerGas: a > b ? b : a };
        const next = bumpedFees(p, previous, base);
        if ('capped' in next) {
          // Capped only when even the minimum raise of the fee cap is over the cap.
          expect(raise(previous.maxFeePerGas, p.bumpBps)).toBeGreaterThan(p.cap);
          return;
        }
        const { maxFeePerGas, maxPriorityFeePerGas } = next.fees;
        expect(maxFeePerGas).toBeLessThanOrEqual(p.cap);
        expect(maxPriorityFeePerGas).toBeLessThanOrEqual(maxFeePerGas);
        // The node's replacement rule: both at least +bump (geth: ≥ +10 %).
        expect(maxFeePerGas * 10_000n).toBeGreaterThanOrEqual(previous.maxFeePerGas * (10_000n + p.bumpBps));
        expect(maxPriorityFeePerGas * 10_000n).toBeGreaterThanOrEqual(
          previous.maxPriorityFeePerGas * (10_000n + p.bumpBps),
        );
        if (base !== null && 2n * base + maxPriorityFeePerGas <= p.cap)
          expect(maxFeePerGas).toBeGreaterThanOrEqual(2n * base + maxPriorityFeePerGas);
      }),
      { numRuns: 2_000 },
    );
  });

  it('property: priority mode prices strictly above both the fee cap and the tip of the transaction to beat, or says why not', () => {
    fc.assert(
      fc.property(arbPolicy, wei, wei, fc.option(wei, { nil: null }), (p, a, b, base) => {
        // biome-ignore lint/complexity/useMathMinMax: bigints (Math.max throws on them)
        const theirs = { maxFeePerGas: a > b ? a : b, maxPriorityFeePerGas: a > b ? b : a };
        const priced = initialFees(p, base, theirs);
        const { maxFeePerGas, maxPriorityFeePerGas } = priced.fees;
        expect(maxFeePerGas).toBeLessThanOrEqual(p.cap);
        expect(maxPriorityFeePerGas).toBeLessThanOrEqual(maxFeePerGas);
        const beats =
          maxFeePerGas > theirs.maxFeePerGas && maxPriorityFeePerGas > theirs.maxPriorityFeePerGas;
        expect(priced.capped === undefined).toBe(beats);
        // Not beaten only because of the cap.
        if (!beats) expect(raise(theirs.maxFeePerGas, p.bumpBps)).toBeGreaterThan(p.cap);
      }),
      { numRuns: 2_000 },
    );
  });

  it('outbids an exploit transaction on both fields by the bump margin', () => {
    const exploit = { maxFeePerGas: parseGwei('100'), maxPriorityFeePerGas: parseGwei('20') };
    const { fees, capped } = initialFees(policy, parseGwei('10'), exploit);
    expect(capped).toBeUndefined();
    expect(fees).toEqual({ maxFeePerGas: parseGwei('112.5'), maxPriorityFeePerGas: parseGwei('22.5') });
    const low = initialFees({ ...policy, cap: parseGwei('90') }, parseGwei('10'), exploit);
    expect(low.capped).toMatch(/cannot outbid the pending transaction \(fee cap 100 gwei, tip 20 gwei\)/);
  });

  it('prices a replacement above a higher bid seen after the send, and says when the cap stops it', () => {
    const sent = { maxFeePerGas: parseGwei('160'), maxPriorityFeePerGas: parseGwei('135') };
    const bid = { maxFeePerGas: parseGwei('320'), maxPriorityFeePerGas: parseGwei('300') };
    expect(rebidFees(policy, sent, parseGwei('10'), bid)).toEqual({
      fees: { maxFeePerGas: parseGwei('360'), maxPriorityFeePerGas: parseGwei('337.5') },
    });
    // A bid above our fee cap only: the tip rises by the replacement minimum alone.
    const close = { maxFeePerGas: parseGwei('161'), maxPriorityFeePerGas: parseGwei('100') };
    expect(rebidFees(policy, sent, parseGwei('10'), close)).toEqual({
      fees: { maxFeePerGas: parseGwei('181.125'), maxPriorityFeePerGas: parseGwei('151.875') },
    });
    // Room for a valid replacement, not for beating the bid: sent, and said.
    const high = rebidFees({ ...policy, cap: parseGwei('200') }, sent, parseGwei('10'), bid);
    expect('fees' in high && high.fees).toEqual({
      maxFeePerGas: parseGwei('200'),
      maxPriorityFeePerGas: parseGwei('200'),
    });
    expect(high.capped).toMatch(/cannot outbid the pending transaction \(fee cap 320 gwei, tip 300 gwei\)/);
    // No room for a valid replacement at all.
    const none = rebidFees({ ...policy, cap: parseGwei('170') }, sent, parseGwei('10'), bid);
    expect(none).not.toHaveProperty('fees');
    expect(none.capped).toMatch(/cannot replace the transaction .* maxFeeGwei 170 gwei/);
  });

  it('property: a rebid is a valid replacement under the cap, and beats the bid unless the cap stops it', () => {
    fc.assert(
      fc.property(arbPolicy, wei, wei, wei, wei, fc.option(wei, { nil: null }), (p, a, b, c, d, base) => {
        // biome-ignore lint/complexity/useMathMinMax: bigints (Math.max throws on them)
        const previous = { maxFeePerGas: a > b ? a : b, maxPriorityFeePerGas: a > b ? b : a };
        // biome-ignore lint/complexity/useMathMinMax: bigints
        const bid = { maxFeePerGas: c > d ? c : d, maxPriorityFeePerGas: c > d ? d : c };
        const next = rebidFees(p, previous, base, bid);
        if (!('fees' in next)) {
          expect(
            raise(previous.maxFeePerGas, p.bumpBps) > p.cap ||
              raise(previous.maxPriorityFeePerGas, p.bumpBps) > p.cap,
          ).toBe(true);
          return;
        }
        const { maxFeePerGas, maxPriorityFeePerGas } = next.fees;
        expect(maxFeePerGas).toBeLessThanOrEqual(p.cap);
        expect(maxPriorityFeePerGas).toBeLessThanOrEqual(maxFeePerGas);
        expect(maxFeePerGas).toBeGreaterThanOrEqual(raise(previous.maxFeePerGas, p.bumpBps));
        expect(maxPriorityFeePerGas).toBeGreaterThanOrEqual(raise(previous.maxPriorityFeePerGas, p.bumpBps));
        expect(next.capped === undefined).toBe(outbids(next.fees, bid));
        if (next.capped !== undefined) expect(raise(bid.maxFeePerGas, p.bumpBps)).toBeGreaterThan(p.cap);
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads the config exactly (gwei decimals, percent)', () => {
    expect(gweiToWei(0.1)).toBe(100_000_000n);
    expect(gweiToWei(50)).toBe(parseGwei('50'));
    expect(feePolicy({ priorityFeeGwei: 1.5, maxFeeGwei: 500, bumpPercent: 12.5 })).toEqual({
      tip: parseGwei('1.5'),
      cap: parseGwei('500'),
      bumpBps: 1250n,
    });
  });
});
