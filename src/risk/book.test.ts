/**
 * Position book, pure logic on synthetic logs (the parity with the real contracts is
 * test/risk/book-parity.test.ts): balance and flag bookkeeping, the undo journal, the errors, and
 * properties (fast-check): a rollback restores exactly what a book fed only up to that block holds;
 * more collateral never lowers a health factor.
 */
import fc from 'fast-check';
import {
  type AbiEvent,
  type Address,
  encodeAbiParameters,
  encodeEventTopics,
  type Hex,
  parseAbiItem,
} from 'viem';
import { describe, expect, it } from 'vitest';
import type { BlockRef } from '../chain/events';
import { type ErrorCode, isFirebreakError } from '../common/errors';
import { aTokenAbi, poolAbi } from '../protocols/aave-v3/abi';
import type { RawLog } from '../protocols/aave-v3/events';
import { MAX_UINT256, RAY, rayDiv, rayMul } from './aave-math';
import { type AaveV3RiskInputs, createPositionBook, type PositionBook } from './book';

const addr = (n: number) => `0x${n.toString(16).padStart(40, '0')}` as Address;
const POOL = addr(0xff);
const RESERVES = [
  {
    symbol: 'USDC',
    asset: addr(0x10),
    aToken: addr(0x11),
    variableDebtToken: addr(0x12),
    stableDebtToken: addr(0x13),
  },
  {
    symbol: 'WETH',
    asset: addr(0x20),
    aToken: addr(0x21),
    variableDebtToken: addr(0x22),
    stableDebtToken: addr(0x23),
  },
];
const USDC = RESERVES[0]!;
const WETH = RESERVES[1]!;
const ALICE = addr(0xa1);
const BOB = addr(0xb0);

const eventOf = (abi: readonly { type: string; name?: string }[], name: string) =>
  abi.find((x) => x.type === 'event' && x.name === name) as AbiEvent;
const STABLE_MINT = parseAbiItem(
  'event Mint(address indexed user, address indexed onBehalfOf, uint256 amount, uint256 currentBalance, uint256 balanceIncrease, uint256 newRate, uint256 avgStableRate, uint256 newTotalSupply)',
);

function encode(address: Address, event: AbiEvent, args: Record<string, unknown>): Omit<RawLog, 'logIndex'> {
  const topics = encodeEventTopics({ abi: [event], eventName: event.name, args } as never) as Hex[];
  const data = encodeAbiParameters(
    event.inputs.filter((i) => !i.indexed),
    event.inputs.filter((i) => !i.indexed).map((i) => args[i.name!]),
  );
  return { address, topics, data };
}

/** Synthetic logs, with the fields the Pool and the tokens would emit. */
const L = {
  reserve: (
    r: typeof USDC,
    liquidityIndex: bigint,
    variableBorrowIndex: bigint,
    liquidityRate = 0n,
    variableBorrowRate = 0n,
  ) =>
    encode(POOL, eventOf(poolAbi, 'ReserveDataUpdated'), {
      reserve: r.asset,
      liquidityRate,
      stableBorrowRate: 0n,
      variableBorrowRate,
      liquidityIndex,
      variableBorrowIndex,
    }),
  collateral: (r: typeof USDC, user: Address, on: boolean) =>
    encode(
      POOL,
      eventOf(poolAbi, on ? 'ReserveUsedAsCollateralEnabled' : 'ReserveUsedAsCollateralDisabled'),
      {
        reserve: r.asset,
        user,
      },
    ),
  eMode: (user: Address, categoryId: number) =>
    encode(POOL, eventOf(poolAbi, 'UserEModeSet'), { user, categoryId }),
  borrow: (r: typeof USDC, user: Address, amount: bigint, interestRateMode: number) =>
    encode(POOL, eventOf(poolAbi, 'Borrow'), {
      reserve: r.asset,
      user,
      onBehalfOf: user,
      amount,
      interestRateMode,
      borrowRate: 0n,
      referralCode: 0,
    }),
  mint: (token: Address, onBehalfOf: Address, value: bigint, balanceIncrease: bigint, index: bigint) =>
    encode(token, eventOf(aTokenAbi, 'Mint'), {
      caller: onBehalfOf,
      onBehalfOf,
      value,
      balanceIncrease,
      index,
    }),
  burn: (token: Address, from: Address, value: bigint, balanceIncrease: bigint, index: bigint) =>
    encode(token, eventOf(aTokenAbi, 'Burn'), { from, target: from, value, balanceIncrease, index }),
  transfer: (r: typeof USDC, from: Address, to: Address, scaled: bigint, index: bigint) =>
    encode(r.aToken, eventOf(aTokenAbi, 'BalanceTransfer'), { from, to, value: scaled, index }),
  stableMint: (r: typeof USDC, user: Address) =>
    encode(r.stableDebtToken, STABLE_MINT, {
      user,
      onBehalfOf: user,
      amount: 1n,
      currentBalance: 1n,
      balanceIncrease: 0n,
      newRate: 0n,
      avgStableRate: 0n,
      newTotalSupply: 1n,
    }),
};

