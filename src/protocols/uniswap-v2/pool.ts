/**
 * Protocols / Uniswap v2 — the pair as a market: constant-product math (pure), reading a pair's
 * reserves at a block, and swapping exact-in the way the router does (transfer the input to the
 * pair, then `pair.swap`), either sent here or handed back as call descriptions.
 *
 * Works with automine on or off: with automine off nothing waits for a receipt and every
 * transaction carries explicit `gas` and `nonce`, so nothing is estimated against pending state.
 */
import {
  type Account,
  type Address,
  type Client,
  getContractAddress,
  type Hash,
  type Hex,
  keccak256,
} from 'viem';
import {
  estimateFeesPerGas,
  getTransactionCount,
  getTransactionReceipt,
  readContract,
  waitForTransactionReceipt,
  writeContract,
} from 'viem/actions';
import { FirebreakError } from '../../common/errors';
import { erc20Abi, uniswapV2Artifact, uniswapV2PairAbi } from './abi';

/** Orders two token addresses as the factory does (token0 < token1). */
export function sortTokens(tokenA: Address, tokenB: Address): readonly [Address, Address] {
  const a = BigInt(tokenA);
  const b = BigInt(tokenB);
  if (a === b)
    throw new FirebreakError('ERR_ACTION_REFUSED', `a pair needs two different tokens (${tokenA})`);
  return a < b ? [tokenA, tokenB] : [tokenB, tokenA];
}

/** keccak256 of the pair's creation code: the CREATE2 init-code hash (equal to mainnet's). */
export function pairInitCodeHash(): Hex {
  return keccak256(uniswapV2Artifact('UniswapV2Pair').bytecode);
}

/** The address `factory.createPair(tokenA, tokenB)` deploys to (CREATE2), without a call. */
export function computePairAddress(factory: Address, tokenA: Address, tokenB: Address): Address {
  const [token0, token1] = sortTokens(tokenA, tokenB);
  return getContractAddress({
    opcode: 'CREATE2',
    from: factory,
    salt: keccak256(`0x${token0.slice(2)}${token1.slice(2)}`),
    bytecodeHash: pairInitCodeHash(),
  });
}

/**
 * The output amount the pair pays for `amountIn`, with its 0.3% fee, as `UniswapV2Library.getAmountOut`
 * computes it: `in·997·rOut / (rIn·1000 + in·997)`, rounded down. It is the largest output the pair's
 * `k` check (`(b0·1000 − in·3)(b1·1000) ≥ r0·r1·1000²`) accepts for a plain ERC-20.
 */
export function getAmountOut(amountIn: bigint, reserveIn: bigint, reserveOut: bigint): bigint {
  if (amountIn <= 0n) {
    throw new FirebreakError(
      'ERR_ACTION_REFUSED',
      `getAmountOut: amountIn must be positive (got ${amountIn})`,
    );
  }
  if (reserveIn <= 0n || reserveOut <= 0n) {
    throw new FirebreakError('ERR_ACTION_REFUSED', 'getAmountOut: the pair has no liquidity');
  }
  const amountInWithFee = amountIn * 997n;
  return (amountInWithFee * reserveOut) / (reserveIn * 1000n + amountInWithFee);
}

/** A pair's tokens and reserves at one block. */
export interface PairState {
  pair: Address;
  token0: Address;
  token1: Address;
  reserve0: bigint;
  reserve1: bigint;
  /** `blockTimestampLast` from `getReserves` (uint32 seconds). */
  blockTimestampLast: number;
}

/** Reads a pair's tokens and reserves at a block, or the pending block (latest when omitted). */
export async function readPair(
  client: Client,
  pair: Address,
  block?: bigint | 'pending',
): Promise<PairState> {
  const at =
    block === undefined
      ? {}
      : block === 'pending'
        ? { blockTag: 'pending' as const }
        : { blockNumber: block };
  const [token0, token1, reserves] = await Promise.all([
    readContract(client, { address: pair, abi: uniswapV2PairAbi, functionName: 'token0', ...at }),
    readContract(client, { address: pair, abi: uniswapV2PairAbi, functionName: 'token1', ...at }),
    readContract(client, { address: pair, abi: uniswapV2PairAbi, functionName: 'getReserves', ...at }),
  ]);
  return {
    pair,
    token0,
    token1,
    reserve0: reserves[0],
    reserve1: reserves[1],
    blockTimestampLast: reserves[2],
  };
}

