// concentration on the CRV short's shape (SCENARIOS.md §2), in Aave v3 terms, on the real Aave v3
// market and Uniswap v2 pools, read from the live position book:
// - `early` borrowed 2.4M CRV — more than the 2M CRV the only pool holds — before the engine ran:
//   no Borrow of it is ever in view, and it is critical from the first block the detector sees;
// - `grower` owes 700k CRV (35 % of the pool: silent) until a squeeze buys CRV out of the pool:
//   the same debt is then over half of what is left, with no transaction of its own;
// - `collat`'s WETH collateral that a liquidation would seize approaches the WETH pool's reserve,
//   then passes it when WETH's oracle price falls (its debt buys more WETH), again with no
//   transaction of its own;
// - `dai-borrower` owes nearly all of the market's DAI debt (DAI watched with no pair: the share
//   of the market alone).
// Every figure in the evidence is checked against the chain at the block: debt-token balances and
// supplies, the pair's reserves, the Pool's getUserAccountData and the oracle.
import type { Hex } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/detectors/types';
import { toUnits } from '../../src/drills/market';
import { erc20Abi, poolAbi } from '../../src/protocols/aave-v3/abi';
import { readAssetPrice, readUserAccountData } from '../../src/protocols/aave-v3/reader';
import { planSwapExactIn, readPair } from '../../src/protocols/uniswap-v2/pool';
import {
  type ActivityExtras,
  type ActivityMarket,
  deployActivityMarket,
  runActivity,
  setFeedPrice,
} from '../support/activity';
import { brief, configWith, type DetectorInput, detectRange, lower } from './support';

const MAX = 2n ** 256n - 1n;
const CRITICAL_SHARE_BPS = 9000;

