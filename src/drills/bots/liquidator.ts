/**
 * Drills — bots: the liquidator. Each block it scans every known borrower at the pending state in
 * one `eth_call` per chunk (AccountDataReader), and for positions below a health factor of 1 —
 * once they have been liquidatable for `delayBlocks`, largest debt first, at most `maxPerBlock` —
 * it repays the largest debt against the largest collateral with Aave v3.0's close factor and
 * bonus, and sells the seized collateral on the pool holding both, chaining its own trades within
 * the block. It liquidates only when it pays: the debt it repays is sized to maximise the sale's
 * return over that debt at the pool's depth, and the best it can make must beat `minProfitUsd`
 * at true prices. Its capital is its `holds` of debt assets, replenished by the sales.
 *
 * The scan is incremental (`createWatch`): Aave v3 refuses any action that would leave its own
 * user's health factor below 1, so without an action a position can only cross 1 when prices,
 * interest or the market's thresholds move. Each block the bot reads the market at pending (prices,
 * variable debt indices, thresholds, e-mode categories, oracle and pool code) and re-reads only the
 * positions it has not seen, those that acted since (named in the Aave pool's and tokens' logs of
 * the blocks mined since, or in a pending transaction), and those the move since their last read
 * could have taken below 1 (`mayHaveFallenBelowOne`, a provably conservative bound). It sees the
 * same liquidatable positions as a full scan of every borrower; `scan: 'audit'` checks that each
 * block, and `scan: 'full'` (or FIREBREAK_LIQUIDATOR_SCAN=full) turns the optimisation off.
 *
 * Planning skips, unread, a liquidatable position no sale can pay for: from each user's reserve
 * bitmap and e-mode (read once, in batched calls, and again only when the watch names the user),
 * when for every pair it may post and owe the pool's price net of the fee is already at or below
 * the oracle's net of the bonus (`bestSaleInput` 0, the test `chooseLiquidation` itself makes), it
 * would be skipped once read. Thousands of positions left stuck by a thin pool so cost nothing a
 * block, instead of a dozen reads each.
 */
import { type Abi, decodeFunctionResult, encodeFunctionData, type Hex } from 'viem';
import { getBlock, getLogs, getStorageAt, multicall, readContract } from 'viem/actions';
import { deployArtifact, firebreakArtifact } from '../../chain/artifacts';
import { FirebreakError } from '../../common/errors';
import { aaveOracleAbi, erc20Abi, poolAbi, poolAddressesProviderAbi } from '../../protocols/aave-v3/abi';
import type { ReserveConfiguration } from '../../protocols/aave-v3/types';
import { type PairState, planSwapExactIn, readPair } from '../../protocols/uniswap-v2/pool';
import type { DrillToken } from '../market';
import {
  approvePool,
  balanceOf,
  call,
  fmt,
  GAS,
  inWindow,
  mintHoldings,
  oraclePrices,
  PENDING,
  referencePrices,
  reserveConfigurations,
  unitsToUsd,
} from './common';
import {
  bestSaleInput,
  chooseLiquidation,
  type LiquidationInputs,
  type MarketMove,
  mayHaveFallenBelowOne,
  ONE_HF,
  priceRatioBounds,
  type Ratio,
} from './math';
import type { LiquidatorSpec } from './schema';
import type { Bot, BotCall, BotContext, BotTurn } from './types';

/** Users per AccountDataReader call (the call runs with a high gas cap, as spawner.ts reads do). */
export const SCAN_CHUNK = 1_000;
/** The 100 % close factor is used only below 0.95 − this (the call executes a block after the read). */
const CLOSE_FACTOR_MARGIN_WAD = 10n ** 14n;

/** One liquidatable position found by the scan. */
export interface Underwater {
  user: Hex;
  totalDebtBase: bigint;
  healthFactor: bigint;
}

/** One position as `getUserAccountData` reports it (base currency, wad health factor). */
export interface AccountRead {
  user: Hex;
  collateralBase: bigint;
  debtBase: bigint;
  healthFactor: bigint;
}

/** Scans `users` at the pending state; returns the positions with debt and a health factor below 1. */
export async function scanUnderwater(
  ctx: BotContext,
  reader: Hex,
  users: readonly Hex[],
  chunk = SCAN_CHUNK,
): Promise<Underwater[]> {
  return underwaterOf(await readAccounts(ctx, reader, users, chunk));
}

