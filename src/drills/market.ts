/**
 * Drills — building a scenario's market on the embedded chain: tokens, price feeds (the
 * protocol's and the independent reference ones carrying the true price), real Uniswap v2 pairs
 * with liquidity, TWAP oracles over them, a real Aave v3 market, a guardian holding
 * EMERGENCY_ADMIN and RISK_ADMIN, and the scenario's accounts with their balances and supplies.
 */
import { type Hex, parseUnits } from 'viem';
import { readContract, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { deployArtifact, firebreakArtifact } from '../chain/artifacts';
import type { EmbeddedChain, FundedAccount } from '../chain/embedded';
import { erc20Abi, poolAbi } from '../protocols/aave-v3/abi';
import { type AaveV3Market, deployAaveV3Market } from '../protocols/aave-v3/fixture';
import { addLiquidity, createPair, deployUniswapV2Factory } from '../protocols/uniswap-v2/fixture';
import { botAccounts } from './bots/schema';
import { type DrillExtras, deployDrillExtras } from './extras';
import { deployFlashRunners } from './flash-loan';
import { type DrillHub, deployDrillHub } from './hub';
import type { Scenario } from './scenario';
import type { DrillToken } from './token';
import { type DrillTreasury, deployDrillTreasury } from './treasury';

export type { DrillToken };

export interface DrillMarket {
  tokens: Map<string, DrillToken>;
  /** The market's own feeds, for feed-priced assets. */
  protocolFeeds: Map<string, Hex>;
  /** Independent feeds carrying every asset's true price: the detector's reference, the scorer's prices. */
  referenceFeeds: Map<string, Hex>;
  twaps: Map<string, Hex>;
  pools: Map<string, Hex>;
  aave: AaveV3Market;
  deployer: FundedAccount;
  guardian: FundedAccount;
  /** Scenario accounts by name. */
  accounts: Map<string, FundedAccount>;
  /** Feeds fixed at a stablecoin's peg (assets with `pegUsd`): the depeg watch's reference. */
  pegFeeds: Map<string, Hex>;
  /** Bots' accounts by bot name. */
  botAccounts: Map<string, FundedAccount[]>;
  /** Generated positions (filled in by the population set-up). */
  population: { name: string; address: Hex }[];
  /** A fresh user the scorer uses to check that reserves still work after the run. */
  probe: FundedAccount;
  /** Contracts beside the Aave market some incidents need (a vulnerable vault, a governor): extras.ts. */
  extras?: DrillExtras;
  /** Each account's FlashLoanRunner, for its `flash-loan` steps (flash-loan.ts). */
  flashRunners: Map<string, Hex>;
  /** The k-of-n GuardianHub holding the emergency roles (`market.guardianHub`, hub.ts). */
  hub?: DrillHub;
  /**
   * Vault-share assets (`oracle: { vault }`): the ERC-4626 vault is the asset's token; the market
   * prices it through `protocolFeed` (the underlying's own feed × assets per share), the reference
   * through the same adapter over the underlying's reference feed (in `referenceFeeds`).
   */
  vaults: Map<string, { vault: Hex; underlying: string; protocolFeed: Hex }>;
  /** Protocol-owned liquidity (`market.protocolLiquidity`): the treasury, its holdings and its recovery vault (treasury.ts). */
  treasury?: DrillTreasury;
}

/** The ERC-4626 calls the drill makes (deposit, redeem) and reads (convertToAssets). */
export const erc4626Abi = [
  {
    type: 'function',
    name: 'deposit',
    stateMutability: 'nonpayable',
    inputs: [{ type: 'uint256' }, { type: 'address' }],
    outputs: [{ type: 'uint256' }],
  },
  {
    type: 'function',
    name: 'redeem',
    stateMutability: 'nonpayable',
    inputs: [{ type: 'uint256' }, { type: 'address' }, { type: 'address' }],
    outputs: [{ type: 'uint256' }],
  },
  {
    type: 'function',
    name: 'convertToAssets',
    stateMutability: 'view',
    inputs: [{ type: 'uint256' }],
    outputs: [{ type: 'uint256' }],
  },
] as const;

export const PRICE_DECIMALS = 8;
export const toPrice = (usd: number): bigint => BigInt(Math.round(usd * 10 ** PRICE_DECIMALS));
export const toUnits = (amount: number, decimals: number): bigint =>
  parseUnits(amount.toFixed(Math.min(decimals, 12)), decimals);

/** How many funded accounts a scenario needs: deployer, guardian, probe, one per account, the bots', then the treasury's. */
export const accountsNeeded = (scenario: Scenario): number =>
  3 +
  scenario.accounts.length +
  scenario.bots.reduce((n, b) => n + botAccounts(b), 0) +
  (scenario.market.protocolLiquidity ? 1 : 0);

/** Sends one call with automine on and throws unless it succeeded (setup and checks, not drills). */
export async function sendAndConfirm(
  chain: EmbeddedChain,
  from: FundedAccount,
  to: Hex,
  abi: readonly unknown[],
  functionName: string,
  args: readonly unknown[],
): Promise<void> {
  const { client } = chain;
  const hash = await writeContract(client, {
    address: to,
    abi: abi as never,
    functionName: functionName as never,
    args: args as never,
    account: from.account,
    chain: client.chain,
  });
  const receipt = await waitForTransactionReceipt(client, { hash, pollingInterval: 1 });
  if (receipt.status !== 'success') throw new Error(`${functionName} on ${to} reverted`);
}

/** Mints a drill token (only its deployer, the market's deployer, may). */
export function mintDrillToken(
  chain: EmbeddedChain,
  deployer: FundedAccount,
  token: Hex,
  to: Hex,
  amount: bigint,
) {
  return sendAndConfirm(chain, deployer, token, firebreakArtifact('DrillToken').abi, 'mint', [to, amount]);
}

export async function deployDrillMarket(
  chain: EmbeddedChain,
  scenario: Scenario,
  progress: (message: string) => void = () => {},
): Promise<DrillMarket> {
  const { client } = chain;
  const [deployer, guardian, probe, ...rest] = chain.accounts;
  if (!deployer || !guardian || !probe || 3 + rest.length < accountsNeeded(scenario)) {
    throw new Error(
      `the chain has ${chain.accounts.length} accounts; the scenario needs ${accountsNeeded(scenario)}`,
    );
  }
  const account = deployer.account;
  const send = (
    to: Hex,
    abi: readonly unknown[],
    functionName: string,
    args: readonly unknown[],
    from = deployer,
  ) => sendAndConfirm(chain, from, to, abi, functionName, args);

  progress('tokens and price feeds');
  const tokenArtifact = firebreakArtifact('DrillToken');
  const feedArtifact = firebreakArtifact('DrillPriceFeed');
  const tokens = new Map<string, DrillToken>();
  const protocolFeeds = new Map<string, Hex>();
  const referenceFeeds = new Map<string, Hex>();
  const pegFeeds = new Map<string, Hex>();
  for (const a of scenario.market.assets) {
    if (typeof a.oracle === 'object' && 'vault' in a.oracle) continue; // deployed below, over its underlying
    const address = await deployArtifact(client, tokenArtifact, {
      account,
      args: [a.symbol, a.symbol, a.decimals],
    });
    tokens.set(a.symbol, { symbol: a.symbol, address: address.toLowerCase() as Hex, decimals: a.decimals });
    referenceFeeds.set(
      a.symbol,
      await deployArtifact(client, feedArtifact, {
        account,
        args: [PRICE_DECIMALS, `${a.symbol} / USD (reference)`, toPrice(a.priceUsd)],
      }),
    );
    if (a.pegUsd !== undefined) {
      pegFeeds.set(
        a.symbol,
        await deployArtifact(client, feedArtifact, {
          account,
          args: [PRICE_DECIMALS, `${a.symbol} / USD (peg)`, toPrice(a.pegUsd)],
        }),
      );
    }
    if (a.oracle === 'feed') {
      protocolFeeds.set(
        a.symbol,
        await deployArtifact(client, feedArtifact, {
          account,
          args: [PRICE_DECIMALS, `${a.symbol} / USD`, toPrice(a.priceUsd)],
        }),
      );
    }
  }
  const token = (symbol: string) => tokens.get(symbol)!;

  progress('ERC-4626 vaults and their share-price adapters');
  const vaults = new Map<string, { vault: Hex; underlying: string; protocolFeed: Hex }>();
  for (const a of scenario.market.assets) {
    if (typeof a.oracle !== 'object' || !('vault' in a.oracle)) continue;
    const underlying = token(a.oracle.vault.underlying);
    const vault = (
      await deployArtifact(client, firebreakArtifact('DrillVault'), {
        account,
        args: [underlying.address, a.symbol, a.symbol],
      })
    ).toLowerCase() as Hex;
    tokens.set(a.symbol, { symbol: a.symbol, address: vault, decimals: a.decimals });
    const adapter = (feed: Hex, description: string) =>
      deployArtifact(client, firebreakArtifact('VaultSharePriceFeed'), {
        account,
        args: [vault, feed, underlying.decimals, description],
      });
    referenceFeeds.set(
      a.symbol,
      await adapter(referenceFeeds.get(underlying.symbol)!, `${a.symbol} / USD (reference)`),
    );
    vaults.set(a.symbol, {
      vault,
      underlying: underlying.symbol,
      protocolFeed: await adapter(protocolFeeds.get(underlying.symbol)!, `${a.symbol} / USD`),
    });
  }
  // A vault share is minted the honest way: its underlying is minted and deposited for the holder.
  const mint = async (symbol: string, to: Hex, amount: bigint) => {
    const v = vaults.get(symbol);
    if (!v) return mintDrillToken(chain, deployer, token(symbol).address, to, amount);
    await mintDrillToken(chain, deployer, token(v.underlying).address, deployer.address, amount);
    await send(token(v.underlying).address, erc20Abi, 'approve', [v.vault, amount]);
    await send(v.vault, erc4626Abi, 'deposit', [amount, to]);
  };

  progress('Uniswap v2 pairs');
  const pools = new Map<string, Hex>();
  if (scenario.market.pools.length > 0) {
    const factory = await deployUniswapV2Factory(client, { account });
    for (const p of scenario.market.pools) {
      const [a, b] = p.tokens.map(token) as [DrillToken, DrillToken];
      const amountA = toUnits(p.reserves[0], a.decimals);
      const amountB = toUnits(p.reserves[1], b.decimals);
      await mint(a.symbol, deployer.address, amountA);
      await mint(b.symbol, deployer.address, amountB);
      const pair = await createPair(client, { factory, tokenA: a.address, tokenB: b.address, account });
      await addLiquidity(client, {
        pair,
        tokenA: a.address,
        amountA,
        tokenB: b.address,
        amountB,
        account,
        to: deployer.address,
      });
      pools.set(p.id, pair.toLowerCase() as Hex);
    }
  }

  progress('TWAP oracles');
  const twaps = new Map<string, Hex>();
  const twapArtifact = firebreakArtifact('UniswapV2TwapOracle');
  for (const a of scenario.market.assets) {
    if (typeof a.oracle !== 'object' || !('twap' in a.oracle)) continue;
    const { twap } = a.oracle;
    const pool = scenario.market.pools.find((p) => p.id === twap.pool)!;
    const quote = pool.tokens.find((t) => t !== a.symbol)!;
    const oracle = await deployArtifact(client, twapArtifact, {
      account,
      args: [
        pools.get(pool.id)!,
        token(a.symbol).address,
        protocolFeeds.get(quote)!,
        BigInt(twap.periodSeconds),
      ],
    });
    twaps.set(a.symbol, oracle.toLowerCase() as Hex);
  }

  progress('Aave v3 market');
  // E-mode categories take ids 1, 2, … in the scenario's order.
  const emodeId = (label: string) => scenario.market.emodes.findIndex((e) => e.label === label) + 1;
  const emodeOf = (symbol: string) => {
    const e = scenario.market.emodes.find((c) => c.assets.includes(symbol));
    return e ? emodeId(e.label) : 0;
  };
  const aave = await deployAaveV3Market(client, {
    account,
    guardian: guardian.address,
    eModeCategories: scenario.market.emodes.map((e) => ({
      id: emodeId(e.label),
      label: e.label,
      ltvBps: e.ltvBps,
      liquidationThresholdBps: e.liquidationThresholdBps,
      liquidationBonusBps: e.liquidationBonusBps,
    })),
    assets: scenario.market.assets.map((a) => ({
      eModeCategory: emodeOf(a.symbol),
      symbol: a.symbol,
      asset: token(a.symbol).address,
      decimals: a.decimals,
      priceSource: (a.oracle === 'feed'
        ? protocolFeeds.get(a.symbol)
        : 'vault' in a.oracle
          ? vaults.get(a.symbol)?.protocolFeed
          : twaps.get(a.symbol))!,
      ltvBps: a.ltvBps,
      liquidationThresholdBps: a.liquidationThresholdBps,
      liquidationBonusBps: a.liquidationBonusBps,
      reserveFactorBps: a.reserveFactorBps,
      borrowingEnabled: a.borrowingEnabled,
      supplyCap: BigInt(a.supplyCap ?? 0),
      borrowCap: BigInt(a.borrowCap ?? 0),
    })),
  });

  progress('accounts and supplied liquidity');
  const accounts = new Map<string, FundedAccount>();
  for (const [i, spec] of scenario.accounts.entries()) {
    const funded = rest[i]!;
    accounts.set(spec.name, funded);
    for (const [symbol, amount] of Object.entries(spec.holds))
      await mint(symbol, funded.address, toUnits(amount, token(symbol).decimals));
    for (const [symbol, amount] of Object.entries(spec.supplies)) {
      const units = toUnits(amount, token(symbol).decimals);
      await mint(symbol, funded.address, units);
      await send(token(symbol).address, erc20Abi, 'approve', [aave.pool, units], funded);
      await send(aave.pool, poolAbi, 'supply', [token(symbol).address, units, funded.address, 0], funded);
    }
  }
  // Opening borrows come after every supply, so the liquidity they draw on is there.
  for (const spec of scenario.accounts) {
    const funded = accounts.get(spec.name)!;
    if (spec.emode !== undefined)
      await send(aave.pool, poolAbi, 'setUserEMode', [emodeId(spec.emode)], funded);
    for (const [symbol, amount] of Object.entries(spec.borrows)) {
      const units = toUnits(amount, token(symbol).decimals);
      try {
        await send(
          aave.pool,
          poolAbi,
          'borrow',
          [token(symbol).address, units, 2n, 0, funded.address],
          funded,
        );
      } catch (error) {
        throw new Error(
          `account ${spec.name} cannot borrow ${amount} ${symbol} at the start (not enough collateral or liquidity): ${(error as Error).message.split('\n')[0]}`,
        );
      }
    }
  }
  const botAccountMap = new Map<string, FundedAccount[]>();
  let next = scenario.accounts.length;
  for (const bot of scenario.bots) {
    const n = botAccounts(bot);
    botAccountMap.set(bot.name, rest.slice(next, next + n));
    next += n;
  }
  const hub = await deployDrillHub(chain, scenario, { aave, deployer, guardian });
  progress('protocol-owned liquidity and its recovery vault');
  const treasury = await deployDrillTreasury(
    chain,
    scenario,
    { tokens, pools, aave, deployer, account: rest[next] },
    (to, abi, functionName, args) => send(to, abi, functionName, args),
    mint,
    (symbol, amount) => toUnits(amount, token(symbol).decimals),
  );
  // Sanity: every reserve is live before the drill starts.
  for (const t of tokens.values()) {
    await readContract(client, {
      address: aave.pool,
      abi: poolAbi,
      functionName: 'getReserveData',
      args: [t.address],
    });
  }
  return {
    tokens,
    protocolFeeds,
    referenceFeeds,
    pegFeeds,
    vaults,
    twaps,
    pools,
    aave,
    deployer,
    guardian,
    accounts,
    probe,
    botAccounts: botAccountMap,
    population: [],
    extras: await deployDrillExtras(
      chain,
      scenario,
      { tokens, aave, deployer, guardian, accounts },
      progress,
    ),
    flashRunners: await deployFlashRunners(chain, scenario, { accounts, aave }),
    ...(hub ? { hub } : {}),
    ...(treasury ? { treasury } : {}),
  };
}
