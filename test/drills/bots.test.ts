// The drill bots on a real EVM (Hardhat EDR) against the real Aave v3 and Uniswap v2 contracts:
// blocks are built by hand as the runner builds them (plan from the pending state, sign, send, mine).
import type { Hex } from 'viem';
import {
  getBlock,
  getTransactionCount,
  getTransactionReceipt,
  readContract,
  sendRawTransaction,
} from 'viem/actions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain, type FundedAccount } from '../../src/chain/embedded';
import { signCall } from '../../src/chain/transactions';
import { createRng, mixSeed } from '../../src/common/random';
import type { LiquidatorSpec } from '../../src/drills/bots';
import { botSchema, createBot } from '../../src/drills/bots';
import { createLiquidator, type ScanInfo } from '../../src/drills/bots/liquidator';
import { arbitrage } from '../../src/drills/bots/math';
import type { Bot, BotCall, BotContext } from '../../src/drills/bots/types';
import {
  accountsNeeded,
  type DrillMarket,
  deployDrillMarket,
  mintDrillToken,
  sendAndConfirm,
  toPrice,
} from '../../src/drills/market';
import { deployPopulation } from '../../src/drills/population';
import { parseScenario, type Scenario } from '../../src/drills/scenario';
import { erc20Abi, poolAbi, poolConfiguratorAbi } from '../../src/protocols/aave-v3/abi';
import { uniswapV2PairAbi } from '../../src/protocols/uniswap-v2/abi';
import { readPair, swapExactIn } from '../../src/protocols/uniswap-v2/pool';

const scenario: Scenario = parseScenario(
  {
    name: 'bots-test',
    title: 'bots on a small market',
    market: {
      assets: [
        {
          symbol: 'WETH',
          decimals: 18,
          priceUsd: 2000,
          ltvBps: 8000,
          liquidationThresholdBps: 8250,
          liquidationBonusBps: 10500,
        },
        {
          symbol: 'USDC',
          decimals: 6,
          priceUsd: 1,
          ltvBps: 8000,
          liquidationThresholdBps: 8500,
          liquidationBonusBps: 10400,
        },
      ],
      pools: [{ id: 'weth-usdc', tokens: ['WETH', 'USDC'], reserves: [1_000, 2_000_000] }],
    },
    accounts: [
      { name: 'supplier', role: 'supplier', supplies: { USDC: 5_000_000, WETH: 1_000 } },
      { name: 'borrower', role: 'user', supplies: { WETH: 10 }, borrows: { USDC: 15_000 } },
    ],
    bots: [
      { kind: 'liquidator', name: 'keeper', holds: { USDC: 100_000 }, minProfitUsd: 20 },
      { kind: 'liquidator', name: 'slow-keeper', holds: { USDC: 100_000 }, minProfitUsd: 20, delayBlocks: 3 },
      { kind: 'liquidator', name: 'off-keeper', holds: { USDC: 100_000 }, enabled: false },
      {
        kind: 'arbitrageur',
        name: 'arb',
        holds: { WETH: 500, USDC: 1_000_000 },
        pools: ['weth-usdc'],
        thresholdBps: 50,
      },
      {
        kind: 'background',
        name: 'crowd',
        users: 6,
        holds: { WETH: 20, USDC: 40_000 },
        txPerBlock: 3,
        sizeUsd: { min: 500, max: 8_000 },
      },
    ],
    timeline: [{ block: 1, do: 'set-price', asset: 'USDC', priceUsd: 1 }],
  },
  'test/drills/bots.test.ts',
);

const stringify = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

const feedAbi = [
  {
    type: 'function',
    name: 'setAnswer',
    stateMutability: 'nonpayable',
    inputs: [{ type: 'int256' }],
    outputs: [],
  },
] as const;

let chain: EmbeddedChain;
let market: DrillMarket;
let snapshot: Hex;
const bots = new Map<string, { bot: Bot; accounts: readonly FundedAccount[] }>();

const token = (symbol: string) => market.tokens.get(symbol)!;
const pair = () => market.pools.get('weth-usdc')!;
const balance = (t: Hex, who: Hex) =>
  readContract(chain.client, { address: t, abi: erc20Abi, functionName: 'balanceOf', args: [who] });
