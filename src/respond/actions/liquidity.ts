/**
 * Respond / actions — `liquidity.migrate`: move protocol-owned liquidity out of a venue under
 * attack into a time-locked `RecoveryVault` (contracts/RecoveryVault.sol), where it leaves only to
 * a governance-approved destination after the vault's delay.
 *
 * The holdings come from the config's `treasuries` section: the treasury whose `executor` is the
 * step's executor, on the finding's chain. Its Uniswap v2 LP is withdrawn through the real router
 * (`approve(router, liquidity)` then `removeLiquidity(…, to = vault, …)`, with minimum amounts from
 * the pair's reserves less the treasury's slippage bound): the tokens go from the pair straight to
 * the vault in the router's call. Never a transfer of LP to the pair and a `burn` in a second
 * transaction — anyone could burn it in between and take the tokens. The allowance is pulled by the
 * router only from its caller, the holder, and is used up by the withdrawal. Aave v3 supplies are
 * withdrawn with `Pool.withdraw(asset, max, vault)`: all of it, or the reserve's cash when that is
 * less (a partly drained reserve: the rest stays a claim).
 *
 * Scope: by default only the holdings exposed to the finding's subject (`exposedTo`); a step with
 * `scope: all` moves every holding of the treasury. The guardrails refuse any call naming a
 * receiver that is not a configured vault (guardrails.ts), so a treasury whose vault is not one is
 * refused before signing. Verification reads back: the holder's LP and aToken balances gone, the
 * vault's token balances up by at least the planned minimums, the router allowance back to 0.
 */
import { type Client, erc20Abi, formatUnits, type Hex, maxUint256, pad, toHex } from 'viem';
import { getBlock, readContract } from 'viem/actions';
import type { FirebreakConfig, TreasuryConfig } from '../../config/schema';
import type { Subject } from '../../detectors/types';
import { poolAbi } from '../../protocols/aave-v3/abi';
import type { AaveMarketAddresses } from '../../protocols/aave-v3/market';
import { readReserveTokens } from '../../protocols/aave-v3/reader';
import { readPair } from '../../protocols/uniswap-v2/pool';
import {
  lpAllowanceSlot,
  planLiquidityWithdrawal,
  uniswapV2LpAbi,
  uniswapV2RouterAbi,
} from '../../protocols/uniswap-v2/router';
import type { PlanBuilder } from '../responder';
import type { ActionPlan, EffectCheck, PlannedCall, PlannedTransfer } from '../types';

export interface LiquidityPlanBuilderOptions {
  clientFor(chainId: number): Client | undefined;
  marketsByAddress: ReadonlyMap<Hex, AaveMarketAddresses>;
  /** The config's chains, markets and treasuries; without treasuries, `liquidity.migrate` has nothing to move. */
  config?: Pick<FirebreakConfig, 'chains' | 'markets' | 'treasuries'>;
}

/** Gas limits the calls are simulated and sent with (the router's pull is simulated over a state override, which nodes cannot estimate). */
const APPROVE_GAS = 100_000n;
const REMOVE_LIQUIDITY_GAS = 400_000n;

/** One position of a treasury, as `exposedTo` sees it. */
export type Holding =
  | { kind: 'lp'; pair: Hex; token0: Hex; token1: Hex }
  | { kind: 'aave'; addressesProvider: Hex; pool: Hex; asset: Hex };

const same = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

/**
 * Whether a holding is exposed to a finding's subject. A pool finding (`protocol: uniswap-v2`, the
 * pair as `market`) exposes only the LP of that pair. Otherwise an LP is exposed when its pair is the
 * subject's market or trades the subject's asset (a depegging or manipulated token is dumped into
 * every pool that trades it), and an Aave supply when its market is the subject's market (an
 * attacker borrowing against a bad collateral takes any reserve's cash) or its asset is the
 * subject's asset.
 */
export function exposedTo(
  subject: Pick<Subject, 'protocol' | 'market' | 'asset'>,
  holding: Holding,
): boolean {
  if (subject.protocol === 'uniswap-v2') return holding.kind === 'lp' && same(subject.market, holding.pair);
  if (holding.kind === 'lp')
    return (
      same(subject.market, holding.pair) ||
      same(subject.asset, holding.token0) ||
      same(subject.asset, holding.token1)
    );
  return (
    same(subject.market, holding.addressesProvider) ||
    same(subject.market, holding.pool) ||
    same(subject.asset, holding.asset)
  );
}

interface Token {
  address: Hex;
  symbol: string;
  decimals: number;
}

