/**
 * Test support — ordinary market activity on the embedded chain, fast and repeatable: a real
 * Aave v3 market (USDC, DAI, WETH, feed-priced) and real Uniswap v2 pools (WETH/USDC, DAI/USDC)
 * built by the drill market helpers, and a seeded generator that fills blocks with what a quiet
 * day looks like: supplies, borrows, repayments and withdrawals by a crowd of users, swaps that
 * keep the pools near the feeds, prices walking a few percent, feeds refreshed within their
 * heartbeat, and (once) a large but legitimate withdrawal by a whale supplier.
 *
 * Every transaction is signed locally with explicit nonce, gas and fees and sent raw; a block is
 * mined with a 12 s timestamp step. Each user's supplies and debts are tracked so that every call
 * is valid (borrows stay under 30% of collateral): the generator checks receipts and throws on a
 * revert, so "nothing fired" can never come from activity that silently failed.
 */

import { type Abi, type Hex, parseGwei } from 'viem';
import { getBlock, getTransactionReceipt, sendRawTransaction } from 'viem/actions';
import { createEmbeddedChain, type EmbeddedChain, type FundedAccount } from '../../src/chain/embedded';
import { signCall } from '../../src/chain/transactions';
import { createRng } from '../../src/common/random';
import { type DrillMarket, deployDrillMarket, toPrice, toUnits } from '../../src/drills/market';
import { parseScenario, type Scenario } from '../../src/drills/scenario';
import { erc20Abi, poolAbi } from '../../src/protocols/aave-v3/abi';
import { type PairState, planSwapExactIn, readPair } from '../../src/protocols/uniswap-v2/pool';

export const ACTIVITY_SYMBOLS = ['USDC', 'DAI', 'WETH'] as const;
export type ActivitySymbol = (typeof ACTIVITY_SYMBOLS)[number];
const START_PRICE: Record<ActivitySymbol, number> = { USDC: 1, DAI: 1, WETH: 2000 };
const DECIMALS: Record<ActivitySymbol, number> = { USDC: 6, DAI: 18, WETH: 18 };
export const USERS = 8;

/** What an incident test adds to the market: more assets (feed-priced), pools and accounts. */
export interface ActivityExtras {
  assets?: {
    symbol: string;
    decimals: number;
    priceUsd: number;
    ltvBps?: number;
    liquidationThresholdBps?: number;
  }[];
  pools?: { id: string; tokens: [string, string]; reserves: [number, number] }[];
  accounts?: { name: string; holds?: Record<string, number> }[];
}

/** The market a quiet run (and the incident tests) start from. */
export function activityScenario(extra: ActivityExtras = {}): Scenario {
  return parseScenario(
    {
      name: 'ordinary-activity',
      title: 'Ordinary activity',
      market: {
        assets: [
          {
            symbol: 'USDC',
            decimals: 6,
            priceUsd: 1,
            ltvBps: 8000,
            liquidationThresholdBps: 8500,
            liquidationBonusBps: 10500,
          },
          {
            symbol: 'DAI',
            decimals: 18,
            priceUsd: 1,
            ltvBps: 7500,
            liquidationThresholdBps: 8000,
            liquidationBonusBps: 10500,
          },
          {
            symbol: 'WETH',
            decimals: 18,
            priceUsd: 2000,
            ltvBps: 8000,
            liquidationThresholdBps: 8250,
            liquidationBonusBps: 10500,
          },
          ...(extra.assets ?? []).map((a) => ({
            ltvBps: 5000,
            liquidationThresholdBps: 6500,
            liquidationBonusBps: 11000,
            borrowingEnabled: false,
            ...a,
          })),
        ],
        pools: [
          { id: 'WETH-USDC', tokens: ['WETH', 'USDC'], reserves: [1000, 2_000_000] },
          { id: 'DAI-USDC', tokens: ['DAI', 'USDC'], reserves: [1_000_000, 1_000_000] },
          ...(extra.pools ?? []),
        ],
      },
      accounts: [
        { name: 'whale', role: 'supplier', supplies: { USDC: 2_000_000, DAI: 1_000_000, WETH: 1000 } },
        ...Array.from({ length: USERS }, (_, i) => ({
          name: `user-${i}`,
          role: 'user' as const,
          holds: { USDC: 200_000, DAI: 200_000, WETH: 100 },
          supplies: { USDC: 50_000, DAI: 50_000, WETH: 20 },
        })),
        { name: 'trader-0', role: 'user', holds: { USDC: 5_000_000, DAI: 2_000_000, WETH: 2000 } },
        { name: 'trader-1', role: 'user', holds: { USDC: 5_000_000, DAI: 2_000_000, WETH: 2000 } },
        ...(extra.accounts ?? []).map((a) => ({ name: a.name, role: 'user' as const, holds: a.holds ?? {} })),
      ],
      timeline: [{ block: 1, do: 'set-price', asset: 'USDC', priceUsd: 1 }],
    },
    'test/support/activity.ts',
  );
}

