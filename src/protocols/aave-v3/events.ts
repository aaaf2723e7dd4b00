/**
 * Protocols / Aave v3 — event decoders for the logs a position book follows, typed and fast: the
 * Pool's (supply, withdraw, borrow, repay, liquidation, reserve index updates, collateral toggles,
 * e-mode, treasury mints, and the stable-rate events the book refuses) and the scaled-balance
 * tokens' (aToken and variable-debt `Mint`/`Burn`, aToken `BalanceTransfer`, ERC-20 `Transfer`),
 * plus the stable-debt token's `Mint`/`Burn` so that a book can detect stable debt and stop.
 *
 * Decoding runs on every log of every block, so it does not go through viem's generic ABI decoder:
 * a `Map` from topic0 to a hand-written decoder that slices the 32-byte words it needs (4–5× faster
 * than `decodeEventLog`, measured in events.test.ts). Topic0 values are derived from the generated ABIs (`abi.ts`), and
 * the test checks every decoder against viem's `decodeEventLog` on logs of a real market.
 *
 * Strict: a log whose topic0 is known but whose topics or data do not have that event's shape
 * raises `ERR_RISK_INPUT`. Pass only logs emitted by the market's Pool and tokens (any ERC-721
 * `Transfer`, for example, shares topic0 with ERC-20's but not its shape).
 */
import { type AbiEvent, type Address, type Hex, parseAbiItem, toEventSelector } from 'viem';
import { FirebreakError } from '../../common/errors';
import { aTokenAbi, poolAbi, variableDebtTokenAbi } from './abi';

/** What every decoded event carries about its log. */
interface LogPosition {
  /** The emitting contract, lowercase. */
  address: Address;
  logIndex: number;
}

export type AaveV3PoolEvent = LogPosition &
  (
    | {
        type: 'Supply';
        reserve: Address;
        user: Address;
        onBehalfOf: Address;
        amount: bigint;
        referralCode: number;
      }
    | { type: 'Withdraw'; reserve: Address; user: Address; to: Address; amount: bigint }
    | {
        type: 'Borrow';
        reserve: Address;
        user: Address;
        onBehalfOf: Address;
        amount: bigint;
        /** 1 = stable, 2 = variable. */
        interestRateMode: number;
        borrowRate: bigint;
        referralCode: number;
      }
    | {
        type: 'Repay';
        reserve: Address;
        user: Address;
        repayer: Address;
        amount: bigint;
        useATokens: boolean;
      }
    | {
        type: 'LiquidationCall';
        collateralAsset: Address;
        debtAsset: Address;
        user: Address;
        debtToCover: bigint;
        liquidatedCollateralAmount: bigint;
        liquidator: Address;
        receiveAToken: boolean;
      }
    | {
        type: 'ReserveDataUpdated';
        reserve: Address;
        liquidityRate: bigint;
        stableBorrowRate: bigint;
        variableBorrowRate: bigint;
        liquidityIndex: bigint;
        variableBorrowIndex: bigint;
      }
    | { type: 'ReserveUsedAsCollateralEnabled'; reserve: Address; user: Address }
    | { type: 'ReserveUsedAsCollateralDisabled'; reserve: Address; user: Address }
    | { type: 'UserEModeSet'; user: Address; categoryId: number }
    | { type: 'MintedToTreasury'; reserve: Address; amountMinted: bigint }
    | { type: 'SwapBorrowRateMode'; reserve: Address; user: Address; interestRateMode: number }
    | { type: 'RebalanceStableBorrowRate'; reserve: Address; user: Address }
  );

export type AaveV3TokenEvent = LogPosition &
  (
    | {
        /** aToken or variable-debt token (same event). `value` includes `balanceIncrease`. */
        type: 'Mint';
        caller: Address;
        onBehalfOf: Address;
        value: bigint;
        balanceIncrease: bigint;
        index: bigint;
      }
    | { type: 'Burn'; from: Address; target: Address; value: bigint; balanceIncrease: bigint; index: bigint }
    | {
        /** aToken only: `value` is the *scaled* amount moved. */
        type: 'BalanceTransfer';
        from: Address;
        to: Address;
        value: bigint;
        index: bigint;
      }
    | { type: 'Transfer'; from: Address; to: Address; value: bigint }
    | { type: 'StableDebtMint'; user: Address; onBehalfOf: Address; amount: bigint }
    | { type: 'StableDebtBurn'; from: Address; amount: bigint }
  );

