/**
 * Risk — the exact position book of an Aave v3 market: every account's scaled aToken and
 * variable-debt balances, collateral and borrowing flags and e-mode, and every reserve's indexes,
 * rates and last update, kept current block by block from the market's logs, reorg-aware.
 *
 * Exact by construction: balances move by the scaled amounts the tokens' own events imply
 * (`Mint`/`Burn` carry the amount and the index used, `BalanceTransfer` the scaled amount), reserve
 * state comes from `ReserveDataUpdated` (whose `lastUpdateTimestamp` is the block's), collateral
 * flags and e-mode from their events, and the borrowing flag, which no event carries, follows the
 * Pool's rules (set on a first borrow, cleared when a repayment or liquidation burns the whole
 * debt as the Pool computes it). `accountData` then reproduces `Pool.getUserAccountData` in `bigint`
 * to the wei (`GenericLogic.calculateUserAccountData` over `aave-math.ts`), and `snapshot` makes the
 * float struct-of-arrays copy the fast paths use.
 *
 * The book never reads the chain: reserve configuration, e-mode categories and oracle prices are
 * handed in (`AaveV3RiskInputs`) for each computation.
 *
 * Reorgs: each applied block keeps an undo journal while it is unfinalized (the last
 * `unfinalizedWindow` applied blocks, or until `finalize`); `rollback(n)` undoes every block above
 * `n`. Rolling back below the journal raises `ERR_REORG_TOO_DEEP`: the book must then be rebuilt.
 *
 * Not modelled: stable-rate debt (the fixture and current Aave markets disable it). A stable-debt
 * mint or burn, a stable borrow, a rate swap or rebalance raises `ERR_RISK_INPUT` rather than give
 * wrong health factors. Unbacked (bridge) mints and flash loans need nothing special: their
 * balance changes arrive as token events.
 */
import type { Address, Hex } from 'viem';
import type { BlockRef, ChainEvent } from '../chain/events';
import { FirebreakError } from '../common/errors';
import { type AaveV3Event, decodeAaveV3Log, type RawLog } from '../protocols/aave-v3/events';
import type { AaveV3Reserve } from '../protocols/aave-v3/types';
import {
  getNormalizedDebt,
  getNormalizedIncome,
  MAX_UINT256,
  percentMul,
  RAY,
  type ReserveIndexes,
  rayDiv,
  rayMul,
  wadDiv,
} from './aave-math';
import type { EModeCategory, PositionSnapshot, RiskAsset } from './types';

// ---- Inputs ----

/** The reserves of the market the book follows, in any order (the Pool's order is not needed). */
export interface AaveV3BookMarket {
  chainId: number;
  pool: Address;
  reserves: readonly Pick<
    AaveV3Reserve,
    'symbol' | 'asset' | 'aToken' | 'variableDebtToken' | 'stableDebtToken'
  >[];
}

/** A reserve's risk parameters (a decoded `ReserveConfiguration` fits). Basis points. */
export interface AaveV3ReserveParams {
  ltvBps: number;
  liquidationThresholdBps: number;
  liquidationBonusBps: number;
  liquidationProtocolFeeBps: number;
  decimals: number;
  eModeCategory: number;
}

/** An e-mode category (`Pool.getEModeCategoryData`). `priceSource` zero = none. */
export interface AaveV3EModeParams {
  ltvBps: number;
  liquidationThresholdBps: number;
  liquidationBonusBps: number;
  priceSource: Address;
  label: string;
}

/**
 * Everything the book needs besides its own state to value accounts: configuration and the
 * oracle's prices, keyed by address (any case).
 */
export interface AaveV3RiskInputs {
  /** By underlying asset: every reserve of the book. */
  reserves: Readonly<Record<string, AaveV3ReserveParams>>;
  /** By category id; needed for every category an account uses. */
  eModes: Readonly<Record<number, AaveV3EModeParams>>;
  /** `AaveOracle.getAssetPrice`, in the base currency: by asset, and by e-mode `priceSource`. */
  prices: Readonly<Record<string, bigint>>;
  /** `AaveOracle.BASE_CURRENCY_UNIT` (1e8 for a USD market). */
  baseCurrencyUnit: bigint;
  /** Dollars per whole unit of the base currency, for the float snapshot (default 1: USD). */
  baseCurrencyUsd?: number;
}

