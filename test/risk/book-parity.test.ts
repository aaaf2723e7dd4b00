/**
 * Position book parity (issue 4): on a real Aave v3 market on the embedded chain holding 5,000
 * positions over four assets and a stablecoin e-mode, the book built from the market's logs gives,
 * after every block of a scenario, exactly the `getUserAccountData` of every account (read from the
 * node through the batch reader at the same block): prices moving, months of interest, supplies,
 * withdrawals, borrows, repayments (own, on behalf, with aTokens, in full), aToken transfers,
 * collateral toggles, e-mode changes and liquidations. Then a reorg: blocks applied, the chain
 * reverted and a different branch mined; the book rolls back and stays exact.
 *
 * Cost: the node's side dominates (EDR executes ~316k gas to open a position and ~36k gas per
 * getUserAccountData; its first call on the grown state is much slower than the next ones).
 * Measured on the shared 2-core box under load (load average 7–11): 81–194 s to open the market,
 * 480–566 s for the file. Timeouts are sized for that; the positions are never fewer than 5,000.
 */
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain } from '../../src/chain/embedded';
import { isFirebreakError } from '../../src/common/errors';
import { getNormalizedIncome, rayMul } from '../../src/risk/aave-math';
import {
  type AaveV3AccountData,
  type AaveV3RiskInputs,
  createPositionBook,
  type PositionBook,
} from '../../src/risk/book';
import {
  ASSETS,
  type AssetSymbol,
  type BlockTx,
  calls,
  checkParity,
  deployPositionMarket,
  feedBook,
  mineBlock,
  type ParityReport,
  type PositionMarket,
  priceTx,
  readRiskInputs,
  runTxs,
  type SpawnerCall,
  units,
} from './support/position-market';

const POSITIONS = 5_000;
const HOUR = 3_600n;
const DAY = 24n * HOUR;
const WAD = 10n ** 18n;
const MAX = 2n ** 256n - 1n;

/** Accounts of each opening shape (see support/position-market.ts): index % 5. */
const kind = (m: PositionMarket, k: number) => m.accounts.filter((_, i) => i % 5 === k);

/** `list[from, to)`, refusing a range the list does not fully hold (no silently empty steps). */
function take<T>(list: readonly T[], from: number, to: number): T[] {
  if (to > list.length)
    throw new Error(`the scenario needs ${to} accounts of a kind, the market has ${list.length}`);
  return list.slice(from, to);
}