/** The reads with debt and a health factor below 1, in read order. */
export const underwaterOf = (reads: readonly AccountRead[]): Underwater[] =>
  reads
    .filter((r) => r.debtBase > 0n && r.healthFactor < ONE_HF)
    .map((r) => ({ user: r.user, totalDebtBase: r.debtBase, healthFactor: r.healthFactor }));

/** `getUserAccountData` of `users` at the pending state, `chunk` users per `eth_call`. */
export async function readAccounts(
  ctx: BotContext,
  reader: Hex,
  users: readonly Hex[],
  chunk = SCAN_CHUNK,
): Promise<AccountRead[]> {
  if (users.length === 0) return [];
  const abi = firebreakArtifact('AccountDataReader').abi as Abi;
  const chunks: Hex[][] = [];
  for (let i = 0; i < users.length; i += chunk) chunks.push(users.slice(i, i + chunk));
  const words = await Promise.all(
    chunks.map(async (list) => {
      const { data } = await ctx.chain.client.call({
        to: reader,
        data: encodeFunctionData({
          abi,
          functionName: 'getUserAccountData',
          args: [ctx.market.aave.pool, list],
        }),
        gas: 1_000_000_000n,
        ...PENDING,
      });
      return decodeFunctionResult({
        abi,
        functionName: 'getUserAccountData',
        data: data ?? '0x',
      }) as readonly bigint[];
    }),
  );
  const found: AccountRead[] = [];
  chunks.forEach((list, c) => {
    const out = words[c]!;
    list.forEach((user, i) => {
      found.push({
        user,
        collateralBase: out[i * 6]!,
        debtBase: out[i * 6 + 1]!,
        healthFactor: out[i * 6 + 5]!,
      });
    });
  });
  return found;
}

/** How the liquidator finds liquidatable positions each block (see the module header). */
export type ScanMode = 'full' | 'incremental' | 'audit';

export interface LiquidatorOptions {
  /** Default: FIREBREAK_LIQUIDATOR_SCAN when it names a mode, else `incremental`. */
  scan?: ScanMode;
  /** Called after each block's scan with how many positions it read (tests, measurements). */
  onScan?: (info: ScanInfo) => void;
}

/** One block's scan, for `LiquidatorOptions.onScan`. */
export interface ScanInfo {
  offset: number;
  /** Borrowers known this block. */
  known: number;
  /** Positions read this block. */
  read: number;
  reason: ScanReason;
  /** What the scan found liquidatable (before `delayBlocks` and the profit test). */
  underwater: readonly Underwater[];
}

/** Why a block's scan read what it read. */
export type ScanReason =
  | 'full-mode'
  | 'first'
  | 'market-changed'
  | 'unbounded'
  | 'no-activity'
  | 'incremental';

/** EIP-1967 implementation slot (the pool proxy's code: an upgrade changes every rule). */
const IMPLEMENTATION_SLOT = '0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc';

/** What the health factors of the whole market depend on besides balances, at one state. */
interface MarketState {
  /** Oracle, pool code, reserve list, thresholds, decimals and e-mode categories: any change → re-read all. */
  fingerprint: string;
  /** Prices of the reserve assets then the e-mode price sources, in `fingerprint`'s order. */
  prices: bigint[];
  /** Variable debt index normalised to the block, per reserve in market order. */
  debtIndexes: bigint[];
  /** Stable debt exists (it grows at each user's own rate), or the pool lists a reserve the market does not: no bound holds. */
  unbounded: boolean;
  minLiquidationThresholdBps: bigint;
  minDecimals: number;
  assets: number;
}

interface Seen {
  healthFactor: bigint;
  debtBase: bigint;
  state: MarketState;
}

const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;
const ratioMax = (a: Ratio, b: Ratio): Ratio => (a.num * b.den >= b.num * a.den ? a : b);

/** The move between two market states, or null when a position read at `then` cannot be bounded now. */
function moveBetween(then: MarketState, now: MarketState): MarketMove | null {
  if (then.fingerprint !== now.fingerprint || now.unbounded) return null;
  const prices = priceRatioBounds(then.prices, now.prices);
  if (!prices) return null;
  let debtGrowth: Ratio = { num: 1n, den: 1n };
  for (let i = 0; i < now.debtIndexes.length; i++) {
    const r = { num: now.debtIndexes[i]!, den: then.debtIndexes[i] ?? 0n };
    if (r.den <= 0n || r.num <= 0n) return null;
    debtGrowth = ratioMax(debtGrowth, r);
  }
  let maxPrice = 0n;
  for (const p of [...then.prices, ...now.prices]) if (p > maxPrice) maxPrice = p;
  return {
    priceFall: prices.fall,
    priceRise: prices.rise,
    debtGrowth,
    minLiquidationThresholdBps: now.minLiquidationThresholdBps,
    weiValueBase: ceilDiv(maxPrice, 10n ** BigInt(now.minDecimals)) + 1n,
    assets: now.assets,
  };
}