/** `Pool.getUserAccountData`, exact. */
export interface AaveV3AccountData {
  totalCollateralBase: bigint;
  totalDebtBase: bigint;
  availableBorrowsBase: bigint;
  currentLiquidationThreshold: bigint;
  ltv: bigint;
  healthFactor: bigint;
}

/** A reserve's state as the book holds it (`ReserveData`'s indexes and rates). */
export interface AaveV3ReserveState extends ReserveIndexes {
  asset: Address;
  symbol: string;
}

/** One account's exact position. Arrays follow `book.reserves` order. */
export interface AaveV3AccountPosition {
  address: Address;
  eMode: number;
  scaledSupply: readonly bigint[];
  scaledVariableDebt: readonly bigint[];
  collateral: readonly boolean[];
  borrowing: readonly boolean[];
}

export interface PositionBookOptions {
  /** How many applied blocks keep an undo journal (default 128). Older blocks are final. */
  unfinalizedWindow?: number;
}

export interface PositionBook {
  readonly market: AaveV3BookMarket;
  /** The reserves, in the order every per-reserve array uses. */
  readonly reserves: readonly AaveV3ReserveState[];
  /** The last applied block, or null before the first. */
  head(): BlockRef | null;
  /** Number of accounts that ever held a position or flag (also after it was closed). */
  size(): number;
  accounts(): readonly Address[];
  position(account: Address): AaveV3AccountPosition | undefined;
  /**
   * Applies one block's logs (any logs: those not emitted by the Pool or the reserves' tokens are
   * skipped). Blocks must come in increasing number (gaps are allowed: blocks without logs of the
   * market may be skipped); a block right after the head must name it as parent.
   */
  applyBlock(
    block: BlockRef,
    logs: readonly (RawLog & { blockNumber?: bigint | null; blockHash?: Hex | null })[],
  ): void;
  /** Undoes every applied block above `blockNumber`. */
  rollback(blockNumber: bigint): void;
  /** Drops the undo journal of every block up to `blockNumber`: those can no longer be rolled back. */
  finalize(blockNumber: bigint): void;
  /**
   * Follows a block source's events: `block` → `applyBlock` (the source must fetch logs),
   * `reorg` → `rollback` to the common ancestor, `finalized` → `finalize`.
   */
  follow(event: ChainEvent): void;
  /** `getUserAccountData(account)` at `timestamp` (default: the head's). Unknown accounts are empty. */
  accountData(account: Address, inputs: AaveV3RiskInputs, timestamp?: bigint): AaveV3AccountData;
  /** `getUserAccountData` of every account (in `accounts()` order) at `timestamp`. */
  allAccountData(inputs: AaveV3RiskInputs, timestamp?: bigint): AaveV3AccountData[];
  /**
   * The float struct-of-arrays copy at `timestamp` (default: the head's): amounts in whole tokens
   * with interest accrued to `timestamp`. `collateral` counts an aToken balance only where the
   * account uses it as collateral and the reserve's liquidation threshold is not 0, and `debt` only
   * where its borrowing flag is set (as the Pool counts them: dust left after the flag was cleared
   * is not debt to it). An e-mode category's own price source is not represented (assets keep
   * their price).
   */
  snapshot(inputs: AaveV3RiskInputs, timestamp?: bigint): PositionSnapshot;
}

// ---- Implementation ----

interface Account {
  address: Address;
  eMode: number;
  scaledA: bigint[];
  scaledV: bigint[];
  collateral: boolean[];
  borrowing: boolean[];
}

interface Journal {
  block: BlockRef;
  undo: (() => void)[];
}

type TokenKind = 'aToken' | 'variableDebt' | 'stableDebt';

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';

function riskInput(message: string, details: Record<string, unknown> = {}): never {
  throw new FirebreakError('ERR_RISK_INPUT', message, { details });
}

const lower = (a: string) => a.toLowerCase() as Address;

