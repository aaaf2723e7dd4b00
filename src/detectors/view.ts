/**
 * Detect — the block view: typed, memoised reads of protocol state pinned to one block.
 *
 * Every detector of a block shares one view, so a price read by two detectors is read once, and
 * every read names the block, so a detector sees the state its event describes and nothing later.
 */
import type { Client, Hex } from 'viem';
import { readAssetPrice } from '../protocols/aave-v3/reader';
import { type FeedAnswer, readFeed } from '../protocols/chainlink/feed';

export interface BlockView {
  readonly chainId: number;
  readonly blockNumber: bigint;
  /** Aave v3 oracle price of an asset, in the market's base currency (USD, 8 decimals). */
  aaveAssetPrice(oracle: Hex, asset: Hex): Promise<bigint>;
  /** A Chainlink-compatible feed's latest answer. */
  feed(address: Hex): Promise<FeedAnswer>;
}

export function createBlockView(client: Client, chainId: number, blockNumber: bigint): BlockView {
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    let hit = memo.get(key) as Promise<T> | undefined;
    if (!hit) {
      hit = read();
      memo.set(key, hit);
    }
    return hit;
  };
  return {
    chainId,
    blockNumber,
    aaveAssetPrice: (oracle, asset) =>
      once(`aave-price:${oracle}:${asset}`, () => readAssetPrice(client, oracle, asset, blockNumber)),
    feed: (address) => once(`feed:${address}`, () => readFeed(client, address, blockNumber)),
  };
}