export interface ActivityMarket {
  chain: EmbeddedChain;
  market: DrillMarket;
  scenario: Scenario;
  account(name: string): FundedAccount;
  token(symbol: string): Hex;
  /** Signs and sends calls (explicit nonces), without mining. */
  send(
    from: FundedAccount,
    calls: {
      to: Hex;
      abi: Abi | readonly unknown[];
      functionName: string;
      args: readonly unknown[];
      gas?: bigint;
    }[],
  ): Promise<Hex[]>;
  /** Mines one block 12 s after the last and checks that every given transaction succeeded. */
  mine(hashes?: readonly Hex[]): Promise<bigint>;
}

const MAX_UINT = 2n ** 256n - 1n;

/**
 * Deploys the activity market on a fresh embedded chain (automine off once deployed) and approves
 * the pool for every user's tokens.
 */
export async function deployActivityMarket(
  extra: ActivityExtras = {},
  /** Runs with automine still on, after the market is deployed (deploy more contracts here). */
  setup?: (am: ActivityMarket) => Promise<void>,
): Promise<ActivityMarket> {
  const scenario = activityScenario(extra);
  const chain = await createEmbeddedChain({
    accounts: 3 + scenario.accounts.length,
    initialDate: new Date('2023-03-10T00:00:00Z'),
  });
  const market = await deployDrillMarket(chain, scenario);
  const nonces = new Map<Hex, number>();
  const { client } = chain;
  let time = (await getBlock(client)).timestamp;
  const am: ActivityMarket = {
    chain,
    market,
    scenario,
    account: (name) => {
      const a =
        name === 'deployer'
          ? market.deployer
          : name === 'guardian'
            ? market.guardian
            : market.accounts.get(name);
      if (!a) throw new Error(`no account ${name}`);
      return a;
    },
    token: (symbol) => market.tokens.get(symbol)!.address,
    async send(from, calls) {
      const hashes: Hex[] = [];
      for (const call of calls) {
        let nonce = nonces.get(from.address);
        if (nonce === undefined)
          nonce = await client.getTransactionCount({ address: from.address, blockTag: 'pending' });
        nonces.set(from.address, nonce + 1);
        const signed = await signCall(
          from.account,
          { ...call, abi: call.abi as Abi },
          {
            chainId: chain.chainId,
            nonce,
            gas: call.gas ?? 900_000n,
            maxFeePerGas: parseGwei('100'),
            maxPriorityFeePerGas: parseGwei('1'),
          },
        );
        hashes.push(await sendRawTransaction(client, { serializedTransaction: signed }));
      }
      return hashes;
    },
    async mine(hashes = []) {
      time += 12n;
      const n = await chain.mine({ timestamp: time });
      for (const hash of hashes) {
        const r = await getTransactionReceipt(client, { hash });
        if (r.status !== 'success' || r.blockNumber !== n)
          throw new Error(
            `activity tx ${hash} ${r.status} in block ${r.blockNumber} (expected: success in block ${n})`,
          );
      }
      return n;
    },
  };
  if (setup) {
    await setup(am);
    nonces.clear();
    time = (await getBlock(client)).timestamp;
  }
  await chain.setAutomine(false);
  // Approvals, once: users and the whale to the pool for every token.
  const approvals: Hex[] = [];
  for (const [name] of market.accounts) {
    if (!name.startsWith('user-') && name !== 'whale') continue;
    approvals.push(
      ...(await am.send(
        am.account(name),
        ACTIVITY_SYMBOLS.map((s) => ({
          to: am.token(s),
          abi: erc20Abi,
          functionName: 'approve',
          args: [market.aave.pool, MAX_UINT],
          gas: 100_000n,
        })),
      )),
    );
  }
  await am.mine(approvals);
  return am;
}

const SET_ANSWER = [
  {
    type: 'function',
    name: 'setAnswer',
    stateMutability: 'nonpayable',
    inputs: [{ type: 'int256' }],
    outputs: [],
  },
] as const;

