// `liquidity.migrate` on the Inverse Finance drill's real Aave v3 market and real Uniswap v2 pairs,
// once the INV TWAP has been pushed ~56× (the oracle-deviation detector fires at `detection`, its
// subject the market and INV). A treasury holds LP of the manipulated INV/WETH pair, LP of a
// USDC/WETH pair nobody touches, and a USDC supply in the market. The engine withdraws through the
// real UniswapV2Router02 (@uniswap/v2-periphery) and the real Pool straight into a real
// RecoveryVault: (1) an `eoa` treasury, only what the finding exposes (INV/WETH LP and the market's
// USDC supply); (2) a 2-of-3 Safe treasury whose agents meet the threshold, every holding (`scope:
// all`), in one Safe transaction through MultiSendCallOnly; (3) a treasury whose vault is not a
// configured recovery vault is refused before signing, the reason on the timeline (and the config
// check names it at load); (4) a dry run simulates and sends nothing.
import { type Hex, parseGwei, toFunctionSelector } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getTransactionCount, readContract, writeContract } from 'viem/actions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deriveKeys } from '../src/chain/embedded';
import { isFirebreakError } from '../src/common/errors';
import { parseConfig } from '../src/config/load';
import type { FirebreakConfig, FirebreakConfigInput } from '../src/config/schema';
import { mintDrillToken, sendAndConfirm } from '../src/drills/market';
import { erc20Abi, poolAbi } from '../src/protocols/aave-v3/abi';
import { readReserveTokens } from '../src/protocols/aave-v3/reader';
import { deployRecoveryVault } from '../src/protocols/firebreak';
import { uniswapV2PairAbi } from '../src/protocols/uniswap-v2/abi';
import { addLiquidity, createPair } from '../src/protocols/uniswap-v2/fixture';
import { getAmountOut, readPair } from '../src/protocols/uniswap-v2/pool';
import {
  deployUniswapV2Router,
  lpAllowanceSlot,
  planLiquidityWithdrawal,
  uniswapV2LpAbi,
  uniswapV2PeripheryArtifact,
  uniswapV2RouterAbi,
} from '../src/protocols/uniswap-v2/router';
import { exposedTo } from '../src/respond/actions/liquidity';
import { openStore } from '../src/store/store';
import { oracleDeviationConfig } from './support/drill-config';
import {
  actionsOf,
  createSafe,
  deploySafeContracts,
  drillSession,
  type ManipulatedDrill,
  manipulatedDrill,
  type SafeDeployment,
  startEngine,
  timelineOf,
} from './support/respond-drill';
import { waitFor } from './support/wait';

const E18 = 10n ** 18n;
const E6 = 10n ** 6n;
const STRANGER: Hex = '0x000000000000000000000000000000000000bad0';