const hash = (n: bigint, branch = 0) =>
  `0x${(n * 1000n + BigInt(branch)).toString(16).padStart(64, '0')}` as Hex;
function blockRef(number: bigint, branch = 0, parentBranch = branch): BlockRef {
  return {
    number,
    hash: hash(number, branch),
    parentHash: hash(number - 1n, parentBranch),
    timestamp: 1_000n + number * 12n,
  };
}
const withIndex = (logs: Omit<RawLog, 'logIndex'>[]): RawLog[] => logs.map((l, i) => ({ ...l, logIndex: i }));

const INPUTS: AaveV3RiskInputs = {
  reserves: {
    [USDC.asset]: {
      ltvBps: 7700,
      liquidationThresholdBps: 8000,
      liquidationBonusBps: 10450,
      liquidationProtocolFeeBps: 1000,
      decimals: 6,
      eModeCategory: 1,
    },
    [WETH.asset]: {
      ltvBps: 8000,
      liquidationThresholdBps: 8250,
      liquidationBonusBps: 10500,
      liquidationProtocolFeeBps: 1000,
      decimals: 18,
      eModeCategory: 0,
    },
  },
  eModes: {
    1: {
      ltvBps: 9300,
      liquidationThresholdBps: 9500,
      liquidationBonusBps: 10100,
      priceSource: addr(0),
      label: 'Stablecoins',
    },
  },
  prices: { [USDC.asset]: 100_000_000n, [WETH.asset]: 200_000_000_000n },
  baseCurrencyUnit: 100_000_000n,
};

const newBook = (window?: number) =>
  createPositionBook(
    { chainId: 1, pool: POOL, reserves: RESERVES },
    window === undefined ? {} : { unfinalizedWindow: window },
  );

function codeOf(f: () => unknown): ErrorCode | 'no error' | 'not a FirebreakError' {
  try {
    f();
  } catch (error) {
    return isFirebreakError(error) ? error.code : 'not a FirebreakError';
  }
  return 'no error';
}

/** Alice supplies 10 WETH (collateral) and borrows 5,000 USDC at the given indexes. */
function open(book: PositionBook, number: bigint, index: bigint) {
  book.applyBlock(
    blockRef(number),
    withIndex([
      L.reserve(WETH, index, index),
      L.mint(WETH.aToken, ALICE, 10n * 10n ** 18n, 0n, index),
      L.collateral(WETH, ALICE, true),
      L.reserve(USDC, index, index, RAY / 50n, RAY / 20n),
      L.mint(USDC.variableDebtToken, ALICE, 5_000n * 10n ** 6n, 0n, index),
      L.borrow(USDC, ALICE, 5_000n * 10n ** 6n, 2),
    ]),
  );
}

