import { type Address, encodeFunctionData, type Hex, parseUnits } from 'viem';
import { deployArtifact, firebreakArtifact } from '../../../src/chain/artifacts';
import type { EmbeddedChain, FundedAccount } from '../../../src/chain/embedded';
import { toBlockRef } from '../../../src/chain/events';
import { createRng as prng } from '../../../src/common/random';
import {
  collectGarbage,
  encodeRun,
  listSpawnedAccounts,
  readAccountDataBatch,
  type SpawnerCall,
  spawnerAbi,
} from '../../../src/drills/spawner';
import { aTokenAbi, erc20Abi, poolAbi } from '../../../src/protocols/aave-v3/abi';
import { type AaveV3Market, deployAaveV3Market } from '../../../src/protocols/aave-v3/fixture';
import type {
  AaveV3AccountData,
  AaveV3BookMarket,
  AaveV3RiskInputs,
  PositionBook,
} from '../../../src/risk/book';
import { readRiskInputs as readMarketRiskInputs } from '../../../src/risk/tracker';

export const SYMBOLS = ['USDC', 'DAI', 'WETH', 'WBTC'] as const;
export type AssetSymbol = (typeof SYMBOLS)[number];

interface AssetSpec {
  decimals: number;
  priceUsd: number;
  ltvBps: number;
  liquidationThresholdBps: number;
  liquidationBonusBps: number;
  eModeCategory: number;
}

export const ASSETS: Record<AssetSymbol, AssetSpec> = {
  USDC: {
    decimals: 6,
    priceUsd: 1,
    ltvBps: 7700,
    liquidationThresholdBps: 8000,
    liquidationBonusBps: 10450,
    eModeCategory: 1,
  },
  DAI: {
    decimals: 18,
    priceUsd: 1,
    ltvBps: 7500,
    liquidationThresholdBps: 7700,
    liquidationBonusBps: 10500,
    eModeCategory: 1,
  },
  WETH: {
    decimals: 18,
    priceUsd: 2000,
    ltvBps: 8000,
    liquidationThresholdBps: 8250,
    liquidationBonusBps: 10500,
    eModeCategory: 0,
  },
  WBTC: {
    decimals: 8,
    priceUsd: 30_000,
    ltvBps: 7000,
    liquidationThresholdBps: 7500,
    liquidationBonusBps: 10650,
    eModeCategory: 0,
  },
};
export const STABLE_EMODE = {
  id: 1,
  label: 'Stablecoins',
  ltvBps: 9300,
  liquidationThresholdBps: 9500,
  liquidationBonusBps: 10100,
};

export interface SpawnedToken {
  symbol: AssetSymbol;
  address: Address;
  decimals: number;
  feed: Address;
}

export interface PositionMarket {
  chain: EmbeddedChain;
  deployer: FundedAccount;
  market: AaveV3Market;
  tokens: Record<AssetSymbol, SpawnedToken>;
  spawner: Address;
  reader: Address;
  /** The liquidity provider (the deployer's address, supplied for by the spawner). */
  lender: Address;
  /** Spawned position accounts, in opening order. */
  accounts: Address[];
  /** What a position book needs to follow the market. */
  bookMarket: AaveV3BookMarket;
  /** Every address whose logs the book reads. */
  logAddresses: Address[];
  /** The block from which the book must follow the market (the Pool's deployment). */
  fromBlock: bigint;
}

export type { SpawnerCall };

const E8 = 10n ** 8n;
/**
 * The lender's supply per position opened, in dollars: with the positions' own supplies, enough
 * liquidity for every borrow, and utilisations (≈25% USDC, ≈75% DAI, ≈30% WETH) whose rates make
 * interest visible within days.
 */
const LENDER_USD_PER_POSITION: Record<AssetSymbol, number> = {
  USDC: 1_000,
  DAI: 3_000,
  WETH: 1_000,
  WBTC: 200,
};
const GAS_PER_POSITION = 900_000n;
const POSITIONS_PER_TX = 20;