describe('liquidity.migrate: protocol-owned liquidity into a RecoveryVault', () => {
  let d: ManipulatedDrill;
  let safeContracts: SafeDeployment;
  let router: Hex;
  let vault: Hex;
  let invWeth: Hex;
  let usdcWeth: Hex;
  let safe: Hex;
  // 0: the eoa treasury's key; 1, 2: Firebreak's agent keys on the Safe; 3: a person owning it too.
  const keys = deriveKeys('respond-migration/keys', 4);
  const address = (i: number) => privateKeyToAccount(keys[i]!).address;
  const client = () => d.drill.chain.client;
  const token = (symbol: string) => d.drill.market.tokens.get(symbol)!.address;
  const session = drillSession();
  const { running } = session;
  const balanceOf = (asset: Hex, who: Hex) =>
    readContract(client(), { address: asset, abi: erc20Abi, functionName: 'balanceOf', args: [who] });
  const aUsdc = async () =>
    (await readReserveTokens(client(), d.drill.market.aave.pool, token('USDC'))).aToken;
  const USDC_SUPPLY = 250_000n * E6;

  /** Gives `holder` a share of the INV/WETH LP, fresh USDC/WETH LP, and a USDC supply in the market. */
  const fund = async (holder: Hex) => {
    const { market, chain } = d.drill;
    const deployer = market.deployer;
    const lp = await balanceOf(invWeth, deployer.address);
    await sendAndConfirm(chain, deployer, invWeth, uniswapV2PairAbi, 'transfer', [holder, lp / 4n]);
    await mintDrillToken(chain, deployer, token('USDC'), deployer.address, 100_000n * E6);
    await mintDrillToken(chain, deployer, token('WETH'), deployer.address, 30n * E18);
    await addLiquidity(client(), {
      pair: usdcWeth,
      tokenA: token('USDC'),
      amountA: 100_000n * E6,
      tokenB: token('WETH'),
      amountB: 30n * E18,
      account: deployer.account,
      to: holder,
    });
    await mintDrillToken(chain, deployer, token('USDC'), deployer.address, USDC_SUPPLY);
    await sendAndConfirm(chain, deployer, token('USDC'), erc20Abi, 'approve', [
      market.aave.pool,
      USDC_SUPPLY,
    ]);
    await sendAndConfirm(chain, deployer, market.aave.pool, poolAbi, 'supply', [
      token('USDC'),
      USDC_SUPPLY,
      holder,
      0,
    ]);
  };

  beforeAll(async () => {
    d = await manipulatedDrill();
    const { market, chain } = d.drill;
    const account = market.deployer.account;
    const factory = await readContract(client(), {
      address: market.pools.get('INV-WETH')!,
      abi: uniswapV2PairAbi,
      functionName: 'factory',
    });
    router = (await deployUniswapV2Router(client(), { account, factory })).router;
    vault = await deployRecoveryVault(client(), {
      account,
      governance: market.deployer.address,
      delaySeconds: 2 * 86_400,
    });
    invWeth = market.pools.get('INV-WETH')!;
    usdcWeth = await createPair(client(), { factory, tokenA: token('USDC'), tokenB: token('WETH'), account });
    await mintDrillToken(chain, market.deployer, token('USDC'), market.deployer.address, 1_000_000n * E6);
    await mintDrillToken(chain, market.deployer, token('WETH'), market.deployer.address, 290n * E18);
    await addLiquidity(client(), {
      pair: usdcWeth,
      tokenA: token('USDC'),
      amountA: 1_000_000n * E6,
      tokenB: token('WETH'),
      amountB: 290n * E18,
      account,
      to: market.deployer.address,
    });
    safeContracts = await deploySafeContracts(d);
    safe = await createSafe(d, safeContracts, [address(1), address(2), address(3)], 2, 7n);
    await fund(address(0));
    await fund(safe);
    for (const i of [0, 1, 2]) await chain.setBalance(address(i), 10n ** 20n);
    await session.ready(d);
  }, 120_000);

  beforeEach(session.reset);

  afterAll(session.close);

  const eoaExecutor = (dryRun = false) => ({
    id: 'treasury',
    type: 'eoa' as const,
    chain: 'embedded',
    key: { env: 'TREASURY_KEY' },
    priorityFeeGwei: 2,
    maxFeeGwei: 1000,
    dryRun,
  });
  const safeExecutor = () => ({
    id: 'treasury',
    type: 'safe' as const,
    chain: 'embedded',
    safe,
    multiSend: safeContracts.multiSend,
    keys: [{ env: 'AGENT_KEY_1' }, { env: 'AGENT_KEY_2' }],
    priorityFeeGwei: 2,
    maxFeeGwei: 1000,
  });
  const secrets = () => ({ TREASURY_KEY: keys[0]!, AGENT_KEY_1: keys[1]!, AGENT_KEY_2: keys[2]! });

  /** The drill's oracle-deviation config whose playbook migrates the treasury's liquidity instead. */
  const configInput = (
    executor: ReturnType<typeof eoaExecutor> | ReturnType<typeof safeExecutor>,
    holder: Hex,
    scope?: 'all',
    holdings: { pairs?: Hex[]; aave?: boolean } = {},
  ): FirebreakConfigInput => {
    const base = oracleDeviationConfig(d.scenario, d.drill.market, d.drill.chain.chainId);
    return {
      ...base,
      chains: base.chains.map((c) => ({ ...c, rpc: ['http://embedded.invalid'] })),
      guardrails: { vaults: [{ chain: 'embedded', address: vault }] },
      executors: [executor],
      treasuries: [
        {
          id: 'dao',
          chain: 'embedded',
          holder,
          executor: 'treasury',
          vault,
          uniswapV2: { router, pairs: holdings.pairs ?? [invWeth, usdcWeth], slippageBps: 100 },
          aave: holdings.aave === false ? [] : [{ market: 'drill-market', assets: [token('USDC')] }],
        },
      ],
      playbooks: base.playbooks.map((p) => ({
        ...p,
        do: [{ action: 'liquidity.migrate', executor: 'treasury', ...(scope ? { scope } : {}) }],
      })),
    } as FirebreakConfigInput;
  };
  const parsed = (input: FirebreakConfigInput): FirebreakConfig => {
    // Validated as a file would be (the embedded chain has no URL: a placeholder passes the schema).
    const config = parseConfig(input, 'migration.config.yaml');
    return {
      ...config,
      chains: oracleDeviationConfig(d.scenario, d.drill.market, d.drill.chain.chainId).chains,
    };
  };

  /** What the holder's LP of a pair pays at the pair's current reserves. */
  const lpShare = async (pair: Hex, holder: Hex) => {
    const [state, liquidity, totalSupply] = await Promise.all([
      readPair(client(), pair),
      balanceOf(pair, holder),
      readContract(client(), { address: pair, abi: uniswapV2LpAbi, functionName: 'totalSupply' }),
    ]);
    return {
      liquidity,
      amount0: (liquidity * state.reserve0) / totalSupply,
      amount1: (liquidity * state.reserve1) / totalSupply,
      token0: state.token0,
      token1: state.token1,
    };
  };

  const run = async (config: FirebreakConfig) => {
    const store = await openStore({ memory: true });
    const engine = await startEngine(d, config, store, d.detection, { secrets: secrets() });
    running.push(engine);
    await engine.processedBlock(d.detection);
    return { store, engine };
  };

  it("the router's ABI is the published UniswapV2Router02, and the allowance slot is the pair's", async () => {
    const selectors = (abi: readonly unknown[]) =>
      new Set(
        (abi as { type: string }[])
          .filter((x) => x.type === 'function')
          .map((x) => toFunctionSelector(x as never)),
      );
    const published = selectors(uniswapV2PeripheryArtifact('UniswapV2Router02').abi);
    for (const s of selectors(uniswapV2RouterAbi)) expect(published.has(s)).toBe(true);
    // The argument names the guardrails read (`to`) are the published ones.
    const remove = uniswapV2PeripheryArtifact('UniswapV2Router02').abi.find(
      (x) => x.type === 'function' && x.name === 'removeLiquidity',
    ) as unknown as { inputs: { name: string }[] };
    expect(remove.inputs.map((i) => i.name)).toEqual([
      'tokenA',
      'tokenB',
      'liquidity',
      'amountAMin',
      'amountBMin',
      'to',
      'deadline',
    ]);
    // An approve writes the slot the simulation overrides.
    await d.drill.chain.setAutomine(true);
    await sendAndConfirm(d.drill.chain, d.drill.market.deployer, invWeth, uniswapV2LpAbi, 'approve', [
      router,
      123_456n,
    ]);
    const stored = await client().getStorageAt({
      address: invWeth,
      slot: lpAllowanceSlot(d.drill.market.deployer.address, router),
    });
    expect(BigInt(stored!)).toBe(123_456n);
  });

  it('an eoa treasury: only the holdings the finding exposes move, verified by reading them back', async () => {
    const holder = address(0);
    const inv = await lpShare(invWeth, holder);
    const untouched = await balanceOf(usdcWeth, holder);
    expect(inv.liquidity).toBeGreaterThan(0n);
    expect(untouched).toBeGreaterThan(0n);
    const { store, engine } = await run(parsed(configInput(eoaExecutor(), holder)));
    // approve, removeLiquidity, withdraw: three transactions from the treasury's key, nothing mined yet.
    expect(await getTransactionCount(client(), { address: holder, blockTag: 'pending' })).toBe(3);
    const next = await d.drill.chain.mine();
    await engine.processedBlock(next);
    await engine.engine.settled();

    expect((await actionsOf(store)).map((a) => [a.action, a.status])).toEqual([
      ['liquidity.migrate', 'verified'],
    ]);
    // The INV/WETH LP is burnt to the vault, at the reserves' price (nobody traded in between).
    expect(await balanceOf(invWeth, holder)).toBe(0n);
    expect(await balanceOf(inv.token0, vault)).toBe(inv.amount0);
    expect(await balanceOf(inv.token1, vault)).toBe(inv.amount1);
    expect(
      await readContract(client(), {
        address: invWeth,
        abi: uniswapV2LpAbi,
        functionName: 'allowance',
        args: [holder, router],
      }),
    ).toBe(0n);
    // The market's USDC supply: all of it (no borrows yet: no interest).
    expect(await balanceOf(await aUsdc(), holder)).toBe(0n);
    expect(await balanceOf(token('USDC'), vault)).toBe(USDC_SUPPLY);
    // Not exposed to INV or the market: the USDC/WETH LP stays.
    expect(await balanceOf(usdcWeth, holder)).toBe(untouched);

    const timeline = await timelineOf(store);
    const simulated = timeline.find((e) => e.type === 'simulated')!;
    expect(simulated.summary).toContain(`removeLiquidity`);
    expect(JSON.stringify(simulated.data)).toContain(`recovery vault ${vault}`);
    const verified = timeline.find((e) => e.type === 'effect-verified')!;
    expect(verified.summary).toContain('treasury holds no LP of INV/WETH');
    expect(verified.summary).toContain(`vault ${vault} received at least`);
    await engine.stop();
  }, 60_000);

  it('a 2-of-3 Safe treasury: every holding (scope: all) in one Safe transaction', async () => {
    const inv = await lpShare(invWeth, safe);
    const usdcPair = await lpShare(usdcWeth, safe);
    const { store, engine } = await run(parsed(configInput(safeExecutor(), safe, 'all')));
    // One execTransaction, paid by the first agent key.
    expect(await getTransactionCount(client(), { address: address(1), blockTag: 'pending' })).toBe(1);
    expect(await getTransactionCount(client(), { address: address(2), blockTag: 'pending' })).toBe(0);
    const next = await d.drill.chain.mine();
    await engine.processedBlock(next);
    await engine.engine.settled();

    expect((await actionsOf(store)).map((a) => a.status)).toEqual(['verified']);
    for (const pair of [invWeth, usdcWeth]) expect(await balanceOf(pair, safe)).toBe(0n);
    expect(await balanceOf(await aUsdc(), safe)).toBe(0n);
    const received = new Map<string, bigint>();
    const add = (asset: Hex, amount: bigint) =>
      received.set(asset.toLowerCase(), (received.get(asset.toLowerCase()) ?? 0n) + amount);
    add(inv.token0, inv.amount0);
    add(inv.token1, inv.amount1);
    add(usdcPair.token0, usdcPair.amount0);
    add(usdcPair.token1, usdcPair.amount1);
    add(token('USDC'), USDC_SUPPLY);
    for (const [asset, amount] of received) expect(await balanceOf(asset as Hex, vault)).toBe(amount);
    const mined = (await timelineOf(store)).find((e) => e.type === 'tx-mined')!;
    expect(mined.summary).toMatch(/Safe tx 0x[0-9a-f]{64} \(nonce 0\) executed/);
    await engine.stop();
  }, 60_000);

  it('a destination that is not a configured vault is refused before signing, the reason on the timeline', async () => {
    const holder = address(0);
    const lp = await balanceOf(invWeth, holder);
    // The load check names it first …
    const input = configInput(eoaExecutor(), holder);
    const wrong = {
      ...input,
      treasuries: input.treasuries!.map((t) => ({ ...t, vault: STRANGER })),
    } as FirebreakConfigInput;
    const error = (() => {
      try {
        parseConfig(wrong, 'migration.config.yaml');
      } catch (e) {
        return e;
      }
    })();
    expect(isFirebreakError(error, 'ERR_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/treasuries\[0\]\.vault/);
    expect((error as Error).message).toContain('is not a recovery vault of chain "embedded"');
    // … and a config object given to the engine past that check meets the guardrail.
    const config = parsed(input);
    const { store, engine } = await run({
      ...config,
      treasuries: config.treasuries!.map((t) => ({ ...t, vault: STRANGER })),
    });
    await engine.engine.settled();
    const [action] = await actionsOf(store);
    expect(action).toMatchObject({ action: 'liquidity.migrate', status: 'refused' });
    expect(action!.reason).toMatch(
      new RegExp(
        `would move funds \\(.* INV from INV/WETH pair ${invWeth}\\) to ${STRANGER}, which is not a recovery vault of chain \\d+ \\(configured: ${vault}`,
      ),
    );
    const refused = (await timelineOf(store)).find((e) => e.type === 'action-refused')!;
    expect(refused.summary).toContain('liquidity.migrate refused');
    expect(refused.summary).toContain('not a recovery vault');
    // Nothing signed or sent; nothing moved.
    expect(await getTransactionCount(client(), { address: holder, blockTag: 'pending' })).toBe(0);
    await d.drill.chain.mine();
    expect(await balanceOf(invWeth, holder)).toBe(lp);
    await engine.stop();
  }, 60_000);

  it('a withdrawal that reverts on-chain on slippage (a swap landed first) is planned again at the next block and lands', async () => {
    const holder = address(0);
    const { market, chain } = d.drill;
    const trader = market.deployer;
    const weth = token('WETH');
    await chain.setAutomine(true);
    await mintDrillToken(chain, trader, weth, trader.address, 60n * E18);
    await chain.setAutomine(false);
    const input = configInput(eoaExecutor(), holder, undefined, { pairs: [invWeth], aave: false });
    const { store, engine } = await run(parsed(input));
    // approve and removeLiquidity from the treasury's key, at a 2 gwei tip, waiting in the mempool.
    expect(await getTransactionCount(client(), { address: holder, blockTag: 'pending' })).toBe(2);

    // A trader's swap (a 100 gwei tip, so it is mined first) moves the pair by far more than the
    // withdrawal's 1 % slippage bound: its minimums no longer hold and it reverts.
    const pair = await readPair(client(), invWeth);
    const wethIsToken0 = pair.token0.toLowerCase() === weth.toLowerCase();
    const amountIn = 60n * E18;
    const out = wethIsToken0
      ? getAmountOut(amountIn, pair.reserve0, pair.reserve1)
      : getAmountOut(amountIn, pair.reserve1, pair.reserve0);
    const fees = { maxFeePerGas: parseGwei('500'), maxPriorityFeePerGas: parseGwei('100') };
    const send = (address: Hex, abi: readonly unknown[], functionName: string, args: unknown[]) =>
      writeContract(client(), {
        address,
        abi: abi as never,
        functionName: functionName as never,
        args: args as never,
        account: trader.account,
        chain: client().chain,
        gas: 300_000n,
        ...fees,
      });
    await send(weth, erc20Abi, 'transfer', [invWeth, amountIn]);
    await send(invWeth, uniswapV2PairAbi, 'swap', [
      wethIsToken0 ? 0n : out,
      wethIsToken0 ? out : 0n,
      trader.address,
      '0x',
    ]);
    const reverted = await chain.mine();
    await engine.processedBlock(reverted);
    // The failure clears the playbook's cooldown: the response to the very block it failed in (or
    // the next) plans the withdrawal again, at the reserves the swap left.
    const failed = await waitFor('the on-chain revert on the timeline', 10_000, async () =>
      (await timelineOf(store)).find((e) => e.type === 'effect-failed'),
    );
    expect(failed.summary).toMatch(/reverted on-chain \(block \d+\)/);
    expect(await balanceOf(invWeth, holder)).toBeGreaterThan(0n);
    const vaultBefore = [await balanceOf(pair.token0, vault), await balanceOf(pair.token1, vault)];
    const share = await lpShare(invWeth, holder);
    for (let i = 0; i < 5 && (await actionsOf(store))[0]?.status !== 'verified'; i++) {
      const next = await chain.mine();
      await engine.processedBlock(next);
      await engine.engine.settled();
    }
    expect((await actionsOf(store)).map((a) => [a.action, a.status])).toEqual([
      ['liquidity.migrate', 'verified'],
    ]);
    expect(await balanceOf(invWeth, holder)).toBe(0n);
    expect(await balanceOf(pair.token0, vault)).toBe(vaultBefore[0]! + share.amount0);
    expect(await balanceOf(pair.token1, vault)).toBe(vaultBefore[1]! + share.amount1);
    const timeline = (await timelineOf(store)).map((e) => `${e.type}: ${e.summary}`);
    expect(timeline.filter((t) => t.startsWith('tx-sent')).length).toBe(2);
    await engine.stop();
  }, 60_000);

  it('a finding that exposes none of the holdings moves nothing, and says so', async () => {
    const holder = address(0);
    const lp = await balanceOf(usdcWeth, holder);
    const input = configInput(eoaExecutor(), holder, undefined, { pairs: [usdcWeth], aave: false });
    const { store, engine } = await run(parsed(input));
    await engine.engine.settled();
    const refused = (await timelineOf(store)).find((e) => e.type === 'action-refused')!;
    expect(refused.summary).toMatch(
      new RegExp(
        `could not plan liquidity.migrate: no holding of treasury "dao" is exposed to the finding's subject \\(aave-v3, market ${d.drill.market.aave.addressesProvider}, asset ${d.inv}\\)`,
        'i',
      ),
    );
    expect(await actionsOf(store)).toEqual([]);
    expect(await getTransactionCount(client(), { address: holder, blockTag: 'pending' })).toBe(0);
    expect(await balanceOf(usdcWeth, holder)).toBe(lp);
    await engine.stop();
  }, 60_000);

  it('a partly drained reserve: its cash is withdrawn to the vault, the rest stays a claim', async () => {
    const holder = address(0);
    const { market, chain } = d.drill;
    const aToken = await aUsdc();
    // Someone borrows the USDC reserve down to less cash than the treasury supplied.
    await chain.setAutomine(true);
    const weth = 5_000n * E18;
    await mintDrillToken(chain, market.deployer, token('WETH'), market.deployer.address, weth);
    await sendAndConfirm(chain, market.deployer, token('WETH'), erc20Abi, 'approve', [
      market.aave.pool,
      weth,
    ]);
    await sendAndConfirm(chain, market.deployer, market.aave.pool, poolAbi, 'supply', [
      token('WETH'),
      weth,
      market.deployer.address,
      0,
    ]);
    const cashBefore = await balanceOf(token('USDC'), aToken);
    await sendAndConfirm(chain, market.deployer, market.aave.pool, poolAbi, 'borrow', [
      token('USDC'),
      cashBefore - USDC_SUPPLY / 5n,
      2n,
      0,
      market.deployer.address,
    ]);
    await chain.setAutomine(false);
    const cash = await balanceOf(token('USDC'), aToken);
    expect(cash).toBe(USDC_SUPPLY / 5n);
    const input = configInput(eoaExecutor(), holder, undefined, { pairs: [usdcWeth], aave: true });
    const { store, engine } = await run(parsed(input));
    const next = await d.drill.chain.mine();
    await engine.processedBlock(next);
    await engine.engine.settled();
    expect((await actionsOf(store)).map((a) => a.status)).toEqual(['verified']);
    // All the cash the reserve had; the treasury keeps a claim on the rest.
    expect(await balanceOf(token('USDC'), vault)).toBe(cash);
    expect(await balanceOf(token('USDC'), aToken)).toBe(0n);
    const left = await balanceOf(aToken, holder);
    expect(left).toBeGreaterThanOrEqual(USDC_SUPPLY - cash);
    expect(left).toBeLessThan(USDC_SUPPLY);
    const simulated = (await timelineOf(store)).find((e) => e.type === 'simulated')!;
    expect(simulated.summary).toContain(`Withdraw ${Number(cash) / 1e6} USDC of the treasury's`);
    await engine.stop();
  }, 60_000);

  it('a dry run simulates the migration and sends nothing', async () => {
    const holder = address(0);
    const lp = await balanceOf(invWeth, holder);
    const { store, engine } = await run(parsed(configInput(eoaExecutor(true), holder)));
    await engine.engine.settled();
    const timeline = await timelineOf(store);
    const simulated = timeline.find((e) => e.type === 'simulated')!;
    expect(simulated.summary).toMatch(
      /^simulated Allow router .* \+ Withdraw the treasury's .* LP of INV\/WETH .*: no revert$/,
    );
    expect(timeline.some((e) => e.summary === 'dry run: liquidity.migrate not sent')).toBe(true);
    expect(await getTransactionCount(client(), { address: holder, blockTag: 'pending' })).toBe(0);
    await d.drill.chain.mine();
    expect(await balanceOf(invWeth, holder)).toBe(lp);
    expect(await balanceOf(await aUsdc(), holder)).toBe(USDC_SUPPLY);
    await engine.stop();
  }, 60_000);
});

describe('liquidity.migrate: which holdings a finding exposes', () => {
  const PAIR: Hex = '0x00000000000000000000000000000000000000a1';
  const OTHER_PAIR: Hex = '0x00000000000000000000000000000000000000a2';
  const PROVIDER: Hex = '0x00000000000000000000000000000000000000b1';
  const POOL: Hex = '0x00000000000000000000000000000000000000b2';
  const [INV, WETH, USDC] = ['0xc1', '0xc2', '0xc3'].map(
    (x) => `0x${x.slice(2).padStart(40, '0')}` as Hex,
  ) as [Hex, Hex, Hex];
  const lp = (pair: Hex, token0: Hex, token1: Hex) => ({ kind: 'lp' as const, pair, token0, token1 });
  const supply = (asset: Hex) => ({ kind: 'aave' as const, addressesProvider: PROVIDER, pool: POOL, asset });

  it('a pool finding exposes only the LP of that pair', () => {
    const subject = { protocol: 'uniswap-v2', market: PAIR, asset: WETH };
    expect(exposedTo(subject, lp(PAIR, INV, WETH))).toBe(true);
    expect(exposedTo(subject, lp(OTHER_PAIR, USDC, WETH))).toBe(false);
    expect(exposedTo(subject, supply(WETH))).toBe(false);
  });

  it("a market finding exposes the market's supplies and the pairs trading its asset", () => {
    const subject = { protocol: 'aave-v3', market: PROVIDER, asset: INV };
    expect(exposedTo(subject, supply(USDC))).toBe(true);
    expect(exposedTo(subject, lp(PAIR, INV, WETH))).toBe(true);
    expect(exposedTo(subject, lp(OTHER_PAIR, USDC, WETH))).toBe(false);
    // Another market, another asset: not exposed; the same asset elsewhere is.
    const elsewhere = { protocol: 'aave-v3', market: OTHER_PAIR, asset: USDC };
    expect(exposedTo(elsewhere, supply(WETH))).toBe(false);
    expect(exposedTo(elsewhere, supply(USDC))).toBe(true);
  });

  it("withdrawal minimums are the reserves' share less the slippage bound", () => {
    const w = planLiquidityWithdrawal({
      liquidity: 25n,
      totalSupply: 100n,
      reserve0: 1003n,
      reserve1: 40n,
      slippageBps: 100,
    });
    expect(w).toEqual({ amount0: 250n, amount1: 10n, amount0Min: 247n, amount1Min: 9n });
    expect(() =>
      planLiquidityWithdrawal({ liquidity: 0n, totalSupply: 1n, reserve0: 1n, reserve1: 1n, slippageBps: 0 }),
    ).toThrow(/liquidity > 0/);
    expect(() =>
      planLiquidityWithdrawal({ liquidity: 2n, totalSupply: 1n, reserve0: 1n, reserve1: 1n, slippageBps: 0 }),
    ).toThrow(/exceeds/);
  });
});

describe('treasuries: the config names what a migration may touch', () => {
  const A = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;
  const base = (treasury: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    chains: [
      { id: 1, name: 'mainnet', rpc: ['http://mainnet.invalid'] },
      { id: 10, name: 'optimism', rpc: ['http://optimism.invalid'] },
    ],
    markets: [{ id: 'op-market', chain: 'optimism', protocol: 'aave-v3', addressesProvider: A(0xa0) }],
    guardrails: { vaults: [{ chain: 'mainnet', address: A(0xfa17) }] },
    executors: [
      { id: 'treasury-safe', type: 'safe', chain: 'mainnet', safe: A(0x5afe), keys: [{ env: 'K1' }] },
      { id: 'hub', type: 'guardian-hub', chain: 'mainnet', hub: A(0x4b), key: { env: 'K2' } },
    ],
    treasuries: [
      {
        id: 'dao',
        chain: 'mainnet',
        holder: A(0x5afe),
        executor: 'treasury-safe',
        vault: A(0xfa17),
        uniswapV2: { router: A(0x7a), pairs: [A(0x9a)] },
        ...treasury,
      },
    ],
    ...extra,
  });
  const problems = (input: unknown) => {
    try {
      parseConfig(input, 'treasury.yaml');
      return '';
    } catch (error) {
      expect(isFirebreakError(error, 'ERR_CONFIG_INVALID')).toBe(true);
      return (error as Error).message;
    }
  };

  it('accepts a Safe treasury whose vault is a configured recovery vault', () => {
    const config = parseConfig(base({}), 'treasury.yaml');
    expect(config.treasuries?.[0]).toMatchObject({
      holder: A(0x5afe),
      uniswapV2: { slippageBps: 100, deadlineSeconds: 1800 },
      aave: [],
    });
  });

  it('names every wrong reference', () => {
    expect(problems(base({ holder: A(0xbad) }))).toMatch(/holder 0x0+bad is not the Safe 0x0+5afe/);
    expect(problems(base({ executor: 'hub' }))).toMatch(
      /is a guardian-hub executor: it cannot act for a treasury/,
    );
    expect(problems(base({ executor: 'nobody' }))).toMatch(/unknown executor "nobody"/);
    expect(problems(base({ aave: [{ market: 'op-market', assets: [A(1)] }] }))).toMatch(
      /market "op-market" is on chain "optimism", the treasury on "mainnet"/,
    );
    expect(problems(base({ uniswapV2: undefined }))).toMatch(/declare at least one holding/);
    const step = {
      playbooks: [{ id: 'p', when: {}, do: [{ action: 'liquidity.migrate', executor: 'hub' }] }],
    };
    expect(problems(base({}, step))).toMatch(/liquidity.migrate through "hub", which acts for no treasury/);
  });
});