const accountData = (who: Hex) =>
  readContract(chain.client, {
    address: market.aave.pool,
    abi: poolAbi,
    functionName: 'getUserAccountData',
    args: [who],
  });
const borrower = () => market.accounts.get('borrower')!.address;
const debtOf = (who: Hex) => balance(market.aave.reserves.USDC!.variableDebtToken, who);

/** True prices (reference feeds) in USD. */
const prices: Record<string, number> = { WETH: 2000, USDC: 1 };
/** A wallet's worth at true prices, in USD. */
async function worth(who: Hex): Promise<number> {
  let usd = 0;
  for (const t of market.tokens.values())
    usd += (Number(await balance(t.address, who)) / 10 ** t.decimals) * prices[t.symbol]!;
  return usd;
}

/** Moves an asset's true price and the market's feed (automine on). */
async function setPrice(symbol: string, usd: number) {
  prices[symbol] = usd;
  for (const feed of [market.referenceFeeds.get(symbol)!, market.protocolFeeds.get(symbol)!])
    await sendAndConfirm(chain, market.deployer, feed, feedAbi, 'setAnswer', [toPrice(usd)]);
}

/** A trader outside the drill brings the pool to the true price (automine on). */
async function alignPool() {
  const s = await readPair(chain.client, pair());
  const [t0, t1] = [s.token0, s.token1].map(
    (a) => [...market.tokens.values()].find((t) => t.address === a.toLowerCase())!,
  ) as [ReturnType<typeof token>, ReturnType<typeof token>];
  const num = toPrice(prices[t0.symbol]!) * 10n ** BigInt(t1.decimals);
  const den = toPrice(prices[t1.symbol]!) * 10n ** BigInt(t0.decimals);
  const trade = arbitrage(s.reserve0, s.reserve1, num, den, 0n);
  if (!trade) return;
  const tokenIn = trade.zeroForOne ? t0 : t1;
  await mintDrillToken(chain, market.deployer, tokenIn.address, market.deployer.address, trade.amountIn);
  await swapExactIn(chain.client, {
    pair: pair(),
    tokenIn: tokenIn.address,
    amountIn: trade.amountIn,
    to: market.deployer.address,
    account: market.deployer.account,
  });
}

/** The pool's price of WETH in USDC, over the true price, minus 1, in bps. */
async function poolDeviationBps(): Promise<number> {
  const s = await readPair(chain.client, pair());
  const wethIs0 = s.token0.toLowerCase() === token('WETH').address;
  const [w, u] = wethIs0 ? [s.reserve0, s.reserve1] : [s.reserve1, s.reserve0];
  const price = Number(u) / 1e6 / (Number(w) / 1e18);
  return (price / (prices.WETH! / prices.USDC!) - 1) * 10_000;
}

interface Sent {
  offset: number;
  bot: string;
  functionName: string;
  note: string | undefined;
  status: 'success' | 'reverted';
}

/** Builds `blocks` blocks as the runner does: plan from pending, sign, send, mine; returns every bot tx. */
async function drive(names: string[], blocks: number, afterBlock?: () => Promise<void>): Promise<Sent[]> {
  const { client } = chain;
  await chain.setAutomine(false);
  const nonces = new Map<Hex, number>();
  const sent: (Omit<Sent, 'status'> & { hash: Hex })[] = [];
  const out: Sent[] = [];
  try {
    for (let offset = 1; offset <= blocks; offset++) {
      const latest = await getBlock(client);
      await client.request({
        method: 'evm_setNextBlockTimestamp',
        params: [`0x${(latest.timestamp + 12n).toString(16)}`],
      } as never);
      const tip = 2_000_000_000n;
      const maxFeePerGas = (latest.baseFeePerGas ?? 1_000_000_000n) * 2n + tip;
      const signed: { raw: Hex; meta: Omit<Sent, 'status'> }[] = [];
      for (const [i, name] of names.entries()) {
        const { bot, accounts } = bots.get(name)!;
        const calls = await bot.plan({ offset, random: createRng(mixSeed(offset, i + 1)) });
        for (const call of calls) {
          const from = accounts[call.from ?? 0]!;
          const nonce =
            nonces.get(from.address) ??
            (await getTransactionCount(client, { address: from.address, blockTag: 'pending' }));
          nonces.set(from.address, nonce + 1);
          const raw = await signCall(from.account, call, {
            chainId: chain.chainId,
            nonce,
            gas: call.gas,
            maxFeePerGas,
            maxPriorityFeePerGas: tip,
          });
          signed.push({ raw, meta: { offset, bot: name, functionName: call.functionName, note: call.note } });
        }
      }
      for (const s of signed)
        sent.push({ ...s.meta, hash: await sendRawTransaction(client, { serializedTransaction: s.raw }) });
      await chain.mine();
      await afterBlock?.();
    }
    for (const s of sent) {
      const receipt = await getTransactionReceipt(client, { hash: s.hash });
      out.push({
        offset: s.offset,
        bot: s.bot,
        functionName: s.functionName,
        note: s.note,
        status: receipt.status,
      });
    }
  } finally {
    await chain.setAutomine(true);
  }
  return out;
}

