import { type AbiEvent, encodeAbiParameters, encodeEventTopics, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { detectorConfig } from '../config/schema';
import { poolAbi } from '../protocols/aave-v3/abi';
import { type DebtConcentrationParams, debtConcentration } from './debt-concentration';
import { detectorHarness, testBlock, testLog, testView } from './testing';

const POOL = '0x00000000000000000000000000000000000000a1' as Hex;
const CRV = '0x00000000000000000000000000000000000000c1' as Hex;
const USDC = '0x00000000000000000000000000000000000000c2' as Hex;
const PAIR = '0x00000000000000000000000000000000000000d1' as Hex;
const VDEBT = '0x00000000000000000000000000000000000000e1' as Hex;
const SDEBT = '0x00000000000000000000000000000000000000e2' as Hex;
const WHO = '0x00000000000000000000000000000000000000f1' as Hex;
const E18 = 10n ** 18n;

const borrowEvent = poolAbi.find((x) => x.type === 'event' && x.name === 'Borrow') as AbiEvent;

function borrowLog(reserve: Hex, onBehalfOf: Hex, amount: bigint, address = POOL) {
  const topics = encodeEventTopics({
    abi: [borrowEvent],
    eventName: 'Borrow',
    args: { reserve, onBehalfOf, referralCode: 0 },
  } as never) as Hex[];
  const data = encodeAbiParameters(
    [{ type: 'address' }, { type: 'uint256' }, { type: 'uint8' }, { type: 'uint256' }],
    [onBehalfOf, amount, 2, 0n],
  );
  return testLog({ address, topics, data });
}

const params: DebtConcentrationParams = {
  market: '0x00000000000000000000000000000000000000b1',
  pool: POOL,
  assets: [{ asset: CRV, symbol: 'CRV', pairs: [PAIR] }],
  thresholdBps: 5000,
  criticalBps: 10_000,
};

/** A view where the account owes `debt` CRV and the pair holds `reserve` CRV. */
function view(debt: bigint, reserve: bigint, crvIs0 = true) {
  return testView({
    reserveTokens: async () => ({
      aToken: '0x00000000000000000000000000000000000000e0',
      variableDebtToken: VDEBT,
      stableDebtToken: SDEBT,
      interestRateStrategy: '0x00000000000000000000000000000000000000e3',
    }),
    balanceOf: async (token) => (token === VDEBT ? debt : 0n),
    pair: async () => ({
      pair: PAIR,
      token0: crvIs0 ? CRV : USDC,
      token1: crvIs0 ? USDC : CRV,
      reserve0: crvIs0 ? reserve : 1_000_000n * 10n ** 6n,
      reserve1: crvIs0 ? 1_000_000n * 10n ** 6n : reserve,
      totalSupply: 1n,
    }),
  });
}

describe('debt-concentration', () => {
  it('says nothing below the threshold', async () => {
    const run = detectorHarness(debtConcentration, params);
    const block = testBlock(10n, { logs: [borrowLog(CRV, WHO, 100n * E18)] });
    expect(await run(block, view(999_999n * E18, 2_000_000n * E18))).toEqual([]);
  });

  it('is high from half the pool reserve and critical from all of it, on either side of the pair', async () => {
    const run = detectorHarness(debtConcentration, params);
    const block = testBlock(11n, { logs: [borrowLog(CRV, WHO, 100n * E18)] });
    const [high] = await run(block, view(1_900_000n * E18, 2_000_000n * E18, false));
    expect(high).toMatchObject({
      severity: 'high',
      kind: 'liquidity',
      subject: { asset: CRV, account: WHO, market: params.market },
      evidence: { shareBps: 9500, symbol: 'CRV' },
    });
    const [critical] = await run(
      testBlock(12n, { logs: [borrowLog(CRV, WHO, 1n)] }),
      view(2_000_000n * E18, 2_000_000n * E18),
    );
    expect(critical?.severity).toBe('critical');
    // One condition, one key as it escalates.
    expect(critical?.dedupeKey).toBe(high?.dedupeKey);
  });

  it('ignores borrows of other assets and from other pools', async () => {
    const run = detectorHarness(debtConcentration, params);
    const other = '0x0000000000000000000000000000000000000999' as Hex;
    const block = testBlock(13n, { logs: [borrowLog(USDC, WHO, E18), borrowLog(CRV, WHO, E18, other)] });
    expect(await run(block, view(10n ** 30n, E18))).toEqual([]);
  });

  it('treats an asset no pool holds as past every line', async () => {
    const run = detectorHarness(debtConcentration, params);
    const block = testBlock(14n, { logs: [borrowLog(CRV, WHO, E18)] });
    const [f] = await run(block, view(E18, 0n));
    expect(f?.severity).toBe('critical');
    expect(f?.evidence.shareBps).toBe(-1);
  });

  it("is configured with half and all of the pools' reserve by default, and refuses a critical line below the high one", () => {
    const base = { id: 'crv-debt', type: 'debt-concentration', market: 'main' } as const;
    const assets = [{ asset: CRV, pairs: [PAIR] }];
    const parsed = detectorConfig.parse({ ...base, params: { assets } });
    expect(parsed.params).toMatchObject({ thresholdBps: 5000, criticalBps: 10_000 });
    const bad = detectorConfig.safeParse({
      ...base,
      params: { assets, thresholdBps: 6000, criticalBps: 5000 },
    });
    expect(bad.success).toBe(false);
    expect(
      detectorConfig.safeParse({ ...base, params: { assets: [{ asset: CRV, pairs: [] }] } }).success,
    ).toBe(false);
  });
});
