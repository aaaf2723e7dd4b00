/**
 * Risk — a market's position book kept live while the engine follows its chain: the exact book
 * (`book.ts`) fed with the market's own logs as blocks are processed, so `view.positions(market)`
 * gives detectors such as `risk-thresholds` every position at the block in hand.
 *
 * The first call builds the book from the market's logs since `fromBlock` (its deployment block;
 * `eth_getLogs` in ranges of `maxBlockRange`), later calls apply only the blocks since. A block
 * number seen again (the engine re-processing after a restart) rolls the book back first; a block
 * whose parent is not the book's head (a reorg the book did not see) rebuilds it from `fromBlock`,
 * which is slow but cannot be wrong. A reserve listed after the book was built (the Pool's
 * reserve list grew) rebuilds it too, with the new reserve's tokens followed from then on.
 */
import type { Client, Hex } from 'viem';
import { zeroAddress } from 'viem';
import { getBlock, getLogs, readContract } from 'viem/actions';
import type { BlockRef } from '../chain/events';
import { aaveOracleAbi, erc20Abi, poolAbi } from '../protocols/aave-v3/abi';
import {
  readAssetPrice,
  readEModeCategory,
  readReserveConfiguration,
  readReserveTokens,
} from '../protocols/aave-v3/reader';
import type { AaveV3Reserve } from '../protocols/aave-v3/types';
import {
  type AaveV3EModeParams,
  type AaveV3ReserveParams,
  type AaveV3RiskInputs,
  createPositionBook,
  type PositionBook,
} from './book';
import type { PositionSnapshot } from './types';

/** The market's risk inputs at a block, read through the Aave v3 readers. */
export async function readRiskInputs(
  client: Client,
  market: { pool: Hex; oracle: Hex; reserves: Readonly<Record<string, Pick<AaveV3Reserve, 'asset'>>> },
  blockNumber: bigint,
): Promise<AaveV3RiskInputs> {
  const { pool, oracle } = market;
  const reserves: Record<string, AaveV3ReserveParams> = {};
  const prices: Record<string, bigint> = {};
  await Promise.all(
    Object.values(market.reserves).map(async (r) => {
      const [config, price] = await Promise.all([
        readReserveConfiguration(client, pool, r.asset, blockNumber),
        readAssetPrice(client, oracle, r.asset, blockNumber),
      ]);
      reserves[r.asset.toLowerCase()] = config;
      prices[r.asset.toLowerCase()] = price;
    }),
  );
  const eModes: Record<number, AaveV3EModeParams> = {};
  for (const id of new Set(Object.values(reserves).map((r) => r.eModeCategory))) {
    if (id === 0) continue;
    const e = await readEModeCategory(client, pool, id, blockNumber);
    eModes[id] = e;
    if (e.priceSource !== zeroAddress)
      prices[e.priceSource.toLowerCase()] = await readAssetPrice(client, oracle, e.priceSource, blockNumber);
  }
  const baseCurrencyUnit = await readContract(client, {
    address: oracle,
    abi: aaveOracleAbi,
    functionName: 'BASE_CURRENCY_UNIT',
    blockNumber,
  });
  return { reserves, eModes, prices, baseCurrencyUnit };
}

export interface PositionTrackerOptions {
  chainId: number;
  pool: Hex;
  oracle: Hex;
  /** The first block with the market's logs (its deployment); 0 on a local chain. */
  fromBlock: bigint;
  /** Largest block range of one `eth_getLogs` while building (default 2,000). */
  maxBlockRange?: number;
}

export interface PositionTracker {
  /** Every position at `block`, valued with the market's configuration and prices at that block. */
  snapshotAt(block: BlockRef): Promise<PositionSnapshot>;
  /** The book as it stands (null before the first call). */
  book(): PositionBook | null;
}

type Reserves = Record<
  string,
  Pick<AaveV3Reserve, 'symbol' | 'asset' | 'aToken' | 'variableDebtToken' | 'stableDebtToken'>
>;