/** An ERC-20 `transfer` call description. */
export interface TransferCall {
  to: Address;
  abi: typeof erc20Abi;
  functionName: 'transfer';
  args: readonly [recipient: Address, amount: bigint];
}

/** A `UniswapV2Pair.swap(amount0Out, amount1Out, to, data)` call description. */
export interface PairSwapCall {
  to: Address;
  abi: typeof uniswapV2PairAbi;
  functionName: 'swap';
  args: readonly [amount0Out: bigint, amount1Out: bigint, to: Address, data: Hex];
}

export interface SwapExactInParams {
  pair: Address;
  tokenIn: Address;
  amountIn: bigint;
  /** Receives the output tokens. */
  to: Address;
  /** Refuse (throw `ERR_ACTION_REFUSED`) when the computed output is below this. */
  minOut?: bigint;
}

/** Two calls to send in order (same sender, consecutive nonces) and what they should yield. */
export interface SwapPlan {
  calls: readonly [TransferCall, PairSwapCall];
  tokenIn: Address;
  tokenOut: Address;
  amountIn: bigint;
  amountOut: bigint;
  /** The pair's reserves once the swap is mined: plan a following swap in the same block from this. */
  after: PairState;
}

/**
 * Plans an exact-in swap against a known pair state (pure: no I/O). Chain plans through `after`
 * to build several swaps for one block.
 */
export function planSwapExactIn(state: PairState, params: SwapExactInParams): SwapPlan {
  if (params.pair.toLowerCase() !== state.pair.toLowerCase()) {
    throw new FirebreakError('ERR_ACTION_REFUSED', `pair state is for ${state.pair}, not ${params.pair}`);
  }
  const tokenIn = params.tokenIn.toLowerCase();
  const zeroForOne = tokenIn === state.token0.toLowerCase();
  if (!zeroForOne && tokenIn !== state.token1.toLowerCase()) {
    throw new FirebreakError('ERR_ACTION_REFUSED', `token ${params.tokenIn} is not in pair ${state.pair}`);
  }
  const [reserveIn, reserveOut] = zeroForOne
    ? [state.reserve0, state.reserve1]
    : [state.reserve1, state.reserve0];
  const amountOut = getAmountOut(params.amountIn, reserveIn, reserveOut);
  if (amountOut === 0n) {
    throw new FirebreakError(
      'ERR_ACTION_REFUSED',
      `swapping ${params.amountIn} into ${state.pair} yields 0 out`,
    );
  }
  if (params.minOut !== undefined && amountOut < params.minOut) {
    throw new FirebreakError(
      'ERR_ACTION_REFUSED',
      `swap would pay ${amountOut}, below the minimum of ${params.minOut} (pair ${state.pair})`,
    );
  }
  const tokenOut = zeroForOne ? state.token1 : state.token0;
  return {
    calls: [
      { to: params.tokenIn, abi: erc20Abi, functionName: 'transfer', args: [state.pair, params.amountIn] },
      {
        to: state.pair,
        abi: uniswapV2PairAbi,
        functionName: 'swap',
        args: zeroForOne ? [0n, amountOut, params.to, '0x'] : [amountOut, 0n, params.to, '0x'],
      },
    ],
    tokenIn: params.tokenIn,
    tokenOut,
    amountIn: params.amountIn,
    amountOut,
    after: {
      ...state,
      reserve0: zeroForOne ? state.reserve0 + params.amountIn : state.reserve0 - amountOut,
      reserve1: zeroForOne ? state.reserve1 - amountOut : state.reserve1 + params.amountIn,
    },
  };
}

/**
 * Builds an exact-in swap from the pair's reserves at `blockNumber` (latest when omitted): the
 * two call descriptions `[transfer, swap]` and the expected output, for a caller that sends them
 * its own way (a bundle, a block under construction, a Safe transaction).
 */
export async function buildSwapExactIn(
  client: Client,
  params: SwapExactInParams & { blockNumber?: bigint },
): Promise<SwapPlan> {
  const state = await readPair(client, params.pair, params.blockNumber);
  return planSwapExactIn(state, params);
}

/** Gas limits sent with a swap: explicit, so no estimate runs against pending state. */
export const DEFAULT_SWAP_GAS = { transfer: 120_000n, swap: 250_000n } as const;

