/**
 * Detect — the block view: typed, memoised reads of protocol state pinned to one block.
 *
 * Every detector of a block shares one view, so a price read by two detectors is read once, and
 * every read names the block, so a detector sees the state its event describes and nothing later.
 * Reads are `eth_call`s at the block (what a recording keeps, so a replay answers them); `logs`
 * and `transaction` need a node (a replay takes logs from the recording instead).
 */
import type { Abi, Client, Hex } from 'viem';
import { encodeFunctionData } from 'viem';
import { getBlock, getLogs, getTransaction } from 'viem/actions';
import { fastRead } from '../chain/read';
import { erc20Abi, poolAbi } from '../protocols/aave-v3/abi';
import {
  type ReserveTokens,
  readAssetPrice,
  readReserveConfiguration,
  readReserveTokens,
} from '../protocols/aave-v3/reader';
import type { ReserveConfiguration } from '../protocols/aave-v3/types';
import { type FeedAnswer, type FeedRound, readFeed, readFeedRound } from '../protocols/chainlink/feed';
import { uniswapV2PairAbi } from '../protocols/uniswap-v2/abi';
import type { PositionSnapshot } from '../risk/types';
import type { BlockLog } from './logs';

/** A Uniswap v2 pair at the block: tokens, reserves and LP supply. */
export interface PairReserves {
  pair: Hex;
  token0: Hex;
  token1: Hex;
  reserve0: bigint;
  reserve1: bigint;
  totalSupply: bigint;
}

/** An ERC-4626 vault at the block. */
export interface VaultState {
  totalAssets: bigint;
  totalSupply: bigint;
  decimals: number;
  /** `convertToAssets(10^decimals)`: the assets one whole share is worth. */
  assetsPerShare: bigint;
}

export interface BlockTransaction {
  hash: Hex;
  from: Hex;
  to: Hex | null;
  input: Hex;
  value: bigint;
}

export interface ReadCall {
  address: Hex;
  abi: Abi | readonly unknown[];
  functionName: string;
  args?: readonly unknown[];
}

export interface BlockView {
  readonly chainId: number;
  readonly blockNumber: bigint;
  /** Aave v3 oracle price of an asset, in the market's base currency (USD, 8 decimals). */
  aaveAssetPrice(oracle: Hex, asset: Hex): Promise<bigint>;
  /** A Chainlink-compatible feed's latest answer. */
  feed(address: Hex): Promise<FeedAnswer>;
  /** One round of a feed; `null` when the feed does not know it (reverts). */
  feedRound(address: Hex, roundId: bigint): Promise<FeedRound | null>;
  /** A Uniswap v2 pair's reserves and LP supply. */
  pair(address: Hex): Promise<PairReserves>;
  /** An Aave v3 reserve's decoded configuration. */
  reserveConfiguration(pool: Hex, asset: Hex): Promise<ReserveConfiguration>;
  /** An Aave v3 reserve's aToken, debt tokens and rate strategy. */
  reserveTokens(pool: Hex, asset: Hex): Promise<ReserveTokens>;
  /** The assets listed on an Aave v3 pool. */
  reservesList(pool: Hex): Promise<readonly Hex[]>;
  balanceOf(token: Hex, holder: Hex): Promise<bigint>;
  totalSupply(token: Hex): Promise<bigint>;
  /** An ERC-4626 vault's totals and the assets per whole share. */
  vault(address: Hex): Promise<VaultState>;
  /** Any view function at the block (custom detectors, declarative rules). */
  call<T = unknown>(call: ReadCall): Promise<T>;
  /** Every log of a block, by its hash (used when the block event carries none). */
  logs(blockHash: Hex): Promise<readonly BlockLog[]>;
  /** The block's transactions (sender, target, input, value): needs a node; a recording does not hold them. */
  transactions(blockHash: Hex): Promise<readonly BlockTransaction[]>;
  /** A transaction by hash (its sender, input): needs a node; a recording does not hold it. */
  transaction(hash: Hex): Promise<{ from: Hex; to: Hex | null; input: Hex; value: bigint }>;
  /**
   * Every position of a lending market (by its addresses provider) at the block, from the risk
   * engine's position book; absent, or `null` for a market, when no book follows that market.
   */
  positions?(market: Hex): Promise<PositionSnapshot | null>;
}

const vaultAbi = [
  {
    type: 'function',
    name: 'totalAssets',
    stateMutability: 'view',
    inputs: [],
    outputs: [{ type: 'uint256' }],
  },
  {
    type: 'function',
    name: 'totalSupply',
    stateMutability: 'view',
    inputs: [],
    outputs: [{ type: 'uint256' }],
  },
  { type: 'function', name: 'decimals', stateMutability: 'view', inputs: [], outputs: [{ type: 'uint8' }] },
  {
    type: 'function',
    name: 'convertToAssets',
    stateMutability: 'view',
    inputs: [{ type: 'uint256' }],
    outputs: [{ type: 'uint256' }],
  },
] as const;