export const units = (amount: number, decimals: number): bigint =>
  parseUnits(amount.toFixed(Math.min(decimals, 8)), decimals);

/** Sends one transaction from `from` with explicit gas (no estimate) and checks its receipt. */
export async function send(
  chain: EmbeddedChain,
  from: FundedAccount,
  to: Address,
  data: Hex,
  gas = 30_000_000n,
) {
  const hash = await chain.client.sendTransaction({
    account: from.account,
    chain: chain.chain,
    to,
    data,
    gas,
  });
  const receipt = await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 1 });
  if (receipt.status !== 'success') throw new Error(`transaction ${hash} to ${to} reverted`);
  return receipt;
}

/**
 * Deploys the market, the spawner and the batch reader, funds the spawner, supplies liquidity and
 * opens `positions` positions. The chain should have a block gas limit of at least 200M.
 */
export async function deployPositionMarket(
  chain: EmbeddedChain,
  options: { positions: number; seed?: number; log?: (message: string) => void },
): Promise<PositionMarket> {
  const started = performance.now();
  const log = (what: string) => options.log?.(`${what} at ${(performance.now() - started).toFixed(0)} ms`);
  const deployer = chain.accounts[0]!;
  const account = deployer.account;
  const fromBlock = (await chain.client.getBlockNumber()) + 1n;
  const tokenArtifact = firebreakArtifact('DrillToken');
  const feedArtifact = firebreakArtifact('DrillPriceFeed');
  const tokens = {} as Record<AssetSymbol, SpawnedToken>;
  for (const symbol of SYMBOLS) {
    const spec = ASSETS[symbol];
    const address = (await deployArtifact(chain.client, tokenArtifact, {
      account,
      args: [symbol, symbol, spec.decimals],
    })) as Address;
    const feed = (await deployArtifact(chain.client, feedArtifact, {
      account,
      args: [8, `${symbol} / USD`, BigInt(Math.round(spec.priceUsd * 1e8))],
    })) as Address;
    tokens[symbol] = { symbol, address: address.toLowerCase() as Address, decimals: spec.decimals, feed };
  }
  log('tokens and feeds');
  const market = await deployAaveV3Market(chain.client, {
    account,
    guardian: chain.accounts[1]!.address,
    eModeCategories: [STABLE_EMODE],
    assets: SYMBOLS.map((symbol) => ({
      symbol,
      asset: tokens[symbol].address,
      decimals: ASSETS[symbol].decimals,
      priceSource: tokens[symbol].feed,
      ltvBps: ASSETS[symbol].ltvBps,
      liquidationThresholdBps: ASSETS[symbol].liquidationThresholdBps,
      liquidationBonusBps: ASSETS[symbol].liquidationBonusBps,
      reserveFactorBps: 1000,
      borrowingEnabled: true,
      supplyCap: 0n,
      borrowCap: 0n,
      eModeCategory: ASSETS[symbol].eModeCategory,
      rate: { optimalUsageBps: 8000, baseRateBps: 100, slope1Bps: 700, slope2Bps: 30000 },
    })),
  });
  log('Aave v3 market');
  const spawner = (await deployArtifact(chain.client, firebreakArtifact('PositionSpawner'), {
    account,
    args: [market.pool],
  })) as Address;
  const reader = (await deployArtifact(chain.client, firebreakArtifact('AccountDataReader'), {
    account,
  })) as Address;

  // Fund the spawner, let it approve the pool, and supply deep liquidity for the lender.
  const lender = deployer.address.toLowerCase() as Address;
  const setup: SpawnerCall[] = [];
  for (const symbol of SYMBOLS) {
    const t = tokens[symbol];
    const whole = 1_000_000_000_000 / ASSETS[symbol].priceUsd; // $1e12 of each
    const liquidity =
      (LENDER_USD_PER_POSITION[symbol] * Math.max(options.positions, 100)) / ASSETS[symbol].priceUsd;
    await send(
      chain,
      deployer,
      t.address,
      encodeFunctionData({
        abi: tokenArtifact.abi,
        functionName: 'mint',
        args: [spawner, units(whole, t.decimals)],
      }),
    );
    setup.push({
      account: spawner,
      target: t.address,
      data: encodeFunctionData({
        abi: erc20Abi,
        functionName: 'approve',
        args: [market.pool, 2n ** 256n - 1n],
      }),
    });
    setup.push({
      account: spawner,
      target: market.pool,
      data: encodeFunctionData({
        abi: poolAbi,
        functionName: 'supply',
        args: [t.address, units(liquidity, t.decimals), lender, 0],
      }),
    });
  }
  await runCalls(chain, deployer, spawner, setup);
  log('spawner funded, liquidity supplied');

  // Open the positions in batches.
  const random = prng(options.seed ?? 1);
  const plans = Array.from({ length: options.positions }, (_, i) => positionPlan(i, random, tokens));
  for (let i = 0; i < plans.length; i += POSITIONS_PER_TX) {
    const batch = plans.slice(i, i + POSITIONS_PER_TX);
    const receipt = await send(
      chain,
      deployer,
      spawner,
      encodeFunctionData({ abi: spawnerAbi(), functionName: 'open', args: [batch] }),
      GAS_PER_POSITION * BigInt(batch.length),
    );
    collectGarbage();
    log(`${i + batch.length} positions (${receipt.gasUsed} gas)`);
  }
  const accounts = await listSpawnedAccounts(chain, spawner);
  if (accounts.length !== options.positions) {
    throw new Error(`the spawner holds ${accounts.length} accounts, expected ${options.positions}`);
  }

  const reserves = SYMBOLS.map((s) => market.reserves[s]!);
  return {
    chain,
    deployer,
    market,
    tokens,
    spawner: spawner.toLowerCase() as Address,
    reader,
    lender,
    accounts,
    bookMarket: { chainId: chain.chainId, pool: market.pool, reserves },
    logAddresses: [
      market.pool,
      ...reserves.flatMap((r) => [r.aToken, r.variableDebtToken, r.stableDebtToken]),
    ],
    fromBlock,
  };
}

