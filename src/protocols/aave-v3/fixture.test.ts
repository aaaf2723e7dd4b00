import {
  type Account,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  getAddress,
  keccak256,
  maxUint256,
  toHex,
} from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployArtifact, firebreakArtifact } from '../../chain/artifacts';
import { createEmbeddedChain, type EmbeddedChain } from '../../chain/embedded';
import { isFirebreakError } from '../../common/errors';
import { aaveProtocolDataProviderAbi, aclManagerAbi, aTokenAbi, erc20Abi, variableDebtTokenAbi } from './abi';
import {
  approve,
  borrow,
  type ContractCall,
  encodeCall,
  freezeReserve,
  pausePool,
  pauseReserve,
  repay,
  setLtvZero,
  supply,
  withdraw,
} from './actions';
import { type AaveV3AssetOptions, type AaveV3Market, deployAaveV3Market } from './fixture';
import { readAssetPrice, readReserveConfiguration, readReserveTokens, readUserAccountData } from './reader';

const E18 = 10n ** 18n;
const E6 = 10n ** 6n;
const E8 = 10n ** 8n;

/** The Aave error string a failed call reverted with (Aave v3 reverts with `Error("28")` etc.). */
async function revertReason(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof BaseError)) throw error;
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError) return reverted.reason;
    throw error;
  }
  return undefined;
}