describe('concentration on a CRV-shaped short, read from the position book', () => {
  let am: ActivityMarket;
  let findings: Finding[];
  let detector: (type: 'concentration' | 'debt-concentration') => DetectorInput;
  const at: Record<string, bigint> = {};
  const who: Record<string, Hex> = {};

  const balance = (token: Hex, holder: Hex, blockNumber: bigint) =>
    am.chain.client.readContract({
      address: token,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [holder],
      blockNumber,
    });
  const supply = (token: Hex, blockNumber: bigint) =>
    am.chain.client.readContract({ address: token, abi: erc20Abi, functionName: 'totalSupply', blockNumber });
  const reserveOf = async (pool: string, symbol: string, blockNumber: bigint) => {
    const p = await readPair(am.chain.client, am.market.pools.get(pool)!, blockNumber);
    return p.token0.toLowerCase() === lower(am.token(symbol)) ? p.reserve0 : p.reserve1;
  };
  const vDebt = (symbol: string) => am.market.aave.reserves[symbol]!.variableDebtToken;
  const keyed = (account: string, symbol: string, side: 'debt' | 'collateral') =>
    findings.filter(
      (f) =>
        f.subject.account === who[account] &&
        f.subject.asset === lower(am.token(symbol)) &&
        f.evidence.side === side,
    );
  /** Senders of the block's transactions. */
  const senders = async (blockNumber: bigint) =>
    (await am.chain.client.getBlock({ blockNumber, includeTransactions: true })).transactions.map((t) =>
      lower(t.from),
    );

  beforeAll(async () => {
    // CRV borrowable (the activity helper lists added assets as collateral only by default).
    const crv = {
      symbol: 'CRV',
      decimals: 18,
      priceUsd: 0.5,
      ltvBps: 5500,
      liquidationThresholdBps: 6100,
      borrowingEnabled: true,
    };
    const extras: ActivityExtras = {
      assets: [crv],
      pools: [{ id: 'CRV-USDC', tokens: ['CRV', 'USDC'], reserves: [2_000_000, 1_000_000] }],
      accounts: [
        { name: 'crv-supplier', holds: { CRV: 20_000_000 } },
        { name: 'early', holds: { USDC: 4_000_000 } },
        { name: 'grower', holds: { USDC: 3_000_000 } },
        { name: 'squeezer', holds: { USDC: 1_000_000 } },
        { name: 'dai-borrower', holds: { USDC: 1_000_000 } },
        { name: 'collat', holds: { WETH: 1200 } },
      ],
    };
    am = await deployActivityMarket(extras);
    for (const name of ['early', 'grower', 'collat', 'dai-borrower'])
      who[name] = lower(am.account(name).address);
    const pool = am.market.aave.pool;
    const approve = (symbol: string) => ({
      to: am.token(symbol),
      abi: erc20Abi,
      functionName: 'approve',
      args: [pool, MAX],
      gas: 100_000n,
    });
    const supplyCall = (name: string, symbol: string, amount: number, decimals: number) => ({
      to: pool,
      abi: poolAbi,
      functionName: 'supply',
      args: [am.token(symbol), toUnits(amount, decimals), am.account(name).address, 0],
      gas: 500_000n,
    });
    const borrowCall = (name: string, symbol: string, amount: bigint) => ({
      to: pool,
      abi: poolAbi,
      functionName: 'borrow',
      args: [am.token(symbol), amount, 2n, 0, am.account(name).address],
      gas: 900_000n,
    });

    // Before the engine: CRV liquidity, and the early short (2.4M CRV against 4M USDC).
    await am.mine([
      ...(await am.send(am.account('crv-supplier'), [
        approve('CRV'),
        supplyCall('crv-supplier', 'CRV', 20_000_000, 18),
      ])),
      ...(await am.send(am.account('early'), [approve('USDC'), supplyCall('early', 'USDC', 4_000_000, 6)])),
    ]);
    at.earlyBorrow = await am.mine(
      await am.send(am.account('early'), [borrowCall('early', 'CRV', toUnits(2_400_000, 18))]),
    );
    const warm = await runActivity(am, { blocks: 10, seed: 61 });
    at.from = warm.from;

    // A smaller short: 700k CRV, 35 % of the pool.
    at.grow = await am.mine(
      await am.send(am.account('grower'), [
        approve('USDC'),
        supplyCall('grower', 'USDC', 3_000_000, 6),
        borrowCall('grower', 'CRV', toUnits(700_000, 18)),
      ]),
    );
    await runActivity(am, { blocks: 5, seed: 62 });

    // The squeeze: 545k USDC buys ~700k CRV out of the pool; the oracle follows the pool.
    const pair = am.market.pools.get('CRV-USDC')!;
    const state = await readPair(am.chain.client, pair, await am.chain.client.getBlockNumber());
    const buy = planSwapExactIn(state, {
      pair,
      tokenIn: am.token('USDC'),
      amountIn: toUnits(545_000, 6),
      to: am.account('squeezer').address,
    });
    at.squeeze = await am.mine([
      ...(await am.send(am.account('squeezer'), [
        { ...buy.calls[0], gas: 120_000n },
        { ...buy.calls[1], gas: 250_000n },
      ])),
      ...(await setFeedPrice(am, 'CRV', 1.19)),
    ]);
    await runActivity(am, { blocks: 5, seed: 63 });

    // Nearly all of the market's DAI debt in one account.
    at.dai = await am.mine(
      await am.send(am.account('dai-borrower'), [
        approve('USDC'),
        supplyCall('dai-borrower', 'USDC', 1_000_000, 6),
        borrowCall('dai-borrower', 'DAI', toUnits(600_000, 18)),
      ]),
    );

    // 1,200 WETH supplied; USDC borrowed so that a full liquidation at $2,000 would seize 97 % of
    // the WETH pool's reserve (read now: the activity's swaps moved it).
    const wethReserve = await reserveOf('WETH-USDC', 'WETH', await am.chain.client.getBlockNumber());
    const target = (wethReserve * 97n * 2000n) / (105n * 10n ** 12n); // USDC units
    const usdcDebt = target < toUnits(1_900_000, 6) ? target : toUnits(1_900_000, 6); // under its LTV
    at.collat = await am.mine([
      ...(await setFeedPrice(am, 'WETH', 2000)),
      ...(await am.send(am.account('collat'), [
        approve('WETH'),
        supplyCall('collat', 'WETH', 1200, 18),
        borrowCall('collat', 'USDC', usdcDebt),
      ])),
    ]);
    // WETH −5 % on the oracle only: the same debt now seizes more WETH than the pool holds.
    at.drop = await am.mine(await setFeedPrice(am, 'WETH', 1900));
    await am.mine();
    at.to = await am.mine();

    detector = (type) => ({
      id: 'concentration',
      type,
      market: 'aave',
      params:
        type === 'concentration'
          ? {
              assets: [
                { asset: am.token('CRV'), symbol: 'CRV', pairs: [pair] },
                { asset: am.token('WETH'), symbol: 'WETH', pairs: [am.market.pools.get('WETH-USDC')!] },
                { asset: am.token('DAI'), symbol: 'DAI' },
              ],
              criticalShareBps: CRITICAL_SHARE_BPS,
            }
          : // The former detector's parameters, as an existing config has them.
            {
              assets: [{ asset: am.token('CRV'), symbol: 'CRV', pairs: [pair] }],
              thresholdBps: 5000,
              criticalBps: 10_000,
              criticalShareBps: CRITICAL_SHARE_BPS,
            },
    });
    ({ findings } = await detectRange(
      configWith(am, [detector('concentration')], { positionsFromBlock: 0 }),
      am.chain.client,
      at.from!,
      at.to!,
    ));
  }, 150_000);

  it('reports the short opened before the engine started, critical from the first block it sees', async () => {
    const early = keyed('early', 'CRV', 'debt');
    expect(early.length).toBeGreaterThan(0);
    const first = early[0]!;
    expect(first.block.number).toBe(at.from);
    expect([first.severity, first.kind, first.detector, first.subject.market]).toEqual([
      'critical',
      'liquidity',
      'concentration',
      lower(am.market.aave.addressesProvider),
    ]);
    // Every block of the range, under one key; no Borrow of it was ever in view.
    expect(new Set(early.map((f) => f.dedupeKey)).size).toBe(1);
    expect(early.map((f) => f.block.number)).toEqual(
      Array.from({ length: Number(at.to! - at.from! + 1n) }, (_, k) => at.from! + BigInt(k)),
    );
    expect(at.earlyBorrow!).toBeLessThan(at.from!);
    // The evidence is the chain's: its debt, the pool's CRV, and their ratio.
    const debt = await balance(vDebt('CRV'), who.early!, at.from!);
    const reserve = await reserveOf('CRV-USDC', 'CRV', at.from!);
    expect(first.evidence.poolReserve).toBe(reserve.toString());
    expect(first.evidence.amount as number).toBeCloseTo(Number(debt) / 1e18, 2);
    expect(
      Math.abs((first.evidence.liquidityBps as number) - Number((debt * 10_000n) / reserve)),
    ).toBeLessThanOrEqual(1);
    expect(first.evidence.liquidityBps as number).toBeGreaterThanOrEqual(10_000);
    // The only CRV debt then: the whole market's.
    expect(first.evidence.shareBps).toBe(10_000);
  });

  it('reports a short grown past the line by a squeeze alone, with no transaction of its own', async () => {
    const grower = keyed('grower', 'CRV', 'debt');
    expect(grower.length).toBeGreaterThan(0);
    expect(grower[0]!.block.number).toBe(at.squeeze);
    expect(grower[0]!.severity).toBe('high');
    expect(await senders(at.squeeze!)).not.toContain(who.grower);
    // Its borrow block was silent: 35 % of the pool, 23 % of the CRV debt.
    const before = await reserveOf('CRV-USDC', 'CRV', at.grow!);
    const debt = await balance(vDebt('CRV'), who.grower!, at.grow!);
    expect(Number((debt * 10_000n) / before)).toBeLessThan(5000);
    // After the squeeze: the same debt, more than half of what the pool has left.
    const e = grower[0]!.evidence;
    const after = await reserveOf('CRV-USDC', 'CRV', at.squeeze!);
    const debtThen = await balance(vDebt('CRV'), who.grower!, at.squeeze!);
    expect(e.poolReserve).toBe(after.toString());
    expect(Math.abs((e.liquidityBps as number) - Number((debtThen * 10_000n) / after))).toBeLessThanOrEqual(
      1,
    );
    expect(e.liquidityBps as number).toBeGreaterThanOrEqual(5000);
    expect(e.liquidityBps as number).toBeLessThan(10_000);
    const total = await supply(vDebt('CRV'), at.squeeze!);
    expect(Math.abs((e.shareBps as number) - Number((debtThen * 10_000n) / total))).toBeLessThanOrEqual(1);
    expect(grower.every((f) => f.block.number >= at.squeeze!)).toBe(true);
  });

  it('reports the collateral a liquidation would seize against the pool, and its growth by price', async () => {
    const collat = keyed('collat', 'WETH', 'collateral');
    expect(collat.map((f) => f.block.number).slice(0, 2)).toEqual([at.collat, at.drop]);
    const seizable = async (blockNumber: bigint) => {
      const data = await readUserAccountData(am.chain.client, am.market.aave.pool, who.collat!, blockNumber);
      const price = await readAssetPrice(
        am.chain.client,
        am.market.aave.oracle,
        am.token('WETH'),
        blockNumber,
      );
      const held =
        Number(await balance(am.market.aave.reserves.WETH!.aToken, who.collat!, blockNumber)) / 1e18;
      return Math.min(held, (Number(data.totalDebtBase) * 1.05) / Number(price));
    };
    for (const [f, line] of [
      [collat[0]!, 'high'],
      [collat[1]!, 'critical'],
    ] as const) {
      const n = f.block.number;
      const amount = await seizable(n);
      const reserve = Number(await reserveOf('WETH-USDC', 'WETH', n)) / 1e18;
      expect(f.evidence.amount as number).toBeCloseTo(amount, 2);
      expect(f.evidence.poolReserve).toBe((await reserveOf('WETH-USDC', 'WETH', n)).toString());
      const ratio = Math.floor((amount / reserve) * 10_000);
      expect(Math.abs((f.evidence.liquidityBps as number) - ratio)).toBeLessThanOrEqual(1);
      expect(f.severity).toBe(line);
      expect(line === 'critical' ? ratio >= 10_000 : ratio >= 5000 && ratio < 10_000).toBe(true);
    }
    expect(await senders(at.drop!)).not.toContain(who.collat);
    // The pure supplier of WETH (the whale, no debt) is not a liquidation's concern.
    expect(findings.some((f) => f.subject.account === lower(am.account('whale').address))).toBe(false);
  });

  it('reports one account owing most of the market, with no pair to weigh it against', async () => {
    const dai = keyed('dai-borrower', 'DAI', 'debt');
    expect(dai[0]!.block.number).toBe(at.dai);
    const e = dai[0]!.evidence;
    expect(e.liquidityBps).toBeUndefined();
    const own = await balance(vDebt('DAI'), who['dai-borrower']!, at.dai!);
    const total = await supply(vDebt('DAI'), at.dai!);
    const share = Number((own * 10_000n) / total);
    expect(Math.abs((e.shareBps as number) - share)).toBeLessThanOrEqual(1);
    expect(share).toBeGreaterThan(5000);
    expect(dai[0]!.severity).toBe(share >= CRITICAL_SHARE_BPS ? 'critical' : 'high');
  });

  it('raises nothing else: one key per (market, asset, account, side), dust and suppliers silent', () => {
    const keys = new Set(findings.map((f) => f.dedupeKey));
    const market = lower(am.market.aave.addressesProvider);
    expect([...keys].sort()).toEqual(
      [
        ['early', 'CRV', 'debt'],
        ['grower', 'CRV', 'debt'],
        ['dai-borrower', 'DAI', 'debt'],
        ['collat', 'WETH', 'collateral'],
      ]
        .map(
          ([a, s, side]) =>
            `concentration:${am.chain.chainId}:${market}:${lower(am.token(s!))}:${who[a!]}:${side}`,
        )
        .sort(),
    );
    expect(findings.filter((f) => f.kind !== 'liquidity').map(brief)).toEqual([]);
  });

  it('gives the same findings with the same ids on a second run', async () => {
    const again = await detectRange(
      configWith(am, [detector('concentration')], { positionsFromBlock: 0 }),
      am.chain.client,
      at.from!,
      at.to!,
    );
    expect(again.findings).toEqual(findings);
  }, 60_000);

  it('runs a config of the former type `debt-concentration` as concentration on the debt side', async () => {
    const alias = await detectRange(
      configWith(am, [detector('debt-concentration')], { positionsFromBlock: 0 }),
      am.chain.client,
      at.from!,
      at.to!,
    );
    const crvDebt = findings.filter(
      (f) => f.subject.asset === lower(am.token('CRV')) && f.evidence.side === 'debt',
    );
    expect(crvDebt.length).toBeGreaterThan(0);
    expect(alias.findings).toEqual(crvDebt);
  }, 60_000);
});
