// The alias `debt-concentration` (the type `concentration` superseded): its config reads as a
// `concentration` one, playbooks naming either type match both, and without a position book the
// detector falls back to the former check on `Borrow` events.
import { type AbiEvent, encodeAbiParameters, encodeEventTopics, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { detectorConfig, type PlaybookConfig } from '../config/schema';
import type { IngestResult } from '../incidents/manager';
import { poolAbi } from '../protocols/aave-v3/abi';
import { playbookMatches } from '../respond/playbooks';
import { type ConcentrationParams, concentration } from './concentration';
import { canonicalDetectorType } from './debt-concentration';
import { detectorHarness, testBlock, testLog, testView } from './testing';
import type { Finding } from './types';

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

const params: ConcentrationParams = {
  market: '0x00000000000000000000000000000000000000b1',
  pool: POOL,
  assets: [{ asset: CRV, symbol: 'CRV', pairs: [PAIR] }],
  sides: ['debt'],
  liquidityBps: 5000,
  criticalLiquidityBps: 10_000,
  shareBps: 5000,
  minUsd: 100_000,
};

/** The findings but the one `degraded` finding raised when the book goes missing. */
const real = (fs: Finding[]) => fs.filter((f) => f.kind !== 'degraded');

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

describe('concentration without a position book (the former debt-concentration check)', () => {
  it('says nothing below the threshold', async () => {
    const run = detectorHarness(concentration, params);
    const block = testBlock(10n, { logs: [borrowLog(CRV, WHO, 100n * E18)] });
    expect(real(await run(block, view(999_999n * E18, 2_000_000n * E18)))).toEqual([]);
  });

  it('is high from half the pool reserve and critical from all of it, on either side of the pair', async () => {
    const run = detectorHarness(concentration, params);
    const block = testBlock(11n, { logs: [borrowLog(CRV, WHO, 100n * E18)] });
    const [high] = real(await run(block, view(1_900_000n * E18, 2_000_000n * E18, false)));
    expect(high).toMatchObject({
      severity: 'high',
      kind: 'liquidity',
      subject: { asset: CRV, account: WHO, market: params.market },
      evidence: { liquidityBps: 9500, symbol: 'CRV', source: 'borrow-event' },
    });
    const [critical] = real(
      await run(
        testBlock(12n, { logs: [borrowLog(CRV, WHO, 1n)] }),
        view(2_000_000n * E18, 2_000_000n * E18),
      ),
    );
    expect(critical?.severity).toBe('critical');
    // One condition, one key as it escalates.
    expect(critical?.dedupeKey).toBe(high?.dedupeKey);
  });

  it('ignores borrows of other assets and from other pools', async () => {
    const run = detectorHarness(concentration, params);
    const other = '0x0000000000000000000000000000000000000999' as Hex;
    const block = testBlock(13n, { logs: [borrowLog(USDC, WHO, E18), borrowLog(CRV, WHO, E18, other)] });
    expect(real(await run(block, view(10n ** 30n, E18)))).toEqual([]);
  });

  it('treats an asset no pool holds as past every line', async () => {
    const run = detectorHarness(concentration, params);
    const block = testBlock(14n, { logs: [borrowLog(CRV, WHO, E18)] });
    const [f] = real(await run(block, view(E18, 0n)));
    expect(f?.severity).toBe('critical');
    expect(f?.evidence.liquidityBps).toBe(-1);
  });

  it('says once, as degraded / low, that it runs without a book, and again only after the book came back', async () => {
    const run = detectorHarness(concentration, params);
    const quiet = view(0n, 2_000_000n * E18);
    const degraded = async (n: bigint, v = quiet) =>
      (await run(testBlock(n), v)).filter((f) => f.kind === 'degraded').map((f) => [f.severity, f.dedupeKey]);
    const key = `concentration:no-positions:31337:${params.market}`;
    expect(await degraded(20n)).toEqual([['low', key]]);
    expect(await degraded(21n)).toEqual([]);
    // A book with no positions: nothing to say, and the book is back.
    const empty = testView({
      positions: async () => ({
        chainId: 31337,
        blockNumber: 22n,
        assets: [],
        eModes: [],
        accounts: [],
        collateral: new Float64Array(0),
        supplied: new Float64Array(0),
        debt: new Float64Array(0),
        eMode: new Uint8Array(0),
      }),
    });
    expect(await run(testBlock(22n), empty)).toEqual([]);
    expect(await degraded(23n)).toEqual([['low', key]]);
    // A book that cannot be read is no book.
    const failing = testView({
      positions: async () => {
        throw new Error('getLogs: not in the recording');
      },
    });
    const [f] = await run(testBlock(24n), failing);
    expect(f).toBeUndefined(); // still missing since block 23: said once
  });
});

describe('debt-concentration, the alias', () => {
  const base = { id: 'crv-debt', type: 'debt-concentration', market: 'main' } as const;
  const assets = [{ asset: CRV, pairs: [PAIR] }];

  it('reads the former parameters as the liquidity lines, on the debt side by default', () => {
    const parsed = detectorConfig.parse({
      ...base,
      params: { assets, thresholdBps: 4000, criticalBps: 9000 },
    });
    expect(parsed.params).toMatchObject({
      liquidityBps: 4000,
      criticalLiquidityBps: 9000,
      sides: ['debt'],
      shareBps: 5000,
      minUsd: 100_000,
    });
    expect(detectorConfig.parse({ ...base, params: { assets } }).params).toMatchObject({
      liquidityBps: 5000,
      criticalLiquidityBps: 10_000,
    });
    const concentrationDefaults = detectorConfig.parse({ ...base, type: 'concentration', params: {} }).params;
    expect(concentrationDefaults).toMatchObject({ sides: ['debt', 'collateral'], liquidityBps: 5000 });
    expect('assets' in concentrationDefaults && concentrationDefaults.assets).toBeFalsy();
  });

  it('refuses a critical line below the high one, by either name', () => {
    for (const params of [
      { assets, thresholdBps: 6000, criticalBps: 5000 },
      { assets, liquidityBps: 6000, criticalLiquidityBps: 5000 },
      { assets, shareBps: 6000, criticalShareBps: 5000 },
    ]) {
      expect(detectorConfig.safeParse({ ...base, params }).success, JSON.stringify(params)).toBe(false);
      // `concentration` knows only the new names: the former ones are refused there, the rest alike.
      expect(detectorConfig.safeParse({ ...base, type: 'concentration', params }).success).toBe(false);
    }
  });

  it('names the type it stands for; playbooks naming either type match both', () => {
    expect(canonicalDetectorType('debt-concentration')).toBe('concentration');
    expect(canonicalDetectorType('solvency')).toBe('solvency');
    const finding = {
      detector: 'concentration',
      detectorInstance: 'crv',
      kind: 'liquidity',
      severity: 'critical',
      confidence: 1,
    } as Finding;
    const result = { finding } as IngestResult;
    const playbook = (detector: string): PlaybookConfig => ({
      id: 'cap',
      when: { detector, severity: 'critical', minConfidence: 0 },
      do: [
        { action: 'aave-v3.lower-borrow-cap', executor: 'g', autonomy: 'auto', approvalTimeoutSeconds: 900 },
      ],
      cooldownBlocks: 50,
    });
    expect(playbookMatches(playbook('debt-concentration'), result, new Set(['crv']))).toBe(true);
    expect(playbookMatches(playbook('concentration'), result, new Set(['crv']))).toBe(true);
    expect(playbookMatches(playbook('solvency'), result, new Set(['crv']))).toBe(false);
    const former = { finding: { ...finding, detector: 'debt-concentration' } } as IngestResult;
    expect(playbookMatches(playbook('concentration'), former, new Set(['crv']))).toBe(true);
  });
});
