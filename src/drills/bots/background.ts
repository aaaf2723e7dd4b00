/**
 * Drills — bots: the background crowd, ordinary users making ordinary traffic. Each block a
 * Poisson(`txPerBlock`) number of distinct users act once each, chosen with the turn's seeded
 * randomness: supply some of a held token, withdraw some of a supply, borrow (at most half the
 * capacity left), repay part of a debt, or make a small swap, sized by `sizeUsd` at true prices.
 * An action is picked only among those valid for the user's pending state and the reserves'
 * flags (frozen, paused, LTV 0 after a response), and never one that leaves the user's health
 * factor under `MIN_HEALTH_AFTER`: ordinary users keep a margin, so they neither revert nor
 * become liquidatable from their own actions.
 */
import type { Hex } from 'viem';
import { readContract } from 'viem/actions';
import { minBig } from '../../common/bigint';
import { FirebreakError } from '../../common/errors';
import { erc20Abi, poolAbi } from '../../protocols/aave-v3/abi';
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
  usdToUnits,
} from './common';
import { poisson } from './math';
import type { BackgroundSpec } from './schema';
import type { Bot, BotCall, BotContext, BotTurn } from './types';

/** Health factor (wad) a background user's own withdraw or borrow must leave. */
export const MIN_HEALTH_AFTER = 15n * 10n ** 17n;
/** A background swap takes at most this share (bps) of the pool's input reserve. */
const MAX_SWAP_SHARE_BPS = 100n;

type Action = BackgroundSpec['actions'][number];

interface UserState {
  wallet: Map<string, bigint>;
  supplied: Map<string, bigint>;
  debt: Map<string, bigint>;
  collateralBase: bigint;
  debtBase: bigint;
  availableBase: bigint;
  /** Weighted liquidation threshold, bps. */
  liquidationThreshold: bigint;
  userConfig: bigint;
}

