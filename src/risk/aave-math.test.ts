import fc from 'fast-check';
import { type Address, decodeFunctionResult, encodeFunctionData } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployArtifact, firebreakArtifact } from '../chain/artifacts';
import { createEmbeddedChain, type EmbeddedChain } from '../chain/embedded';
import { isFirebreakError } from '../common/errors';
import {
  calculateCompoundedInterest,
  calculateLinearInterest,
  getNormalizedDebt,
  getNormalizedIncome,
  MAX_UINT256,
  percentDiv,
  percentMul,
  RAY,
  rayDiv,
  rayMul,
  SECONDS_PER_YEAR,
  wadDiv,
  wadMul,
} from './aave-math';

/**
 * Every function is compared with Aave's own libraries (compiled from @aave/core-v3 1.19.3 into
 * the test-only AaveMathHarness) on hundreds of random inputs per run, in one eth_call each.
 */
const CASES = 400;
const u = (max: bigint) => fc.bigInt({ min: 0n, max });
const pos = (max: bigint) => fc.bigInt({ min: 1n, max });
const P128 = (1n << 128n) - 1n;

describe('Aave math, against the contracts', () => {
  let chain: EmbeddedChain;
  let harness: Address;
  const harnessAbi = () => firebreakArtifact('AaveMathHarness').abi;

  const call = async (functionName: string, args: readonly unknown[]): Promise<unknown> => {
    const { data } = await chain.client.call({
      to: harness,
      data: encodeFunctionData({ abi: harnessAbi(), functionName, args }),
    });
    return decodeFunctionResult({ abi: harnessAbi(), functionName, data: data! });
  };

  const pairwise = async (
    name: string,
    mine: (a: bigint, b: bigint) => bigint,
    a: fc.Arbitrary<bigint>,
    b: fc.Arbitrary<bigint>,
    edges: [bigint, bigint][],
  ) => {
    const cases = [...edges, ...fc.sample(fc.tuple(a, b), CASES)];
    const theirs = (await call(name, [cases.map((c) => c[0]), cases.map((c) => c[1])])) as readonly bigint[];
    expect(cases.map(([x, y]) => mine(x, y))).toEqual([...theirs]);
  };

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 1 });
    harness = (await deployArtifact(chain.client, firebreakArtifact('AaveMathHarness'), {
      account: chain.accounts[0]!.account,
    })) as Address;
  });

  afterAll(async () => {
    await chain?.close();
  });

  it('rayMul and rayDiv round half up exactly as WadRayMath', async () => {
    const half = RAY / 2n;
    await pairwise('rayMul', rayMul, u(P128), u(P128), [
      [0n, 0n],
      [1n, half],
      [1n, half - 1n],
      [3n, half],
      [RAY, RAY],
    ]);
    await pairwise('rayDiv', rayDiv, u(P128), pos(P128), [
      [0n, 1n],
      [1n, 2n * RAY],
      [1n, 2n * RAY + 1n],
      [5n, 3n],
    ]);
  });

  it('wadMul, wadDiv, percentMul and percentDiv match too', async () => {
    await pairwise('wadMul', wadMul, u(P128), u(P128), [[1n, 5n * 10n ** 17n]]);
    await pairwise('wadDiv', wadDiv, u(P128), pos(P128), [[1n, 2n * 10n ** 18n]]);
    await pairwise('percentMul', percentMul, u(1n << 200n), u(10_000n), [
      [1n, 5_000n],
      [1n, 4_999n],
      [12_345n, 10_000n],
    ]);
    await pairwise('percentDiv', percentDiv, u(1n << 200n), pos(10_000n), [[1n, 20_000n]]);
  });

  it('compounded interest matches MathUtils over any span up to 10 years and 1000%/year', async () => {
    const now = 2_000_000_000n;
    const cases = [
      [0n, 0n],
      [RAY, 0n],
      [RAY, 1n],
      [RAY, 2n],
      [RAY, 3n],
      [10n * RAY, 10n * SECONDS_PER_YEAR],
      ...fc.sample(fc.tuple(u(10n * RAY), u(10n * SECONDS_PER_YEAR)), CASES),
    ];
    const theirs = (await call('compounded', [
      cases.map((c) => c[0]),
      cases.map((c) => c[1]),
      now,
    ])) as bigint[];
    expect(cases.map(([rate, dt]) => calculateCompoundedInterest(rate!, now - dt!, now))).toEqual([
      ...theirs,
    ]);
  });

  it('linear interest matches MathUtils at the block timestamp', async () => {
    const cases = [[RAY, 1n], ...fc.sample(fc.tuple(u(10n * RAY), u(10n * SECONDS_PER_YEAR)), CASES)];
    const [theirs, timestamp] = (await call('linear', [cases.map((c) => c[0]), cases.map((c) => c[1])])) as [
      bigint[],
      bigint,
    ];
    expect(cases.map(([rate, dt]) => calculateLinearInterest(rate!, timestamp - dt!, timestamp))).toEqual([
      ...theirs,
    ]);
  });

  it('throws where the contracts revert (overflow, division by zero, time running backwards)', async () => {
    const big = MAX_UINT256 / 2n;
    await expect(call('rayMul', [[big], [big]])).rejects.toThrow();
    expect(() => rayMul(big, big)).toThrow(/overflows uint256/);
    await expect(call('rayDiv', [[1n], [0n]])).rejects.toThrow();
    expect(() => rayDiv(1n, 0n)).toThrow(/divides by zero/);
    await expect(call('percentMul', [[MAX_UINT256], [2n]])).rejects.toThrow();
    expect(() => percentMul(MAX_UINT256, 2n)).toThrow(/overflows/);
    let error: unknown;
    try {
      calculateLinearInterest(RAY, 10n, 9n);
    } catch (e) {
      error = e;
    }
    expect(isFirebreakError(error, 'ERR_RISK_INPUT')).toBe(true);
  });
});

describe('normalized income and debt', () => {
  const reserve = {
    liquidityIndex: (RAY * 105n) / 100n,
    variableBorrowIndex: (RAY * 11n) / 10n,
    currentLiquidityRate: RAY / 20n,
    currentVariableBorrowRate: RAY / 10n,
    lastUpdateTimestamp: 1_000n,
  };

  it('returns the stored index in the block of the last update', () => {
    expect(getNormalizedIncome(reserve, 1_000n)).toBe(reserve.liquidityIndex);
    expect(getNormalizedDebt(reserve, 1_000n)).toBe(reserve.variableBorrowIndex);
  });

  it('never decreases as time passes (property)', () => {
    fc.assert(
      fc.property(u(10n * SECONDS_PER_YEAR), u(10n * SECONDS_PER_YEAR), u(5n * RAY), (a, b, rate) => {
        const r = { ...reserve, currentLiquidityRate: rate, currentVariableBorrowRate: rate };
        const [t1, t2] = a < b ? [a, b] : [b, a];
        const at = (t: bigint) => reserve.lastUpdateTimestamp + t;
        return (
          getNormalizedIncome(r, at(t1)) <= getNormalizedIncome(r, at(t2)) &&
          getNormalizedDebt(r, at(t1)) <= getNormalizedDebt(r, at(t2))
        );
      }),
    );
  });

  it('compounds faster than it accrues linearly at the same rate', () => {
    fc.assert(
      fc.property(pos(5n * RAY), pos(10n * SECONDS_PER_YEAR), (rate, dt) => {
        return calculateCompoundedInterest(rate, 0n, dt) >= calculateLinearInterest(rate, 0n, dt);
      }),
    );
  });
});