beforeAll(async () => {
  chain = await createEmbeddedChain({ accounts: accountsNeeded(scenario), accountSeed: 'bots-test' });
  market = await deployDrillMarket(chain, scenario);
  const crowd = market.botAccounts.get('crowd')!;
  const borrowers = () => [...market.accounts.values(), ...crowd].map((a) => a.address);
  for (const spec of scenario.bots) {
    const accounts = market.botAccounts.get(spec.name)!;
    const ctx: BotContext = { chain, market, scenario, accounts, borrowers };
    const bot = await createBot(spec, ctx);
    await bot.setup?.();
    bots.set(spec.name, { bot, accounts });
  }
  snapshot = await chain.snapshot();
}, 60_000);

beforeEach(async () => {
  await chain.revert(snapshot);
  snapshot = await chain.snapshot();
  prices.WETH = 2000;
  prices.USDC = 1;
});

afterAll(async () => {
  await chain?.close();
});

describe('liquidator bot', () => {
  it('liquidates an underwater position, sells the collateral, and ends with more value', async () => {
    await setPrice('WETH', 1750);
    await alignPool();
    const keeper = bots.get('keeper')!.accounts[0]!.address;
    const before = await worth(keeper);
    const debtBefore = await debtOf(borrower());
    expect((await accountData(borrower()))[5]).toBeLessThan(10n ** 18n);

    const sent = await drive(['keeper'], 3);
    expect(sent.map((s) => s.functionName)).toEqual(['liquidationCall', 'transfer', 'swap']);
    expect(sent.every((s) => s.status === 'success')).toBe(true);
    expect(sent[0]!.offset).toBe(1);
    // HF 0.96 > 0.95: Aave v3.0's 50 % close factor.
    const repaid = debtBefore - (await debtOf(borrower()));
    expect(Number(repaid) / Number(debtBefore)).toBeCloseTo(0.5, 3);
    expect((await accountData(borrower()))[5]).toBeGreaterThan(10n ** 18n);
    // It sold exactly what it seized, and came out ahead at true prices.
    expect(await balance(token('WETH').address, keeper)).toBe(0n);
    const after = await worth(keeper);
    expect(after).toBeGreaterThan(before + 20);
  });

  it('does not liquidate when the pool is too thin for the sale to pay, leaving the bad debt', async () => {
    // LPs leave: 99.5 % of the pool's liquidity is withdrawn.
    const lp = await balance(pair(), market.deployer.address);
    await sendAndConfirm(chain, market.deployer, pair(), uniswapV2PairAbi, 'transfer', [
      pair(),
      (lp * 995n) / 1000n,
    ]);
    await sendAndConfirm(chain, market.deployer, pair(), uniswapV2PairAbi, 'burn', [market.deployer.address]);
    await setPrice('WETH', 1400); // collateral $14,000 against $15,000 of debt
    await alignPool();
    const keeper = bots.get('keeper')!.accounts[0]!.address;
    const before = await worth(keeper);
    const debtBefore = await debtOf(borrower());

    const sent = await drive(['keeper'], 3);
    expect(sent).toEqual([]);
    expect(await debtOf(borrower())).toBeGreaterThanOrEqual(debtBefore);
    const [collateralBase, debtBase, , , , hf] = await accountData(borrower());
    expect(hf).toBeLessThan(10n ** 18n);
    expect(debtBase).toBeGreaterThan(collateralBase); // bad debt stays on the books
    expect(await worth(keeper)).toBeCloseTo(before, 6);
  });

  it('liquidates the same position when the pool is deep (the control for the thin pool)', async () => {
    await setPrice('WETH', 1400);
    await alignPool();
    const keeper = bots.get('keeper')!.accounts[0]!.address;
    const before = await worth(keeper);
    const sent = await drive(['keeper'], 2);
    expect(sent.filter((s) => s.functionName === 'liquidationCall').length).toBe(1);
    expect(sent.every((s) => s.status === 'success')).toBe(true);
    // HF < 0.95: the whole collateral goes (capped by it); what it cannot cover stays as bad debt.
    const [collateralBase, debtBase] = await accountData(borrower());
    expect(collateralBase).toBe(0n);
    expect(debtBase).toBeGreaterThan(0n);
    expect(await worth(keeper)).toBeGreaterThan(before + 20);
  });

  it('honours enabled: false and delayBlocks', async () => {
    await setPrice('WETH', 1750);
    await alignPool();
    const id = await chain.snapshot();
    const debtBefore = await debtOf(borrower());
    expect(await drive(['off-keeper'], 4)).toEqual([]);
    expect(await debtOf(borrower())).toBeGreaterThanOrEqual(debtBefore);

    await chain.revert(id);
    const sent = await drive(['slow-keeper'], 6);
    const liquidations = sent.filter((s) => s.functionName === 'liquidationCall');
    // First seen liquidatable at offset 1; it waits 3 blocks.
    expect(liquidations.map((s) => s.offset)).toEqual([4]);
    expect(sent.every((s) => s.status === 'success')).toBe(true);
  });
});