describe('position book: bookkeeping', () => {
  it('turns token events into exact scaled balances and Pool events into flags and e-mode', () => {
    const book = newBook();
    const index = (RAY * 11n) / 10n;
    open(book, 1n, index);
    const alice = book.position(ALICE)!;
    expect(alice.scaledSupply).toEqual([0n, rayDiv(10n * 10n ** 18n, index)]);
    expect(alice.scaledVariableDebt).toEqual([rayDiv(5_000n * 10n ** 6n, index), 0n]);
    expect(alice.collateral).toEqual([false, true]);
    expect(alice.borrowing).toEqual([true, false]);
    expect(book.reserves[0]).toMatchObject({
      liquidityIndex: index,
      lastUpdateTimestamp: blockRef(1n).timestamp,
    });

    // A burn smaller than the accrued interest shows as a Mint with value < balanceIncrease; the
    // interest shown on a transfer (value = balanceIncrease) changes nothing.
    const later = (index * 12n) / 11n;
    book.applyBlock(
      blockRef(2n),
      withIndex([
        L.mint(USDC.variableDebtToken, ALICE, 10n, 110n, later),
        L.mint(WETH.aToken, ALICE, 77n, 77n, later),
        L.eMode(ALICE, 1),
      ]),
    );
    const after = book.position(ALICE)!;
    expect(after.scaledVariableDebt[0]).toBe(alice.scaledVariableDebt[0]! - rayDiv(100n, later));
    expect(after.scaledSupply[1]).toBe(alice.scaledSupply[1]);
    expect(after.eMode).toBe(1);
  });

  it('clears the borrowing flag only when the burn equals the debt as the Pool computes it', () => {
    const book = newBook();
    const index = (RAY * 13n) / 10n;
    open(book, 1n, index);
    const scaled = book.position(ALICE)!.scaledVariableDebt[0]!;
    const debt = rayMul(scaled, index);
    book.applyBlock(blockRef(2n), withIndex([L.burn(USDC.variableDebtToken, ALICE, debt - 1n, 0n, index)]));
    expect(book.position(ALICE)!.borrowing[0]).toBe(true);
    const rest = rayMul(book.position(ALICE)!.scaledVariableDebt[0]!, index);
    book.applyBlock(blockRef(3n), withIndex([L.burn(USDC.variableDebtToken, ALICE, rest, 0n, index)]));
    expect(book.position(ALICE)!.borrowing[0]).toBe(false);
  });

  it('moves scaled aTokens on BalanceTransfer and keeps flags to their events', () => {
    const book = newBook();
    open(book, 1n, RAY);
    const all = book.position(ALICE)!.scaledSupply[1]!;
    book.applyBlock(
      blockRef(2n),
      withIndex([
        L.transfer(WETH, ALICE, BOB, all, RAY),
        L.collateral(WETH, ALICE, false),
        L.collateral(WETH, BOB, true),
      ]),
    );
    expect(book.position(ALICE)!.scaledSupply[1]).toBe(0n);
    expect(book.position(BOB)).toMatchObject({ scaledSupply: [0n, all], collateral: [false, true] });
    expect(book.accountData(ALICE, INPUTS).totalCollateralBase).toBe(0n);
    expect(book.accountData(ALICE, INPUTS).healthFactor).toBe(0n);
    expect(book.accountData(addr(0x999), INPUTS).healthFactor).toBe(MAX_UINT256);
  });
});

describe('position book: following a block source', () => {
  it('applies blocks, rolls back on reorg and finalizes, from ChainEvents', () => {
    const book = newBook();
    const chainId = 1;
    book.follow({
      type: 'block',
      chainId,
      block: blockRef(1n),
      receivedAt: 0,
      logs: withIndex([L.eMode(ALICE, 1)]) as never, // synthetic logs carry only what the book reads
    });
    book.follow({
      type: 'block',
      chainId,
      block: blockRef(2n),
      receivedAt: 0,
      logs: withIndex([L.eMode(ALICE, 0)]) as never, // synthetic logs carry only what the book reads
    });
    book.follow({ type: 'reorg', chainId, orphaned: [blockRef(2n)], ancestor: blockRef(1n), receivedAt: 0 });
    expect(book.position(ALICE)!.eMode).toBe(1);
    book.follow({ type: 'block', chainId, block: blockRef(2n, 1, 0), receivedAt: 0, logs: [] });
    book.follow({ type: 'finalized', chainId, block: blockRef(2n, 1, 0) });
    expect(codeOf(() => book.rollback(1n))).toBe('ERR_REORG_TOO_DEEP');
    expect(
      codeOf(() => book.follow({ type: 'block', chainId, block: blockRef(3n, 0, 1), receivedAt: 0 })),
    ).toBe('ERR_RISK_INPUT');
  });
});