export type AaveV3Event = AaveV3PoolEvent | AaveV3TokenEvent;
export type AaveV3EventType = AaveV3Event['type'];

/** The fields of a log the decoder reads (a viem `Log` fits). */
export interface RawLog {
  address: Hex;
  topics: readonly Hex[];
  data: Hex;
  logIndex: number | null;
}

// ---- topic0 of each event, from the generated ABIs ----

function eventOf(abi: readonly { type: string; name?: string }[], name: string): Hex {
  const item = abi.find((x) => x.type === 'event' && x.name === name);
  if (item === undefined) throw new Error(`event ${name} is missing from the generated Aave v3 ABI`);
  return toEventSelector(item as AbiEvent);
}
const poolEvent = (name: string) => eventOf(poolAbi, name);

/** topic0 of every event this module decodes. */
export const AAVE_V3_TOPICS = {
  Supply: poolEvent('Supply'),
  Withdraw: poolEvent('Withdraw'),
  Borrow: poolEvent('Borrow'),
  Repay: poolEvent('Repay'),
  LiquidationCall: poolEvent('LiquidationCall'),
  ReserveDataUpdated: poolEvent('ReserveDataUpdated'),
  ReserveUsedAsCollateralEnabled: poolEvent('ReserveUsedAsCollateralEnabled'),
  ReserveUsedAsCollateralDisabled: poolEvent('ReserveUsedAsCollateralDisabled'),
  UserEModeSet: poolEvent('UserEModeSet'),
  MintedToTreasury: poolEvent('MintedToTreasury'),
  SwapBorrowRateMode: poolEvent('SwapBorrowRateMode'),
  RebalanceStableBorrowRate: poolEvent('RebalanceStableBorrowRate'),
  Mint: eventOf(aTokenAbi, 'Mint'),
  Burn: eventOf(aTokenAbi, 'Burn'),
  BalanceTransfer: eventOf(aTokenAbi, 'BalanceTransfer'),
  Transfer: eventOf(variableDebtTokenAbi, 'Transfer'),
  // StableDebtToken's ABI is not generated (the book does not support stable debt); its two events:
  StableDebtMint: toEventSelector(
    parseAbiItem(
      'event Mint(address indexed user, address indexed onBehalfOf, uint256 amount, uint256 currentBalance, uint256 balanceIncrease, uint256 newRate, uint256 avgStableRate, uint256 newTotalSupply)',
    ),
  ),
  StableDebtBurn: toEventSelector(
    parseAbiItem(
      'event Burn(address indexed from, uint256 amount, uint256 currentBalance, uint256 balanceIncrease, uint256 avgStableRate, uint256 newTotalSupply)',
    ),
  ),
} as const satisfies Record<AaveV3EventType, Hex>;

// ---- word slicing (plain functions: no allocation per log beyond the result) ----

function malformed(log: RawLog, type: string, why: string): never {
  throw new FirebreakError(
    'ERR_RISK_INPUT',
    `Aave v3 log ${log.logIndex ?? '?'} of ${log.address} looks like ${type} but ${why}`,
    { details: { address: log.address, logIndex: log.logIndex, type } },
  );
}

/** Checks that the log has the event's number of topics and of 32-byte data words. */
function shape(log: RawLog, type: string, topics: number, dataWords: number): void {
  if (log.topics.length !== topics)
    malformed(log, type, `has ${log.topics.length} topics, expected ${topics}`);
  if (log.data.length !== 2 + 64 * dataWords) {
    malformed(log, type, `has ${(log.data.length - 2) / 2} data bytes, expected ${32 * dataWords}`);
  }
}

