/**
 * BackstopPool against a real Aave v3 market: a WETH-collateralised USDC borrower is liquidated
 * after a price crash until no collateral is left; the pool reads the realised bad debt from the
 * Pool itself and repays it on the borrower's behalf (Pool.repay), up to coverage; stakers share
 * the loss pro rata; withdrawals wait their cooldown.
 */
import { type Address, maxUint256 } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import { deployArtifact, firebreakArtifact } from '../../src/chain/artifacts';
import { createEmbeddedChain, type EmbeddedChain } from '../../src/chain/embedded';
import { poolAbi, variableDebtTokenAbi } from '../../src/protocols/aave-v3/abi';
import { approve, borrow, supply } from '../../src/protocols/aave-v3/actions';
import { type AaveV3Market, deployAaveV3Market } from '../../src/protocols/aave-v3/fixture';
import { backstopPoolAbi, deployBackstopPool } from '../../src/protocols/firebreak';
import { advance, call, deployToken, revertReason, send } from './support';

const E6 = 10n ** 6n;
const E8 = 10n ** 8n;
const E18 = 10n ** 18n;
const DAY = 86_400n;

describe('BackstopPool covering realised bad debt of a real Aave v3 market', () => {
  let chain: EmbeddedChain;
  let market: AaveV3Market;
  let usdc: Address;
  let weth: Address;
  let wethFeed: Address;
  let backstop: Address;
  const gov = () => chain.accounts[0]!;
  const supplier = () => chain.accounts[1]!;
  const borrower = () => chain.accounts[2]!;
  const liquidator = () => chain.accounts[3]!;
  const alice = () => chain.accounts[4]!;
  const bob = () => chain.accounts[5]!;
  const healthy = () => chain.accounts[6]!;

  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    chain.client.readContract({
      address: backstop,
      abi: backstopPoolAbi,
      functionName,
      args,
    } as never) as Promise<T>;
  const debtOf = (who: Address) =>
    chain.client.readContract({
      address: market.reserves.USDC!.variableDebtToken,
      abi: variableDebtTokenAbi,
      functionName: 'balanceOf',
      args: [who],
    });

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 8 });
    const account = gov().account;
    const holders = [supplier(), liquidator(), alice(), bob()].map((a) => a.address);
    usdc = await deployToken(chain, account, 'USDC', 6, holders, 1_000_000n * E6);
    weth = await deployToken(chain, account, 'WETH', 18, [borrower().address, healthy().address], 100n * E18);
    const feed = firebreakArtifact('DrillPriceFeed');
    const usdcFeed = await deployArtifact(chain.client, feed, { account, args: [8, 'USDC / USD', E8] });
    wethFeed = await deployArtifact(chain.client, feed, { account, args: [8, 'WETH / USD', 2000n * E8] });
    const base = { reserveFactorBps: 1000, borrowingEnabled: true, borrowCap: 0n, supplyCap: 0n };
    market = await deployAaveV3Market(chain.client, {
      account,
      guardian: gov().address,
      assets: [
        {
          ...base,
          symbol: 'USDC',
          asset: usdc,
          decimals: 6,
          priceSource: usdcFeed,
          ltvBps: 7500,
          liquidationThresholdBps: 8000,
          liquidationBonusBps: 10500,
        },
        {
          ...base,
          symbol: 'WETH',
          asset: weth,
          decimals: 18,
          priceSource: wethFeed,
          ltvBps: 8000,
          liquidationThresholdBps: 8250,
          liquidationBonusBps: 10500,
        },
      ],
    });
    // Market activity: a USDC supplier; two WETH borrowers of 15,000 USDC (one stays healthy-ish).
    await send(chain, supplier().account, approve(market, { asset: usdc, amount: maxUint256 }));
    await send(
      chain,
      supplier().account,
      supply(market, { asset: usdc, amount: 500_000n * E6, onBehalfOf: supplier().address }),
    );
    for (const [who, collateral] of [
      [borrower(), 10n * E18],
      [healthy(), 100n * E18],
    ] as const) {
      await send(chain, who.account, approve(market, { asset: weth, amount: maxUint256 }));
      await send(
        chain,
        who.account,
        supply(market, { asset: weth, amount: collateral, onBehalfOf: who.address }),
      );
      await send(
        chain,
        who.account,
        borrow(market, { asset: usdc, amount: 15_000n * E6, onBehalfOf: who.address }),
      );
    }
    backstop = await deployBackstopPool(chain.client, {
      account,
      governance: gov().address,
      asset: usdc,
      cooldownSeconds: Number(7n * DAY),
      withdrawWindowSeconds: Number(2n * DAY),
    });
    await send(
      chain,
      account,
      call(backstop, backstopPoolAbi, 'registerMarket', [market.pool, 100_000n * E6, 200]),
    );
    for (const [who, amount] of [
      [alice(), 6_000n * E6],
      [bob(), 4_000n * E6],
    ] as const) {
      await send(chain, who.account, approve(market, { asset: usdc, amount, spender: backstop }));
      await send(chain, who.account, call(backstop, backstopPoolAbi, 'deposit', [amount]));
    }
  });

  it('shares add up to the assets after deposits', async () => {
    const [a, b, total] = await Promise.all([
      read<bigint>('assetsOf', [alice().address]),
      read<bigint>('assetsOf', [bob().address]),
      read<bigint>('totalAssets'),
    ]);
    expect([a, b, total]).toEqual([6_000n * E6, 4_000n * E6, 10_000n * E6]);
  });

  it('refuses to cover a borrower whose debt collateral still backs', async () => {
    expect(await read<bigint>('badDebtOf', [0n, borrower().address])).toBe(0n);
    expect(
      await revertReason(
        send(
          chain,
          alice().account,
          call(backstop, backstopPoolAbi, 'coverBadDebt', [0n, borrower().address]),
        ),
      ),
    ).toBe('NotRealisedBadDebt');
  });

  it('a staker cannot flee during the cooldown', async () => {
    await send(
      chain,
      bob().account,
      call(backstop, backstopPoolAbi, 'requestWithdraw', [await read<bigint>('sharesOf', [bob().address])]),
    );
    expect(await revertReason(send(chain, bob().account, call(backstop, backstopPoolAbi, 'withdraw')))).toBe(
      'CooldownNotOver',
    );
  });

  it('after a crash and a full liquidation, covers the realised bad debt; stakers lose pro rata', async () => {
    // WETH falls from $2,000 to $1,000: 10 WETH ($10,000) back 15,000 USDC of debt.
    await send(
      chain,
      gov().account,
      call(wethFeed, firebreakArtifact('DrillPriceFeed').abi, 'setAnswer', [1000n * E8]),
    );
    await send(chain, liquidator().account, approve(market, { asset: usdc, amount: maxUint256 }));
    await send(
      chain,
      liquidator().account,
      call(market.pool, poolAbi, 'liquidationCall', [weth, usdc, borrower().address, maxUint256, false]),
    );
    const debt = await debtOf(borrower().address);
    expect(debt).toBeGreaterThan(5_000n * E6); // ~15,000 - 10,000/1.05
    expect(await read<bigint>('badDebtOf', [0n, borrower().address])).toBe(debt);
    expect(await read<bigint>('badDebtOf', [0n, healthy().address])).toBe(0n); // still collateralised

    const before = await read<bigint>('totalAssets');
    await send(
      chain,
      liquidator().account,
      call(backstop, backstopPoolAbi, 'coverBadDebt', [0n, borrower().address]),
    );
    const repaid = before - (await read<bigint>('totalAssets'));
    expect(await debtOf(borrower().address)).toBe(0n);
    expect(repaid).toBeGreaterThanOrEqual(debt); // interest accrues by the block of the repay
    expect(repaid - debt).toBeLessThan(E6);
    // Pro rata: each staker keeps the same share of what is left.
    const [a, b, total] = await Promise.all([
      read<bigint>('assetsOf', [alice().address]),
      read<bigint>('assetsOf', [bob().address]),
      read<bigint>('totalAssets'),
    ]);
    expect(total).toBe(10_000n * E6 - repaid);
    expect(a + b).toBeLessThanOrEqual(total);
    expect(total - (a + b)).toBeLessThanOrEqual(2n);
    expect(a * 4n - b * 6n).toBeLessThanOrEqual(10n);
    expect(b * 6n - a * 4n).toBeLessThanOrEqual(10n);
  });

  it('the staker who asked to leave bears the loss and leaves with what the shares are worth now', async () => {
    const worth = await read<bigint>('assetsOf', [bob().address]);
    expect(worth).toBeLessThan(4_000n * E6);
    await advance(chain, 7n * DAY);
    await send(chain, bob().account, call(backstop, backstopPoolAbi, 'withdraw'));
    expect(await read<bigint>('sharesOf', [bob().address])).toBe(0n);
    expect(await read<bigint>('totalAssets')).toBe(await read<bigint>('assetsOf', [alice().address]));
  });

  it('covers no more than the market coverage', async () => {
    await send(chain, gov().account, call(backstop, backstopPoolAbi, 'setCoverageLimit', [0n, 0n]));
    // A second crash wipes the other borrower too.
    await send(
      chain,
      gov().account,
      call(wethFeed, firebreakArtifact('DrillPriceFeed').abi, 'setAnswer', [100n * E8]),
    );
    await send(
      chain,
      liquidator().account,
      call(market.pool, poolAbi, 'liquidationCall', [weth, usdc, healthy().address, maxUint256, false]),
    );
    expect(await read<bigint>('badDebtOf', [0n, healthy().address])).toBeGreaterThan(0n);
    expect(
      await revertReason(
        send(
          chain,
          alice().account,
          call(backstop, backstopPoolAbi, 'coverBadDebt', [0n, healthy().address]),
        ),
      ),
    ).toBe('NoCoverageLeft');
  });
});
