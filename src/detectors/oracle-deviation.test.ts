import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import type { FeedAnswer } from '../protocols/chainlink/feed';
import { findingId } from './finding';
import { createBlockLogs } from './logs';
import { deviationBps, type OracleDeviationParams, oracleDeviation } from './oracle-deviation';
import { memoryDetectorState } from './run';
import { testView } from './testing';
import type { BlockEvent, Finding } from './types';
import type { BlockView } from './view';

const MARKET: Hex = '0x00000000000000000000000000000000000000aa';
const ORACLE: Hex = '0x00000000000000000000000000000000000000bb';
const INV: Hex = '0x00000000000000000000000000000000000000c1';
const WETH: Hex = '0x00000000000000000000000000000000000000c2';
const INV_FEED: Hex = '0x00000000000000000000000000000000000000f1';
const WETH_FEED: Hex = '0x00000000000000000000000000000000000000f2';

const HASH_1: Hex = `0x${'11'.repeat(32)}`;
const HASH_2: Hex = `0x${'22'.repeat(32)}`;

function blockEvent(hash: Hex = HASH_1, number = 100n): BlockEvent {
  return {
    type: 'block',
    chainId: 31337,
    receivedAt: 0,
    block: { number, hash, parentHash: `0x${'00'.repeat(32)}`, timestamp: 1_648_890_000n, baseFeePerGas: 7n },
  };
}

/** A hand-made view: fixed oracle prices (8 decimals) and feed answers, recording what was read. */
function fakeView(
  prices: Record<Hex, bigint>,
  feeds: Record<Hex, Pick<FeedAnswer, 'answer' | 'decimals'>>,
): BlockView & { reads: string[] } {
  const reads: string[] = [];
  return {
    ...testView({}, 100n),
    reads,
    async aaveAssetPrice(oracle, asset) {
      reads.push(`price:${oracle}:${asset}`);
      const price = prices[asset];
      if (price === undefined) throw new Error(`no price for ${asset}`);
      return price;
    },
    async feed(address) {
      reads.push(`feed:${address}`);
      const f = feeds[address];
      if (f === undefined) throw new Error(`no feed ${address}`);
      return { ...f, updatedAt: 0n, roundId: 1n };
    },
  };
}

const params = (overrides: Partial<OracleDeviationParams> = {}): OracleDeviationParams => ({
  market: MARKET,
  oracle: ORACLE,
  oracleDecimals: 8,
  assets: [{ asset: INV, symbol: 'INV', reference: { feed: INV_FEED } }],
  thresholdBps: 1000,
  criticalBps: 3000,
  ...overrides,
});

const REF = 100_00000000n; // 100 USD, 8 decimals

async function detect(
  price: bigint,
  options: {
    reference?: FeedAnswer['answer'];
    decimals?: number;
    event?: BlockEvent;
    p?: OracleDeviationParams;
  } = {},
): Promise<Finding[]> {
  const view = fakeView(
    { [INV]: price },
    { [INV_FEED]: { answer: options.reference ?? REF, decimals: options.decimals ?? 8 } },
  );
  return oracleDeviation.detect(options.event ?? blockEvent(), {
    instanceId: 'inv-oracle',
    params: options.p ?? params(),
    view,
    state: memoryDetectorState()('inv-oracle'),
    logs: createBlockLogs(options.event ?? blockEvent(), view),
  });
}

