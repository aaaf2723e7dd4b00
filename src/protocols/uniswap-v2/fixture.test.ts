import { type Address, getAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployArtifact, firebreakArtifact } from '../../chain/artifacts';
import { createEmbeddedChain, type EmbeddedChain } from '../../chain/embedded';
import { isFirebreakError } from '../../common/errors';
import { erc20Abi, uniswapV2PairAbi } from './abi';
import { addLiquidity, createPair, deployUniswapV2Factory } from './fixture';
import {
  buildSwapExactIn,
  computePairAddress,
  getAmountOut,
  isAutomineOn,
  pairInitCodeHash,
  planSwapExactIn,
  readPair,
  swapExactIn,
} from './pool';

const MAINNET_INIT_CODE_HASH = '0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f';
const E18 = 10n ** 18n;
const E6 = 10n ** 6n;

describe('getAmountOut', () => {
  it('applies the 0.3% fee as UniswapV2Library does', () => {
    // 1 in against 100/100 reserves: 997·100 / (100_000 + 997), in wei-scale units.
    expect(getAmountOut(1n * E18, 100n * E18, 100n * E18)).toBe(
      (997n * E18 * 100n * E18) / (100_000n * E18 + 997n * E18),
    );
    expect(getAmountOut(1000n, 1_000_000n, 1_000_000n)).toBe(996n);
    expect(getAmountOut(1n, 10n ** 30n, 1n)).toBe(0n);
  });

  it('refuses a zero input or an empty pair', () => {
    expect(() => getAmountOut(0n, 1n, 1n)).toThrow(/amountIn/);
    expect(() => getAmountOut(1n, 0n, 1n)).toThrow(/liquidity/);
  });
});

