// liquidity-exhaustion on a run on a reserve (the stETH/ETH squeeze of June 2022, USDC during the
// SVB weekend, in Aave v3 terms): a borrower takes 1.6M of the 2.4M of USDC; then depositors pull
// the rest out, 100k a block, until the reserve's cash is gone and utilisation is 100%. The
// forecast warns while utilisation is still below its line; the utilisation check turns critical as
// the cash runs out. The cash and debt in the evidence are checked against the chain.
import type { Hex } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/detectors/types';
import { toUnits } from '../../src/drills/market';
import { erc20Abi, poolAbi } from '../../src/protocols/aave-v3/abi';
import { readReserveTokens } from '../../src/protocols/aave-v3/reader';
import { type ActivityMarket, deployActivityMarket, runActivity } from '../support/activity';
import { above, brief, configWith, detectRange, lower } from './support';

const MAX = 2n ** 256n - 1n;

describe('liquidity-exhaustion on a run on the USDC reserve', () => {
  let am: ActivityMarket;
  let findings: Finding[];
  let aToken: Hex;
  const at: Record<string, bigint> = {};

  const cashAt = (n: bigint) =>
    am.chain.client.readContract({
      address: am.token('USDC'),
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [aToken],
      blockNumber: n,
    });

  beforeAll(async () => {
    am = await deployActivityMarket({ accounts: [{ name: 'borrower', holds: { WETH: 2000 } }] });
    const pool = am.market.aave.pool;
    aToken = lower((await readReserveTokens(am.chain.client, pool, am.token('USDC'))).aToken);
    const warm = await runActivity(am, { blocks: 30, seed: 61 });
    at.from = warm.from;
    const b = am.account('borrower');
    await am.mine(
      await am.send(b, [
        { to: am.token('WETH'), abi: erc20Abi, functionName: 'approve', args: [pool, MAX], gas: 100_000n },
        {
          to: pool,
          abi: poolAbi,
          functionName: 'supply',
          args: [am.token('WETH'), toUnits(2000, 18), b.address, 0],
          gas: 500_000n,
        },
        {
          to: pool,
          abi: poolAbi,
          functionName: 'borrow',
          args: [am.token('USDC'), toUnits(1_600_000, 6), 2n, 0, b.address],
          gas: 900_000n,
        },
      ]),
    );
    await runActivity(am, { blocks: 20, seed: 62 });
    // The run: the whale pulls 100k a block until the cash is nearly gone, then takes what is left.
    const whale = am.account('whale');
    at.run = await am.chain.client.getBlockNumber().then((n) => n + 1n);
    for (;;) {
      // Uncached: viem keeps a block number for the client's polling interval (5 ms), and a loop turn
      // can be that fast; a stale number reads the cash before the last withdrawal, which reverts.
      const cash = await cashAt(await am.chain.client.getBlockNumber({ cacheTime: 0 }));
      const amount = cash < toUnits(150_000, 6) ? cash : toUnits(100_000, 6);
      const hashes = await am.send(whale, [
        {
          to: pool,
          abi: poolAbi,
          functionName: 'withdraw',
          args: [am.token('USDC'), amount, whale.address],
          gas: 600_000n,
        },
      ]);
      at.to = await am.mine(hashes);
      if (amount === cash) break;
    }
    ({ findings } = await detectRange(
      configWith(am, [{ id: 'liquidity-exhaustion', type: 'liquidity-exhaustion', market: 'aave' }], {
        positionsFromBlock: 0,
      }),
      am.chain.client,
      at.from!,
      at.to!,
    ));
  }, 120_000);

  const usdc = () => findings.filter((f) => f.subject.asset === lower(am.token('USDC')));

  it('raises nothing before the run (a 67%-utilised reserve is ordinary)', () => {
    expect(
      above(
        findings.filter((f) => f.block.number < at.run!),
        'info',
      ).map(brief),
    ).toEqual([]);
  });

  it('forecasts the exhaustion while utilisation is still below its line', async () => {
    const first = usdc()[0]!;
    expect(first.block.number).toBeGreaterThanOrEqual(at.run!);
    expect(first.block.number).toBeLessThan(at.to!);
    expect(first.kind).toBe('liquidity');
    expect(first.evidence.utilisationBps as number).toBeLessThan(9500);
    expect(first.evidence.secondsToExhaustion as number).toBeLessThanOrEqual(3600);
    expect(first.title).toMatch(/cash gone in/);
    // The forecast is early: the cash really ran out later, at the run's pace.
    expect(first.evidence.cash).toBe((await cashAt(first.block.number)).toString());
    expect(Number(at.to! - first.block.number)).toBeGreaterThan(0);
  });

  it('turns critical at ~100% utilisation, with the cash and debt the chain holds, naming who is locked in', async () => {
    const last = usdc().at(-1)!;
    expect(last.block.number).toBe(at.to);
    expect(last.severity).toBe('critical');
    expect(last.evidence.cash).toBe((await cashAt(at.to!)).toString());
    expect(last.evidence.utilisationBps).toBe(10_000);
    const tokens = await readReserveTokens(am.chain.client, am.market.aave.pool, am.token('USDC'));
    const debt = await am.chain.client.readContract({
      address: tokens.variableDebtToken,
      abi: erc20Abi,
      functionName: 'totalSupply',
      blockNumber: at.to!,
    });
    expect(last.evidence.debt).toBe(debt.toString());
    expect(last.evidence.suppliersLockedIn as number).toBeGreaterThan(0);
    expect(last.evidence.largestBorrower).toBe(lower(am.account('borrower').address));
    // One condition per reserve: one key, escalating.
    expect(new Set(usdc().map((f) => f.dedupeKey)).size).toBe(1);
    expect(findings.every((f) => f.subject.asset === lower(am.token('USDC')))).toBe(true);
  });
});