describe('position book: refusals', () => {
  it('refuses stable-rate debt, blocks out of order, foreign logs, unknown reserves and missing inputs', () => {
    const book = newBook();
    open(book, 1n, RAY);
    expect(codeOf(() => book.applyBlock(blockRef(2n), withIndex([L.stableMint(USDC, ALICE)])))).toBe(
      'ERR_RISK_INPUT',
    );
    expect(codeOf(() => book.applyBlock(blockRef(2n), withIndex([L.borrow(USDC, ALICE, 1n, 1)])))).toBe(
      'ERR_RISK_INPUT',
    );
    expect(codeOf(() => book.applyBlock(blockRef(1n), []))).toBe('ERR_RISK_INPUT');
    expect(codeOf(() => book.applyBlock(blockRef(2n, 1, 1), []))).toBe('ERR_RISK_INPUT');
    const foreign = { ...L.eMode(BOB, 1), logIndex: 0, blockNumber: 7n, blockHash: hash(7n) };
    expect(codeOf(() => book.applyBlock(blockRef(2n), [foreign]))).toBe('ERR_RISK_INPUT');
    const unknown = { ...L.collateral({ ...USDC, asset: addr(0x77) }, BOB, true), logIndex: 0 };
    expect(codeOf(() => book.applyBlock(blockRef(2n), [unknown]))).toBe('ERR_RISK_INPUT');
    const overdraw = { ...L.burn(WETH.aToken, BOB, 1n, 0n, RAY), logIndex: 0 };
    expect(codeOf(() => book.applyBlock(blockRef(2n), [overdraw]))).toBe('ERR_RISK_INPUT');
    const { [WETH.asset]: _weth, ...onlyUsdc } = INPUTS.prices;
    expect(codeOf(() => book.accountData(ALICE, { ...INPUTS, prices: onlyUsdc }))).toBe('ERR_RISK_INPUT');
    expect(codeOf(() => book.accountData(ALICE, INPUTS, 0n))).toBe('ERR_RISK_INPUT');
    // None of the refused blocks left a trace.
    expect(book.head()).toEqual(blockRef(1n));
    expect(book.size()).toBe(1);
  });

  it('undoes a block that fails half-way', () => {
    const book = newBook();
    open(book, 1n, RAY);
    const before = book.position(ALICE);
    const failing = withIndex([
      L.mint(WETH.aToken, BOB, 5n, 0n, RAY),
      L.eMode(ALICE, 1),
      L.stableMint(USDC, ALICE),
    ]);
    expect(codeOf(() => book.applyBlock(blockRef(2n), failing))).toBe('ERR_RISK_INPUT');
    expect(book.position(ALICE)).toEqual(before);
    expect(book.position(BOB)).toBeUndefined();
  });

  it('cannot roll back below its journal', () => {
    const book = newBook(2);
    open(book, 1n, RAY);
    for (const n of [2n, 3n, 4n]) book.applyBlock(blockRef(n), withIndex([L.eMode(ALICE, Number(n))]));
    expect(codeOf(() => book.rollback(1n))).toBe('ERR_REORG_TOO_DEEP');
    book.rollback(2n);
    expect(book.position(ALICE)!.eMode).toBe(2);
    book.finalize(2n);
    expect(codeOf(() => book.rollback(1n))).toBe('ERR_REORG_TOO_DEEP');
  });
});

// ---- Properties ----

type Op =
  | { kind: 'supply'; who: number; reserve: number; amount: bigint }
  | { kind: 'borrow'; who: number; reserve: number; amount: bigint }
  | { kind: 'repay'; who: number; reserve: number; share: number }
  | { kind: 'transfer'; from: number; to: number; reserve: number; share: number }
  | { kind: 'collateral'; who: number; reserve: number; on: boolean }
  | { kind: 'emode'; who: number; category: number }
  | { kind: 'index'; reserve: number; bumpBps: number };

const PEOPLE = [ALICE, BOB, addr(0xc0), addr(0xd0)];
const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('supply' as const),
    who: fc.nat(3),
    reserve: fc.nat(1),
    amount: fc.bigInt(1n, 10n ** 24n),
  }),
  fc.record({
    kind: fc.constant('borrow' as const),
    who: fc.nat(3),
    reserve: fc.nat(1),
    amount: fc.bigInt(1n, 10n ** 22n),
  }),
  fc.record({
    kind: fc.constant('repay' as const),
    who: fc.nat(3),
    reserve: fc.nat(1),
    share: fc.integer({ min: 1, max: 100 }),
  }),
  fc.record({
    kind: fc.constant('transfer' as const),
    from: fc.nat(3),
    to: fc.nat(3),
    reserve: fc.nat(1),
    share: fc.integer({ min: 1, max: 100 }),
  }),
  fc.record({
    kind: fc.constant('collateral' as const),
    who: fc.nat(3),
    reserve: fc.nat(1),
    on: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('emode' as const), who: fc.nat(3), category: fc.nat(1) }),
  fc.record({
    kind: fc.constant('index' as const),
    reserve: fc.nat(1),
    bumpBps: fc.integer({ min: 0, max: 500 }),
  }),
);

/**
 * Turns one block's ops into the logs the contracts would emit, against a running model of the
 * balances and indexes (so that no repayment or transfer takes more than is there).
 */
