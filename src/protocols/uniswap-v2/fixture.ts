/**
 * Protocols / Uniswap v2 — drill fixtures: deploy the real `@uniswap/v2-core` factory, create
 * pairs and seed them with liquidity on a local chain. Setup only: every step waits for its
 * receipt, so the chain must mine (automine on, as `createEmbeddedChain` starts).
 */
import { type Account, type Address, type Client, getAddress, type Hash } from 'viem';
import { getTransactionReceipt, readContract, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { type DeployClient, deployArtifact } from '../../chain/artifacts';
import { FirebreakError } from '../../common/errors';
import { erc20Abi, uniswapV2Artifact, uniswapV2FactoryAbi, uniswapV2PairAbi } from './abi';

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';

/**
 * Deploys `UniswapV2Factory` and returns its address. `feeToSetter` (who may turn the protocol
 * fee on) defaults to the deployer; the protocol fee starts off, as on mainnet.
 */
export async function deployUniswapV2Factory(
  client: DeployClient,
  options: { account: Account; feeToSetter?: Address },
): Promise<Address> {
  const factory = await deployArtifact(client, uniswapV2Artifact('UniswapV2Factory'), {
    account: options.account,
    args: [options.feeToSetter ?? options.account.address],
  });
  return getAddress(factory);
}

/** Creates the pair for two tokens through the factory and returns the pair's address. */
export async function createPair(
  client: Client,
  options: { factory: Address; tokenA: Address; tokenB: Address; account: Account },
): Promise<Address> {
  const { factory, tokenA, tokenB, account } = options;
  await send(client, `createPair(${tokenA}, ${tokenB})`, () =>
    writeContract(client, {
      address: factory,
      abi: uniswapV2FactoryAbi,
      functionName: 'createPair',
      args: [tokenA, tokenB],
      account,
      chain: client.chain,
    }),
  );
  const pair = await readContract(client, {
    address: factory,
    abi: uniswapV2FactoryAbi,
    functionName: 'getPair',
    args: [tokenA, tokenB],
  });
  if (pair === ZERO_ADDRESS) {
    throw new FirebreakError('ERR_DEPLOY_FAILED', `factory ${factory} has no pair for ${tokenA}/${tokenB}`);
  }
  return pair;
}

export interface AddLiquidityResult {
  /** LP tokens minted to `to` (the first deposit locks 1,000 more at address 0). */
  liquidity: bigint;
  hashes: { transferA: Hash; transferB: Hash; mint: Hash };
}

/**
 * Adds liquidity as the router does without its pricing step: transfers `amountA` of `tokenA` and
 * `amountB` of `tokenB` from `account` (which must hold them) to the pair, then `pair.mint(to)`.
 * On a pair that already has reserves, the amounts should be in the pair's ratio: the pair mints
 * for the smaller side and keeps the excess.
 */
export async function addLiquidity(
  client: Client,
  options: {
    pair: Address;
    tokenA: Address;
    amountA: bigint;
    tokenB: Address;
    amountB: bigint;
    account: Account;
    to: Address;
  },
): Promise<AddLiquidityResult> {
  const { pair, account, to } = options;
  const lpBalance = () =>
    readContract(client, { address: pair, abi: uniswapV2PairAbi, functionName: 'balanceOf', args: [to] });
  const before = await lpBalance();
  const transfer = (token: Address, amount: bigint) =>
    send(client, `transfer ${amount} of ${token} to pair ${pair}`, () =>
      writeContract(client, {
        address: token,
        abi: erc20Abi,
        functionName: 'transfer',
        args: [pair, amount],
        account,
        chain: client.chain,
      }),
    );
  const transferA = await transfer(options.tokenA, options.amountA);
  const transferB = await transfer(options.tokenB, options.amountB);
  const mint = await send(client, `mint on pair ${pair}`, () =>
    writeContract(client, {
      address: pair,
      abi: uniswapV2PairAbi,
      functionName: 'mint',
      args: [to],
      account,
      chain: client.chain,
    }),
  );
  return { liquidity: (await lpBalance()) - before, hashes: { transferA, transferB, mint } };
}

/** Sends one transaction and waits for a successful receipt, or throws `ERR_DEPLOY_FAILED`. */
async function send(client: Client, label: string, submit: () => Promise<Hash>): Promise<Hash> {
  try {
    const hash = await submit();
    const receipt =
      (await getTransactionReceipt(client, { hash }).catch(() => undefined)) ??
      (await waitForTransactionReceipt(client, { hash }));
    if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
    return hash;
  } catch (error) {
    throw new FirebreakError(
      'ERR_DEPLOY_FAILED',
      `Uniswap v2 fixture: ${label} failed: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}