interface PendingTx {
  from?: string;
  to?: string | null;
  input?: string;
}

/**
 * The incremental scan: which known borrowers must be re-read this block, and the memory of what
 * each read saw. `scan(users)` returns the positions below 1 with debt, the set a full scan of
 * `users` would find (see the module header and `mayHaveFallenBelowOne`).
 *
 * "Acted" is found two ways, because a node gives no logs for the pending block: the Aave pool's
 * and reserve tokens' logs of the blocks mined since the last scan (every address in a topic or a
 * data word), and the pending block's transactions (sender, target and any address in the call
 * data, nested calls included). Users named in a pending transaction are read again next block
 * too, in case it does not land. What this cannot see: a position changed inside the pending block
 * by a contract whose call data does not carry the account's address (one acting on its own, say a
 * contract account driven by an index); such an account is caught one block later, from the logs.
 * A chain that went back (a reverted snapshot) is noticed by the last block's hash and starts over.
 */
export function createWatch(ctx: BotContext, reader: () => Hex) {
  const { client } = ctx.chain;
  const { market } = ctx;
  const tokens = [...market.tokens.values()];
  const reserves = tokens.map((t) => market.aave.reserves[t.symbol]!);
  const logAddresses = [
    market.aave.pool,
    ...reserves.flatMap((r) => [r.aToken, r.variableDebtToken, r.stableDebtToken]),
  ];
  const seen = new Map<Hex, Seen>();
  /** Users named in the last pending block: re-read once more (the transaction may not land). */
  let carried = new Set<Hex>();
  let last: { number: bigint; hash: Hex } | undefined;

  const readMarket = async (): Promise<MarketState> => {
    const [oracle, implementation, list, configs, debtIndexes, stableSupplies] = await Promise.all([
      readContract(client, {
        address: market.aave.addressesProvider,
        abi: poolAddressesProviderAbi,
        functionName: 'getPriceOracle',
        ...PENDING,
      }),
      getStorageAt(client, { address: market.aave.pool, slot: IMPLEMENTATION_SLOT, ...PENDING }),
      readContract(client, {
        address: market.aave.pool,
        abi: poolAbi,
        functionName: 'getReservesList',
        ...PENDING,
      }),
      reserveConfigurations(ctx),
      Promise.all(
        tokens.map((t) =>
          readContract(client, {
            address: market.aave.pool,
            abi: poolAbi,
            functionName: 'getReserveNormalizedVariableDebt',
            args: [t.address],
            ...PENDING,
          }),
        ),
      ),
      Promise.all(
        reserves.map((r) =>
          readContract(client, {
            address: r.stableDebtToken,
            abi: erc20Abi,
            functionName: 'totalSupply',
            ...PENDING,
          }),
        ),
      ),
    ]);
    const categoryIds = [
      ...new Set([...configs.values()].map((c) => c.eModeCategory).filter((id) => id !== 0)),
    ].sort((a, b) => a - b);
    const categories = await Promise.all(
      categoryIds.map((id) =>
        readContract(client, {
          address: market.aave.pool,
          abi: poolAbi,
          functionName: 'getEModeCategoryData',
          args: [id],
          ...PENDING,
        }),
      ),
    );
    const sources = categories.map((c) => c.priceSource).filter((a) => BigInt(a) !== 0n);
    const prices = await readContract(client, {
      address: oracle,
      abi: aaveOracleAbi,
      functionName: 'getAssetsPrices',
      args: [[...tokens.map((t) => t.address), ...sources]],
      ...PENDING,
    });
    let minLt = 10_000n;
    const lts = [
      ...[...configs.values()].map((c) => c.liquidationThresholdBps),
      ...categories.map((c) => c.liquidationThreshold),
    ];
    for (const lt of lts) if (lt > 0 && BigInt(lt) < minLt) minLt = BigInt(lt);
    const fingerprint = JSON.stringify([
      oracle.toLowerCase(),
      implementation ?? '',
      list.map((a) => a.toLowerCase()),
      tokens.map((t) => {
        const c = configs.get(t.symbol)!;
        return [c.liquidationThresholdBps, c.decimals, c.eModeCategory];
      }),
      categoryIds.map((id, i) => [
        id,
        categories[i]!.liquidationThreshold,
        categories[i]!.priceSource.toLowerCase(),
      ]),
    ]);
    return {
      fingerprint,
      prices: [...prices],
      debtIndexes,
      unbounded:
        stableSupplies.some((s) => s > 0n) ||
        list.some((a) => !tokens.some((t) => t.address === a.toLowerCase())),
      minLiquidationThresholdBps: minLt,
      minDecimals: Math.min(
        ...[...configs.values()].map((c) => c.decimals),
        ...tokens.map((t) => t.decimals),
      ),
      assets: tokens.length + sources.length,
    };
  };

  /**
   * Lower-case hex text every address a log or pending transaction names appears in; null when the
   * node would not say (then every position is read).
   */
  const activity = async (latest: { number: bigint }): Promise<string | null> => {
    const got = await Promise.all([
      last && latest.number > last.number
        ? getLogs(client, { address: logAddresses, fromBlock: last.number + 1n, toBlock: latest.number })
        : Promise.resolve([]),
      client.request({ method: 'eth_getBlockByNumber', params: ['pending', true] } as never) as Promise<{
        transactions?: (PendingTx | string)[];
      } | null>,
    ]).catch(() => null);
    if (!got) return null;
    const [logs, pending] = got;
    const parts: string[] = [];
    for (const log of logs) parts.push(...log.topics, log.data);
    for (const tx of pending?.transactions ?? [])
      if (typeof tx === 'object') parts.push(tx.from ?? '', tx.to ?? '', tx.input ?? '');
    return parts.join('|').toLowerCase();
  };

  return {
    /** Forgets everything (a reverted chain). */
    reset() {
      seen.clear();
      carried = new Set();
      last = undefined;
    },
    /**
     * `acted`: the users that may have acted since the last scan (named in the logs since or in the
     * pending block, this time or the last), or 'all' when the watch cannot tell (first scan, a
     * reverted chain, a node that would not give logs).
     */
    async scan(users: readonly Hex[]): Promise<{
      underwater: Underwater[];
      read: number;
      reason: ScanReason;
      acted: ReadonlySet<Hex> | 'all';
    }> {
      const latest = await getBlock(client);
      if (last) {
        const again =
          latest.number < last.number
            ? null
            : latest.number === last.number
              ? latest
              : await getBlock(client, { blockNumber: last.number }).catch(() => null);
        if (again?.hash !== last.hash) this.reset();
      }
      const [now, text] = await Promise.all([readMarket(), activity(latest)]);
      const named = new Set(text === null ? users : users.filter((u) => text.includes(u.slice(2))));
      const moves = new Map<MarketState, MarketMove | null>();
      const moveFrom = (state: MarketState) => {
        if (!moves.has(state)) moves.set(state, moveBetween(state, now));
        return moves.get(state)!;
      };
      let reason: ScanReason =
        seen.size === 0
          ? 'first'
          : text === null
            ? 'no-activity'
            : now.unbounded
              ? 'unbounded'
              : 'incremental';
      const toRead = users.filter((u) => {
        const s = seen.get(u);
        if (!s || named.has(u) || carried.has(u)) return true;
        const move = moveFrom(s.state);
        if (!move) {
          if (reason === 'incremental') reason = 'market-changed';
          return true;
        }
        return mayHaveFallenBelowOne(s.healthFactor, s.debtBase, move);
      });
      const reads = await readAccounts(ctx, reader(), toRead);
      for (const r of reads)
        seen.set(r.user, { healthFactor: r.healthFactor, debtBase: r.debtBase, state: now });
      const acted: ReadonlySet<Hex> | 'all' =
        reason === 'first' || text === null ? 'all' : new Set([...named, ...carried]);
      carried = named;
      last = { number: latest.number, hash: latest.hash };
      // Every position last seen below 1 is re-read (the bound never clears one): the fresh reads hold them all.
      return { underwater: underwaterOf(reads), read: toRead.length, reason, acted };
    },
  };
}