describe('Aave v3 fixture', () => {
  let chain: EmbeddedChain;
  let market: AaveV3Market;
  let assets: AaveV3AssetOptions[];
  let deployMs: number;
  let usdc: Address;
  let weth: Address;
  let curve: Address;

  const deployer = () => chain.accounts[0]!;
  const guardian = () => chain.accounts[1]!;
  const supplier = () => chain.accounts[2]!;
  const borrower = () => chain.accounts[3]!;
  const outsider = () => chain.accounts[4]!;

  /** Sends a built call as `account` and waits for its receipt. */
  const send = async (call: ContractCall, account: Account) => {
    const hash = await chain.client.writeContract({
      address: call.to,
      abi: call.abi,
      functionName: call.functionName,
      args: call.args as readonly unknown[],
      account,
    });
    const receipt = await chain.client.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');
    return receipt;
  };

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 6 });
    const account = deployer().account;
    const token = firebreakArtifact('DrillToken');
    const feed = firebreakArtifact('DrillPriceFeed');
    const deploy = async (symbol: string, decimals: number, price: bigint) => {
      const address = getAddress(
        await deployArtifact(chain.client, token, { account, args: [symbol, symbol, decimals] }),
      );
      const source = await deployArtifact(chain.client, feed, {
        account,
        args: [8, `${symbol} / USD`, price],
      });
      for (const who of [supplier(), borrower(), outsider()]) {
        await chain.client.writeContract({
          address,
          abi: token.abi,
          functionName: 'mint',
          args: [who.address, 1_000_000n * 10n ** BigInt(decimals)],
          account,
        });
      }
      return { address, source };
    };
    const u = await deploy('USDC', 6, 1n * E8);
    const w = await deploy('WETH', 18, 2_000n * E8);
    const c = await deploy('CRV', 18, E8 / 2n);
    usdc = u.address;
    weth = w.address;
    curve = c.address;
    assets = [
      {
        symbol: 'USDC',
        asset: usdc,
        decimals: 6,
        priceSource: u.source,
        ltvBps: 7500,
        liquidationThresholdBps: 8000,
        liquidationBonusBps: 10500,
        reserveFactorBps: 1000,
        borrowingEnabled: true,
        supplyCap: 0n,
        borrowCap: 0n,
      },
      {
        symbol: 'WETH',
        asset: weth,
        decimals: 18,
        priceSource: w.source,
        ltvBps: 8000,
        liquidationThresholdBps: 8250,
        liquidationBonusBps: 10500,
        reserveFactorBps: 1500,
        borrowingEnabled: true,
        supplyCap: 100_000n,
        borrowCap: 50_000n,
        rate: { optimalUsageBps: 8000, baseRateBps: 0, slope1Bps: 380, slope2Bps: 8000 },
      },
      {
        symbol: 'CRV',
        asset: curve,
        decimals: 18,
        priceSource: c.source,
        ltvBps: 3500,
        liquidationThresholdBps: 4100,
        liquidationBonusBps: 10830,
        reserveFactorBps: 3500,
        borrowingEnabled: false,
        supplyCap: 2_000_000n,
        borrowCap: 0n,
        rate: { optimalUsageBps: 7000, baseRateBps: 300, slope1Bps: 1400, slope2Bps: 30000 },
        flashLoanEnabled: false,
      },
    ];
    const started = performance.now();
    market = await deployAaveV3Market(chain.client, { account, guardian: guardian().address, assets });
    deployMs = performance.now() - started;
  });

  afterAll(async () => {
    await chain?.close();
  });

  it('deploys a market in well under a second (logged, not asserted)', async ({ annotate }) => {
    const account = deployer().account;
    const started = performance.now();
    const again = await deployAaveV3Market(chain.client, { account, guardian: guardian().address, assets });
    const secondMs = performance.now() - started;
    const line = `Aave v3 market deploy (3 reserves): first ${deployMs.toFixed(0)} ms, second ${secondMs.toFixed(0)} ms`;
    process.stderr.write(`${line}\n`);
    await annotate(line);
    expect(again.pool).not.toBe(market.pool);
  });

  it('lists every reserve with the configured parameters, prices and tokens', async () => {
    for (const a of assets) {
      const reserve = market.reserves[a.symbol]!;
      expect(reserve).toMatchObject({ symbol: a.symbol, asset: a.asset, decimals: a.decimals });
      expect(await readReserveTokens(chain.client, market.pool, a.asset)).toEqual({
        aToken: reserve.aToken,
        stableDebtToken: reserve.stableDebtToken,
        variableDebtToken: reserve.variableDebtToken,
        interestRateStrategy: reserve.interestRateStrategy,
      });
      const config = await readReserveConfiguration(chain.client, market.pool, a.asset);
      expect(config).toMatchObject({
        ltvBps: a.ltvBps,
        liquidationThresholdBps: a.liquidationThresholdBps,
        liquidationBonusBps: a.liquidationBonusBps,
        decimals: a.decimals,
        isActive: true,
        isFrozen: false,
        isPaused: false,
        borrowingEnabled: a.borrowingEnabled,
        stableBorrowingEnabled: false,
        reserveFactorBps: a.reserveFactorBps,
        supplyCap: a.supplyCap,
        borrowCap: a.borrowCap,
        flashLoanEnabled: a.flashLoanEnabled ?? true,
      });
      const symbol = await chain.client.readContract({
        address: reserve.aToken,
        abi: aTokenAbi,
        functionName: 'symbol',
      });
      expect(symbol).toBe(`a${a.symbol}`);
    }
    expect(await readAssetPrice(chain.client, market.oracle, weth)).toBe(2_000n * E8);
    expect(await readAssetPrice(chain.client, market.oracle, curve)).toBe(E8 / 2n);
    const listed = await chain.client.readContract({
      address: market.dataProvider,
      abi: aaveProtocolDataProviderAbi,
      functionName: 'getAllReservesTokens',
    });
    expect(listed.map((t) => t.symbol)).toEqual(['USDC', 'WETH', 'CRV']);
    // Same curve → one strategy contract; different curves → different ones.
    expect(market.reserves.USDC!.interestRateStrategy).not.toBe(market.reserves.WETH!.interestRateStrategy);
  });

  it('gives the deployer POOL_ADMIN and the guardian EMERGENCY_ADMIN + RISK_ADMIN only', async () => {
    const has = (fn: 'isPoolAdmin' | 'isEmergencyAdmin' | 'isRiskAdmin', who: Address) =>
      chain.client.readContract({
        address: market.aclManager,
        abi: aclManagerAbi,
        functionName: fn,
        args: [who],
      });
    expect(await has('isPoolAdmin', deployer().address)).toBe(true);
    expect(await has('isPoolAdmin', guardian().address)).toBe(false);
    expect(await has('isEmergencyAdmin', guardian().address)).toBe(true);
    expect(await has('isRiskAdmin', guardian().address)).toBe(true);
    expect(await has('isEmergencyAdmin', deployer().address)).toBe(false);
  });

  it('supplies, borrows and reports account data that matches the prices', async () => {
    const s = supplier();
    await send(approve(market, { asset: usdc, amount: maxUint256 }), s.account);
    await send(supply(market, { asset: usdc, amount: 100_000n * E6, onBehalfOf: s.address }), s.account);
    await send(approve(market, { asset: weth, amount: maxUint256 }), s.account);
    await send(supply(market, { asset: weth, amount: 50n * E18, onBehalfOf: s.address }), s.account);

    const b = borrower();
    await send(approve(market, { asset: weth, amount: 10n * E18 }), b.account);
    await send(supply(market, { asset: weth, amount: 10n * E18, onBehalfOf: b.address }), b.account);
    await send(borrow(market, { asset: usdc, amount: 5_000n * E6, onBehalfOf: b.address }), b.account);

    const debt = await chain.client.readContract({
      address: market.reserves.USDC!.variableDebtToken,
      abi: variableDebtTokenAbi,
      functionName: 'balanceOf',
      args: [b.address],
    });
    expect(debt).toBe(5_000n * E6);
    // 10 WETH at $2,000 = $20,000 of collateral; $5,000 of debt; LTV 80%, threshold 82.5%.
    expect(await readUserAccountData(chain.client, market.pool, b.address)).toEqual({
      totalCollateralBase: 20_000n * E8,
      totalDebtBase: 5_000n * E8,
      availableBorrowsBase: (20_000n * E8 * 8000n) / 10_000n - 5_000n * E8,
      currentLiquidationThreshold: 8250n,
      ltv: 8000n,
      healthFactor: (((20_000n * E8 * 8250n) / 10_000n) * E18) / (5_000n * E8),
    });
    // The supplier: $100,000 USDC + 50 WETH ($100,000); weighted LTV (75% and 80%) = 77.5%.
    const supplierData = await readUserAccountData(chain.client, market.pool, s.address);
    expect(supplierData.totalCollateralBase).toBe(200_000n * E8);
    expect(supplierData.totalDebtBase).toBe(0n);
    expect(supplierData.ltv).toBe(7750n);
    expect(supplierData.healthFactor).toBe(maxUint256);
  });

  it('lets the guardian (not pool admin) freeze and zero the LTV; supply then reverts with "28"', async () => {
    const g = guardian();
    const before = await readReserveConfiguration(chain.client, market.pool, weth);
    const borrowerBefore = await readUserAccountData(chain.client, market.pool, borrower().address);

    // Someone without a role gets Aave's "4" (caller not risk or pool admin).
    expect(await revertReason(send(freezeReserve(market, weth), outsider().account))).toBe('4');

    await send(freezeReserve(market, weth), g.account);
    await send(setLtvZero(market, weth, before), g.account);
    const after = await readReserveConfiguration(chain.client, market.pool, weth);
    expect(after).toMatchObject({
      isFrozen: true,
      ltvBps: 0,
      liquidationThresholdBps: before.liquidationThresholdBps,
      liquidationBonusBps: before.liquidationBonusBps,
      isPaused: false,
    });

    const o = outsider();
    await send(approve(market, { asset: weth, amount: E18 }), o.account);
    expect(
      await revertReason(
        send(supply(market, { asset: weth, amount: E18, onBehalfOf: o.address }), o.account),
      ),
    ).toBe('28');
    // No borrowing power from WETH any more, but the position is no nearer liquidation.
    const borrowerAfter = await readUserAccountData(chain.client, market.pool, borrower().address);
    expect(borrowerAfter.ltv).toBe(0n);
    expect(borrowerAfter.availableBorrowsBase).toBe(0n);
    expect(borrowerAfter.currentLiquidationThreshold).toBe(borrowerBefore.currentLiquidationThreshold);
    // Honest users can still leave: repay and withdraw work on a frozen reserve.
    const b = borrower();
    await send(approve(market, { asset: usdc, amount: maxUint256 }), b.account);
    await send(repay(market, { asset: usdc, amount: maxUint256, onBehalfOf: b.address }), b.account);
    await send(withdraw(market, { asset: weth, amount: maxUint256, to: b.address }), b.account);
    const left = await chain.client.readContract({
      address: market.reserves.WETH!.aToken,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [b.address],
    });
    expect(left).toBe(0n);
  });

  it('lets the guardian pause a reserve ("29") and the whole pool; the pool admin cannot pause the pool', async () => {
    const id = await chain.snapshot();
    try {
      const s = supplier();
      await send(pauseReserve(market, usdc), guardian().account);
      expect((await readReserveConfiguration(chain.client, market.pool, usdc)).isPaused).toBe(true);
      expect(
        await revertReason(
          send(supply(market, { asset: usdc, amount: E6, onBehalfOf: s.address }), s.account),
        ),
      ).toBe('29');
      // Other reserves still work.
      await send(approve(market, { asset: curve, amount: E18 }), s.account);
      await send(supply(market, { asset: curve, amount: E18, onBehalfOf: s.address }), s.account);

      expect(await revertReason(send(pausePool(market), deployer().account))).toBe('2');
      await send(pausePool(market), guardian().account);
      for (const asset of [usdc, weth, curve]) {
        expect((await readReserveConfiguration(chain.client, market.pool, asset)).isPaused).toBe(true);
      }
    } finally {
      await chain.revert(id);
    }
  });

  it('reads at a past block', async () => {
    const past = await chain.client.getBlockNumber();
    const id = await chain.snapshot();
    try {
      await send(pauseReserve(market, curve), guardian().account);
      expect((await readReserveConfiguration(chain.client, market.pool, curve)).isPaused).toBe(true);
      expect((await readReserveConfiguration(chain.client, market.pool, curve, past)).isPaused).toBe(false);
    } finally {
      await chain.revert(id);
    }
  });

  it('encodes builder calls into raw transactions', () => {
    const call = freezeReserve(market, weth);
    const { to, data } = encodeCall(call);
    expect(to).toBe(market.poolConfigurator);
    // setReserveFreeze(address,bool)
    expect(data.slice(0, 10)).toBe(keccak256(toHex('setReserveFreeze(address,bool)')).slice(0, 10));
    expect(call.description).toContain('WETH');
  });

  it('refuses invalid options before sending anything', async () => {
    const account = deployer().account;
    const nonce = await chain.client.getTransactionCount({ address: account.address });
    const bad = (patch: Partial<AaveV3AssetOptions>) =>
      deployAaveV3Market(chain.client, {
        account,
        guardian: guardian().address,
        assets: [{ ...assets[0]!, ...patch }],
      }).catch((e: unknown) => e);
    for (const patch of [
      { ltvBps: 9000 },
      { liquidationBonusBps: 10000 },
      { liquidationThresholdBps: 9600, liquidationBonusBps: 10500 },
      { decimals: 18 },
    ]) {
      const error = await bad(patch);
      expect(isFirebreakError(error, 'ERR_DEPLOY_FAILED'), JSON.stringify(patch)).toBe(true);
    }
    expect(await chain.client.getTransactionCount({ address: account.address })).toBe(nonce);
  });
});