export function createBackground(spec: BackgroundSpec, ctx: BotContext): Bot {
  const { client } = ctx.chain;
  const { market } = ctx;
  const users = ctx.accounts.slice(0, spec.users);
  if (users.length < spec.users)
    throw new FirebreakError(
      'ERR_SCENARIO_INVALID',
      `background bot "${spec.name}" needs ${spec.users} accounts and was given ${ctx.accounts.length}`,
    );
  const tokens = [...market.tokens.values()];
  const reserveIds = new Map<string, bigint>();
  const pools = ctx.scenario.market.pools.map((p) => ({
    id: p.id,
    pair: market.pools.get(p.id)!,
    tokens: p.tokens.map((s) => market.tokens.get(s)!) as [DrillToken, DrillToken],
  }));

  const readUser = async (who: Hex): Promise<UserState> => {
    const [data, { data: userConfig }, rows] = await Promise.all([
      readContract(client, {
        address: market.aave.pool,
        abi: poolAbi,
        functionName: 'getUserAccountData',
        args: [who],
        ...PENDING,
      }),
      readContract(client, {
        address: market.aave.pool,
        abi: poolAbi,
        functionName: 'getUserConfiguration',
        args: [who],
        ...PENDING,
      }),
      Promise.all(
        tokens.map(async (t) => {
          const r = market.aave.reserves[t.symbol]!;
          return Promise.all([
            balanceOf(ctx, t.address, who),
            balanceOf(ctx, r.aToken, who),
            balanceOf(ctx, r.variableDebtToken, who),
          ]);
        }),
      ),
    ]);
    const state: UserState = {
      wallet: new Map(),
      supplied: new Map(),
      debt: new Map(),
      collateralBase: data[0],
      debtBase: data[1],
      availableBase: data[2],
      liquidationThreshold: data[3],
      userConfig,
    };
    tokens.forEach((t, i) => {
      const [w, s, d] = rows[i]!;
      state.wallet.set(t.symbol, w);
      state.supplied.set(t.symbol, s);
      state.debt.set(t.symbol, d);
    });
    return state;
  };

  return {
    name: spec.name,
    kind: 'background',
    async setup() {
      await mintHoldings(ctx, spec.name, spec.holds, users);
      await approvePool(ctx, users);
      for (const t of tokens) {
        const data = await readContract(client, {
          address: market.aave.pool,
          abi: poolAbi,
          functionName: 'getReserveData',
          args: [t.address],
        });
        reserveIds.set(t.symbol, BigInt(data.id));
      }
    },
    async plan(turn: BotTurn): Promise<BotCall[]> {
      if (!inWindow(spec, turn)) return [];
      const count = Math.min(poisson(spec.txPerBlock, turn.random), users.length);
      if (count === 0) return [];
      // Distinct users: a partial Fisher–Yates shuffle of the indices.
      const order = users.map((_, i) => i);
      for (let i = 0; i < count; i++) {
        const j = i + Math.floor(turn.random() * (order.length - i));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const [truePrices, prices, configs, cash] = await Promise.all([
        referencePrices(ctx),
        oraclePrices(ctx),
        reserveConfigurations(ctx),
        Promise.all(tokens.map((t) => balanceOf(ctx, t.address, market.aave.reserves[t.symbol]!.aToken))),
      ]);
      const cashLeft = new Map(tokens.map((t, i) => [t.symbol, cash[i]!]));
      const pairs = new Map<Hex, PairState>();
      const calls: BotCall[] = [];

      for (const index of order.slice(0, count)) {
        const who = users[index]!;
        const s = await readUser(who.address);
        const usd = spec.sizeUsd.min + turn.random() * Math.max(0, spec.sizeUsd.max - spec.sizeUsd.min);
        const size = (t: DrillToken) => usdToUnits(usd, truePrices.get(t.symbol) ?? 0n, t.decimals);
        const baseOf = (t: DrillToken, units: bigint) =>
          (units * (prices.get(t.symbol) ?? 0n)) / 10n ** BigInt(t.decimals);
        const min = (...xs: bigint[]) => minBig(xs)!;
        const collateralOn = (t: DrillToken) =>
          ((s.userConfig >> (reserveIds.get(t.symbol)! * 2n + 1n)) & 1n) === 1n;
        const hasZeroLtvCollateral = tokens.some(
          (t) =>
            collateralOn(t) && (s.supplied.get(t.symbol) ?? 0n) > 0n && configs.get(t.symbol)!.ltvBps === 0,
        );
        // Health factor after the collateral's liquidation value falls by `lostBase` or debt rises by `addedBase`.
        const healthAfter = (lostBase: bigint, addedBase: bigint) => {
          const debt = s.debtBase + addedBase;
          if (debt === 0n) return MIN_HEALTH_AFTER;
          const weighted = s.collateralBase * s.liquidationThreshold - lostBase;
          return weighted <= 0n ? 0n : (weighted * 10n ** 18n) / (debt * 10_000n);
        };

        const options = new Map<Action, (() => BotCall[] | Promise<BotCall[]>)[]>();
        const add = (action: Action, make: () => BotCall[] | Promise<BotCall[]>) => {
          if (!spec.actions.includes(action)) return;
          options.set(action, [...(options.get(action) ?? []), make]);
        };
        const at = (user: Hex) => `${user.slice(0, 8)}…`;

        for (const t of tokens) {
          const c = configs.get(t.symbol)!;
          const live = c.isActive && !c.isPaused;
          const wallet = s.wallet.get(t.symbol) ?? 0n;
          const supplied = s.supplied.get(t.symbol) ?? 0n;
          const debt = s.debt.get(t.symbol) ?? 0n;
          const want = size(t);
          if (want <= 0n) continue;

          if (live && !c.isFrozen && wallet > 0n) {
            const amount = min(wallet, want);
            add('supply', () => [
              call(market.aave.pool, poolAbi, 'supply', [t.address, amount, who.address, 0], GAS.supply, {
                from: index,
                note: `${at(who.address)} supplies ${fmt(amount, t.decimals)} ${t.symbol}`,
              }),
            ]);
          }
          const reserveCash = cashLeft.get(t.symbol) ?? 0n;
          if (live && supplied > 0n && reserveCash > 0n) {
            const amount = min(supplied, want, reserveCash);
            const counts = collateralOn(t) && c.liquidationThresholdBps > 0;
            const lost = counts ? baseOf(t, amount) * BigInt(c.liquidationThresholdBps) : 0n;
            const ltvRule = !(s.debtBase > 0n && hasZeroLtvCollateral && c.ltvBps !== 0);
            if (ltvRule && (!counts || s.debtBase === 0n || healthAfter(lost, 0n) >= MIN_HEALTH_AFTER)) {
              add('withdraw', () => {
                cashLeft.set(t.symbol, reserveCash - amount);
                return [
                  call(
                    market.aave.pool,
                    poolAbi,
                    'withdraw',
                    [t.address, amount, who.address],
                    GAS.withdraw,
                    {
                      from: index,
                      note: `${at(who.address)} withdraws ${fmt(amount, t.decimals)} ${t.symbol}`,
                    },
                  ),
                ];
              });
            }
          }
          const price = prices.get(t.symbol) ?? 0n;
          if (
            live &&
            !c.isFrozen &&
            c.borrowingEnabled &&
            price > 0n &&
            s.availableBase > 0n &&
            reserveCash > 0n
          ) {
            const halfCapacity = (s.availableBase * 10n ** BigInt(t.decimals)) / (2n * price);
            const amount = min(want, halfCapacity, reserveCash / 2n);
            if (amount > 0n && healthAfter(0n, baseOf(t, amount) + 1n) >= MIN_HEALTH_AFTER) {
              add('borrow', () => {
                cashLeft.set(t.symbol, reserveCash - amount);
                return [
                  call(
                    market.aave.pool,
                    poolAbi,
                    'borrow',
                    [t.address, amount, 2n, 0, who.address],
                    GAS.borrow,
                    {
                      from: index,
                      note: `${at(who.address)} borrows ${fmt(amount, t.decimals)} ${t.symbol}`,
                    },
                  ),
                ];
              });
            }
          }
          if (live && debt > 0n && wallet > 0n) {
            const amount = min(debt, wallet, want);
            add('repay', () => [
              call(market.aave.pool, poolAbi, 'repay', [t.address, amount, 2n, who.address], GAS.repay, {
                from: index,
                note: `${at(who.address)} repays ${fmt(amount, t.decimals)} ${t.symbol}`,
              }),
            ]);
          }
        }
        for (const p of pools) {
          for (const tokenIn of p.tokens) {
            const wallet = s.wallet.get(tokenIn.symbol) ?? 0n;
            if (wallet <= 0n) continue;
            add('swap', async () => {
              const st = pairs.get(p.pair) ?? (await readPair(client, p.pair, 'pending'));
              const reserveIn = st.token0.toLowerCase() === tokenIn.address ? st.reserve0 : st.reserve1;
              const amount = min(wallet, size(tokenIn), (reserveIn * MAX_SWAP_SHARE_BPS) / 10_000n);
              if (amount <= 0n) return [];
              let plan: ReturnType<typeof planSwapExactIn>;
              try {
                plan = planSwapExactIn(st, {
                  pair: p.pair,
                  tokenIn: tokenIn.address,
                  amountIn: amount,
                  to: who.address,
                });
              } catch {
                return []; // too small to buy anything
              }
              pairs.set(p.pair, plan.after);
              const [transfer, swap] = plan.calls;
              const tokenOut = p.tokens.find((x) => x !== tokenIn)!;
              return [
                call(transfer.to, erc20Abi, 'transfer', transfer.args, GAS.transfer, { from: index }),
                call(swap.to, swap.abi, 'swap', swap.args, GAS.swap, {
                  from: index,
                  note: `${at(who.address)} swaps ${fmt(amount, tokenIn.decimals)} ${tokenIn.symbol} → ${fmt(plan.amountOut, tokenOut.decimals)} ${tokenOut.symbol} on ${p.id}`,
                }),
              ];
            });
          }
        }

        const kinds = [...options.keys()];
        if (kinds.length === 0) continue;
        const kind = kinds[Math.floor(turn.random() * kinds.length)]!;
        const choices = options.get(kind)!;
        const make = choices[Math.floor(turn.random() * choices.length)]!;
        calls.push(...(await make()));
      }
      return calls;
    },
  };
}