/**
 * Creates an empty book for a market; feed it the market's blocks from its deployment on.
 *
 * @example
 * const book = createPositionBook({ chainId, pool: market.pool, reserves: Object.values(market.reserves) });
 * book.applyBlock(blockRef, logs);
 * const data = book.accountData(user, inputs); // === await readUserAccountData(client, pool, user, block)
 */
export function createPositionBook(
  market: AaveV3BookMarket,
  options: PositionBookOptions = {},
): PositionBook {
  const window = options.unfinalizedWindow ?? 128;
  if (!Number.isInteger(window) || window < 1)
    riskInput(`unfinalizedWindow must be a whole number ≥ 1, got ${window}`);
  if (market.reserves.length === 0) riskInput('the market has no reserves');

  const pool = lower(market.pool);
  const reserves: AaveV3ReserveState[] = market.reserves.map((r) => ({
    asset: lower(r.asset),
    symbol: r.symbol,
    liquidityIndex: RAY,
    variableBorrowIndex: RAY,
    currentLiquidityRate: 0n,
    currentVariableBorrowRate: 0n,
    lastUpdateTimestamp: 0n,
  }));
  const R = reserves.length;
  const reserveByAsset = new Map<string, number>();
  const tokens = new Map<string, { reserve: number; kind: TokenKind }>();
  market.reserves.forEach((r, i) => {
    if (reserveByAsset.has(lower(r.asset))) riskInput(`reserve ${r.asset} is listed twice`);
    reserveByAsset.set(lower(r.asset), i);
    tokens.set(lower(r.aToken), { reserve: i, kind: 'aToken' });
    tokens.set(lower(r.variableDebtToken), { reserve: i, kind: 'variableDebt' });
    if (r.stableDebtToken && lower(r.stableDebtToken) !== ZERO_ADDRESS) {
      tokens.set(lower(r.stableDebtToken), { reserve: i, kind: 'stableDebt' });
    }
  });

  const accounts = new Map<string, Account>();
  const journals: Journal[] = [];
  let head: BlockRef | null = null;
  /** Rolling back to a block below this is impossible (its journal is gone); null = never dropped. */
  let floor: bigint | null = null;
  let undo: (() => void)[] = [];

  const reserveOf = (asset: Address, event: AaveV3Event): number => {
    const r = reserveByAsset.get(asset);
    if (r === undefined) {
      riskInput(
        `${event.type} (log ${event.logIndex}) names reserve ${asset}, which the book does not know`,
        {
          asset,
        },
      );
    }
    return r;
  };

  const account = (address: Address): Account => {
    let a = accounts.get(address);
    if (a === undefined) {
      a = {
        address,
        eMode: 0,
        scaledA: new Array<bigint>(R).fill(0n),
        scaledV: new Array<bigint>(R).fill(0n),
        collateral: new Array<boolean>(R).fill(false),
        borrowing: new Array<boolean>(R).fill(false),
      };
      accounts.set(address, a);
      undo.push(() => accounts.delete(address));
    }
    return a;
  };

  const setScaled = (
    a: Account,
    field: 'scaledA' | 'scaledV',
    r: number,
    value: bigint,
    event: AaveV3Event,
  ) => {
    if (value < 0n) {
      riskInput(
        `${event.type} (log ${event.logIndex} of ${event.address}) takes ${a.address}'s scaled balance below zero: ` +
          'the book missed earlier blocks of this market',
        { account: a.address, reserve: reserves[r]!.asset },
      );
    }
    const before = a[field][r]!;
    a[field][r] = value;
    undo.push(() => {
      a[field][r] = before;
    });
  };

  const setFlag = (a: Account, field: 'collateral' | 'borrowing', r: number, value: boolean) => {
    const before = a[field][r]!;
    if (before === value) return;
    a[field][r] = value;
    undo.push(() => {
      a[field][r] = before;
    });
  };

  const unsupported = (event: AaveV3Event): never =>
    riskInput(
      `${event.type} (log ${event.logIndex} of ${event.address}): stable-rate debt is not supported by the position book`,
      { type: event.type },
    );

  const applyPoolEvent = (event: AaveV3Event, block: BlockRef) => {
    switch (event.type) {
      case 'ReserveDataUpdated': {
        const r = reserveOf(event.reserve, event);
        const s = reserves[r]!;
        const before = { ...s };
        s.liquidityIndex = event.liquidityIndex;
        s.variableBorrowIndex = event.variableBorrowIndex;
        s.currentLiquidityRate = event.liquidityRate;
        s.currentVariableBorrowRate = event.variableBorrowRate;
        s.lastUpdateTimestamp = block.timestamp;
        undo.push(() => Object.assign(s, before));
        return;
      }
      case 'ReserveUsedAsCollateralEnabled':
      case 'ReserveUsedAsCollateralDisabled':
        setFlag(
          account(event.user),
          'collateral',
          reserveOf(event.reserve, event),
          event.type === 'ReserveUsedAsCollateralEnabled',
        );
        return;
      case 'UserEModeSet': {
        const a = account(event.user);
        const before = a.eMode;
        a.eMode = event.categoryId;
        undo.push(() => {
          a.eMode = before;
        });
        return;
      }
      case 'Borrow':
        if (event.interestRateMode !== 2) unsupported(event);
        return;
      case 'SwapBorrowRateMode':
      case 'RebalanceStableBorrowRate':
        unsupported(event);
        return;
      default:
        // Supply, Withdraw, Repay, LiquidationCall, MintedToTreasury: their balance changes come
        // as token events.
        return;
    }
  };

  const applyTokenEvent = (event: AaveV3Event, r: number, kind: TokenKind) => {
    if (kind === 'stableDebt') {
      if (event.type === 'StableDebtMint' || event.type === 'StableDebtBurn') unsupported(event);
      return;
    }
    const field = kind === 'aToken' ? 'scaledA' : 'scaledV';
    switch (event.type) {
      case 'Mint': {
        // `value − balanceIncrease` minted; equal: the interest shown on a transfer, no change.
        if (event.value === event.balanceIncrease) return;
        const a = account(event.onBehalfOf);
        const before = a[field][r]!;
        if (event.value > event.balanceIncrease) {
          const amount = event.value - event.balanceIncrease;
          setScaled(a, field, r, before + rayDiv(amount, event.index), event);
          if (kind === 'variableDebt' && before === 0n) setFlag(a, 'borrowing', r, true);
        } else {
          // A burn smaller than the interest accrued since the account's last action.
          burn(a, field, r, event.balanceIncrease - event.value, event.index, event, kind);
        }
        return;
      }
      case 'Burn':
        burn(account(event.from), field, r, event.value + event.balanceIncrease, event.index, event, kind);
        return;
      case 'BalanceTransfer': {
        if (kind !== 'aToken' || event.value === 0n) return;
        const from = account(event.from);
        setScaled(from, 'scaledA', r, from.scaledA[r]! - event.value, event);
        const to = account(event.to);
        setScaled(to, 'scaledA', r, to.scaledA[r]! + event.value, event);
        return;
      }
      default:
        return; // Transfer (mirrors the above), Approval, Initialized, ...
    }
  };

  const burn = (
    a: Account,
    field: 'scaledA' | 'scaledV',
    r: number,
    amount: bigint,
    index: bigint,
    event: AaveV3Event,
    kind: TokenKind,
  ) => {
    const before = a[field][r]!;
    // The Pool clears the borrowing flag when the debt it computed (scaled × the index it used)
    // equals the amount burnt (BorrowLogic.executeRepay, LiquidationLogic.executeLiquidationCall).
    if (kind === 'variableDebt' && rayMul(before, index) === amount) setFlag(a, 'borrowing', r, false);
    setScaled(a, field, r, before - rayDiv(amount, index), event);
  };

  const applyBlock: PositionBook['applyBlock'] = (block, logs) => {
    if (head !== null) {
      if (block.number <= head.number) {
        riskInput(
          `block ${block.number} is not after the book's head ${head.number}: roll back first (a reorg) or skip it`,
          { block: block.number.toString(), head: head.number.toString() },
        );
      }
      if (block.number === head.number + 1n && block.parentHash.toLowerCase() !== head.hash.toLowerCase()) {
        riskInput(
          `block ${block.number}'s parent ${block.parentHash} is not the book's head ${head.hash}: a reorg the book was not told about`,
          { block: block.number.toString() },
        );
      }
    }
    for (const log of logs) {
      if (log.blockNumber != null && log.blockNumber !== block.number) {
        riskInput(`a log of block ${log.blockNumber} was handed in with block ${block.number}`);
      }
      if (log.blockHash != null && log.blockHash.toLowerCase() !== block.hash.toLowerCase()) {
        riskInput(`a log of block ${log.blockHash} was handed in with block ${block.hash} (another branch)`);
      }
    }
    const ordered = isSortedByIndex(logs)
      ? logs
      : [...logs].sort((x, y) => (x.logIndex ?? 0) - (y.logIndex ?? 0));
    undo = [];
    const journal: Journal = { block, undo };
    try {
      for (const log of ordered) {
        const address = log.address.toLowerCase();
        if (address === pool) {
          const event = decodeAaveV3Log(log);
          if (event) applyPoolEvent(event, block);
          continue;
        }
        const token = tokens.get(address);
        if (token === undefined) continue;
        const event = decodeAaveV3Log(log);
        if (event) applyTokenEvent(event, token.reserve, token.kind);
      }
    } catch (error) {
      // Leave the book as it was before this block.
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
      throw error;
    }
    const previousHead = head;
    undo.push(() => {
      head = previousHead;
    });
    head = block;
    journals.push(journal);
    while (journals.length > window) floor = journals.shift()!.block.number;
  };

  const rollback = (blockNumber: bigint) => {
    if (floor !== null && blockNumber < floor) {
      throw new FirebreakError(
        'ERR_REORG_TOO_DEEP',
        `cannot roll the position book back to block ${blockNumber}: blocks up to ${floor} are final ` +
          '(their undo journal was dropped); rebuild the book',
        { details: { blockNumber: blockNumber.toString(), floor: floor.toString() } },
      );
    }
    while (journals.length > 0 && journals[journals.length - 1]!.block.number > blockNumber) {
      const { undo: steps } = journals.pop()!;
      for (let i = steps.length - 1; i >= 0; i--) steps[i]!();
    }
  };

  const finalize = (blockNumber: bigint) => {
    while (journals.length > 0 && journals[0]!.block.number <= blockNumber)
      floor = journals.shift()!.block.number;
  };

  const follow = (event: ChainEvent) => {
    if (event.type === 'block') {
      if (event.logs === undefined) {
        riskInput(
          `block ${event.block.number} came without its logs: the block source must fetch logs for the book`,
        );
      }
      applyBlock(event.block, event.logs);
    } else if (event.type === 'reorg') rollback(event.ancestor.number);
    else finalize(event.block.number);
  };

  // ---- Valuation ----

  interface Prepared {
    income: bigint[];
    debt: bigint[];
    price: bigint[];
    unit: bigint[];
    params: AaveV3ReserveParams[];
    ltv: bigint[];
    lt: bigint[];
    eMode: Map<number, { ltv: bigint; lt: bigint; price: bigint }>;
  }

  const timestampOr = (timestamp: bigint | undefined): bigint => {
    if (timestamp !== undefined) return timestamp;
    if (head === null) riskInput('the book has no block yet: pass a timestamp');
    return head.timestamp;
  };

  const priceOf = (inputs: AaveV3RiskInputs, address: string, what: string): bigint => {
    const price =
      inputs.prices[address] ?? inputs.prices[lower(address)] ?? findCaseInsensitive(inputs.prices, address);
    if (price === undefined) riskInput(`no oracle price for ${what} (${address})`, { address });
    if (price < 0n || price > MAX_UINT256)
      riskInput(`the price of ${what} (${address}) is not a uint256: ${price}`);
    return price;
  };

  const prepare = (inputs: AaveV3RiskInputs, timestamp: bigint): Prepared => {
    const params = reserves.map((s) => {
      const p = inputs.reserves[s.asset] ?? findCaseInsensitive(inputs.reserves, s.asset);
      if (p === undefined)
        riskInput(`no configuration for reserve ${s.symbol} (${s.asset})`, { asset: s.asset });
      return p;
    });
    const eMode = new Map<number, { ltv: bigint; lt: bigint; price: bigint }>();
    for (const [id, e] of Object.entries(inputs.eModes)) {
      const priced = lower(e.priceSource) !== ZERO_ADDRESS;
      eMode.set(Number(id), {
        ltv: BigInt(e.ltvBps),
        lt: BigInt(e.liquidationThresholdBps),
        price: priced ? priceOf(inputs, e.priceSource, `e-mode ${id}'s price source`) : 0n,
      });
    }
    return {
      income: reserves.map((s) => getNormalizedIncome(s, timestamp)),
      debt: reserves.map((s) => getNormalizedDebt(s, timestamp)),
      price: reserves.map((s) => priceOf(inputs, s.asset, s.symbol)),
      unit: params.map((p) => 10n ** BigInt(p.decimals)),
      params,
      ltv: params.map((p) => BigInt(p.ltvBps)),
      lt: params.map((p) => BigInt(p.liquidationThresholdBps)),
      eMode,
    };
  };

  const EMPTY: AaveV3AccountData = {
    totalCollateralBase: 0n,
    totalDebtBase: 0n,
    availableBorrowsBase: 0n,
    currentLiquidationThreshold: 0n,
    ltv: 0n,
    healthFactor: MAX_UINT256,
  };

  /** `GenericLogic.calculateUserAccountData` + `calculateAvailableBorrows`. */
  const value = (a: Account, p: Prepared): AaveV3AccountData => {
    let eLtv = 0n;
    let eLt = 0n;
    let ePrice = 0n;
    if (a.eMode !== 0) {
      const e = p.eMode.get(a.eMode);
      if (e === undefined)
        riskInput(`no configuration for e-mode category ${a.eMode} (used by ${a.address})`);
      eLtv = e.ltv;
      eLt = e.lt;
      ePrice = e.price;
    }
    let totalCollateral = 0n;
    let totalDebt = 0n;
    let avgLtv = 0n;
    let avgLt = 0n;
    for (let r = 0; r < R; r++) {
      const collateral = a.collateral[r]!;
      const borrowing = a.borrowing[r]!;
      if (!collateral && !borrowing) continue;
      const category = p.params[r]!.eModeCategory;
      const price = ePrice !== 0n && a.eMode === category ? ePrice : p.price[r]!;
      const unit = p.unit[r]!;
      const lt = p.lt[r]!;
      if (lt !== 0n && collateral) {
        const balance = (rayMul(a.scaledA[r]!, p.income[r]!) * price) / unit;
        totalCollateral += balance;
        const inEMode = a.eMode !== 0 && category === a.eMode;
        const ltv = p.ltv[r]!;
        if (ltv !== 0n) avgLtv += balance * (inEMode ? eLtv : ltv);
        avgLt += balance * (inEMode ? eLt : lt);
      }
      if (borrowing) {
        const scaled = a.scaledV[r]!;
        const debt = scaled === 0n ? 0n : rayMul(scaled, p.debt[r]!);
        totalDebt += (price * debt) / unit;
      }
    }
    if (totalCollateral !== 0n) {
      avgLtv /= totalCollateral;
      avgLt /= totalCollateral;
    } else {
      avgLtv = 0n;
      avgLt = 0n;
    }
    const healthFactor =
      totalDebt === 0n ? MAX_UINT256 : wadDiv(percentMul(totalCollateral, avgLt), totalDebt);
    const borrowable = percentMul(totalCollateral, avgLtv);
    return {
      totalCollateralBase: totalCollateral,
      totalDebtBase: totalDebt,
      availableBorrowsBase: borrowable < totalDebt ? 0n : borrowable - totalDebt,
      currentLiquidationThreshold: avgLt,
      ltv: avgLtv,
      healthFactor,
    };
  };

  const accountData: PositionBook['accountData'] = (address, inputs, timestamp) => {
    const a = accounts.get(lower(address));
    if (a === undefined) return { ...EMPTY };
    return value(a, prepare(inputs, timestampOr(timestamp)));
  };

  const allAccountData: PositionBook['allAccountData'] = (inputs, timestamp) => {
    const p = prepare(inputs, timestampOr(timestamp));
    const out: AaveV3AccountData[] = [];
    for (const a of accounts.values()) out.push(value(a, p));
    return out;
  };

  const snapshot: PositionBook['snapshot'] = (inputs, timestamp) => {
    const t = timestampOr(timestamp);
    const p = prepare(inputs, t);
    const usdPerBase = (inputs.baseCurrencyUsd ?? 1) / Number(inputs.baseCurrencyUnit);
    const assets: RiskAsset[] = reserves.map((s, r) => {
      const params = p.params[r]!;
      return {
        symbol: s.symbol,
        address: s.asset,
        decimals: params.decimals,
        priceUsd: Number(p.price[r]!) * usdPerBase,
        ltv: params.ltvBps / 10_000,
        liquidationThreshold: params.liquidationThresholdBps / 10_000,
        liquidationBonus: params.liquidationBonusBps / 10_000,
        liquidationProtocolFee: params.liquidationProtocolFeeBps / 10_000,
        eModeCategory: params.eModeCategory,
      };
    });
    const eModes: (EModeCategory | undefined)[] = [];
    for (const [id, e] of Object.entries(inputs.eModes)) {
      eModes[Number(id)] = {
        id: Number(id),
        label: e.label,
        ltv: e.ltvBps / 10_000,
        liquidationThreshold: e.liquidationThresholdBps / 10_000,
        liquidationBonus: e.liquidationBonusBps / 10_000,
      };
    }
    const n = accounts.size;
    const list: Address[] = [];
    const collateral = new Float64Array(n * R);
    const supplied = new Float64Array(n * R);
    const debt = new Float64Array(n * R);
    const eMode = new Uint8Array(n);
    let i = 0;
    for (const a of accounts.values()) {
      list.push(a.address);
      eMode[i] = a.eMode;
      for (let r = 0; r < R; r++) {
        const unit = p.unit[r]!;
        const k = i * R + r;
        const scaledA = a.scaledA[r]!;
        if (scaledA !== 0n) {
          const amount = toWhole(rayMul(scaledA, p.income[r]!), unit);
          supplied[k] = amount;
          if (a.collateral[r] && p.lt[r] !== 0n) collateral[k] = amount;
        }
        const scaledV = a.scaledV[r]!;
        if (scaledV !== 0n && a.borrowing[r]) debt[k] = toWhole(rayMul(scaledV, p.debt[r]!), unit);
      }
      i++;
    }
    return {
      chainId: market.chainId,
      blockNumber: head?.number ?? 0n,
      assets,
      eModes,
      accounts: list,
      collateral,
      supplied,
      debt,
      eMode,
    };
  };

  return {
    market,
    reserves,
    head: () => head,
    size: () => accounts.size,
    accounts: () => [...accounts.keys()] as Address[],
    position: (address) => {
      const a = accounts.get(lower(address));
      if (a === undefined) return undefined;
      return {
        address: a.address,
        eMode: a.eMode,
        scaledSupply: [...a.scaledA],
        scaledVariableDebt: [...a.scaledV],
        collateral: [...a.collateral],
        borrowing: [...a.borrowing],
      };
    },
    applyBlock,
    rollback,
    finalize,
    follow,
    accountData,
    allAccountData,
    snapshot,
  };
}

function isSortedByIndex(logs: readonly RawLog[]): boolean {
  for (let i = 1; i < logs.length; i++)
    if ((logs[i - 1]!.logIndex ?? 0) > (logs[i]!.logIndex ?? 0)) return false;
  return true;
}

function findCaseInsensitive<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  const wanted = key.toLowerCase();
  for (const [k, v] of Object.entries(record)) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

/** A token amount as a float of whole tokens, without losing the integer part's precision first. */
function toWhole(amount: bigint, unit: bigint): number {
  return Number(amount / unit) + Number(amount % unit) / Number(unit);
}