interface Plan {
  eMode: number;
  supplies: { asset: Address; amount: bigint }[];
  borrows: { asset: Address; amount: bigint }[];
}

/**
 * Five shapes, in turn: WETH → USDC; WBTC + WETH → DAI; e-mode USDC → DAI; DAI → WETH; USDC only
 * (a lender). Collateral is $1k–$50k; the borrow is 40–97% of the LTV limit.
 */
function positionPlan(i: number, random: () => number, tokens: Record<AssetSymbol, SpawnedToken>): Plan {
  const usd = 1_000 + random() * 49_000;
  const usage = 0.4 + random() * 0.57;
  const leg = (symbol: AssetSymbol, valueUsd: number) => ({
    asset: tokens[symbol].address,
    amount: units(valueUsd / ASSETS[symbol].priceUsd, ASSETS[symbol].decimals),
  });
  const borrowOf = (symbol: AssetSymbol, limitUsd: number) => leg(symbol, limitUsd * usage);
  switch (i % 5) {
    case 0:
      return {
        eMode: 0,
        supplies: [leg('WETH', usd)],
        borrows: [borrowOf('USDC', (usd * ASSETS.WETH.ltvBps) / 1e4)],
      };
    case 1: {
      const btc = usd * random();
      const limit = (btc * ASSETS.WBTC.ltvBps + (usd - btc) * ASSETS.WETH.ltvBps) / 1e4;
      return {
        eMode: 0,
        supplies: [leg('WBTC', btc), leg('WETH', usd - btc)],
        borrows: [borrowOf('DAI', limit)],
      };
    }
    case 2:
      return {
        eMode: 1,
        supplies: [leg('USDC', usd)],
        borrows: [borrowOf('DAI', (usd * STABLE_EMODE.ltvBps) / 1e4)],
      };
    case 3:
      return {
        eMode: 0,
        supplies: [leg('DAI', usd)],
        borrows: [borrowOf('WETH', (usd * ASSETS.DAI.ltvBps) / 1e4)],
      };
    default:
      return { eMode: 0, supplies: [leg('USDC', usd)], borrows: [] };
  }
}