describe('arbitrageur bot', () => {
  it('brings a pushed pool back within its threshold of the true price, at a profit', async () => {
    // Someone dumps 100 WETH into the pool: WETH ~19 % cheap there.
    await mintDrillToken(
      chain,
      market.deployer,
      token('WETH').address,
      market.deployer.address,
      100n * 10n ** 18n,
    );
    await swapExactIn(chain.client, {
      pair: pair(),
      tokenIn: token('WETH').address,
      amountIn: 100n * 10n ** 18n,
      to: market.deployer.address,
      account: market.deployer.account,
    });
    expect(await poolDeviationBps()).toBeLessThan(-1_500);
    const arb = bots.get('arb')!.accounts[0]!.address;
    const before = await worth(arb);
    const sent = await drive(['arb'], 3);
    expect(sent.map((s) => [s.offset, s.functionName])).toEqual([
      [1, 'transfer'],
      [1, 'swap'],
    ]);
    expect(sent.every((s) => s.status === 'success')).toBe(true);
    expect(Math.abs(await poolDeviationBps())).toBeLessThanOrEqual(50);
    expect(await worth(arb)).toBeGreaterThan(before);
  });
});

describe('background crowd', () => {
  it('makes blocks of ordinary activity with no reverted transaction and no position liquidatable', async () => {
    const users = bots.get('crowd')!.accounts;
    let lowest = 2n ** 256n - 1n;
    const sent = await drive(['crowd'], 25, async () => {
      for (const u of users) {
        const hf = (await accountData(u.address))[5];
        if (hf < lowest) lowest = hf;
      }
    });
    expect(sent.filter((s) => s.status === 'reverted')).toEqual([]);
    expect(sent.length).toBeGreaterThanOrEqual(30);
    const verbs = new Set(sent.map((s) => s.note?.split(' ')[1]).filter(Boolean));
    for (const v of ['supplies', 'borrows', 'swaps']) expect(verbs).toContain(v);
    expect(verbs.size).toBeGreaterThanOrEqual(4);
    expect(lowest).toBeGreaterThanOrEqual(15n * 10n ** 17n);
    // Somebody really borrowed.
    let debt = 0n;
    for (const u of users) debt += await debtOf(u.address);
    expect(debt).toBeGreaterThan(0n);
  });
});

