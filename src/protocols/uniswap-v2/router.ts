/**
 * Protocols / Uniswap v2 — the router (`UniswapV2Router02` from `@uniswap/v2-periphery`): the ABI
 * Firebreak calls to withdraw liquidity, the deployable artifacts (router and WETH9) for drills and
 * tests, and the pure arithmetic of a withdrawal: the amounts a burn pays from the pair's reserves,
 * less a slippage bound, and the pair storage slot of an allowance (what a simulation of the
 * router's pull assumes when the same plan's `approve` has not been mined yet).
 *
 * The router reaches pairs by the factory's CREATE2 address with mainnet's init-code hash, which
 * the `@uniswap/v2-core` pair has (pool.ts `pairInitCodeHash`), so it works with our factory.
 */
import {
  type Account,
  type Address,
  encodeAbiParameters,
  getAddress,
  type Hex,
  keccak256,
  parseAbi,
} from 'viem';
import { type Artifact, type DeployClient, deployArtifact, waffleArtifact } from '../../chain/artifacts';
import { FirebreakError } from '../../common/errors';

export const UNISWAP_V2_PERIPHERY_VERSION = '1.1.0-beta.0';

const PERIPHERY_ARTIFACT_PATHS = {
  UniswapV2Router02: '@uniswap/v2-periphery/build/UniswapV2Router02.json',
  WETH9: '@uniswap/v2-periphery/build/WETH9.json',
} as const;

/** The parts of `UniswapV2Router02` Firebreak uses (checked against the package's artifact in tests). */
export const uniswapV2RouterAbi = parseAbi([
  'function factory() view returns (address)',
  'function WETH() view returns (address)',
  'function removeLiquidity(address tokenA, address tokenB, uint256 liquidity, uint256 amountAMin, uint256 amountBMin, address to, uint256 deadline) returns (uint256 amountA, uint256 amountB)',
]);

/** The LP token's ERC-20 side (UniswapV2ERC20), as the migration approves and reads it. */
export const uniswapV2LpAbi = parseAbi([
  'function approve(address spender, uint256 value) returns (bool)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function balanceOf(address owner) view returns (uint256)',
  'function totalSupply() view returns (uint256)',
]);

/**
 * Storage slot of `allowance` in UniswapV2ERC20 (`totalSupply` 0, `balanceOf` 1, `allowance` 2;
 * `name`, `symbol`, `decimals` are constants and take no slot).
 */
const ALLOWANCE_SLOT = 2n;

/** The pair storage slot holding `allowance[owner][spender]` (Solidity's nested mapping layout). */
export function lpAllowanceSlot(owner: Address, spender: Address): Hex {
  const inner = keccak256(
    encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [owner, ALLOWANCE_SLOT]),
  );
  return keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [spender, inner]));
}

/** Loads a `@uniswap/v2-periphery` build artifact in Firebreak's `Artifact` shape. */
export function uniswapV2PeripheryArtifact(name: keyof typeof PERIPHERY_ARTIFACT_PATHS): Artifact {
  return waffleArtifact(PERIPHERY_ARTIFACT_PATHS[name], name);
}

/**
 * Deploys `UniswapV2Router02` over `factory`, with a fresh WETH9 unless `weth` is given. Setup
 * only (drills, tests): waits for each receipt.
 */
export async function deployUniswapV2Router(
  client: DeployClient,
  options: { account: Account; factory: Address; weth?: Address },
): Promise<{ router: Address; weth: Address }> {
  const weth =
    options.weth ??
    (await deployArtifact(client, uniswapV2PeripheryArtifact('WETH9'), { account: options.account }));
  const router = await deployArtifact(client, uniswapV2PeripheryArtifact('UniswapV2Router02'), {
    account: options.account,
    args: [options.factory, weth],
  });
  return { router: getAddress(router), weth: getAddress(weth) };
}

/** What burning `liquidity` of a pair pays, and the least the withdrawal accepts. */
export interface LiquidityWithdrawal {
  amount0: bigint;
  amount1: bigint;
  amount0Min: bigint;
  amount1Min: bigint;
}

/**
 * The amounts a burn of `liquidity` pays at the given reserves and LP supply (`liquidity ·
 * reserve / totalSupply`, rounded down as the pair does; the pair pays from its balances, which are
 * never below its reserves), and those amounts less `slippageBps` (rounded down): the router's
 * `amountAMin`/`amountBMin`, so that a withdrawal sandwiched by a price move reverts instead of
 * paying less.
 */
export function planLiquidityWithdrawal(params: {
  liquidity: bigint;
  totalSupply: bigint;
  reserve0: bigint;
  reserve1: bigint;
  slippageBps: number;
}): LiquidityWithdrawal {
  const { liquidity, totalSupply, reserve0, reserve1, slippageBps } = params;
  if (liquidity <= 0n)
    throw new FirebreakError('ERR_ACTION_REFUSED', `a withdrawal needs liquidity > 0 (got ${liquidity})`);
  if (totalSupply < liquidity)
    throw new FirebreakError(
      'ERR_ACTION_REFUSED',
      `liquidity ${liquidity} exceeds the pair's LP supply ${totalSupply}`,
    );
  if (!Number.isInteger(slippageBps) || slippageBps < 0 || slippageBps > 10_000)
    throw new FirebreakError('ERR_ACTION_REFUSED', `slippageBps ${slippageBps} is not in 0..10000`);
  const amount0 = (liquidity * reserve0) / totalSupply;
  const amount1 = (liquidity * reserve1) / totalSupply;
  const keep = BigInt(10_000 - slippageBps);
  return {
    amount0,
    amount1,
    amount0Min: (amount0 * keep) / 10_000n,
    amount1Min: (amount1 * keep) / 10_000n,
  };
}