describe('Uniswap v2 fixture', () => {
  let chain: EmbeddedChain;
  let weth: Address;
  let usdc: Address;
  let factory: Address;
  let pair: Address;

  const deployer = () => chain.accounts[0]!;
  const trader = () => chain.accounts[1]!;
  const other = () => chain.accounts[2]!;
  const balanceOf = (token: Address, who: Address) =>
    chain.client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [who] });

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 4 });
    const account = deployer().account;
    const token = firebreakArtifact('DrillToken');
    weth = getAddress(
      await deployArtifact(chain.client, token, { account, args: ['Wrapped Ether', 'WETH', 18] }),
    );
    usdc = getAddress(await deployArtifact(chain.client, token, { account, args: ['USD Coin', 'USDC', 6] }));
    for (const who of [deployer(), trader(), other()]) {
      for (const [t, amount] of [
        [weth, 10_000n * E18],
        [usdc, 50_000_000n * E6],
      ] as const) {
        await chain.client.writeContract({
          address: t,
          abi: token.abi,
          functionName: 'mint',
          args: [who.address, amount],
          account,
        });
      }
    }
    factory = await deployUniswapV2Factory(chain.client, { account });
    pair = await createPair(chain.client, { factory, tokenA: weth, tokenB: usdc, account });
  });

  afterAll(async () => {
    await chain?.close();
  });

  it('creates the pair at its CREATE2 address, with the mainnet init-code hash', () => {
    expect(pairInitCodeHash()).toBe(MAINNET_INIT_CODE_HASH);
    expect(pair).toBe(computePairAddress(factory, usdc, weth));
  });

  it('adds liquidity: reserves are the deposits, LP minted is sqrt(a·b) − 1000', async () => {
    const amountWeth = 1_000n * E18;
    const amountUsdc = 2_000_000n * E6;
    const { liquidity } = await addLiquidity(chain.client, {
      pair,
      tokenA: weth,
      amountA: amountWeth,
      tokenB: usdc,
      amountB: amountUsdc,
      account: deployer().account,
      to: deployer().address,
    });
    const state = await readPair(chain.client, pair);
    const wethIs0 = state.token0 === weth;
    expect(wethIs0 ? state.reserve0 : state.reserve1).toBe(amountWeth);
    expect(wethIs0 ? state.reserve1 : state.reserve0).toBe(amountUsdc);
    expect(liquidity).toBe(sqrt(amountWeth * amountUsdc) - 1000n);
  });

  it('swaps exact-in both ways; reserves and balances match the math to the wei', async () => {
    for (const [tokenIn, tokenOut, amountIn] of [
      [weth, usdc, 3n * E18 + 123_456_789n],
      [usdc, weth, 12_345n * E6 + 7n],
    ] as const) {
      const before = await readPair(chain.client, pair);
      const outBefore = await balanceOf(tokenOut, trader().address);
      const wethIs0 = before.token0 === weth;
      const [reserveIn, reserveOut] =
        (tokenIn === weth) === wethIs0
          ? [before.reserve0, before.reserve1]
          : [before.reserve1, before.reserve0];
      const expectedOut = getAmountOut(amountIn, reserveIn, reserveOut);

      const result = await swapExactIn(chain.client, {
        pair,
        tokenIn,
        amountIn,
        account: trader().account,
        to: trader().address,
        minOut: expectedOut,
      });
      expect(result.confirmed).toBe(true);
      expect(result.amountOut).toBe(expectedOut);
      expect(result.tokenOut).toBe(tokenOut);

      const after = await readPair(chain.client, pair);
      expect(after.reserve0).toBe(result.after.reserve0);
      expect(after.reserve1).toBe(result.after.reserve1);
      expect(await balanceOf(tokenOut, trader().address)).toBe(outBefore + expectedOut);
      const receipt = await chain.client.getTransactionReceipt({ hash: result.swapHash });
      expect(receipt.status).toBe('success');
    }
  });

  it('the computed output is the most the pair pays: one wei more fails the K check', async () => {
    const plan = await buildSwapExactIn(chain.client, {
      pair,
      tokenIn: weth,
      amountIn: E18,
      to: trader().address,
    });
    const [transfer, swap] = plan.calls;
    const greedy =
      swap.args[0] === 0n ? ([0n, swap.args[1] + 1n] as const) : ([swap.args[0] + 1n, 0n] as const);
    const id = await chain.snapshot();
    await chain.client.writeContract({ ...transfer, address: transfer.to, account: trader().account });
    await expect(
      chain.client.writeContract({
        ...swap,
        address: swap.to,
        args: [greedy[0], greedy[1], swap.args[2], swap.args[3]],
        account: trader().account,
      }),
    ).rejects.toThrow(/UniswapV2: K/);
    await chain.revert(id);
  });

  it('refuses a swap below minOut without sending anything', async () => {
    const nonce = await chain.client.getTransactionCount({ address: trader().address });
    const error = await swapExactIn(chain.client, {
      pair,
      tokenIn: weth,
      amountIn: E18,
      account: trader().account,
      to: trader().address,
      minOut: 10n ** 30n,
    }).catch((e: unknown) => e);
    expect(isFirebreakError(error, 'ERR_ACTION_REFUSED')).toBe(true);
    expect(await chain.client.getTransactionCount({ address: trader().address })).toBe(nonce);
  });

  it('with automine off: sends without waiting, explicit gas and nonce; two swaps chain in one block', async () => {
    const id = await chain.snapshot();
    try {
      await chain.setAutomine(false);
      expect(await isAutomineOn(chain.client)).toBe(false);
      const start = await readPair(chain.client, pair);

      const first = await swapExactIn(chain.client, {
        pair,
        tokenIn: weth,
        amountIn: 5n * E18,
        account: trader().account,
        to: trader().address,
        fees: { maxFeePerGas: 50n * 10n ** 9n, maxPriorityFeePerGas: 2n * 10n ** 9n },
      });
      expect(first.confirmed).toBe(false);
      // The second swap plans from the first one's outcome, not from the (stale) latest reserves.
      const second = await swapExactIn(chain.client, {
        pair,
        tokenIn: usdc,
        amountIn: 4_000n * E6,
        account: other().account,
        to: other().address,
        state: first.after,
        fees: { maxFeePerGas: 50n * 10n ** 9n, maxPriorityFeePerGas: 1n * 10n ** 9n },
      });
      // Nothing mined yet.
      expect(await readPair(chain.client, pair)).toEqual(start);
      const pending = await chain.client.getTransaction({ hash: first.swapHash });
      expect(pending.blockNumber).toBeNull();
      expect(pending.gas).toBe(250_000n);

      const block = await chain.mine();
      for (const hash of [first.transferHash, first.swapHash, second.transferHash, second.swapHash]) {
        const receipt = await chain.client.getTransactionReceipt({ hash });
        expect(receipt.status).toBe('success');
        expect(receipt.blockNumber).toBe(block);
      }
      const end = await readPair(chain.client, pair);
      expect(end.reserve0).toBe(second.after.reserve0);
      expect(end.reserve1).toBe(second.after.reserve1);
      expect(
        planSwapExactIn(start, { pair, tokenIn: weth, amountIn: 5n * E18, to: trader().address }).after,
      ).toEqual(first.after);
    } finally {
      await chain.setAutomine(true);
      await chain.revert(id);
    }
  });

  it('reads a pair at a past block', async () => {
    const blockBefore = await chain.client.getBlockNumber();
    const before = await readPair(chain.client, pair);
    await swapExactIn(chain.client, {
      pair,
      tokenIn: usdc,
      amountIn: 1_000n * E6,
      account: trader().account,
      to: trader().address,
    });
    expect(await readPair(chain.client, pair, blockBefore)).toEqual(before);
    expect(await readPair(chain.client, pair)).not.toEqual(before);
  });

  it('LP token ABI reads work (totalSupply includes the locked minimum)', async () => {
    const supply = await chain.client.readContract({
      address: pair,
      abi: uniswapV2PairAbi,
      functionName: 'totalSupply',
    });
    expect(supply).toBe((await balanceOf(pair, deployer().address)) + 1000n);
  });
});

function sqrt(y: bigint): bigint {
  if (y < 4n) return y === 0n ? 0n : 1n;
  let z = y;
  let x = y / 2n + 1n;
  while (x < z) {
    z = x;
    x = (y / x + x) / 2n;
  }
  return z;
}