describe('createBot', () => {
  it('refuses a bot that names a pool or token the market lacks, or lacks accounts, with a clear error', async () => {
    const ctx: BotContext = { chain, market, scenario, accounts: [], borrowers: () => [] };
    const arb = botSchema.parse({ kind: 'arbitrageur', name: 'a', pools: ['weth-dai'], holds: { DAI: 1 } });
    await expect(createBot(arb, { ...ctx, accounts: [market.deployer] })).rejects.toThrow(
      /unknown pool "weth-dai".*weth-usdc.*|unknown asset "DAI"/,
    );
    const crowd = botSchema.parse({ kind: 'background', name: 'c', users: 3 });
    await expect(createBot(crowd, ctx)).rejects.toMatchObject({ code: 'ERR_SCENARIO_INVALID' });
  });
});

describe('liquidator scan: incremental against full', () => {
  // Its own market: a population near the edge, a crowd that acts every block, a named borrower
  // who borrows outside the keeper's view, and a threshold cut mid-run.
  const scanScenario: Scenario = parseScenario(
    {
      name: 'scan-test',
      title: 'incremental liquidator scan',
      market: {
        assets: [
          {
            symbol: 'WETH',
            decimals: 18,
            priceUsd: 2000,
            ltvBps: 8000,
            liquidationThresholdBps: 8250,
            liquidationBonusBps: 10500,
          },
          {
            symbol: 'USDC',
            decimals: 6,
            priceUsd: 1,
            ltvBps: 8000,
            liquidationThresholdBps: 8500,
            liquidationBonusBps: 10400,
          },
        ],
        pools: [{ id: 'weth-usdc', tokens: ['WETH', 'USDC'], reserves: [20_000, 40_000_000] }],
      },
      accounts: [
        { name: 'supplier', role: 'supplier', supplies: { USDC: 20_000_000, WETH: 1_000 } },
        { name: 'borrower', role: 'user', supplies: { WETH: 10 }, borrows: { USDC: 12_000 } },
        // Safe until they borrow to their limit just ahead of a drop: one seen only pending, one only mined.
        { name: 'whale', role: 'user', supplies: { WETH: 10 }, borrows: { USDC: 4_000 } },
        { name: 'late', role: 'user', supplies: { WETH: 10 }, borrows: { USDC: 4_000 } },
      ],
      population: [
        {
          name: 'pop',
          count: 24,
          collateral: 'WETH',
          debt: 'USDC',
          sizeUsd: { median: 20_000, sigma: 0.5 },
          healthFactor: { min: 1.04, max: 1.6 },
        },
      ],
      bots: [
        { kind: 'liquidator', name: 'keeper', holds: { USDC: 2_000_000 }, maxPerBlock: 3 },
        {
          kind: 'background',
          name: 'crowd',
          users: 4,
          holds: { WETH: 20, USDC: 40_000 },
          txPerBlock: 3,
          actions: ['supply', 'withdraw', 'borrow', 'repay'],
        },
      ],
      timeline: [{ block: 1, do: 'set-price', asset: 'WETH', priceUsd: 2000 }],
    },
    'test/drills/bots.test.ts',
  );
  const BLOCKS = 14;
  /** WETH's move into each block: −1.5 % unless listed (a still block, two bounces, two 5 % drops). */
  const moves: Record<number, number> = { 4: 1, 5: 1.02, 8: 0.95, 10: 1.02, 11: 0.95 };
  const priceAt = (offset: number) => {
    let p = 2000;
    for (let k = 1; k <= offset; k++) p *= moves[k] ?? 0.985;
    return p;
  };
  /** `whale` borrows to its limit in this block ahead of its drop: the keeper sees it only pending. */
  const EARLY_BORROW = 11;
  /** `late` borrows to its limit in this block after the keeper planned: seen only in the mined logs. */
  const LATE_BORROW = 7;
  /** The threshold cut lands in this block after the keeper planned. */
  const CUT = 3;
  let scanChain: EmbeddedChain;
  let scanMarket: DrillMarket;
  let base: Hex;
  let baseBlock: bigint;

  beforeAll(async () => {
    scanChain = await createEmbeddedChain({
      accounts: accountsNeeded(scanScenario),
      accountSeed: 'bots-scan-test',
    });
    scanMarket = await deployDrillMarket(scanChain, scanScenario);
    scanMarket.population = await deployPopulation(scanChain, scanMarket, scanScenario.population, 7);
    base = await scanChain.snapshot();
    baseBlock = await scanChain.client.getBlockNumber();
  }, 60_000);

  afterAll(async () => {
    await scanChain?.close();
  });

  /** Runs the blocks as the runner does (plan for the next block from pending, mine, broadcast); returns the keeper's calls. */
  async function run(scan: 'full' | 'incremental') {
    await scanChain.revert(base);
    base = await scanChain.snapshot();
    const chain = scanChain;
    const market = scanMarket;
    const { client } = chain;
    const borrowers = () => [
      ...[...market.accounts.values()].map((a) => a.address),
      ...market.population.map((p) => p.address),
      ...[...market.botAccounts.values()].flat().map((a) => a.address),
    ];
    const ctxOf = (name: string): BotContext => ({
      chain,
      market,
      scenario: scanScenario,
      accounts: market.botAccounts.get(name)!,
      borrowers,
    });
    const reads: ScanInfo[] = [];
    const keeper = createLiquidator(
      botSchema.parse(scanScenario.bots[0]) as LiquidatorSpec,
      ctxOf('keeper'),
      { scan, onScan: (i) => reads.push(i) },
    );
    const crowd = await createBot(scanScenario.bots[1]!, ctxOf('crowd'));
    await keeper.setup?.();
    await crowd.setup?.();

    const nonces = new Map<Hex, number>();
    const send = async (from: FundedAccount, call: BotCall, tip = 2_000_000_000n) => {
      const nonce =
        nonces.get(from.address) ??
        (await getTransactionCount(client, { address: from.address, blockTag: 'pending' }));
      nonces.set(from.address, nonce + 1);
      const latest = await getBlock(client);
      const raw = await signCall(from.account, call, {
        chainId: chain.chainId,
        nonce,
        gas: call.gas,
        maxFeePerGas: (latest.baseFeePerGas ?? 1_000_000_000n) * 2n + tip,
        maxPriorityFeePerGas: tip,
      });
      return sendRawTransaction(client, { serializedTransaction: raw });
    };
    const setFeed = (offset: number) =>
      send(market.deployer, {
        to: market.protocolFeeds.get('WETH')!,
        abi: feedAbi as never,
        functionName: 'setAnswer',
        args: [toPrice(priceAt(offset))],
        gas: 100_000n,
      });
    const crowdAccounts = market.botAccounts.get('crowd')!;
    const keeperAccount = market.botAccounts.get('keeper')![0]!;
    const random = (offset: number, i: number) => createRng(mixSeed(offset, i));
    const liquidations: string[] = [];
    const hashes: Hex[] = [];

    await chain.setAutomine(false);
    try {
      // Block times from the snapshot's, not the clock's: both runs accrue the same interest.
      let start = (await getBlock(client, { blockNumber: baseBlock })).timestamp + 3_600n;
      const setTime = () => {
        start += 12n;
        return client.request({
          method: 'evm_setNextBlockTimestamp',
          params: [`0x${start.toString(16)}`],
        } as never);
      };
      await setTime();
      await setFeed(1);
      for (const c of await crowd.plan({ offset: 1, random: random(1, 2) }))
        await send(crowdAccounts[c.from ?? 0]!, c);
      const borrow = (name: string, units: bigint, tip?: bigint) =>
        send(
          market.accounts.get(name)!,
          {
            to: market.aave.pool,
            abi: poolAbi as never,
            functionName: 'borrow',
            args: [market.tokens.get('USDC')!.address, units, 2n, 0, market.accounts.get(name)!.address],
            gas: 800_000n,
          },
          tip,
        );
      /** 99.5 % of what `name` may still borrow, in USDC units (base currency has 8 decimals). */
      const nearLimit = async (name: string, blockTag: 'latest' | 'pending') => {
        const [, , available] = await readContract(client, {
          address: market.aave.pool,
          abi: poolAbi,
          functionName: 'getUserAccountData',
          args: [market.accounts.get(name)!.address],
          blockTag,
        });
        return (available * 995n) / 1000n / 100n;
      };
      for (let offset = 1; offset <= BLOCKS; offset++) {
        // A higher tip puts it ahead of the block's price drop: its borrow passes, the drop then sinks it.
        if (offset === EARLY_BORROW)
          await borrow('whale', await nearLimit('whale', 'latest'), 3_000_000_000n);
        // Plans for the next block see this one pending, as the runner's bots do.
        const next = offset + 1;
        const keeperCalls = await keeper.plan({ offset: next, random: random(next, 1) });
        const crowdCalls = await crowd.plan({ offset: next, random: random(next, 2) });
        // Late arrivals the keeper did not see pending: a borrow, a threshold cut.
        if (offset % 4 === 2) await borrow('borrower', 500n * 10n ** 6n);
        if (offset === LATE_BORROW) await borrow('late', await nearLimit('late', 'pending'));
        if (offset === CUT)
          await send(market.guardian, {
            to: market.aave.poolConfigurator,
            abi: poolConfiguratorAbi as never,
            functionName: 'configureReserveAsCollateral',
            args: [market.tokens.get('WETH')!.address, 7_800n, 8_100n, 10_500n],
            gas: 500_000n,
          });
        await chain.mine();
        await setTime();
        if (next > BLOCKS) break;
        await setFeed(next);
        for (const c of keeperCalls) {
          if (c.functionName === 'liquidationCall') liquidations.push(`${next} ${stringify(c.args)}`);
          hashes.push(await send(keeperAccount, c));
        }
        for (const c of crowdCalls) await send(crowdAccounts[c.from ?? 0]!, c);
      }
      await chain.mine();
    } finally {
      await chain.setAutomine(true);
    }
    const statuses = await Promise.all(
      hashes.map(async (hash) => (await getTransactionReceipt(client, { hash })).status),
    );
    const address = (name: string) => market.accounts.get(name)!.address.toLowerCase();
    return { liquidations, reads, statuses, whale: address('whale'), late: address('late') };
  }

  it('liquidates exactly what a full scan does, block by block, reading far fewer positions', async () => {
    const full = await run('full');
    const incremental = await run('incremental');
    expect(full.liquidations.length).toBeGreaterThanOrEqual(3);
    expect(incremental.liquidations).toEqual(full.liquidations);
    // Block by block, the same liquidatable positions with the same debts and health factors.
    const found = (r: ScanInfo[]) => r.map((i) => `${i.offset} ${stringify(i.underwater)}`);
    expect(found(incremental.reads)).toEqual(found(full.reads));
    expect(full.reads.filter((i) => i.underwater.length > 0).length).toBeGreaterThanOrEqual(3);
    // The borrows to the limit, then the drops behind them: liquidated as soon as a full scan sees them.
    const liquidated = (offset: number, who: string) =>
      full.liquidations.some((l) => l.startsWith(`${offset} `) && l.includes(who));
    expect(liquidated(EARLY_BORROW + 1, full.whale)).toBe(true);
    expect(liquidated(LATE_BORROW + 2, full.late)).toBe(true);
    // The same outcomes too (the bounce into block 10 makes that block's liquidation revert in both).
    expect(incremental.statuses).toEqual(full.statuses);
    expect(full.statuses.filter((s) => s === 'success').length).toBeGreaterThanOrEqual(9);
    const total = (r: typeof full.reads) => r.reduce((sum, i) => sum + i.read, 0);
    const known = full.reads[0]!.known;
    expect(total(full.reads)).toBe(known * full.reads.length);
    // After the first block, an incremental block reads a small share of the book.
    expect(total(incremental.reads.slice(1))).toBeLessThan((known * (incremental.reads.length - 1)) / 3);
    // The threshold cut (mined unseen while pending) made the next plan re-read every position.
    const cut = incremental.reads.find((r) => r.offset === CUT + 2)!;
    expect(cut.reason).toBe('market-changed');
    expect(cut.read).toBe(known);
  }, 120_000);
});