export function createLiquidityPlanBuilder(options: LiquidityPlanBuilderOptions): PlanBuilder {
  return async (decision, id) => {
    const { finding } = decision.result;
    const { subject } = finding;
    if (decision.step.action !== 'liquidity.migrate')
      throw new Error(`unknown action ${decision.step.action}`);
    const chainNames = new Set(
      (options.config?.chains ?? []).filter((c) => c.id === subject.chainId).map((c) => c.name),
    );
    const treasury = options.config?.treasuries?.find(
      (t) => t.executor === decision.step.executor && chainNames.has(t.chain),
    );
    if (!treasury)
      throw new Error(
        `no treasury on chain ${subject.chainId} acts through executor "${decision.step.executor}" (config treasuries)`,
      );
    const client = options.clientFor(subject.chainId);
    if (!client) throw new Error(`no client for chain ${subject.chainId}`);

    const { holder, vault } = treasury;
    const tokens = new Map<string, Promise<Token>>();
    const token = (address: Hex) => {
      const key = address.toLowerCase();
      let t = tokens.get(key);
      if (!t) {
        t = readToken(client, address);
        tokens.set(key, t);
      }
      return t;
    };
    const balanceOf = (asset: Hex, who: Hex) =>
      readContract(client, { address: asset, abi: erc20Abi, functionName: 'balanceOf', args: [who] });
    const amount = async (asset: Hex, value: bigint) => {
      const t = await token(asset);
      return `${formatUnits(value, t.decimals)} ${t.symbol}`;
    };

    const calls: PlannedCall[] = [];
    const transfers: PlannedTransfer[] = [];
    const effects: EffectCheck[] = [];
    /** The least each token's vault balance must rise by, by token. */
    const expectedIn = new Map<string, { asset: Hex; min: bigint }>();
    const expectIn = (asset: Hex, min: bigint) => {
      const e = expectedIn.get(asset.toLowerCase()) ?? { asset, min: 0n };
      e.min += min;
      expectedIn.set(asset.toLowerCase(), e);
    };
    const moved: string[] = [];
    let exposed = 0;

    // The latest state, not the finding's block: the amounts are what the calls will find.
    const lp = treasury.uniswapV2;
    if (lp) {
      const deadline =
        (await getBlock(client, { blockTag: 'latest' })).timestamp + BigInt(lp.deadlineSeconds);
      for (const pair of lp.pairs) {
        const state = await readPair(client, pair);
        if (
          !exposed0(decision.step.scope, subject, {
            kind: 'lp',
            pair,
            token0: state.token0,
            token1: state.token1,
          })
        )
          continue;
        exposed++;
        const lpToken = { address: pair, abi: uniswapV2LpAbi } as const;
        const [liquidity, totalSupply, allowance] = await Promise.all([
          readContract(client, { ...lpToken, functionName: 'balanceOf', args: [holder] }),
          readContract(client, { ...lpToken, functionName: 'totalSupply' }),
          readContract(client, { ...lpToken, functionName: 'allowance', args: [holder, lp.router] }),
        ]);
        if (liquidity === 0n) continue;
        const w = planLiquidityWithdrawal({
          liquidity,
          totalSupply,
          reserve0: state.reserve0,
          reserve1: state.reserve1,
          slippageBps: lp.slippageBps,
        });
        const [t0, t1] = await Promise.all([token(state.token0), token(state.token1)]);
        const name = `${t0.symbol}/${t1.symbol} pair ${pair}`;
        const approve = allowance < liquidity;
        if (approve) {
          calls.push({
            to: pair,
            abi: uniswapV2LpAbi,
            functionName: 'approve',
            args: [lp.router, liquidity],
            description: `Allow router ${lp.router} to pull the treasury's ${formatUnits(liquidity, 18)} LP of ${name} (approve)`,
            gas: APPROVE_GAS,
          });
          effects.push({
            description: `router allowance on ${name} used up`,
            read: () =>
              readContract(client, {
                address: pair,
                abi: uniswapV2LpAbi,
                functionName: 'allowance',
                args: [holder, lp.router],
              }),
            expected: 0n,
          });
        }
        calls.push({
          to: lp.router,
          abi: uniswapV2RouterAbi,
          functionName: 'removeLiquidity',
          args: [state.token0, state.token1, liquidity, w.amount0Min, w.amount1Min, vault, deadline],
          description: `Withdraw the treasury's ${formatUnits(liquidity, 18)} LP of ${name} through router ${lp.router} to vault ${vault} (removeLiquidity, at least ${await amount(state.token0, w.amount0Min)} + ${await amount(state.token1, w.amount1Min)})`,
          gas: REMOVE_LIQUIDITY_GAS,
          // The approve above is not mined when this is simulated: assume its allowance.
          ...(approve
            ? {
                stateOverride: [
                  {
                    address: pair,
                    stateDiff: [{ slot: lpAllowanceSlot(holder, lp.router), value: pad(toHex(liquidity)) }],
                  },
                ],
              }
            : {}),
        });
        transfers.push(
          {
            asset: state.token0,
            amount: w.amount0,
            destination: vault,
            description: `${await amount(state.token0, w.amount0)} from ${name}`,
          },
          {
            asset: state.token1,
            amount: w.amount1,
            destination: vault,
            description: `${await amount(state.token1, w.amount1)} from ${name}`,
          },
        );
        expectIn(state.token0, w.amount0Min);
        expectIn(state.token1, w.amount1Min);
        effects.push({
          description: `treasury holds no LP of ${name}`,
          read: () =>
            readContract(client, {
              address: pair,
              abi: uniswapV2LpAbi,
              functionName: 'balanceOf',
              args: [holder],
            }),
          expected: 0n,
        });
        moved.push(
          `${formatUnits(liquidity, 18)} LP of ${name} (${await amount(state.token0, w.amount0)} + ${await amount(state.token1, w.amount1)})`,
        );
      }
    }

    for (const supply of treasury.aave) {
      const market = marketOf(options, treasury, supply.market);
      for (const asset of supply.assets) {
        if (
          !exposed0(decision.step.scope, subject, {
            kind: 'aave',
            addressesProvider: market.addressesProvider,
            pool: market.pool,
            asset,
          })
        )
          continue;
        exposed++;
        const { aToken } = await readReserveTokens(client, market.pool, asset);
        if (BigInt(aToken) === 0n)
          throw new Error(
            `${asset} is not a reserve of Aave market "${supply.market}" (treasury ${treasury.id})`,
          );
        const [balance, cash] = await Promise.all([balanceOf(aToken, holder), balanceOf(asset, aToken)]);
        if (balance === 0n) continue;
        const partial = cash < balance;
        if (partial && cash === 0n)
          throw new Error(
            `the treasury's ${await amount(asset, balance)} supply in Aave market "${supply.market}" cannot be withdrawn: the reserve has no cash left`,
          );
        const value = partial ? cash : balance;
        calls.push({
          to: market.pool,
          abi: poolAbi,
          functionName: 'withdraw',
          args: [asset, partial ? cash : maxUint256, vault],
          description: partial
            ? `Withdraw ${await amount(asset, cash)} of the treasury's ${await amount(asset, balance)} supply (all the reserve's cash) from Aave pool ${market.pool} to vault ${vault} (Pool.withdraw)`
            : `Withdraw the treasury's whole ${await amount(asset, balance)} supply from Aave pool ${market.pool} to vault ${vault} (Pool.withdraw(asset, max, vault))`,
        });
        transfers.push({
          asset,
          amount: partial ? cash : null,
          destination: vault,
          description: `${await amount(asset, value)} from Aave pool ${market.pool}`,
        });
        expectIn(asset, value);
        effects.push(
          partial
            ? {
                description: `treasury's a${(await token(asset)).symbol} balance below its ${await amount(asset, balance)}`,
                read: async () => (await balanceOf(aToken, holder)) < balance,
                expected: true,
              }
            : {
                description: `treasury holds no a${(await token(asset)).symbol} of Aave pool ${market.pool}`,
                read: () => balanceOf(aToken, holder),
                expected: 0n,
              },
        );
        moved.push(
          `${await amount(asset, value)}${partial ? ` of ${await amount(asset, balance)}` : ''} supplied to Aave pool ${market.pool}`,
        );
      }
    }

    if (exposed === 0)
      throw new Error(
        `no holding of treasury "${treasury.id}" is exposed to the finding's subject (${describeSubject(subject)}); a step with \`scope: all\` moves every holding`,
      );
    // Every exposed holding is empty already: moved by an earlier attempt, or never funded.
    if (calls.length === 0) return null;

    for (const { asset, min } of expectedIn.values()) {
      const before = await balanceOf(asset, vault);
      effects.push({
        description: `vault ${vault} received at least ${await amount(asset, min)}`,
        read: async () => (await balanceOf(asset, vault)) >= before + min,
        expected: true,
      });
    }
    const plan: ActionPlan = {
      id,
      action: decision.step.action,
      chainId: subject.chainId,
      incidentId: decision.result.incident.id,
      playbookId: decision.playbook.id,
      riskReducing: true,
      calls,
      effects,
      transfers,
      blastRadius: `treasury ${holder} (${treasury.id}): ${moved.join('; ')} leave their venues for recovery vault ${vault}, released only by governance after the vault's delay; the pools and reserves lose that depth; the treasury's other holdings stay`,
    };
    return plan;
  };
}