function logsOf(book: PositionBook, ops: readonly Op[]): RawLog[] {
  const logs: Omit<RawLog, 'logIndex'>[] = [];
  const index = book.reserves.map((s) => ({ liquidity: s.liquidityIndex, debt: s.variableBorrowIndex }));
  const supply = new Map<string, bigint>();
  const debt = new Map<string, bigint>();
  const get = (
    map: Map<string, bigint>,
    who: number,
    r: number,
    field: 'scaledSupply' | 'scaledVariableDebt',
  ) => map.get(`${who}/${r}`) ?? book.position(PEOPLE[who]!)?.[field][r] ?? 0n;
  const set = (map: Map<string, bigint>, who: number, r: number, value: bigint) =>
    map.set(`${who}/${r}`, value);
  for (const op of ops) {
    switch (op.kind) {
      case 'index': {
        const grow = (i: bigint) => (i * BigInt(10_000 + op.bumpBps)) / 10_000n;
        const i = index[op.reserve]!;
        i.liquidity = grow(i.liquidity);
        i.debt = grow(i.debt);
        logs.push(L.reserve(RESERVES[op.reserve]!, i.liquidity, i.debt, RAY / 100n, RAY / 25n));
        break;
      }
      case 'supply': {
        const i = index[op.reserve]!.liquidity;
        logs.push(L.mint(RESERVES[op.reserve]!.aToken, PEOPLE[op.who]!, op.amount, 0n, i));
        set(
          supply,
          op.who,
          op.reserve,
          get(supply, op.who, op.reserve, 'scaledSupply') + rayDiv(op.amount, i),
        );
        break;
      }
      case 'borrow': {
        const i = index[op.reserve]!.debt;
        logs.push(L.mint(RESERVES[op.reserve]!.variableDebtToken, PEOPLE[op.who]!, op.amount, 0n, i));
        set(
          debt,
          op.who,
          op.reserve,
          get(debt, op.who, op.reserve, 'scaledVariableDebt') + rayDiv(op.amount, i),
        );
        break;
      }
      case 'repay': {
        const i = index[op.reserve]!.debt;
        const scaled = get(debt, op.who, op.reserve, 'scaledVariableDebt');
        const amount = (rayMul(scaled, i) * BigInt(op.share)) / 100n;
        const burnt = rayDiv(amount, i);
        if (burnt === 0n || burnt > scaled) break;
        logs.push(L.burn(RESERVES[op.reserve]!.variableDebtToken, PEOPLE[op.who]!, amount, 0n, i));
        set(debt, op.who, op.reserve, scaled - burnt);
        break;
      }
      case 'transfer': {
        const from = get(supply, op.from, op.reserve, 'scaledSupply');
        const scaled = (from * BigInt(op.share)) / 100n;
        if (scaled === 0n) break;
        const res = RESERVES[op.reserve]!;
        logs.push(L.transfer(res, PEOPLE[op.from]!, PEOPLE[op.to]!, scaled, index[op.reserve]!.liquidity));
        set(supply, op.from, op.reserve, from - scaled);
        set(supply, op.to, op.reserve, get(supply, op.to, op.reserve, 'scaledSupply') + scaled);
        break;
      }
      case 'collateral':
        logs.push(L.collateral(RESERVES[op.reserve]!, PEOPLE[op.who]!, op.on));
        break;
      case 'emode':
        logs.push(L.eMode(PEOPLE[op.who]!, op.category));
        break;
    }
  }
  return withIndex(logs);
}

function stateOf(book: PositionBook) {
  return {
    head: book.head(),
    reserves: book.reserves.map((r) => ({ ...r })),
    positions: book.accounts().map((a) => book.position(a)),
  };
}

