// solvency on the CRV short's shape (SCENARIOS.md §2), in Aave v3 terms: one account borrows
// 1.5M USDC against 10M CRV, whose only DEX pool is thin. CRV crashes (oracle and pool alike); the
// position sits below health factor 1 with nobody liquidating, then its collateral no longer covers
// its debt (bad debt); when a liquidator finally clears half of it, the CRV it seizes fetches far
// less in the pool than the debt it repaid. Each figure is checked against the Pool's own
// getUserAccountData, the liquidator's actual sale, and the blocks in which it happened.
import type { Hex } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/detectors/types';
import { toUnits } from '../../src/drills/market';
import { erc20Abi, poolAbi } from '../../src/protocols/aave-v3/abi';
import { readUserAccountData } from '../../src/protocols/aave-v3/reader';
import { planSwapExactIn, readPair } from '../../src/protocols/uniswap-v2/pool';
import { type ActivityMarket, deployActivityMarket, runActivity, setFeedPrice } from '../support/activity';
import { above, brief, configWith, detectRange, lower } from './support';

const MAX = 2n ** 256n - 1n;

describe('solvency on a CRV-like position left under water', () => {
  let am: ActivityMarket;
  let findings: Finding[];
  const at: Record<string, bigint> = {};
  let liquidationTx: Hex;
  let saleUsdc: bigint;
  let whale: Hex;

  /** Sells CRV into the CRV-USDC pool (mined with the next block); returns the USDC it pays. */
  const dump = async (seller: string, crv: bigint) => {
    const pair = am.market.pools.get('CRV-USDC')!;
    const state = await readPair(am.chain.client, pair, await am.chain.client.getBlockNumber());
    const plan = planSwapExactIn(state, {
      pair,
      tokenIn: am.token('CRV'),
      amountIn: crv,
      to: am.account(seller).address,
    });
    const hashes = await am.send(am.account(seller), [
      { ...plan.calls[0], gas: 120_000n },
      { ...plan.calls[1], gas: 250_000n },
    ]);
    return { hashes, out: plan.amountOut };
  };

  beforeAll(async () => {
    am = await deployActivityMarket({
      assets: [{ symbol: 'CRV', decimals: 18, priceUsd: 0.5, ltvBps: 5000, liquidationThresholdBps: 6500 }],
      pools: [{ id: 'CRV-USDC', tokens: ['CRV', 'USDC'], reserves: [2_000_000, 1_000_000] }],
      accounts: [
        { name: 'crv-whale', holds: { CRV: 10_000_000 } },
        { name: 'dumper', holds: { CRV: 3_000_000 } },
        { name: 'liquidator', holds: { USDC: 1_000_000 } },
      ],
    });
    const pool = am.market.aave.pool;
    const w = am.account('crv-whale');
    whale = lower(w.address);
    const warm = await runActivity(am, { blocks: 20, seed: 51 });
    at.from = warm.from;
    // The short: 10M CRV ($5M) supplied, 1.5M USDC borrowed.
    await am.mine(
      await am.send(w, [
        { to: am.token('CRV'), abi: erc20Abi, functionName: 'approve', args: [pool, MAX], gas: 100_000n },
        {
          to: pool,
          abi: poolAbi,
          functionName: 'supply',
          args: [am.token('CRV'), toUnits(10_000_000, 18), w.address, 0],
          gas: 500_000n,
        },
        {
          to: pool,
          abi: poolAbi,
          functionName: 'borrow',
          args: [am.token('USDC'), toUnits(1_500_000, 6), 2n, 0, w.address],
          gas: 900_000n,
        },
      ]),
    );
    await runActivity(am, { blocks: 10, seed: 52 });
    // The squeeze's mirror image: CRV falls to $0.20 on the oracle and in its pool. HF ≈ 0.87.
    const first = await dump('dumper', toUnits(1_160_000, 18));
    at.crash = await am.mine([...first.hashes, ...(await setFeedPrice(am, 'CRV', 0.2))]);
    await runActivity(am, { blocks: 8, seed: 53 });
    // Further, to $0.12: 10M CRV = $1.2M against $1.5M of debt.
    const second = await dump('dumper', toUnits(1_000_000, 18));
    at.underwater = await am.mine([...second.hashes, ...(await setFeedPrice(am, 'CRV', 0.12))]);
    await runActivity(am, { blocks: 3, seed: 54 });
    // A liquidator clears half the debt and sells the CRV it seized in the next block.
    const liq = am.account('liquidator');
    [liquidationTx] = (
      await am.send(liq, [
        { to: am.token('USDC'), abi: erc20Abi, functionName: 'approve', args: [pool, MAX], gas: 100_000n },
        {
          to: pool,
          abi: poolAbi,
          functionName: 'liquidationCall',
          args: [am.token('CRV'), am.token('USDC'), w.address, toUnits(750_000, 6), false],
          gas: 1_500_000n,
        },
      ])
    ).slice(1) as [Hex];
    at.liquidation = await am.mine([liquidationTx]);
    const seized = await am.chain.client.readContract({
      address: am.token('CRV'),
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [liq.address],
    });
    const sale = await dump('liquidator', seized);
    saleUsdc = sale.out;
    at.to = await am.mine(sale.hashes);
    ({ findings } = await detectRange(
      configWith(
        am,
        [
          {
            id: 'solvency',
            type: 'solvency',
            market: 'aave',
            params: {
              exits: [
                { asset: am.token('CRV'), pair: am.market.pools.get('CRV-USDC')! },
                { asset: am.token('WETH'), pair: am.market.pools.get('WETH-USDC')! },
              ],
            },
          },
        ],
        { positionsFromBlock: 0 },
      ),
      am.chain.client,
      at.from!,
      at.to!,
    ));
  }, 120_000);

  const underwater = () => findings.filter((f) => f.dedupeKey.includes(':underwater:'));

  it('raises nothing before the crash', () => {
    expect(
      above(
        findings.filter((f) => f.block.number < at.crash!),
        'info',
      ).map(brief),
    ).toEqual([]);
  });

  it('reports the account once it has stood below health factor 1 for 5 blocks, unliquidated', async () => {
    const first = underwater()[0]!;
    expect(first.block.number).toBe(at.crash! + 5n);
    expect([first.severity, first.kind, first.subject.account, first.subject.asset]).toEqual([
      'high',
      'insolvency',
      whale,
      lower(am.token('USDC')),
    ]);
    expect(first.evidence.belowSinceBlock).toBe(Number(at.crash));
    const data = await readUserAccountData(am.chain.client, am.market.aave.pool, whale, first.block.number);
    expect(first.evidence.healthFactor as number).toBeCloseTo(Number(data.healthFactor) / 1e18, 3);
    expect(first.evidence.debtUsd as number).toBeCloseTo(Number(data.totalDebtBase) / 1e8, 0);
    // Every block after, under one key, until the liquidation restarts the clock.
    const keys = new Set(underwater().map((f) => f.dedupeKey));
    expect(keys.size).toBe(1);
    const before = underwater().filter((f) => f.block.number < at.liquidation!);
    expect(before.map((f) => f.block.number)).toEqual(
      Array.from({ length: Number(at.liquidation! - at.crash! - 5n) }, (_, k) => at.crash! + 5n + BigInt(k)),
    );
    expect(underwater().some((f) => f.block.number >= at.liquidation!)).toBe(false);
  });

  it('reports bad debt once collateral no longer covers the debt, as the Pool counts it', async () => {
    const bad = findings.filter((f) => f.dedupeKey.includes(':bad-debt:'));
    expect(bad[0]!.block.number).toBe(at.underwater);
    expect(bad.every((f) => f.kind === 'insolvency' && f.severity === 'high')).toBe(true);
    const data = await readUserAccountData(am.chain.client, am.market.aave.pool, whale, at.underwater!);
    const uncovered = Number(data.totalDebtBase - data.totalCollateralBase) / 1e8;
    expect(uncovered).toBeGreaterThan(200_000);
    expect(bad[0]!.evidence.badDebtUsd as number).toBeCloseTo(uncovered, 0);
    expect(bad[0]!.evidence.largestAccount).toBe(whale);
    expect(bad[0]!.subject.asset).toBe(lower(am.token('USDC')));
  });

  it('rates the liquidation critical: the seized CRV fetched far less than the debt it cleared', () => {
    const liq = findings.filter((f) => f.dedupeKey.includes(':liquidation:'));
    expect(liq.map((f) => [f.block.number, f.severity, f.evidence.tx])).toEqual([
      [at.liquidation, 'critical', liquidationTx],
    ]);
    const e = liq[0]!.evidence;
    // What the detector forecast the CRV would fetch is what the liquidator got for it a block later.
    expect(e.exitAmountOut).toBe(saleUsdc.toString());
    expect(e.debtCleared).toBe(toUnits(750_000, 6).toString());
    expect(e.shortfallBps as number).toBeGreaterThanOrEqual(5000);
    expect(e.seizedAtOracleUsd as number).toBeGreaterThan(e.debtClearedUsd as number); // the oracle pays the bonus
  });

  it('gives the same findings with the same ids on a second run', async () => {
    const again = await detectRange(
      configWith(
        am,
        [
          {
            id: 'solvency',
            type: 'solvency',
            market: 'aave',
            params: {
              exits: [
                { asset: am.token('CRV'), pair: am.market.pools.get('CRV-USDC')! },
                { asset: am.token('WETH'), pair: am.market.pools.get('WETH-USDC')! },
              ],
            },
          },
        ],
        { positionsFromBlock: 0 },
      ),
      am.chain.client,
      at.from!,
      at.to!,
    );
    expect(again.findings).toEqual(findings);
  }, 60_000);
});