describe('position book parity with getUserAccountData (5,000 positions)', () => {
  let chain: EmbeddedChain;
  let m: PositionMarket;
  let book: PositionBook;
  const prices: Record<AssetSymbol, number> = {
    USDC: ASSETS.USDC.priceUsd,
    DAI: ASSETS.DAI.priceUsd,
    WETH: ASSETS.WETH.priceUsd,
    WBTC: ASSETS.WBTC.priceUsd,
  };
  const log = (line: string) => process.stderr.write(`[book-parity] ${line}\n`);

  /** Mines a block, feeds it to the book, compares every account; returns the report. */
  const step = async (label: string, txs: readonly BlockTx[], seconds: bigint): Promise<ParityReport> => {
    const before = book.head()!.number;
    const number = await mineBlock(m, txs, seconds);
    await feedBook(m, book, before + 1n, number);
    const report = await checkParity(m, book);
    log(
      `block ${number} (${label}): ${report.accounts} accounts, ${report.withDebt} with debt, ` +
        `${report.liquidatable} liquidatable, ${report.mismatches} mismatches`,
    );
    expect(report.firstMismatch).toBeUndefined();
    expect(report.mismatches).toBe(0);
    return report;
  };

  const setPrice = (symbol: AssetSymbol, usd: number): BlockTx => {
    prices[symbol] = usd;
    return priceTx(m, symbol, usd);
  };

  /** Token amount worth `base` (oracle base currency, 8 decimals) at the current price. */
  const tokensFor = (symbol: AssetSymbol, base: bigint) =>
    (base * 10n ** BigInt(ASSETS[symbol].decimals)) / BigInt(Math.round(prices[symbol] * 1e8));

  const dataOf = (inputs: AaveV3RiskInputs) => {
    const all = book.allAccountData(inputs);
    const byAccount = new Map<Address, AaveV3AccountData>();
    for (const [i, a] of book.accounts().entries()) byAccount.set(a, all[i]!);
    return byAccount;
  };

  beforeAll(async () => {
    const started = performance.now();
    chain = await createEmbeddedChain({ accounts: 4, blockGasLimit: 1_000_000_000n });
    m = await deployPositionMarket(chain, { positions: POSITIONS, seed: 4 });
    const opened = performance.now();
    book = createPositionBook(m.bookMarket);
    const head = await chain.client.getBlockNumber();
    const logs = await feedBook(m, book, m.fromBlock, head);
    log(
      `market with ${POSITIONS} positions opened in ${((opened - started) / 1000).toFixed(1)} s; ` +
        `book built from ${logs} logs in ${(performance.now() - opened).toFixed(0)} ms`,
    );
  }, 600_000);

  afterAll(async () => {
    await chain?.close();
  });

  it('knows every position after the opening blocks, exactly', async () => {
    const known = new Set(book.accounts());
    expect(m.accounts.filter((a) => !known.has(a))).toEqual([]);
    expect(book.size()).toBeGreaterThanOrEqual(POSITIONS);
    const report = await checkParity(m, book);
    log(
      `opening: ${report.accounts} accounts, ${report.withDebt} with debt, ${report.mismatches} mismatches`,
    );
    expect(report.mismatches).toBe(0);
    expect(report.withDebt).toBeGreaterThanOrEqual((POSITIONS * 4) / 5 - 1);
    const eMode = book.accounts().filter((a) => book.position(a)!.eMode === 1);
    expect(eMode.length).toBe(POSITIONS / 5);
  }, 300_000);

  it('stays exact after every block of a scenario', async () => {
    const lenders = kind(m, 4);
    const wethBorrowers = kind(m, 0);
    const basket = kind(m, 1);
    const eModers = kind(m, 2);
    const daiSuppliers = kind(m, 3);
    const ONE_K = 100_000_000_000n; // $1,000 in base units

    // 1. An hour later, WETH −3%. Lenders take on WETH and DAI; some withdraw half or all USDC.
    const b1: SpawnerCall[] = [];
    for (const a of take(lenders, 0, 300)) b1.push(calls.supplyFor(m, 'WETH', units(0.5, 18), a));
    for (const a of take(lenders, 300, 400)) b1.push(calls.supplyFor(m, 'DAI', units(5_000, 18), a));
    for (const a of take(wethBorrowers, 0, 100)) b1.push(calls.supplyFor(m, 'WETH', units(0.1, 18), a));
    for (const a of take(lenders, 400, 500)) b1.push(calls.withdraw(m, a, 'USDC', units(100, 6)));
    for (const a of take(lenders, 0, 40)) b1.push(calls.withdraw(m, a, 'USDC', MAX));
    await step('price, supplies, withdrawals', [setPrice('WETH', 1940), ...runTxs(m, b1)], HOUR);

    // 2. A day later: borrows sized by the book's own availableBorrowsBase; repayments.
    let data = dataOf(await readRiskInputs(m, book.head()!.number));
    const b2: SpawnerCall[] = [];
    for (const a of take(lenders, 0, 150)) {
      const available = data.get(a)!.availableBorrowsBase;
      b2.push(calls.borrow(m, a, 'DAI', tokensFor('DAI', available / 3n)));
    }
    for (const a of take(lenders, 300, 400)) b2.push(calls.borrow(m, a, 'DAI', units(1_000, 18)));
    for (const a of take(wethBorrowers, 100, 200)) {
      const available = data.get(a)!.availableBorrowsBase;
      if (available > ONE_K / 100n) b2.push(calls.borrow(m, a, 'USDC', tokensFor('USDC', available / 2n)));
    }
    for (const a of take(wethBorrowers, 200, 300)) b2.push(calls.repay(m, a, 'USDC', units(200, 6)));
    for (const a of take(eModers, 0, 60)) {
      // Full repayment: the account's own DAI plus a little for the interest accrued.
      b2.push(calls.transferUnderlying(m, 'DAI', a, units(100, 18)));
      b2.push(calls.repay(m, a, 'DAI', MAX));
    }
    for (const a of take(daiSuppliers, 0, 60)) b2.push(calls.repayFor(m, a, 'WETH', units(0.05, 18)));
    await step('borrows, repayments (partial, full, on behalf)', runTxs(m, b2), DAY);

    // 3. A week later: repay with aTokens; aToken transfers (partial, whole balance); collateral
    //    toggles; e-mode entered and left.
    const b3: SpawnerCall[] = [];
    for (const a of take(lenders, 300, 350)) b3.push(calls.repayWithATokens(m, a, 'DAI', units(400, 18)));
    for (const a of take(lenders, 350, 370)) b3.push(calls.repayWithATokens(m, a, 'DAI', MAX));
    const receivers = take(wethBorrowers, 300, 400);
    for (const [i, a] of take(lenders, 500, 600).entries()) {
      b3.push(calls.transferAToken(m, a, 'USDC', receivers[i]!, units(250, 6)));
    }
    // Whole balances (aTokens take no "max"): the book's scaled balance at the next block's time.
    const usdc = book.reserves.findIndex((r) => r.symbol === 'USDC');
    const nextTime = book.head()!.timestamp + 7n * DAY;
    const income = getNormalizedIncome(book.reserves[usdc]!, nextTime);
    const heirs = take(lenders, 700, 750);
    for (const [i, a] of take(lenders, 600, 650).entries()) {
      const whole = rayMul(book.position(a)!.scaledSupply[usdc]!, income);
      b3.push(calls.transferAToken(m, a, 'USDC', heirs[i]!, whole));
    }
    for (const a of take(lenders, 800, 850)) b3.push(calls.useAsCollateral(m, a, 'USDC', false));
    for (const a of take(lenders, 800, 820)) b3.push(calls.useAsCollateral(m, a, 'USDC', true));
    for (const a of take(wethBorrowers, 300, 350)) b3.push(calls.useAsCollateral(m, a, 'USDC', false));
    for (const a of take(eModers, 0, 30)) b3.push(calls.setEMode(m, a, 0));
    for (const a of take(lenders, 900, 950)) b3.push(calls.setEMode(m, a, 1));
    await step('aToken repayments, transfers, collateral toggles, e-mode', runTxs(m, b3), 7n * DAY);
    for (const a of take(lenders, 600, 650)) {
      const p = book.position(a)!;
      expect([p.scaledSupply[usdc], p.collateral[usdc]]).toEqual([0n, false]);
    }

    // 4. A month later, a crash: WETH −35%, WBTC −25%.
    const crash = await step(
      'price crash after 30 days',
      [setPrice('WETH', 1261), setPrice('WBTC', 22_500)],
      30n * DAY,
    );
    expect(crash.liquidatable).toBeGreaterThan(50);

    // 5. Liquidations, picked from the book: WETH → USDC (underlying out), WETH/WBTC → DAI
    //    (aTokens to the liquidator), at close factors of 50% and 100%.
    data = dataOf(await readRiskInputs(m, book.head()!.number));
    const underwater = (list: readonly Address[]) =>
      list
        .filter((a) => data.get(a)!.healthFactor < WAD)
        .sort((x, y) => (data.get(x)!.healthFactor < data.get(y)!.healthFactor ? -1 : 1));
    const wethVictims = underwater(wethBorrowers);
    const basketVictims = underwater(basket);
    log(`liquidatable: ${wethVictims.length} WETH→USDC, ${basketVictims.length} basket→DAI`);
    expect(wethVictims.length).toBeGreaterThan(10);
    expect(basketVictims.length).toBeGreaterThan(6);
    const b5: SpawnerCall[] = [];
    for (const a of wethVictims.slice(0, 10)) b5.push(calls.liquidate(m, 'WETH', 'USDC', a, MAX, false));
    for (const a of wethVictims.slice(-5))
      b5.push(calls.liquidate(m, 'WETH', 'USDC', a, units(50, 6), false));
    for (const a of basketVictims.slice(0, 3)) b5.push(calls.liquidate(m, 'WETH', 'DAI', a, MAX, true));
    for (const a of basketVictims.slice(3, 6)) b5.push(calls.liquidate(m, 'WBTC', 'DAI', a, MAX, true));
    await step('liquidations', runTxs(m, b5, 10), 12n);
    // Every victim lost debt and collateral (the node agrees: the step checked parity); the
    // liquidator took aTokens from three of them.
    const liquidated = [...wethVictims.slice(0, 10), ...wethVictims.slice(-5), ...basketVictims.slice(0, 6)];
    const afterData = dataOf(await readRiskInputs(m, book.head()!.number));
    for (const a of liquidated) {
      expect(afterData.get(a)!.totalDebtBase).toBeLessThan(data.get(a)!.totalDebtBase);
      expect(afterData.get(a)!.totalCollateralBase).toBeLessThan(data.get(a)!.totalCollateralBase);
    }
    const liquidator = book.position(m.spawner)!;
    expect(liquidator.scaledSupply.filter((s) => s > 0n).length).toBe(2);
    expect(liquidator.collateral.filter(Boolean).length).toBe(2);

    // 6. Recovery and business as usual, in several transactions, six hours later.
    const b6: SpawnerCall[] = [];
    for (const a of take(daiSuppliers, 100, 200)) b6.push(calls.supplyFor(m, 'DAI', units(2_000, 18), a));
    for (const a of take(daiSuppliers, 100, 200)) b6.push(calls.borrow(m, a, 'WETH', units(0.1, 18)));
    for (const a of take(eModers, 100, 200)) b6.push(calls.repay(m, a, 'DAI', units(300, 18)));
    for (const a of take(lenders, 650, 700)) b6.push(calls.withdraw(m, a, 'USDC', units(1_000, 6)));
    await step(
      'recovery, supplies, borrows, repayments, withdrawals',
      [setPrice('WETH', 1700), setPrice('USDC', 0.999), ...runTxs(m, b6)],
      6n * HOUR,
    );
  }, 900_000);

  it('rolls back a reorg and stays exact on the new branch', async () => {
    const base = book.head()!;
    const inputsAtBase = await readRiskInputs(m, base.number);
    const atBase = book.allAccountData(inputsAtBase, base.timestamp);
    const accountsAtBase = book.size();
    const snapshot = await chain.snapshot();
    const lenders = kind(m, 4);

    // Branch A: one block.
    await step(
      'branch A',
      [
        setPrice('WETH', 1500),
        ...runTxs(
          m,
          take(lenders, 750, 800).map((a) => calls.withdraw(m, a, 'USDC', MAX)),
        ),
      ],
      HOUR,
    );
    const branchA = book.head()!;

    // The chain forgets branch A; branch B replaces it with other blocks at other times.
    await chain.revert(snapshot);
    setPrice('WETH', 1700);
    book.rollback(base.number);
    expect(book.head()).toEqual(base);
    expect(book.size()).toBe(accountsAtBase);
    expect(book.allAccountData(inputsAtBase, base.timestamp)).toEqual(atBase);

    const b1 = take(lenders, 950, 1000).map((a) => calls.supplyFor(m, 'WETH', units(0.2, 18), a));
    await step('branch B 1/2', [setPrice('WETH', 1800), ...runTxs(m, b1)], 2n * HOUR);
    expect(book.head()!.number).toBe(branchA.number);
    expect(book.head()!.hash).not.toBe(branchA.hash);
    const b2 = take(lenders, 950, 1000).map((a) => calls.borrow(m, a, 'USDC', units(100, 6)));
    await step('branch B 2/2', [setPrice('WBTC', 25_000), ...runTxs(m, b2)], 3n * DAY);
  }, 600_000);

  it('refuses to roll back below its journal', () => {
    const head = book.head()!;
    book.finalize(head.number - 1n);
    let error: unknown;
    try {
      book.rollback(head.number - 3n);
    } catch (e) {
      error = e;
    }
    expect(isFirebreakError(error, 'ERR_REORG_TOO_DEEP')).toBe(true);
    expect(book.head()).toEqual(head);
  });
});