describe('position book: properties', () => {
  it('a rollback restores exactly the book fed only up to that block (reorgs on any history)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(opArbitrary, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.array(opArbitrary, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        (history, branch, cut) => {
          const keep = cut % (history.length + 1);
          const reference = newBook();
          const book = newBook();
          // Both apply the common prefix; `book` also applies the rest of the history, then a branch.
          history.forEach((ops, i) => {
            const block = blockRef(BigInt(i + 1));
            const logs = logsOf(book, ops);
            book.applyBlock(block, logs);
            if (i < keep) reference.applyBlock(block, logs);
          });
          book.rollback(BigInt(keep));
          expect(stateOf(book).positions).toEqual(stateOf(reference).positions);
          expect(stateOf(book)).toEqual(stateOf(reference));
          // The new branch applies on top of the rolled-back book as on the reference.
          branch.forEach((ops, i) => {
            const block = blockRef(BigInt(keep + i + 1), 1, i === 0 ? 0 : 1);
            const logs = logsOf(reference, ops);
            book.applyBlock(block, logs);
            reference.applyBlock(block, logs);
          });
          expect(stateOf(book)).toEqual(stateOf(reference));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('more collateral never lowers a health factor (exact path, at or above the average threshold)', () => {
    // The contract floors the average liquidation threshold to whole basis points, so a little
    // collateral with a threshold *below* the account's average can lower the health factor by
    // that rounding; at or above the average it never can. The property holds as stated here.
    fc.assert(
      fc.property(
        fc.array(fc.array(opArbitrary, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 10 }),
        fc.nat(3),
        fc.nat(1),
        fc.bigInt(1n, 10n ** 24n),
        fc.bigInt(1n, 10n ** 12n),
        (blocks, who, reserve, extra, wethPrice) => {
          const book = newBook();
          blocks.forEach((ops, i) => {
            book.applyBlock(blockRef(BigInt(i + 1)), logsOf(book, ops));
          });
          const inputs = { ...INPUTS, prices: { ...INPUTS.prices, [WETH.asset]: wethPrice } };
          const account = PEOPLE[who]!;
          // Both at the next block's time, so that no interest accrues in between.
          const next = blockRef(BigInt(blocks.length + 1));
          const before = book.accountData(account, inputs, next.timestamp);
          const position = book.position(account);
          const params = INPUTS.reserves[RESERVES[reserve]!.asset]!;
          const inEMode =
            position !== undefined && position.eMode !== 0 && position.eMode === params.eModeCategory;
          const threshold = inEMode
            ? INPUTS.eModes[1]!.liquidationThresholdBps
            : params.liquidationThresholdBps;
          fc.pre(BigInt(threshold) >= before.currentLiquidationThreshold);
          book.applyBlock(
            next,
            withIndex([
              L.mint(RESERVES[reserve]!.aToken, account, extra, 0n, book.reserves[reserve]!.liquidityIndex),
            ]),
          );
          const after = book.accountData(account, inputs, next.timestamp);
          expect(after.healthFactor).toBeGreaterThanOrEqual(before.healthFactor);
          expect(after.totalCollateralBase).toBeGreaterThanOrEqual(before.totalCollateralBase);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('position book: float snapshot', () => {
  it('carries the exact values as floats: totals agree with accountData, health factors to rounding', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(opArbitrary, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 10 }),
        (blocks) => {
          const book = newBook();
          blocks.forEach((ops, i) => {
            book.applyBlock(blockRef(BigInt(i + 1)), logsOf(book, ops));
          });
          const snap = book.snapshot(INPUTS);
          const exact = book.allAccountData(INPUTS);
          const R = snap.assets.length;
          expect(snap.accounts).toEqual(book.accounts());
          expect(snap.blockNumber).toBe(book.head()!.number);
          snap.accounts.forEach((account, i) => {
            const e = exact[i]!;
            const eMode = snap.eMode[i]!;
            let collateralUsd = 0;
            let debtUsd = 0;
            let weighted = 0;
            for (let j = 0; j < R; j++) {
              const asset = snap.assets[j]!;
              const inEMode = eMode !== 0 && asset.eModeCategory === eMode;
              const lt = inEMode ? snap.eModes[eMode]!.liquidationThreshold : asset.liquidationThreshold;
              collateralUsd += snap.collateral[i * R + j]! * asset.priceUsd;
              weighted += snap.collateral[i * R + j]! * asset.priceUsd * lt;
              debtUsd += snap.debt[i * R + j]! * asset.priceUsd;
              if (!book.position(account)!.borrowing[j]) expect(snap.debt[i * R + j]).toBe(0);
              expect(snap.supplied[i * R + j]!).toBeGreaterThanOrEqual(snap.collateral[i * R + j]!);
            }
            const close = (float: number, base: bigint, relative: number) =>
              expect(Math.abs(float - Number(base) / 1e8)).toBeLessThanOrEqual(relative * float + 1e-8 * R);
            close(collateralUsd, e.totalCollateralBase, 1e-9);
            close(debtUsd, e.totalDebtBase, 1e-9);
            if (e.totalDebtBase > 0n && e.totalCollateralBase > 10n ** 6n) {
              const hf = weighted / debtUsd;
              // The contract floors the average threshold to whole basis points.
              expect(Math.abs(hf - Number(e.healthFactor) / 1e18)).toBeLessThanOrEqual(hf * 2e-4 + 1e-9);
            }
          });
        },
      ),
      { numRuns: 100 },
    );
  });
});