export function createBlockView(
  client: Client,
  chainId: number,
  blockNumber: bigint,
  extra: { positions?: (market: Hex) => Promise<PositionSnapshot | null> } = {},
): BlockView {
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    let hit = memo.get(key) as Promise<T> | undefined;
    if (!hit) {
      hit = read();
      memo.set(key, hit);
    }
    return hit;
  };
  const lower = (a: Hex) => a.toLowerCase() as Hex;
  // The hot path every block (calldata encoded once per call shape): chain/read.ts.
  const read = <T>(
    address: Hex,
    abi: Abi | readonly unknown[],
    functionName: string,
    args: readonly unknown[] = [],
  ) =>
    fastRead(client, {
      address,
      abi: abi as Abi,
      functionName: functionName as never,
      args: args as never,
      blockNumber,
    }) as Promise<T>;
  const view: BlockView = {
    chainId,
    blockNumber,
    aaveAssetPrice: (oracle, asset) =>
      once(`aave-price:${lower(oracle)}:${lower(asset)}`, () =>
        readAssetPrice(client, oracle, asset, blockNumber),
      ),
    feed: (address) => once(`feed:${lower(address)}`, () => readFeed(client, address, blockNumber)),
    feedRound: (address, roundId) =>
      once(`feed-round:${lower(address)}:${roundId}`, () =>
        readFeedRound(client, address, roundId, blockNumber),
      ),
    pair: (address) =>
      once(`pair:${lower(address)}`, async () => {
        // What `readPair` reads, through the hot path (fastRead: calldata encoded once).
        const [token0, token1, reserves, totalSupply] = await Promise.all([
          read<Hex>(address, uniswapV2PairAbi, 'token0'),
          read<Hex>(address, uniswapV2PairAbi, 'token1'),
          read<readonly [bigint, bigint, number]>(address, uniswapV2PairAbi, 'getReserves'),
          read<bigint>(address, uniswapV2PairAbi, 'totalSupply'),
        ]);
        return {
          pair: lower(address),
          token0: lower(token0),
          token1: lower(token1),
          reserve0: reserves[0],
          reserve1: reserves[1],
          totalSupply,
        };
      }),
    reserveConfiguration: (pool, asset) =>
      once(`reserve-config:${lower(pool)}:${lower(asset)}`, () =>
        readReserveConfiguration(client, pool, asset, blockNumber),
      ),
    reserveTokens: (pool, asset) =>
      once(`reserve-tokens:${lower(pool)}:${lower(asset)}`, () =>
        readReserveTokens(client, pool, asset, blockNumber),
      ),
    reservesList: (pool) =>
      once(`reserves-list:${lower(pool)}`, async () =>
        (await read<readonly Hex[]>(pool, poolAbi, 'getReservesList')).map(lower),
      ),
    balanceOf: (token, holder) =>
      once(`balance:${lower(token)}:${lower(holder)}`, () =>
        read<bigint>(token, erc20Abi, 'balanceOf', [holder]),
      ),
    totalSupply: (token) =>
      once(`supply:${lower(token)}`, () => read<bigint>(token, erc20Abi, 'totalSupply')),
    vault: (address) =>
      once(`vault:${lower(address)}`, async () => {
        const [totalAssets, totalSupply, decimals] = await Promise.all([
          read<bigint>(address, vaultAbi, 'totalAssets'),
          read<bigint>(address, vaultAbi, 'totalSupply'),
          read<number>(address, vaultAbi, 'decimals'),
        ]);
        const assetsPerShare = await read<bigint>(address, vaultAbi, 'convertToAssets', [
          10n ** BigInt(decimals),
        ]);
        return { totalAssets, totalSupply, decimals, assetsPerShare };
      }),
    call: <T>(c: ReadCall) => {
      const data = encodeFunctionData({
        abi: c.abi as Abi,
        functionName: c.functionName as never,
        args: (c.args ?? []) as never,
      });
      return once(`call:${lower(c.address)}:${data}`, () =>
        read<T>(c.address, c.abi, c.functionName, c.args ?? []),
      );
    },
    logs: (blockHash) => once(`logs:${blockHash}`, () => getLogs(client, { blockHash })),
    transactions: (blockHash) =>
      once(`txs:${blockHash}`, async () => {
        const block = await getBlock(client, { blockHash, includeTransactions: true });
        return block.transactions.map((tx) => ({
          hash: tx.hash,
          from: lower(tx.from),
          to: tx.to ? lower(tx.to) : null,
          input: tx.input,
          value: tx.value,
        }));
      }),
    transaction: (hash) =>
      once(`tx:${hash}`, async () => {
        const tx = await getTransaction(client, { hash });
        return { from: lower(tx.from), to: tx.to ? lower(tx.to) : null, input: tx.input, value: tx.value };
      }),
  };
  if (extra.positions) {
    const positions = extra.positions;
    view.positions = (market) => once(`positions:${lower(market)}`, () => positions(lower(market)));
  }
  return view;
}