/** Runs spawner calls in one transaction (automine on). */
export async function runCalls(
  chain: EmbeddedChain,
  from: FundedAccount,
  spawner: Address,
  calls: readonly SpawnerCall[],
  gas = 30_000_000n,
) {
  return send(chain, from, spawner, encodeRun(calls), gas);
}

// ---- Call builders ----

export const calls = {
  supplyFor: (m: PositionMarket, symbol: AssetSymbol, amount: bigint, onBehalfOf: Address): SpawnerCall => ({
    account: m.spawner,
    target: m.market.pool,
    data: encodeFunctionData({
      abi: poolAbi,
      functionName: 'supply',
      args: [m.tokens[symbol].address, amount, onBehalfOf, 0],
    }),
  }),
  withdraw: (m: PositionMarket, who: Address, symbol: AssetSymbol, amount: bigint): SpawnerCall => ({
    account: who,
    target: m.market.pool,
    data: encodeFunctionData({
      abi: poolAbi,
      functionName: 'withdraw',
      args: [m.tokens[symbol].address, amount, who],
    }),
  }),
  borrow: (m: PositionMarket, who: Address, symbol: AssetSymbol, amount: bigint): SpawnerCall => ({
    account: who,
    target: m.market.pool,
    data: encodeFunctionData({
      abi: poolAbi,
      functionName: 'borrow',
      args: [m.tokens[symbol].address, amount, 2n, 0, who],
    }),
  }),
  /** The account repays its own debt from its own tokens (it approved the pool when it borrowed). */
  repay: (m: PositionMarket, who: Address, symbol: AssetSymbol, amount: bigint): SpawnerCall => ({
    account: who,
    target: m.market.pool,
    data: encodeFunctionData({
      abi: poolAbi,
      functionName: 'repay',
      args: [m.tokens[symbol].address, amount, 2n, who],
    }),
  }),
  /** The spawner repays `onBehalfOf`'s debt from its own tokens. */
  repayFor: (m: PositionMarket, onBehalfOf: Address, symbol: AssetSymbol, amount: bigint): SpawnerCall => ({
    account: m.spawner,
    target: m.market.pool,
    data: encodeFunctionData({
      abi: poolAbi,
      functionName: 'repay',
      args: [m.tokens[symbol].address, amount, 2n, onBehalfOf],
    }),
  }),
  repayWithATokens: (m: PositionMarket, who: Address, symbol: AssetSymbol, amount: bigint): SpawnerCall => ({
    account: who,
    target: m.market.pool,
    data: encodeFunctionData({
      abi: poolAbi,
      functionName: 'repayWithATokens',
      args: [m.tokens[symbol].address, amount, 2n],
    }),
  }),
  transferUnderlying: (m: PositionMarket, symbol: AssetSymbol, to: Address, amount: bigint): SpawnerCall => ({
    account: m.spawner,
    target: m.tokens[symbol].address,
    data: encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [to, amount] }),
  }),
  transferAToken: (
    m: PositionMarket,
    who: Address,
    symbol: AssetSymbol,
    to: Address,
    amount: bigint,
  ): SpawnerCall => ({
    account: who,
    target: m.market.reserves[symbol]!.aToken,
    data: encodeFunctionData({ abi: aTokenAbi, functionName: 'transfer', args: [to, amount] }),
  }),
  useAsCollateral: (m: PositionMarket, who: Address, symbol: AssetSymbol, use: boolean): SpawnerCall => ({
    account: who,
    target: m.market.pool,
    data: encodeFunctionData({
      abi: poolAbi,
      functionName: 'setUserUseReserveAsCollateral',
      args: [m.tokens[symbol].address, use],
    }),
  }),
  setEMode: (m: PositionMarket, who: Address, category: number): SpawnerCall => ({
    account: who,
    target: m.market.pool,
    data: encodeFunctionData({ abi: poolAbi, functionName: 'setUserEMode', args: [category] }),
  }),
  liquidate: (
    m: PositionMarket,
    collateral: AssetSymbol,
    debt: AssetSymbol,
    user: Address,
    debtToCover: bigint,
    receiveAToken: boolean,
  ): SpawnerCall => ({
    account: m.spawner,
    target: m.market.pool,
    data: encodeFunctionData({
      abi: poolAbi,
      functionName: 'liquidationCall',
      args: [m.tokens[collateral].address, m.tokens[debt].address, user, debtToCover, receiveAToken],
    }),
  }),
};