describe('deviationBps', () => {
  it('is |price − reference| / reference in basis points', () => {
    expect(deviationBps(110n, 100n)).toBe(1000);
    expect(deviationBps(90n, 100n)).toBe(1000);
    expect(deviationBps(100n, 100n)).toBe(0);
    expect(deviationBps(5600n, 100n)).toBe(550_000);
  });

  it('rounds down to a whole basis point', () => {
    expect(deviationBps(1_0009n, 1_0000n)).toBe(9); // 9 bps exactly
    expect(deviationBps(1_00019n, 1_00000n)).toBe(1); // 1.9 bps → 1
    expect(deviationBps(1_00001n, 1_00000n)).toBe(0);
  });

  it('is 10 000 bps when the price falls to zero', () => {
    expect(deviationBps(0n, 100n)).toBe(10_000);
  });

  it('is infinite when the reference is zero or negative', () => {
    expect(deviationBps(100n, 0n)).toBe(Number.POSITIVE_INFINITY);
    expect(deviationBps(100n, -5n)).toBe(Number.POSITIVE_INFINITY);
  });

  it('stays exact for 18-decimal amounts beyond a double', () => {
    const reference = 10n ** 30n + 10n; // not representable as a double
    expect(deviationBps(reference + reference / 10n, reference)).toBe(1000);
    expect(deviationBps(reference + reference / 10n - 1n, reference)).toBe(999); // one unit less: just under
  });
});