/** The market's reserves and their tokens at a block, read from the Pool. */
async function readReserves(client: Client, pool: Hex, blockNumber: bigint): Promise<Reserves> {
  const assets = await readContract(client, {
    address: pool,
    abi: poolAbi,
    functionName: 'getReservesList',
    blockNumber,
  });
  const reserves: Reserves = {};
  await Promise.all(
    assets.map(async (asset) => {
      const [tokens, symbol] = await Promise.all([
        readReserveTokens(client, pool, asset, blockNumber),
        readContract(client, { address: asset, abi: erc20Abi, functionName: 'symbol', blockNumber }).catch(
          () => asset.slice(0, 10),
        ),
      ]);
      reserves[symbol] = {
        symbol,
        asset: asset.toLowerCase() as Hex,
        aToken: tokens.aToken.toLowerCase() as Hex,
        variableDebtToken: tokens.variableDebtToken.toLowerCase() as Hex,
        stableDebtToken: tokens.stableDebtToken.toLowerCase() as Hex,
      };
    }),
  );
  return reserves;
}

export function createPositionTracker(client: Client, options: PositionTrackerOptions): PositionTracker {
  const range = BigInt(options.maxBlockRange ?? 2_000);
  let state: {
    book: PositionBook;
    market: { pool: Hex; oracle: Hex; reserves: Reserves };
    addresses: Hex[];
  } | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  const build = async (head: bigint) => {
    const reserves = await readReserves(client, options.pool, head);
    const book = createPositionBook({
      chainId: options.chainId,
      pool: options.pool,
      reserves: Object.values(reserves),
    });
    const addresses = [
      options.pool,
      ...Object.values(reserves).flatMap((r) => [r.aToken, r.variableDebtToken, r.stableDebtToken]),
    ]
      .filter((a) => a.toLowerCase() !== zeroAddress)
      .map((a) => a.toLowerCase() as Hex);
    state = { book, market: { pool: options.pool, oracle: options.oracle, reserves }, addresses };
    return state;
  };

  /** Applies the market's logs in (from, block.number] and then the block itself. */
  const catchUp = async (s: NonNullable<typeof state>, from: bigint, block: BlockRef) => {
    for (let start = from; start <= block.number; start += range) {
      const end = start + range - 1n < block.number ? start + range - 1n : block.number;
      const logs = await getLogs(client, { address: s.addresses, fromBlock: start, toBlock: end });
      const byBlock = new Map<bigint, typeof logs>();
      for (const log of logs) {
        const list = byBlock.get(log.blockNumber);
        if (list) list.push(log);
        else byBlock.set(log.blockNumber, [log]);
      }
      const numbers = [...byBlock.keys()].filter((n) => n < block.number).sort((x, y) => (x < y ? -1 : 1));
      for (const n of numbers) {
        const b = await getBlock(client, { blockNumber: n });
        s.book.applyBlock(
          { number: n, hash: b.hash!, parentHash: b.parentHash, timestamp: b.timestamp },
          byBlock.get(n)!,
        );
      }
      if (end === block.number) s.book.applyBlock(block, byBlock.get(block.number) ?? []);
    }
  };

  const listedCount = async (blockNumber: bigint) =>
    (
      await readContract(client, {
        address: options.pool,
        abi: poolAbi,
        functionName: 'getReservesList',
        blockNumber,
      })
    ).length;

  const snapshotAt = async (block: BlockRef): Promise<PositionSnapshot> => {
    let s = state;
    const head = s?.book.head() ?? null;
    if (s && head && block.number <= head.number) {
      // Seen again: undo down to its parent (beyond the book's window, start over).
      try {
        s.book.rollback(block.number - 1n);
      } catch {
        s = null;
      }
    }
    const after = s?.book.head() ?? null;
    if (s && after && after.number === block.number - 1n && after.hash !== block.parentHash) s = null;
    // A reserve listed since the book was built (a governance listing): rebuild with it.
    if (s && (await listedCount(block.number)) !== Object.keys(s.market.reserves).length) s = null;
    if (!s) {
      s = await build(block.number);
      await catchUp(s, options.fromBlock, block);
    } else {
      const from = (s.book.head()?.number ?? options.fromBlock - 1n) + 1n;
      await catchUp(s, from, block);
    }
    s.book.finalize(block.number - 64n);
    const inputs = await readRiskInputs(client, s.market, block.number);
    return s.book.snapshot(inputs, block.timestamp);
  };

  return {
    snapshotAt(block) {
      // One at a time: the book is one mutable structure.
      const next = queue.then(() => snapshotAt(block));
      queue = next.catch(() => {});
      return next;
    },
    book: () => state?.book ?? null,
  };
}