/** Encodes `DrillPriceFeed.setAnswer` (the deployer is the feeds' updater). */
export function setPriceData(usd: number): Hex {
  return encodeFunctionData({
    abi: firebreakArtifact('DrillPriceFeed').abi,
    functionName: 'setAnswer',
    args: [BigInt(Math.round(usd * 1e8))],
  });
}

// ---- Reading the node ----

/** The book's inputs at a block, read through the real readers (configuration, e-mode, prices). */
export const readRiskInputs = (m: PositionMarket, blockNumber: bigint): Promise<AaveV3RiskInputs> =>
  readMarketRiskInputs(m.chain.client, m.market, blockNumber);

/**
 * `getUserAccountData` of every account at a block, `chunk` accounts per `eth_call` through the
 * batch reader (the node's side of the comparison).
 */
export const readAllAccountData = (
  m: PositionMarket,
  accounts: readonly Address[],
  blockNumber: bigint,
  chunk = 1_000,
): Promise<AaveV3AccountData[]> =>
  readAccountDataBatch(m.chain, m.reader, m.market.pool, accounts, blockNumber, chunk);

/**
 * Feeds the book every block from `from` to `to` (inclusive) that holds logs of the market, plus
 * `to` itself, in order, as a block source would.
 */
export async function feedBook(
  m: PositionMarket,
  book: PositionBook,
  from: bigint,
  to: bigint,
): Promise<number> {
  const client = m.chain.client;
  const logs = await client.getLogs({ address: m.logAddresses, fromBlock: from, toBlock: to });
  const byBlock = new Map<bigint, typeof logs>();
  for (const log of logs) {
    const list = byBlock.get(log.blockNumber);
    if (list) list.push(log);
    else byBlock.set(log.blockNumber, [log]);
  }
  if (!byBlock.has(to)) byBlock.set(to, []);
  const numbers = [...byBlock.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const blocks = await Promise.all(numbers.map((n) => client.getBlock({ blockNumber: n })));
  blocks.forEach((block, i) => {
    book.applyBlock(toBlockRef(block), byBlock.get(numbers[i]!)!);
  });
  return logs.length;
}

export interface ParityReport {
  accounts: number;
  mismatches: number;
  firstMismatch?: { account: Address; book: AaveV3AccountData; node: AaveV3AccountData };
  liquidatable: number;
  withDebt: number;
}

/** Compares the book with the node for every account of the book, at the book's head block. */
export async function checkParity(m: PositionMarket, book: PositionBook): Promise<ParityReport> {
  const head = book.head();
  if (!head) throw new Error('the book has no block');
  const list = book.accounts();
  const [inputs, node] = await Promise.all([
    readRiskInputs(m, head.number),
    readAllAccountData(m, list, head.number),
  ]);
  const mine = book.allAccountData(inputs);
  const report: ParityReport = { accounts: list.length, mismatches: 0, liquidatable: 0, withDebt: 0 };
  list.forEach((account, i) => {
    const theirs = node[i]!;
    if (theirs.totalDebtBase > 0n) report.withDebt++;
    if (theirs.healthFactor < 10n ** 18n) report.liquidatable++;
    if (!sameAccountData(mine[i]!, theirs)) {
      report.mismatches++;
      report.firstMismatch ??= { account, book: mine[i]!, node: theirs };
    }
  });
  return report;
}

export function sameAccountData(a: AaveV3AccountData, b: AaveV3AccountData): boolean {
  return (
    a.totalCollateralBase === b.totalCollateralBase &&
    a.totalDebtBase === b.totalDebtBase &&
    a.availableBorrowsBase === b.availableBorrowsBase &&
    a.currentLiquidationThreshold === b.currentLiquidationThreshold &&
    a.ltv === b.ltv &&
    a.healthFactor === b.healthFactor
  );
}

export { E8 };

export interface BlockTx {
  to: Address;
  data: Hex;
  gas?: bigint;
}

/** Spawner calls as transactions of at most `perTx` calls each (EDR slows down on huge ones). */
export function runTxs(m: PositionMarket, list: readonly SpawnerCall[], perTx = 20): BlockTx[] {
  const out: BlockTx[] = [];
  for (let i = 0; i < list.length; i += perTx) {
    const batch = list.slice(i, i + perTx);
    out.push({ to: m.spawner, data: encodeRun(batch), gas: 1_200_000n * BigInt(batch.length) + 500_000n });
  }
  return out;
}

/** A price update of one asset's feed (the deployer is its updater). */
export function priceTx(m: PositionMarket, symbol: AssetSymbol, usd: number): BlockTx {
  return { to: m.tokens[symbol].feed, data: setPriceData(usd), gas: 200_000n };
}

/**
 * Mines one block holding `txs` (sent by the deployer, in order), `seconds` after the latest
 * block, with automine off; throws if any of them reverted. Returns the block number.
 */
export async function mineBlock(
  m: PositionMarket,
  txs: readonly BlockTx[],
  seconds: bigint,
): Promise<bigint> {
  const { chain, deployer } = m;
  await chain.setAutomine(false);
  try {
    const latest = await chain.client.getBlock();
    let nonce = await chain.client.getTransactionCount({ address: deployer.address, blockTag: 'latest' });
    const maxFeePerGas = (latest.baseFeePerGas ?? 1_000_000_000n) * 3n + 1_000_000_000n;
    const hashes: Hex[] = [];
    for (const tx of txs) {
      hashes.push(
        await chain.client.sendTransaction({
          account: deployer.account,
          chain: chain.chain,
          to: tx.to,
          data: tx.data,
          gas: tx.gas ?? 30_000_000n,
          nonce: nonce++,
          maxFeePerGas,
          maxPriorityFeePerGas: 1_000_000_000n,
        }),
      );
    }
    const number = await chain.mine({ timestamp: latest.timestamp + seconds });
    collectGarbage();
    for (const hash of hashes) {
      const receipt = await chain.client.getTransactionReceipt({ hash });
      if (receipt.blockNumber !== number)
        throw new Error(`transaction ${hash} was not mined in block ${number}`);
      if (receipt.status !== 'success') {
        const tx = await chain.client.getTransaction({ hash });
        const reason = await chain.client
          .call({ account: deployer.address, to: tx.to!, data: tx.input, blockNumber: number - 1n })
          .then(() => 'no revert when replayed on the parent block')
          .catch((error: Error) => error.message.split('\n')[0]);
        throw new Error(`transaction ${hash} in block ${number} reverted: ${reason}`);
      }
    }
    return number;
  } finally {
    await chain.setAutomine(true);
  }
}