describe('oracle-deviation detector', () => {
  it('raises nothing below the threshold', async () => {
    expect(await detect(REF)).toEqual([]);
    expect(await detect(REF + (REF * 999n) / 10_000n)).toEqual([]); // 9.99 %
    expect(await detect(REF - (REF * 999n) / 10_000n)).toEqual([]);
  });

  it('raises high from the threshold up to just under the critical line', async () => {
    const atThreshold = await detect(REF + REF / 10n); // exactly 1000 bps
    expect(atThreshold.map((f) => [f.severity, f.evidence.deviationBps])).toEqual([['high', 1000]]);
    const justUnder = await detect(REF + (REF * 2999n) / 10_000n);
    expect(justUnder.map((f) => [f.severity, f.evidence.deviationBps])).toEqual([['high', 2999]]);
    const below = await detect(REF - (REF * 2000n) / 10_000n); // a price below the reference counts too
    expect(below.map((f) => [f.severity, f.evidence.deviationBps])).toEqual([['high', 2000]]);
  });

  it('raises critical at and beyond the critical line', async () => {
    const atCritical = await detect(REF + (REF * 3000n) / 10_000n);
    expect(atCritical.map((f) => [f.severity, f.evidence.deviationBps])).toEqual([['critical', 3000]]);
    const manipulated = await detect(REF * 56n);
    expect(manipulated.map((f) => [f.severity, f.evidence.deviationBps])).toEqual([['critical', 550_000]]);
  });

  it('scales an 18-decimal reference feed to the 8-decimal oracle price', async () => {
    // 100 USD at 18 decimals equals the oracle's 100 USD at 8 decimals: no deviation.
    expect(await detect(REF, { reference: 100n * 10n ** 18n, decimals: 18 })).toEqual([]);
    const [finding] = await detect(REF * 2n, { reference: 100n * 10n ** 18n, decimals: 18 });
    expect(finding?.evidence.referencePrice).toBe(REF.toString());
    expect(finding?.evidence.deviationBps).toBe(10_000);
    expect(finding?.severity).toBe('critical');
  });

  it('scales a reference feed with fewer decimals up', async () => {
    const [finding] = await detect(REF + REF / 5n, { reference: 100_000000n, decimals: 6 });
    expect(finding?.evidence.referencePrice).toBe(REF.toString());
    expect(finding?.evidence.deviationBps).toBe(2000);
  });

  it('describes the finding: subject, dedupe key, kind, title and evidence with prices and bps', async () => {
    const [finding] = await detect(REF + REF / 2n);
    expect(finding).toBeDefined();
    const f = finding!;
    expect(f.detector).toBe('oracle-deviation');
    expect(f.detectorInstance).toBe('inv-oracle');
    expect(f.kind).toBe('manipulation');
    expect(f.subject).toEqual({ chainId: 31337, protocol: 'aave-v3', market: MARKET, asset: INV });
    expect(f.dedupeKey).toBe(`oracle-deviation:31337:${MARKET}:${INV}`);
    expect(f.title).toBe('INV oracle price is 1.5× its reference (50.0% off)');
    expect(f.evidence).toEqual({
      asset: INV,
      symbol: 'INV',
      oraclePrice: '15000000000',
      referencePrice: '10000000000',
      priceDecimals: 8,
      deviationBps: 5000,
      thresholdBps: 1000,
      criticalBps: 3000,
      referenceFeed: INV_FEED,
      block: '100',
    });
    expect(f.block).toEqual(blockEvent().block);
  });

  it('grows confidence with the deviation and caps it at 1', async () => {
    // 0.5 + 0.5 · bps / (2 · criticalBps)
    expect((await detect(REF + REF / 10n))[0]?.confidence).toBeCloseTo(0.5 + 0.5 * (1000 / 6000), 12);
    expect((await detect(REF + (REF * 6000n) / 10_000n))[0]?.confidence).toBe(1);
    expect((await detect(REF * 56n))[0]?.confidence).toBe(1);
  });

  it('names the asset by address in the title when no symbol is configured', async () => {
    const p = params({ assets: [{ asset: INV, reference: { feed: INV_FEED } }] });
    const [finding] = await detect(REF * 2n, { p });
    expect(finding?.title).toBe(`${INV} oracle price is 2× its reference (100.0% off)`);
    expect(finding?.evidence.symbol).toBe(INV);
  });

  it('gives the same id for the same input and another id for another block hash', async () => {
    const a = await detect(REF * 2n);
    const b = await detect(REF * 2n);
    const other = await detect(REF * 2n, { event: blockEvent(HASH_2) });
    expect(a[0]?.id).toBe(b[0]?.id);
    expect(a[0]?.id).toBe(
      findingId('inv-oracle', `oracle-deviation:31337:${MARKET}:${INV}`, blockEvent().block),
    );
    expect(a[0]?.id).toMatch(/^0x[0-9a-f]{32}$/);
    expect(other[0]?.id).not.toBe(a[0]?.id);
    expect(other[0]?.dedupeKey).toBe(a[0]?.dedupeKey);
  });

  it('keys the id on the block hash, not the number or the price', async () => {
    const a = await detect(REF * 2n);
    const otherNumber = await detect(REF * 3n, { event: blockEvent(HASH_1, 101n) });
    expect(otherNumber[0]?.id).toBe(a[0]?.id);
  });

  it('checks every watched asset against its own feed, through the given oracle', async () => {
    const p = params({
      assets: [
        { asset: INV, symbol: 'INV', reference: { feed: INV_FEED } },
        { asset: WETH, symbol: 'WETH', reference: { feed: WETH_FEED } },
      ],
    });
    const view = fakeView(
      { [INV]: REF * 3n, [WETH]: 3450_00000000n },
      { [INV_FEED]: { answer: REF, decimals: 8 }, [WETH_FEED]: { answer: 3450n * 10n ** 18n, decimals: 18 } },
    );
    const findings = await oracleDeviation.detect(blockEvent(), {
      instanceId: 'multi',
      params: p,
      view,
      state: memoryDetectorState()('multi'),
      logs: createBlockLogs(blockEvent(), view),
    });
    expect(findings.map((f) => [f.subject.asset, f.severity])).toEqual([[INV, 'critical']]);
    expect(view.reads.sort()).toEqual(
      [`price:${ORACLE}:${INV}`, `price:${ORACLE}:${WETH}`, `feed:${INV_FEED}`, `feed:${WETH_FEED}`].sort(),
    );
  });

  it('reports itself degraded, not a critical deviation, when the reference reads zero', async () => {
    const findings = await detect(REF, { reference: 0n });
    expect(findings).toHaveLength(1);
    expect(findings[0]?.kind).toBe('degraded');
    expect(findings[0]?.severity).toBe('medium');
    expect(findings[0]?.title).toContain('returned no price');
  });
});