const topicAddress = (log: RawLog, i: number): Address =>
  `0x${(log.topics[i] as string).slice(26).toLowerCase()}` as Address;
const topicUint = (log: RawLog, i: number): bigint => BigInt(log.topics[i] as string);
const uint = (log: RawLog, i: number): bigint => BigInt(`0x${log.data.slice(2 + 64 * i, 66 + 64 * i)}`);
const address = (log: RawLog, i: number): Address =>
  `0x${log.data.slice(26 + 64 * i, 66 + 64 * i).toLowerCase()}` as Address;
const bool = (log: RawLog, i: number): boolean => uint(log, i) !== 0n;

type Decoder = (log: RawLog, at: LogPosition) => AaveV3Event;

const T = AAVE_V3_TOPICS;
const DECODERS = new Map<string, Decoder>([
  [
    T.Supply,
    (log, at) => {
      shape(log, 'Supply', 4, 2);
      return {
        ...at,
        type: 'Supply',
        reserve: topicAddress(log, 1),
        user: address(log, 0),
        onBehalfOf: topicAddress(log, 2),
        amount: uint(log, 1),
        referralCode: Number(topicUint(log, 3)),
      };
    },
  ],
  [
    T.Withdraw,
    (log, at) => {
      shape(log, 'Withdraw', 4, 1);
      return {
        ...at,
        type: 'Withdraw',
        reserve: topicAddress(log, 1),
        user: topicAddress(log, 2),
        to: topicAddress(log, 3),
        amount: uint(log, 0),
      };
    },
  ],
  [
    T.Borrow,
    (log, at) => {
      shape(log, 'Borrow', 4, 4);
      return {
        ...at,
        type: 'Borrow',
        reserve: topicAddress(log, 1),
        user: address(log, 0),
        onBehalfOf: topicAddress(log, 2),
        amount: uint(log, 1),
        interestRateMode: Number(uint(log, 2)),
        borrowRate: uint(log, 3),
        referralCode: Number(topicUint(log, 3)),
      };
    },
  ],
  [
    T.Repay,
    (log, at) => {
      shape(log, 'Repay', 4, 2);
      return {
        ...at,
        type: 'Repay',
        reserve: topicAddress(log, 1),
        user: topicAddress(log, 2),
        repayer: topicAddress(log, 3),
        amount: uint(log, 0),
        useATokens: bool(log, 1),
      };
    },
  ],
  [
    T.LiquidationCall,
    (log, at) => {
      shape(log, 'LiquidationCall', 4, 4);
      return {
        ...at,
        type: 'LiquidationCall',
        collateralAsset: topicAddress(log, 1),
        debtAsset: topicAddress(log, 2),
        user: topicAddress(log, 3),
        debtToCover: uint(log, 0),
        liquidatedCollateralAmount: uint(log, 1),
        liquidator: address(log, 2),
        receiveAToken: bool(log, 3),
      };
    },
  ],
  [
    T.ReserveDataUpdated,
    (log, at) => {
      shape(log, 'ReserveDataUpdated', 2, 5);
      return {
        ...at,
        type: 'ReserveDataUpdated',
        reserve: topicAddress(log, 1),
        liquidityRate: uint(log, 0),
        stableBorrowRate: uint(log, 1),
        variableBorrowRate: uint(log, 2),
        liquidityIndex: uint(log, 3),
        variableBorrowIndex: uint(log, 4),
      };
    },
  ],
  [
    T.ReserveUsedAsCollateralEnabled,
    (log, at) => {
      shape(log, 'ReserveUsedAsCollateralEnabled', 3, 0);
      return {
        ...at,
        type: 'ReserveUsedAsCollateralEnabled',
        reserve: topicAddress(log, 1),
        user: topicAddress(log, 2),
      };
    },
  ],
  [
    T.ReserveUsedAsCollateralDisabled,
    (log, at) => {
      shape(log, 'ReserveUsedAsCollateralDisabled', 3, 0);
      return {
        ...at,
        type: 'ReserveUsedAsCollateralDisabled',
        reserve: topicAddress(log, 1),
        user: topicAddress(log, 2),
      };
    },
  ],
  [
    T.UserEModeSet,
    (log, at) => {
      shape(log, 'UserEModeSet', 2, 1);
      return { ...at, type: 'UserEModeSet', user: topicAddress(log, 1), categoryId: Number(uint(log, 0)) };
    },
  ],
  [
    T.MintedToTreasury,
    (log, at) => {
      shape(log, 'MintedToTreasury', 2, 1);
      return { ...at, type: 'MintedToTreasury', reserve: topicAddress(log, 1), amountMinted: uint(log, 0) };
    },
  ],
  [
    T.SwapBorrowRateMode,
    (log, at) => {
      shape(log, 'SwapBorrowRateMode', 3, 1);
      return {
        ...at,
        type: 'SwapBorrowRateMode',
        reserve: topicAddress(log, 1),
        user: topicAddress(log, 2),
        interestRateMode: Number(uint(log, 0)),
      };
    },
  ],
  [
    T.RebalanceStableBorrowRate,
    (log, at) => {
      shape(log, 'RebalanceStableBorrowRate', 3, 0);
      return {
        ...at,
        type: 'RebalanceStableBorrowRate',
        reserve: topicAddress(log, 1),
        user: topicAddress(log, 2),
      };
    },
  ],
  [
    T.Mint,
    (log, at) => {
      shape(log, 'Mint', 3, 3);
      return {
        ...at,
        type: 'Mint',
        caller: topicAddress(log, 1),
        onBehalfOf: topicAddress(log, 2),
        value: uint(log, 0),
        balanceIncrease: uint(log, 1),
        index: uint(log, 2),
      };
    },
  ],
  [
    T.Burn,
    (log, at) => {
      shape(log, 'Burn', 3, 3);
      return {
        ...at,
        type: 'Burn',
        from: topicAddress(log, 1),
        target: topicAddress(log, 2),
        value: uint(log, 0),
        balanceIncrease: uint(log, 1),
        index: uint(log, 2),
      };
    },
  ],
  [
    T.BalanceTransfer,
    (log, at) => {
      shape(log, 'BalanceTransfer', 3, 2);
      return {
        ...at,
        type: 'BalanceTransfer',
        from: topicAddress(log, 1),
        to: topicAddress(log, 2),
        value: uint(log, 0),
        index: uint(log, 1),
      };
    },
  ],
  [
    T.Transfer,
    (log, at) => {
      shape(log, 'Transfer', 3, 1);
      return {
        ...at,
        type: 'Transfer',
        from: topicAddress(log, 1),
        to: topicAddress(log, 2),
        value: uint(log, 0),
      };
    },
  ],
  [
    T.StableDebtMint,
    (log, at) => {
      shape(log, 'StableDebtMint', 3, 6);
      return {
        ...at,
        type: 'StableDebtMint',
        user: topicAddress(log, 1),
        onBehalfOf: topicAddress(log, 2),
        amount: uint(log, 0),
      };
    },
  ],
  [
    T.StableDebtBurn,
    (log, at) => {
      shape(log, 'StableDebtBurn', 2, 5);
      return { ...at, type: 'StableDebtBurn', from: topicAddress(log, 1), amount: uint(log, 0) };
    },
  ],
]);

/**
 * Decodes one log of an Aave v3 Pool or token; `null` when its topic0 is none of this module's
 * events (configuration events, `Approval`, `Initialized`, ...). Throws `ERR_RISK_INPUT` when the
 * topic0 is known but the shape is not.
 *
 * @example
 * for (const log of logs) {
 *   const event = decodeAaveV3Log(log);
 *   if (event?.type === 'ReserveDataUpdated') indexes.set(event.reserve, event.liquidityIndex);
 * }
 */
export function decodeAaveV3Log(log: RawLog): AaveV3Event | null {
  const topic0 = log.topics[0];
  if (topic0 === undefined) return null;
  const decode = DECODERS.get(topic0.toLowerCase());
  if (decode === undefined) return null;
  return decode(log, { address: log.address.toLowerCase() as Address, logIndex: log.logIndex ?? -1 });
}
