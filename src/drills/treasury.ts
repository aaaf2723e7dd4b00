/**
 * Drills — protocol-owned liquidity (`market.protocolLiquidity`): the treasury a drill rehearses
 * `liquidity.migrate` with. Deploys the time-locked RecoveryVault (governance: the market's
 * deployer) and, when the treasury holds LP, the real UniswapV2Router02 over the drill's factory;
 * gives the treasury its holdings (a share of a pool's starting LP, supplies to the market); and
 * values what the treasury owns — its LP's share of the pairs, its aTokens at face value, its
 * wallet and what waits for it in the vault — for the scorer (measure.ts).
 */
import type { Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { EmbeddedChain, FundedAccount } from '../chain/embedded';
import { erc20Abi, poolAbi } from '../protocols/aave-v3/abi';
import type { AaveV3Market } from '../protocols/aave-v3/fixture';
import { deployRecoveryVault } from '../protocols/firebreak';
import { uniswapV2PairAbi } from '../protocols/uniswap-v2/abi';
import { deployUniswapV2Router } from '../protocols/uniswap-v2/router';
import type { Scenario } from './scenario';
import type { DrillToken } from './token';

export interface DrillTreasury {
  /** The treasury's own account: the key the drill's `eoa` treasury executor signs with. */
  account: FundedAccount;
  /** The RecoveryVault holdings migrate to. */
  vault: Hex;
  /** UniswapV2Router02 over the drill's factory; null when the treasury holds no LP. */
  router: Hex | null;
  /** The pairs whose LP it holds, by pool id. */
  lp: Map<string, Hex>;
  /** Symbols it supplies to the market. */
  supplies: string[];
}

type Amounts = Record<string, number>;

/** Deploys the vault (and router) and gives the treasury its holdings; setup only, automine on. */
export async function deployDrillTreasury(
  chain: EmbeddedChain,
  scenario: Scenario,
  market: {
    tokens: Map<string, DrillToken>;
    pools: Map<string, Hex>;
    aave: AaveV3Market;
    deployer: FundedAccount;
    /** The chain's account after the bots': the treasury's (accountsNeeded counts it). */
    account: FundedAccount | undefined;
  },
  send: (to: Hex, abi: readonly unknown[], functionName: string, args: readonly unknown[]) => Promise<void>,
  mint: (symbol: string, to: Hex, amount: bigint) => Promise<void>,
  units: (symbol: string, amount: number) => bigint,
): Promise<DrillTreasury | undefined> {
  const spec = scenario.market.protocolLiquidity;
  if (!spec) return undefined;
  const { client } = chain;
  const { deployer, account } = market;
  if (!account) throw new Error('the chain has no account left for the protocol treasury');
  const vault = (
    await deployRecoveryVault(client, {
      account: deployer.account,
      governance: deployer.address,
      delaySeconds: spec.vaultDelaySeconds,
    })
  ).toLowerCase() as Hex;
  const lp = new Map<string, Hex>();
  let router: Hex | null = null;
  for (const [id, share] of Object.entries(spec.lp)) {
    const pair = market.pools.get(id)!;
    if (router === null) {
      const factory = await readContract(client, {
        address: pair,
        abi: uniswapV2PairAbi,
        functionName: 'factory',
      });
      router = (
        await deployUniswapV2Router(client, { account: deployer.account, factory })
      ).router.toLowerCase() as Hex;
    }
    // The deployer provided the pool's starting liquidity: the treasury's share of it moves over.
    const [total, held] = await Promise.all([
      readContract(client, { address: pair, abi: uniswapV2PairAbi, functionName: 'totalSupply' }),
      readContract(client, {
        address: pair,
        abi: uniswapV2PairAbi,
        functionName: 'balanceOf',
        args: [deployer.address],
      }),
    ]);
    const wanted = (total * BigInt(Math.round(share * 1e6))) / 1_000_000n;
    await send(pair, uniswapV2PairAbi, 'transfer', [account.address, wanted < held ? wanted : held]);
    lp.set(id, pair);
  }
  for (const [symbol, amount] of Object.entries(spec.supplies)) {
    const token = market.tokens.get(symbol)!.address;
    const value = units(symbol, amount);
    await mint(symbol, deployer.address, value);
    await send(token, erc20Abi, 'approve', [market.aave.pool, value]);
    await send(market.aave.pool, poolAbi, 'supply', [token, value, account.address, 0]);
  }
  return { account, vault, router, lp, supplies: Object.keys(spec.supplies) };
}

/**
 * What the treasury owns, in whole tokens by symbol: its LP's share of each pair's balances, its
 * aTokens at face value (a claim on a drained reserve is the market's bad debt, scored there), its
 * wallet, and the vault's balances (released to governance after the delay: still the treasury's).
 */
export async function treasuryHoldings(
  chain: EmbeddedChain,
  treasury: DrillTreasury,
  tokens: Map<string, DrillToken>,
  aave: AaveV3Market,
): Promise<Amounts> {
  const { client } = chain;
  const held: Amounts = {};
  const add = (t: DrillToken, units: bigint) => {
    held[t.symbol] = (held[t.symbol] ?? 0) + Number(units) / 10 ** t.decimals;
  };
  const balance = (token: Hex, who: Hex) =>
    readContract(client, { address: token, abi: erc20Abi, functionName: 'balanceOf', args: [who] });
  const holder = treasury.account.address;
  const bySymbol = [...tokens.values()];
  for (const t of bySymbol) {
    add(t, await balance(t.address, holder));
    add(t, await balance(t.address, treasury.vault));
    const reserve = aave.reserves[t.symbol];
    if (reserve) add(t, await balance(reserve.aToken, holder));
  }
  for (const pair of treasury.lp.values()) {
    const [liquidity, total] = await Promise.all([
      balance(pair, holder),
      readContract(client, { address: pair, abi: uniswapV2PairAbi, functionName: 'totalSupply' }),
    ]);
    if (liquidity === 0n || total === 0n) continue;
    for (const t of bySymbol) {
      const inPair = await balance(t.address, pair);
      if (inPair > 0n) add(t, (inPair * liquidity) / total);
    }
  }
  return held;
}