export interface SwapExactInOptions extends SwapExactInParams {
  account: Account;
  /** EIP-1559 fees for both transactions; estimated from the latest block when omitted. */
  fees?: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
  /** Nonce of the transfer (the swap takes the next one); the pending count when omitted. */
  nonce?: number;
  gas?: { transfer: bigint; swap: bigint };
  /**
   * Plan from this pair state instead of reading the latest reserves: e.g. the `after` of a swap
   * already pending in the block being built.
   */
  state?: PairState;
  /**
   * Wait for both receipts and throw `ERR_TX_FAILED` if either reverted. Default: wait only when the
   * chain reports automine on (`hardhat_getAutomine` / `anvil_getAutomine`); never wait otherwise.
   */
  waitForReceipts?: boolean;
}

export interface SwapExactInResult {
  transferHash: Hash;
  swapHash: Hash;
  tokenOut: Address;
  amountOut: bigint;
  /** The pair's reserves once this swap is mined. */
  after: PairState;
  /** Whether receipts were awaited (and checked). */
  confirmed: boolean;
}

/**
 * Swaps an exact amount in: transfers `amountIn` of `tokenIn` from `account` to the pair, then calls
 * `pair.swap` for the output computed from the pair's latest reserves (or from `state`). Both
 * transactions carry explicit `gas` and consecutive nonces, so with automine off they sit in the
 * pool in order (set `fees` to have them mined ahead of, or behind, other transactions).
 * Throws `ERR_ACTION_REFUSED` (nothing sent) below `minOut`, `ERR_TX_FAILED` if sending fails.
 */
export async function swapExactIn(client: Client, options: SwapExactInOptions): Promise<SwapExactInResult> {
  const [plan, nonce, fees, wait] = await Promise.all([
    options.state ? planSwapExactIn(options.state, options) : buildSwapExactIn(client, options),
    options.nonce ?? getTransactionCount(client, { address: options.account.address, blockTag: 'pending' }),
    options.fees ?? estimateFeesPerGas(client),
    options.waitForReceipts ?? isAutomineOn(client),
  ]);
  const gas = options.gas ?? DEFAULT_SWAP_GAS;
  const [transfer, swap] = plan.calls;
  const common = {
    account: options.account,
    chain: client.chain,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
  };
  let transferHash: Hash;
  let swapHash: Hash;
  try {
    transferHash = await writeContract(client, {
      ...common,
      address: transfer.to,
      abi: transfer.abi,
      functionName: transfer.functionName,
      args: transfer.args,
      gas: gas.transfer,
      nonce,
    });
    swapHash = await writeContract(client, {
      ...common,
      address: swap.to,
      abi: swap.abi,
      functionName: swap.functionName,
      args: swap.args,
      gas: gas.swap,
      nonce: nonce + 1,
    });
  } catch (error) {
    throw new FirebreakError('ERR_TX_FAILED', `swap on ${options.pair} failed: ${(error as Error).message}`, {
      cause: error,
      details: { pair: options.pair, tokenIn: options.tokenIn, amountIn: options.amountIn.toString() },
    });
  }
  if (wait) {
    for (const [label, hash] of [
      ['transfer', transferHash],
      ['swap', swapHash],
    ] as const) {
      const receipt =
        (await getTransactionReceipt(client, { hash }).catch(() => undefined)) ??
        (await waitForTransactionReceipt(client, { hash }));
      if (receipt.status !== 'success') {
        throw new FirebreakError(
          'ERR_TX_FAILED',
          `swap ${label} transaction ${hash} reverted (pair ${options.pair})`,
          {
            details: { pair: options.pair, hash },
          },
        );
      }
    }
  }
  return {
    transferHash,
    swapHash,
    tokenOut: plan.tokenOut,
    amountOut: plan.amountOut,
    after: plan.after,
    confirmed: wait,
  };
}

/** Whether the chain mines a block per transaction; false when it cannot say (a real network). */
export async function isAutomineOn(client: Client): Promise<boolean> {
  const request = client.request as (args: { method: string }) => Promise<unknown>;
  for (const method of ['hardhat_getAutomine', 'anvil_getAutomine']) {
    try {
      const on = await request({ method });
      if (typeof on === 'boolean') return on;
    } catch {
      // Not this kind of node: try the next method.
    }
  }
  return false;
}
