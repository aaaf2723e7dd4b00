/**
 * Drills — bots: the arbitrageur. For each of its pools it compares the pool's price, at the
 * pending reserves, with the ratio of the two tokens' true prices (the reference feeds); beyond
 * `thresholdBps` it sells the pool's dear token for the cheap one, the amount that maximises its
 * profit (which takes the pool's marginal price, net of the 0.3 % fee, to the reference: closed
 * form for x·y=k), capped by `maxTradeShare` of what it holds of the input token.
 */
import type { Hex } from 'viem';
import { FirebreakError } from '../../common/errors';
import { type PairState, planSwapExactIn, readPair } from '../../protocols/uniswap-v2/pool';
import type { DrillToken } from '../market';
import { balanceOf, call, fmt, GAS, inWindow, mintHoldings, referencePrices } from './common';
import { arbitrage } from './math';
import type { ArbitrageurSpec } from './schema';
import type { Bot, BotCall, BotContext, BotTurn } from './types';

export function createArbitrageur(spec: ArbitrageurSpec, ctx: BotContext): Bot {
  const { client } = ctx.chain;
  const { market } = ctx;
  const self = ctx.accounts[0];
  if (!self) throw new FirebreakError('ERR_SCENARIO_INVALID', `arbitrageur "${spec.name}" has no account`);
  const pools = spec.pools.map((id) => {
    const pool = ctx.scenario.market.pools.find((p) => p.id === id);
    const pair = market.pools.get(id);
    if (!pool || !pair)
      throw new FirebreakError(
        'ERR_SCENARIO_INVALID',
        `arbitrageur "${spec.name}" names pool "${id}", which the market does not have (${[...market.pools.keys()].join(', ') || 'none'})`,
      );
    return { id, pair, tokens: pool.tokens.map((s) => market.tokens.get(s)!) as [DrillToken, DrillToken] };
  });
  const shareBps = BigInt(Math.round(spec.maxTradeShare * 10_000));

  return {
    name: spec.name,
    kind: 'arbitrageur',
    async setup() {
      await mintHoldings(ctx, spec.name, spec.holds, [self]);
    },
    async plan(turn: BotTurn): Promise<BotCall[]> {
      if (!inWindow(spec, turn)) return [];
      const [prices, states] = await Promise.all([
        referencePrices(ctx),
        Promise.all(pools.map((p) => readPair(client, p.pair, 'pending'))),
      ]);
      const held = new Map<Hex, bigint>();
      const holding = async (token: Hex) => {
        const known = held.get(token) ?? (await balanceOf(ctx, token, self.address));
        held.set(token, known);
        return known;
      };
      const pairs = new Map<Hex, PairState>();
      const calls: BotCall[] = [];
      for (const [i, p] of pools.entries()) {
        const state = pairs.get(p.pair) ?? states[i]!;
        const byAddress = (a: Hex) => p.tokens.find((t) => t.address === a.toLowerCase())!;
        const t0 = byAddress(state.token0);
        const t1 = byAddress(state.token1);
        const p0 = prices.get(t0.symbol);
        const p1 = prices.get(t1.symbol);
        if (!p0 || !p1) continue;
        // Reference price of one token0 unit in token1 units: (p0 / 10^d0) / (p1 / 10^d1).
        const num = p0 * 10n ** BigInt(t1.decimals);
        const den = p1 * 10n ** BigInt(t0.decimals);
        const trade = arbitrage(state.reserve0, state.reserve1, num, den, BigInt(spec.thresholdBps));
        if (!trade) continue;
        const tokenIn = trade.zeroForOne ? t0 : t1;
        const tokenOut = trade.zeroForOne ? t1 : t0;
        const have = await holding(tokenIn.address);
        const cap = (have * shareBps) / 10_000n;
        const amountIn = trade.amountIn < cap ? trade.amountIn : cap;
        if (amountIn <= 0n) continue;
        let plan: ReturnType<typeof planSwapExactIn>;
        try {
          plan = planSwapExactIn(state, {
            pair: p.pair,
            tokenIn: tokenIn.address,
            amountIn,
            to: self.address,
          });
        } catch {
          continue; // too small to buy anything
        }
        pairs.set(p.pair, plan.after);
        held.set(tokenIn.address, have - amountIn);
        held.set(tokenOut.address, (await holding(tokenOut.address)) + plan.amountOut);
        const [transfer, swap] = plan.calls;
        calls.push(call(transfer.to, transfer.abi, 'transfer', transfer.args, GAS.transfer));
        calls.push(
          call(swap.to, swap.abi, 'swap', swap.args, GAS.swap, {
            note: `arbitrage ${p.id} (${Number(trade.deviationBps) / 100}% off): ${fmt(amountIn, tokenIn.decimals)} ${tokenIn.symbol} → ${fmt(plan.amountOut, tokenOut.decimals)} ${tokenOut.symbol}`,
          }),
        );
      }
      return calls;
    },
  };
}