/** Sends (without mining) a new price for `symbol`: to its reference feed and, unless `only` says otherwise, its protocol feed. */
export function setFeedPrice(
  am: ActivityMarket,
  symbol: string,
  usd: number,
  only: 'both' | 'protocol' | 'reference' = 'both',
): Promise<Hex[]> {
  const feeds = [
    ...(only !== 'protocol' ? [am.market.referenceFeeds.get(symbol)!] : []),
    ...(only !== 'reference' ? [am.market.protocolFeeds.get(symbol)!] : []),
  ];
  return am.send(
    am.market.deployer,
    feeds.map((f) => ({
      to: f,
      abi: SET_ANSWER,
      functionName: 'setAnswer',
      args: [toPrice(usd)],
      gas: 150_000n,
    })),
  );
}

export interface ActivityOptions {
  blocks: number;
  seed?: number;
  /** Block (index in the run) of the whale's large, legitimate USDC withdrawal; none when omitted. */
  largeWithdrawalAt?: number;
  /** The whale's withdrawal, whole USDC. */
  largeWithdrawalUsdc?: number;
}

export interface ActivityReport {
  from: bigint;
  to: bigint;
  txs: number;
  actions: Record<string, number>;
  /** The WETH price path (USD) at each price update. */
  wethPrices: number[];
  largeWithdrawal?: { block: bigint; tx: Hex; amount: bigint };
}

/**
 * Mines `blocks` blocks of ordinary activity on an activity market.
 *
 * @example
 * const report = await runActivity(am, { blocks: 1000, seed: 7, largeWithdrawalAt: 500 });
 */