/** `exposedTo`, or true for a step with `scope: all`. */
function exposed0(scope: 'subject' | 'all' | undefined, subject: Subject, holding: Holding): boolean {
  return scope === 'all' || exposedTo(subject, holding);
}

function marketOf(
  options: LiquidityPlanBuilderOptions,
  treasury: TreasuryConfig,
  id: string,
): AaveMarketAddresses {
  const provider = options.config?.markets.find((m) => m.id === id)?.addressesProvider;
  const market = provider ? options.marketsByAddress.get(provider.toLowerCase() as Hex) : undefined;
  if (!market)
    throw new Error(`treasury "${treasury.id}" names Aave market "${id}", which is not configured`);
  return market;
}

function describeSubject(subject: Subject): string {
  const parts = [
    subject.protocol,
    subject.market ? `market ${subject.market}` : undefined,
    subject.asset ? `asset ${subject.asset}` : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : 'no market or asset';
}

async function readToken(client: Client, address: Hex): Promise<Token> {
  const [symbol, decimals] = await Promise.all([
    readContract(client, { address, abi: erc20Abi, functionName: 'symbol' }).catch(() => address),
    readContract(client, { address, abi: erc20Abi, functionName: 'decimals' }).catch(() => 18),
  ]);
  return { address, symbol, decimals };
}