const scanModeFromEnv = (): ScanMode | undefined => {
  const v = process.env.FIREBREAK_LIQUIDATOR_SCAN;
  return v === 'full' || v === 'incremental' || v === 'audit' ? v : undefined;
};

/** Users per batched read of positions' shapes (two calls each in one `eth_call`). */
const SHAPE_CHUNK = 500;

/** A user's `getUserConfiguration` bitmap (collateral and borrowing bits per reserve id) and e-mode. */
interface Shape {
  userConfig: bigint;
  eModeCategory: number;
}

interface Position {
  collateral: DrillToken;
  collateralBalance: bigint;
  debt: DrillToken;
  userDebt: bigint;
  eModeCategory: number;
}

export function createLiquidator(
  spec: LiquidatorSpec,
  ctx: BotContext,
  options: LiquidatorOptions = {},
): Bot {
  const mode = options.scan ?? scanModeFromEnv() ?? 'incremental';
  const { client } = ctx.chain;
  const { market } = ctx;
  const self = ctx.accounts[0];
  if (!self) throw new FirebreakError('ERR_SCENARIO_INVALID', `liquidator "${spec.name}" has no account`);
  const tokens = [...market.tokens.values()];
  const reserveIds = new Map<string, number>();
  let reader: Hex | undefined;
  /** Offset at which each user was first seen liquidatable (cleared when it recovers). */
  const firstSeen = new Map<Hex, number>();
  let lastOffset = 0;
  const watch = createWatch(ctx, () => reader!);

  /**
   * Which reserves each user posts as collateral and borrows, and its e-mode, as last read (see
   * `readShapes`). Only an action of the user changes them (Aave sets and clears those bits and
   * the e-mode on the user's own supply, withdraw, borrow, repay, transfer, collateral switch,
   * e-mode switch or liquidation), so an entry stays valid until the watch names the user again.
   */
  const shapes = new Map<Hex, Shape>();

  /** This block's liquidatable positions, in `users` order, as the scan mode finds them. */
  const findUnderwater = async (users: readonly Hex[], offset: number): Promise<Underwater[]> => {
    if (mode === 'full') {
      const underwater = await scanUnderwater(ctx, reader!, users);
      options.onScan?.({ offset, known: users.length, read: users.length, reason: 'full-mode', underwater });
      shapes.clear(); // no watch: nothing tells which users acted
      return underwater;
    }
    const { underwater, read, reason, acted } = await watch.scan(users);
    if (acted === 'all') shapes.clear();
    else for (const user of acted) shapes.delete(user);
    options.onScan?.({ offset, known: users.length, read, reason, underwater });
    if (mode === 'audit') {
      const full = await scanUnderwater(ctx, reader!, users);
      const key = (list: Underwater[]) =>
        JSON.stringify(list.map((u) => [u.user, u.totalDebtBase.toString(), u.healthFactor.toString()]));
      if (key(full) !== key(underwater))
        throw new FirebreakError(
          'ERR_USAGE',
          `liquidator "${spec.name}": the incremental scan at offset ${offset} found ${underwater.length} liquidatable position(s), a full scan ${full.length}`,
          { details: { incremental: key(underwater), full: key(full) } },
        );
    }
    return underwater;
  };

  // Pools holding (collateral, debt), deepest first by the debt side when chosen.
  const poolsFor = (a: DrillToken, b: DrillToken): Hex[] =>
    ctx.scenario.market.pools
      .filter((p) => p.tokens.includes(a.symbol) && p.tokens.includes(b.symbol) && a.symbol !== b.symbol)
      .map((p) => market.pools.get(p.id)!);

  const readPosition = async (
    user: Hex,
    configs: Map<string, ReserveConfiguration>,
    prices: Map<string, bigint>,
  ) => {
    const [{ data: userConfig }, eModeCategory, balances] = await Promise.all([
      readContract(client, {
        address: market.aave.pool,
        abi: poolAbi,
        functionName: 'getUserConfiguration',
        args: [user],
        ...PENDING,
      }),
      readContract(client, {
        address: market.aave.pool,
        abi: poolAbi,
        functionName: 'getUserEMode',
        args: [user],
        ...PENDING,
      }),
      Promise.all(
        tokens.map(async (t) => {
          const r = market.aave.reserves[t.symbol]!;
          const [supplied, variable, stable] = await Promise.all([
            balanceOf(ctx, r.aToken, user),
            balanceOf(ctx, r.variableDebtToken, user),
            balanceOf(ctx, r.stableDebtToken, user),
          ]);
          return { t, supplied, debt: variable + stable };
        }),
      ),
    ]);
    const usable = (c: ReserveConfiguration | undefined) => c?.isActive === true && !c.isPaused;
    const value = (units: bigint, t: DrillToken) =>
      (units * (prices.get(t.symbol) ?? 0n)) / 10n ** BigInt(t.decimals);
    let collateral: { t: DrillToken; units: bigint; value: bigint } | undefined;
    let debt: { t: DrillToken; units: bigint; value: bigint } | undefined;
    for (const b of balances) {
      const config = configs.get(b.t.symbol);
      if (!usable(config)) continue;
      const id = BigInt(reserveIds.get(b.t.symbol)!);
      const usingAsCollateral = ((userConfig >> (id * 2n + 1n)) & 1n) === 1n;
      if (usingAsCollateral && config!.liquidationThresholdBps > 0 && b.supplied > 0n) {
        const v = value(b.supplied, b.t);
        if (!collateral || v > collateral.value) collateral = { t: b.t, units: b.supplied, value: v };
      }
      if (b.debt > 0n) {
        const v = value(b.debt, b.t);
        if (!debt || v > debt.value) debt = { t: b.t, units: b.debt, value: v };
      }
    }
    if (!collateral || !debt) return null;
    return {
      collateral: collateral.t,
      collateralBalance: collateral.units,
      debt: debt.t,
      userDebt: debt.units,
      eModeCategory: Number(eModeCategory),
    } satisfies Position;
  };

  /** Bonus and prices the pool applies to this pair, e-mode included. */
  const terms = async (
    p: Pick<Position, 'collateral' | 'debt' | 'eModeCategory'>,
    configs: Map<string, ReserveConfiguration>,
    prices: Map<string, bigint>,
  ) => {
    const collateralConfig = configs.get(p.collateral.symbol)!;
    let bonus = BigInt(collateralConfig.liquidationBonusBps);
    let collateralPrice = prices.get(p.collateral.symbol) ?? 0n;
    let debtPrice = prices.get(p.debt.symbol) ?? 0n;
    if (p.eModeCategory !== 0) {
      const category = await readContract(client, {
        address: market.aave.pool,
        abi: poolAbi,
        functionName: 'getEModeCategoryData',
        args: [p.eModeCategory],
        ...PENDING,
      });
      const source = category.priceSource;
      const sourcePrice =
        BigInt(source) === 0n
          ? undefined
          : await readContract(client, {
              address: market.aave.oracle,
              abi: aaveOracleAbi,
              functionName: 'getAssetPrice',
              args: [source],
              ...PENDING,
            });
      if (collateralConfig.eModeCategory === p.eModeCategory) {
        bonus = BigInt(category.liquidationBonus);
        if (sourcePrice !== undefined) collateralPrice = sourcePrice;
      }
      if (sourcePrice !== undefined) debtPrice = sourcePrice;
    }
    return {
      bonus,
      collateralPrice,
      debtPrice,
      protocolFeeBps: BigInt(collateralConfig.liquidationProtocolFeeBps),
    };
  };

  /** Reads the shapes of `users` not cached yet, at pending, in batched calls. */
  const readShapes = async (users: readonly Hex[]) => {
    const missing = users.filter((u) => !shapes.has(u));
    const chunks: Hex[][] = [];
    for (let i = 0; i < missing.length; i += SHAPE_CHUNK) chunks.push(missing.slice(i, i + SHAPE_CHUNK));
    await Promise.all(
      chunks.map(async (list) => {
        const results = await multicall(client, {
          contracts: list.flatMap((user) => [
            {
              address: market.aave.pool,
              abi: poolAbi,
              functionName: 'getUserConfiguration',
              args: [user],
            } as const,
            { address: market.aave.pool, abi: poolAbi, functionName: 'getUserEMode', args: [user] } as const,
          ]),
          deployless: true,
          batchSize: 0,
          allowFailure: false,
          ...PENDING,
        });
        list.forEach((user, k) => {
          const config = results[2 * k] as { data: bigint };
          const eMode = results[2 * k + 1] as bigint;
          shapes.set(user, { userConfig: config.data, eModeCategory: Number(eMode) });
        });
      }),
    );
  };

  return {
    name: spec.name,
    kind: 'liquidator',
    async setup() {
      await mintHoldings(ctx, spec.name, spec.holds, [self]);
      await approvePool(ctx, [self]);
      for (const t of tokens) {
        const data = await readContract(client, {
          address: market.aave.pool,
          abi: poolAbi,
          functionName: 'getReserveData',
          args: [t.address],
        });
        reserveIds.set(t.symbol, data.id);
      }
      reader = (
        await deployArtifact(client, firebreakArtifact('AccountDataReader'), { account: self.account })
      ).toLowerCase() as Hex;
    },
    async plan(turn: BotTurn): Promise<BotCall[]> {
      // A new run from a reverted snapshot starts the offsets again: forget what was seen.
      if (turn.offset <= lastOffset) {
        firstSeen.clear();
        watch.reset();
        shapes.clear();
      }
      lastOffset = turn.offset;
      if (!spec.enabled || !inWindow(spec, turn)) return [];
      if (!reader) throw new FirebreakError('ERR_USAGE', `liquidator "${spec.name}": plan() before setup()`);

      const me = self.address.toLowerCase();
      const users = [...new Set(ctx.borrowers().map((u) => u.toLowerCase() as Hex))].filter((u) => u !== me);
      const underwater = await findUnderwater(users, turn.offset);
      const now = new Set(underwater.map((u) => u.user));
      for (const user of [...firstSeen.keys()]) if (!now.has(user)) firstSeen.delete(user);
      for (const u of underwater) if (!firstSeen.has(u.user)) firstSeen.set(u.user, turn.offset);
      const due = underwater
        .filter((u) => turn.offset - firstSeen.get(u.user)! >= spec.delayBlocks)
        .sort((a, b) => (b.totalDebtBase > a.totalDebtBase ? 1 : b.totalDebtBase < a.totalDebtBase ? -1 : 0));
      if (due.length === 0) return [];

      const [prices, truePrices, configs] = await Promise.all([
        oraclePrices(ctx),
        referencePrices(ctx),
        reserveConfigurations(ctx),
      ]);
      const budget = new Map<string, bigint>(
        await Promise.all(
          tokens.map(async (t) => [t.symbol, await balanceOf(ctx, t.address, self.address)] as const),
        ),
      );
      const pairs = new Map<Hex, PairState>();
      const pairState = async (pair: Hex) => {
        const state = pairs.get(pair) ?? (await readPair(client, pair, 'pending'));
        pairs.set(pair, state);
        return state;
      };

      // This block's terms per (collateral, debt, e-mode): the same for every position on them.
      const termsMemo = new Map<string, ReturnType<typeof terms>>();
      const termsOf = (p: Pick<Position, 'collateral' | 'debt' | 'eModeCategory'>) => {
        const key = `${p.collateral.symbol}|${p.debt.symbol}|${p.eModeCategory}`;
        const known = termsMemo.get(key);
        if (known) return known;
        const t = terms(p, configs, prices);
        termsMemo.set(key, t);
        return t;
      };
      // The deepest pool holding both (by its debt-asset side), at its pending reserves after the
      // sales planned so far.
      const saleFor = async (collateral: DrillToken, debt: DrillToken) => {
        let sale: { pair: Hex; state: PairState; reserveIn: bigint; reserveOut: bigint } | null = null;
        for (const pair of poolsFor(collateral, debt)) {
          const state = await pairState(pair);
          const collateralIs0 = state.token0.toLowerCase() === collateral.address;
          const reserveIn = collateralIs0 ? state.reserve0 : state.reserve1;
          const reserveOut = collateralIs0 ? state.reserve1 : state.reserve0;
          if (!sale || reserveOut > sale.reserveOut) sale = { pair, state, reserveIn, reserveOut };
        }
        return sale;
      };
      /**
       * Whether no position of this shape can be liquidated at a profit now: for every reserve it
       * may post as collateral and every one it may owe, the oracle prices nothing or, selling, the
       * pool pays no more than the oracle's price net of the bonus (`bestSaleInput` 0: what makes
       * `chooseLiquidation` give null). Such a position is skipped unread, as it would be read.
       */
      const cannotPay = async (shape: Shape): Promise<boolean> => {
        if (!spec.sell) return false;
        const usable = (t: DrillToken) => {
          const c = configs.get(t.symbol);
          return c?.isActive === true && !c.isPaused;
        };
        const bit = (t: DrillToken, k: bigint) =>
          ((shape.userConfig >> (BigInt(reserveIds.get(t.symbol)!) * 2n + k)) & 1n) === 1n;
        const collaterals = tokens.filter(
          (t) => usable(t) && bit(t, 1n) && configs.get(t.symbol)!.liquidationThresholdBps > 0,
        );
        const debts = tokens.filter((t) => usable(t) && bit(t, 0n));
        for (const collateral of collaterals)
          for (const debt of debts) {
            const t = await termsOf({ collateral, debt, eModeCategory: shape.eModeCategory });
            if (t.collateralPrice === 0n || t.debtPrice === 0n) continue;
            const sale = await saleFor(collateral, debt);
            if (!sale) return false;
            const can = bestSaleInput(
              {
                collateralPrice: t.collateralPrice,
                debtPrice: t.debtPrice,
                collateralDecimals: collateral.decimals,
                debtDecimals: debt.decimals,
                liquidationBonusBps: t.bonus,
              },
              sale,
            );
            if (can > 0n) return false;
          }
        return true;
      };
      if (spec.sell) await readShapes(due.map((u) => u.user));

      const calls: BotCall[] = [];
      let done = 0;
      for (const u of due) {
        if (done >= spec.maxPerBlock) break;
        const shape = shapes.get(u.user);
        if (shape && (await cannotPay(shape))) continue;
        const p = await readPosition(u.user, configs, prices);
        if (!p) continue;
        const { bonus, collateralPrice, debtPrice, protocolFeeBps } = await termsOf(p);
        if (collateralPrice === 0n || debtPrice === 0n) continue;
        const inputs: LiquidationInputs = {
          userDebt: p.userDebt,
          healthFactor: u.healthFactor,
          collateralBalance: p.collateralBalance,
          collateralPrice,
          debtPrice,
          collateralDecimals: p.collateral.decimals,
          debtDecimals: p.debt.decimals,
          liquidationBonusBps: bonus,
          protocolFeeBps,
          closeFactorMarginWad: CLOSE_FACTOR_MARGIN_WAD,
        };
        // Keep a 0.1 % margin: a capped liquidation takes slightly more debt once interest accrues.
        const capital = ((budget.get(p.debt.symbol) ?? 0n) * 1000n) / 1001n;

        const sale = await saleFor(p.collateral, p.debt);
        // Without a sale the seized collateral is worth the pool's spot price, or the oracle's.
        const collateralUnit = 10n ** BigInt(p.collateral.decimals);
        const debtUnit = 10n ** BigInt(p.debt.decimals);
        const value =
          sale && sale.reserveIn > 0n
            ? { num: sale.reserveOut, den: sale.reserveIn }
            : { num: collateralPrice * debtUnit, den: debtPrice * collateralUnit };
        const selling = spec.sell && sale !== null;
        const choice = chooseLiquidation(inputs, capital, selling ? sale : null, value);
        if (!choice || choice.profit <= 0n) continue;
        const trueDebtPrice = truePrices.get(p.debt.symbol) ?? debtPrice;
        if (unitsToUsd(choice.profit, trueDebtPrice, p.debt.decimals) < spec.minProfitUsd) continue;

        calls.push(
          call(
            market.aave.pool,
            poolAbi,
            'liquidationCall',
            [p.collateral.address, p.debt.address, u.user, choice.debtToCover, false],
            GAS.liquidation,
            {
              note: `liquidate ${u.user.slice(0, 8)}… ${p.debt.symbol} debt ${fmt(choice.debt, p.debt.decimals)} / ${fmt(choice.collateral, p.collateral.decimals)} ${p.collateral.symbol}`,
            },
          ),
        );
        budget.set(p.debt.symbol, (budget.get(p.debt.symbol) ?? 0n) - choice.debt);
        if (selling && sale) {
          const plan = planSwapExactIn(sale.state, {
            pair: sale.pair,
            tokenIn: p.collateral.address,
            amountIn: choice.collateral,
            to: self.address,
          });
          pairs.set(sale.pair, plan.after);
          const [transfer, swap] = plan.calls;
          calls.push(call(transfer.to, erc20Abi, 'transfer', transfer.args, GAS.transfer));
          calls.push(
            call(swap.to, swap.abi, 'swap', swap.args, GAS.swap, {
              note: `sell ${fmt(choice.collateral, p.collateral.decimals)} ${p.collateral.symbol} for ${fmt(plan.amountOut, p.debt.decimals)} ${p.debt.symbol}`,
            }),
          );
          budget.set(p.debt.symbol, (budget.get(p.debt.symbol) ?? 0n) + plan.amountOut);
        }
        done++;
      }
      return calls;
    },
  };
}