export async function runActivity(am: ActivityMarket, options: ActivityOptions): Promise<ActivityReport> {
  const rand = createRng(options.seed ?? 1);
  const { market } = am;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const users = Array.from({ length: USERS }, (_, i) => `user-${i}`);
  const unit = (s: ActivitySymbol, amount: number) => toUnits(amount, DECIMALS[s]);
  // Tracked positions (whole-token floats are enough to stay far from every limit).
  const supplied = new Map(
    users.map((u) => [u, { USDC: 50_000, DAI: 50_000, WETH: 20 } as Record<ActivitySymbol, number>]),
  );
  const wallet = new Map(
    users.map((u) => [u, { USDC: 200_000, DAI: 200_000, WETH: 100 } as Record<ActivitySymbol, number>]),
  );
  const debt = new Map(users.map((u) => [u, { USDC: 0, DAI: 0, WETH: 0 } as Record<ActivitySymbol, number>]));
  const price: Record<ActivitySymbol, number> = { ...START_PRICE };
  const usd = (r: Record<ActivitySymbol, number>) =>
    ACTIVITY_SYMBOLS.reduce((s, k) => s + r[k] * price[k], 0);
  const pairs = new Map<string, PairState>();
  for (const [id, address] of market.pools) pairs.set(id, await readPair(am.chain.client, address));
  const actions: Record<string, number> = {};
  const count = (what: string) => {
    actions[what] = (actions[what] ?? 0) + 1;
  };
  const report: ActivityReport = { from: 0n, to: 0n, txs: 0, actions, wethPrices: [price.WETH] };
  const setPrice = async (s: ActivitySymbol, value: number) => {
    price[s] = value;
    return setFeedPrice(am, s, value);
  };

  for (let b = 0; b < options.blocks; b++) {
    const hashes: Hex[] = [];
    // Prices: WETH walks every 20 blocks (±1.5% a step, within ±6% of the start); stables are
    // refreshed within their heartbeat.
    if (b % 20 === 10) {
      const step = (rand() * 2 - 1) * 0.015;
      const next = Math.min(
        START_PRICE.WETH * 1.06,
        Math.max(START_PRICE.WETH * 0.94, price.WETH * (1 + step)),
      );
      hashes.push(...(await setPrice('WETH', Math.round(next * 100) / 100)));
      report.wethPrices.push(price.WETH);
      count('price');
    }
    if (b % 150 === 75) {
      for (const s of ['USDC', 'DAI'] as const)
        hashes.push(...(await setPrice(s, 1 + Math.round((rand() * 2 - 1) * 10) / 10_000)));
      count('price');
    }
    // Users: up to three actions a block.
    const n = Math.floor(rand() * 4);
    for (let k = 0; k < n; k++) {
      const u = pick(users);
      const from = am.account(u);
      const s = pick(ACTIVITY_SYMBOLS);
      const sup = supplied.get(u)!;
      const w = wallet.get(u)!;
      const d = debt.get(u)!;
      const kind = pick(['supply', 'borrow', 'repay', 'withdraw'] as const);
      const small = s === 'WETH' ? 0.5 + rand() * 2.5 : 500 + Math.floor(rand() * 5000);
      if (kind === 'supply' && w[s] >= small) {
        hashes.push(
          ...(await am.send(from, [
            {
              to: market.aave.pool,
              abi: poolAbi,
              functionName: 'supply',
              args: [am.token(s), unit(s, small), from.address, 0],
              gas: 500_000n,
            },
          ])),
        );
        w[s] -= small;
        sup[s] += small;
        count('supply');
      } else if (kind === 'borrow' && usd(d) + small * price[s] <= 0.3 * usd(sup)) {
        hashes.push(
          ...(await am.send(from, [
            {
              to: market.aave.pool,
              abi: poolAbi,
              functionName: 'borrow',
              args: [am.token(s), unit(s, small), 2n, 0, from.address],
              gas: 900_000n,
            },
          ])),
        );
        w[s] += small;
        d[s] += small;
        count('borrow');
      } else if (kind === 'repay' && d[s] > 0) {
        const amount = Math.min(d[s], w[s]) * (0.2 + rand() * 0.8);
        if (amount > 0) {
          hashes.push(
            ...(await am.send(from, [
              {
                to: market.aave.pool,
                abi: poolAbi,
                functionName: 'repay',
                args: [am.token(s), unit(s, amount), 2n, from.address],
                gas: 600_000n,
              },
            ])),
          );
          w[s] -= amount;
          d[s] -= amount;
          count('repay');
        }
      } else if (kind === 'withdraw') {
        const amount = sup[s] * 0.2 * rand();
        const after = { ...sup, [s]: sup[s] - amount };
        if (amount > 0 && usd(after) >= 4 * usd(d)) {
          hashes.push(
            ...(await am.send(from, [
              {
                to: market.aave.pool,
                abi: poolAbi,
                functionName: 'withdraw',
                args: [am.token(s), unit(s, amount), from.address],
                gas: 600_000n,
              },
            ])),
          );
          sup[s] -= amount;
          w[s] += amount;
          count('withdraw');
        }
      }
    }
    // Swaps: one in two blocks, 0.1–1% of the pool's depth, leaning towards the feed's price.
    if (rand() < 0.5) {
      const id = rand() < 0.7 ? 'WETH-USDC' : 'DAI-USDC';
      const state = pairs.get(id)!;
      const [sa, sb] = (id === 'WETH-USDC' ? ['WETH', 'USDC'] : ['DAI', 'USDC']) as [
        ActivitySymbol,
        ActivitySymbol,
      ];
      const a = am.token(sa).toLowerCase();
      const aIs0 = state.token0.toLowerCase() === a;
      const [ra, rb] = aIs0 ? [state.reserve0, state.reserve1] : [state.reserve1, state.reserve0];
      const poolPrice = Number(rb) / 10 ** DECIMALS[sb] / (Number(ra) / 10 ** DECIMALS[sa]);
      const target = price[sa] / price[sb];
      const sellA = rand() < (poolPrice > target ? 0.8 : 0.2);
      const share = 0.001 + rand() * 0.009;
      const tokenIn = sellA ? sa : sb;
      const amountIn = ((sellA ? ra : rb) * BigInt(Math.round(share * 1e6))) / 1_000_000n;
      const trader = am.account(pick(['trader-0', 'trader-1']));
      const plan = planSwapExactIn(state, {
        pair: market.pools.get(id)!,
        tokenIn: am.token(tokenIn),
        amountIn,
        to: trader.address,
      });
      pairs.set(id, plan.after);
      hashes.push(
        ...(await am.send(trader, [
          { ...plan.calls[0], gas: 120_000n },
          { ...plan.calls[1], gas: 250_000n },
        ])),
      );
      count('swap');
    }
    let largeTx: Hex | undefined;
    if (options.largeWithdrawalAt === b) {
      const amount = unit('USDC', options.largeWithdrawalUsdc ?? 500_000);
      const whale = am.account('whale');
      [largeTx] = await am.send(whale, [
        {
          to: market.aave.pool,
          abi: poolAbi,
          functionName: 'withdraw',
          args: [am.token('USDC'), amount, whale.address],
          gas: 600_000n,
        },
      ]);
      hashes.push(largeTx!);
      count('large-withdrawal');
      report.largeWithdrawal = { block: 0n, tx: largeTx!, amount };
    }
    const mined = await am.mine(hashes);
    if (largeTx && report.largeWithdrawal) report.largeWithdrawal.block = mined;
    if (b === 0) report.from = mined;
    report.to = mined;
    report.txs += hashes.length;
  }
  return report;
}
