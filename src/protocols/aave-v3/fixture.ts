/**
 * Protocols / Aave v3 — drill fixture: deploys a real Aave v3 market (the `@aave/core-v3`
 * artifacts, unmodified) on a local chain and lists reserves on it, with the roles a drill needs:
 * the deployer is ACL admin and pool admin, the guardian is EMERGENCY_ADMIN and RISK_ADMIN.
 *
 * Fast by construction: transactions carry explicit nonces, gas and fees (no estimate, no
 * per-transaction round trips), contract addresses are known from the nonce before the receipt,
 * and receipts are collected in batches and checked, so every transaction's success is verified.
 * The chain must mine (automine on, as `createEmbeddedChain` starts).
 */
import {
  type Abi,
  type Account,
  type Address,
  type Client,
  type ContractFunctionArgs,
  type ContractFunctionName,
  getAddress,
  getContractAddress,
  type Hash,
  type Hex,
  zeroAddress,
} from 'viem';
import {
  deployContract,
  getBlock,
  getTransactionCount,
  getTransactionReceipt,
  readContract,
  waitForTransactionReceipt,
  writeContract,
} from 'viem/actions';
import { type Artifact, linkBytecode, packageArtifact } from '../../chain/artifacts';
import { FirebreakError } from '../../common/errors';
import {
  aaveOracleAbi,
  aclManagerAbi,
  erc20Abi,
  poolAbi,
  poolAddressesProviderAbi,
  poolConfiguratorAbi,
} from './abi';
import type { AaveV3Market, AaveV3Reserve } from './types';

export type { AaveV3Market, AaveV3Reserve } from './types';

const ROOT = '@aave/core-v3/artifacts/contracts';
const ARTIFACTS = {
  PoolAddressesProvider: `${ROOT}/protocol/configuration/PoolAddressesProvider.sol/PoolAddressesProvider.json`,
  ACLManager: `${ROOT}/protocol/configuration/ACLManager.sol/ACLManager.json`,
  BorrowLogic: `${ROOT}/protocol/libraries/logic/BorrowLogic.sol/BorrowLogic.json`,
  BridgeLogic: `${ROOT}/protocol/libraries/logic/BridgeLogic.sol/BridgeLogic.json`,
  EModeLogic: `${ROOT}/protocol/libraries/logic/EModeLogic.sol/EModeLogic.json`,
  FlashLoanLogic: `${ROOT}/protocol/libraries/logic/FlashLoanLogic.sol/FlashLoanLogic.json`,
  LiquidationLogic: `${ROOT}/protocol/libraries/logic/LiquidationLogic.sol/LiquidationLogic.json`,
  PoolLogic: `${ROOT}/protocol/libraries/logic/PoolLogic.sol/PoolLogic.json`,
  SupplyLogic: `${ROOT}/protocol/libraries/logic/SupplyLogic.sol/SupplyLogic.json`,
  ConfiguratorLogic: `${ROOT}/protocol/libraries/logic/ConfiguratorLogic.sol/ConfiguratorLogic.json`,
  Pool: `${ROOT}/protocol/pool/Pool.sol/Pool.json`,
  PoolConfigurator: `${ROOT}/protocol/pool/PoolConfigurator.sol/PoolConfigurator.json`,
  AaveOracle: `${ROOT}/misc/AaveOracle.sol/AaveOracle.json`,
  AaveProtocolDataProvider: `${ROOT}/misc/AaveProtocolDataProvider.sol/AaveProtocolDataProvider.json`,
  AToken: `${ROOT}/protocol/tokenization/AToken.sol/AToken.json`,
  StableDebtToken: `${ROOT}/protocol/tokenization/StableDebtToken.sol/StableDebtToken.json`,
  VariableDebtToken: `${ROOT}/protocol/tokenization/VariableDebtToken.sol/VariableDebtToken.json`,
  DefaultReserveInterestRateStrategy: `${ROOT}/protocol/pool/DefaultReserveInterestRateStrategy.sol/DefaultReserveInterestRateStrategy.json`,
} as const;

const artifact = (name: keyof typeof ARTIFACTS): Artifact => packageArtifact(ARTIFACTS[name]);

/** Percentage factor of Aave's basis points (100.00%). */
const BPS = 10_000;
/** `ReserveConfiguration.MAX_VALID_SUPPLY_CAP` / `MAX_VALID_BORROW_CAP`, whole tokens. */
const MAX_CAP = 68_719_476_735n;
/** Rates are rays (1e27); one basis point is 1e23. */
const RAY_PER_BPS = 10n ** 23n;
/** AaveOracle base currency: USD (address 0) with 8 decimals, as Aave v3 mainnet markets. */
export const AAVE_BASE_CURRENCY_UNIT = 10n ** 8n;

/**
 * Gas limits, explicit so nothing is estimated: about twice the most each kind of step used on the
 * embedded chain (largest deploy, PoolConfigurator ≈ 5.25M; largest call, `setPoolImpl` ≈ 0.65M;
 * `initReserves` ≈ 2.3M per reserve, so reserves are listed a few per transaction to stay far
 * below block gas limits).
 */
const GAS = { deploy: 12_000_000n, call: 2_000_000n, initReservePerAsset: 4_000_000n } as const;
const RESERVES_PER_INIT = 3;

/** A variable-rate curve in basis points per year (Aave's `DefaultReserveInterestRateStrategy`). */
export interface RateStrategyBps {
  optimalUsageBps: number;
  baseRateBps: number;
  slope1Bps: number;
  slope2Bps: number;
}

/** The curve used when an asset gives none: 80% optimal usage, 0% + 4% + 60% (a stablecoin's). */
export const DEFAULT_RATE_STRATEGY: RateStrategyBps = {
  optimalUsageBps: 8000,
  baseRateBps: 0,
  slope1Bps: 400,
  slope2Bps: 6000,
};

/** One reserve to list. */
export interface AaveV3AssetOptions {
  symbol: string;
  /** The underlying ERC-20; its `decimals()` must equal `decimals`. */
  asset: Address;
  decimals: number;
  /** Any feed with `latestAnswer()` in USD with 8 decimals (Chainlink, DrillPriceFeed, a TWAP). */
  priceSource: Address;
  ltvBps: number;
  /** 0 lists the asset as non-collateral (then `ltvBps` must be 0 too). */
  liquidationThresholdBps: number;
  /** Includes the principal: 10500 = a 5% bonus. Must exceed 10000 for collateral. */
  liquidationBonusBps: number;
  reserveFactorBps: number;
  borrowingEnabled: boolean;
  /** Whole tokens; 0 = no cap. */
  supplyCap: bigint;
  /** Whole tokens; 0 = no cap. */
  borrowCap: bigint;
  rate?: RateStrategyBps;
  /** Enable flash loans of this asset (default true, as on mainnet). */
  flashLoanEnabled?: boolean;
  /** The e-mode category the asset belongs to (one of `eModeCategories`); 0 or absent = none. */
  eModeCategory?: number;
}

/**
 * An e-mode category (`PoolConfigurator.setEModeCategory`). Its liquidation threshold must exceed
 * that of every asset put in it; `ltvBps ≤ liquidationThresholdBps`; the bonus includes the
 * principal. `priceSource`, when given, is an asset address the AaveOracle prices (every asset of
 * the category is then valued at that price for users in the category); default: none.
 */
export interface AaveV3EModeCategoryOptions {
  id: number;
  label: string;
  ltvBps: number;
  liquidationThresholdBps: number;
  liquidationBonusBps: number;
  priceSource?: Address;
}

export interface AaveV3MarketOptions {
  /** Deploys everything; becomes owner of the PoolAddressesProvider, ACL admin and POOL_ADMIN. */
  account: Account;
  /** Gets EMERGENCY_ADMIN and RISK_ADMIN: may pause, freeze and change risk parameters. */
  guardian: Address;
  assets: readonly AaveV3AssetOptions[];
  /** Defaults to "Firebreak Drill Market". */
  marketId?: string;
  /** Receives reserve-factor income (aToken treasury). Defaults to the deployer. */
  treasury?: Address;
  /** E-mode categories to create (ids 1..255); assets join one with `eModeCategory`. */
  eModeCategories?: readonly AaveV3EModeCategoryOptions[];
}

/**
 * Deploys an Aave v3 market and lists `assets` on it, in this order: PoolAddressesProvider and
 * ACL admin → ACLManager and roles → logic libraries → Pool (impl, `initialize`, `setPoolImpl`,
 * proxy) → PoolConfigurator (same) → AaveOracle → AaveProtocolDataProvider → token
 * implementations and rate strategies → `initReserves` → collateral parameters, borrowing,
 * reserve factor, caps, flash loans. Throws `ERR_DEPLOY_FAILED` naming the step that failed.
 *
 * @example
 * const market = await deployAaveV3Market(chain.client, { account, guardian, assets: [usdc, weth] });
 * market.reserves.USDC.aToken;
 */
export async function deployAaveV3Market(
  client: Client,
  options: AaveV3MarketOptions,
): Promise<AaveV3Market> {
  validateOptions(options);
  const { account, guardian, assets } = options;
  await checkDecimals(client, assets);
  const tx = await createSender(client, account);

  // Addresses provider and access control.
  const provider = await tx.deploy('PoolAddressesProvider', artifact('PoolAddressesProvider'), [
    options.marketId ?? 'Firebreak Drill Market',
    account.address,
  ]);
  await tx.call('setACLAdmin', provider, poolAddressesProviderAbi, 'setACLAdmin', [account.address]);
  const aclManager = await tx.deploy('ACLManager', artifact('ACLManager'), [provider]);
  await tx.call('setACLManager', provider, poolAddressesProviderAbi, 'setACLManager', [aclManager]);
  await tx.call('addPoolAdmin', aclManager, aclManagerAbi, 'addPoolAdmin', [account.address]);
  await tx.call('addEmergencyAdmin', aclManager, aclManagerAbi, 'addEmergencyAdmin', [guardian]);
  await tx.call('addRiskAdmin', aclManager, aclManagerAbi, 'addRiskAdmin', [guardian]);

  // Logic libraries: FlashLoanLogic links BorrowLogic.
  const libraries: Record<string, Address> = {};
  for (const name of [
    'BorrowLogic',
    'BridgeLogic',
    'EModeLogic',
    'LiquidationLogic',
    'PoolLogic',
    'SupplyLogic',
  ] as const) {
    libraries[name] = await tx.deploy(name, artifact(name), []);
  }
  libraries.FlashLoanLogic = await tx.deploy('FlashLoanLogic', artifact('FlashLoanLogic'), [], libraries);
  const configuratorLogic = await tx.deploy('ConfiguratorLogic', artifact('ConfiguratorLogic'), []);

  // Pool and PoolConfigurator: implementation, initialize (locks the implementation), proxy.
  const poolImpl = await tx.deploy('Pool implementation', artifact('Pool'), [provider], libraries);
  await tx.call('Pool.initialize', poolImpl, poolAbi, 'initialize', [provider]);
  await tx.call('setPoolImpl', provider, poolAddressesProviderAbi, 'setPoolImpl', [poolImpl]);
  const configuratorLibraries = { ConfiguratorLogic: configuratorLogic };
  const configuratorImpl = await tx.deploy(
    'PoolConfigurator implementation',
    artifact('PoolConfigurator'),
    [],
    configuratorLibraries,
  );
  await tx.call('PoolConfigurator.initialize', configuratorImpl, poolConfiguratorAbi, 'initialize', [
    provider,
  ]);
  await tx.call('setPoolConfiguratorImpl', provider, poolAddressesProviderAbi, 'setPoolConfiguratorImpl', [
    configuratorImpl,
  ]);

  // Oracle (USD, 8 decimals) and data provider.
  const oracle = await tx.deploy('AaveOracle', artifact('AaveOracle'), [
    provider,
    assets.map((a) => a.asset),
    assets.map((a) => a.priceSource),
    zeroAddress,
    zeroAddress,
    AAVE_BASE_CURRENCY_UNIT,
  ]);
  await tx.call('setPriceOracle', provider, poolAddressesProviderAbi, 'setPriceOracle', [oracle]);
  const dataProvider = await tx.deploy('AaveProtocolDataProvider', artifact('AaveProtocolDataProvider'), [
    provider,
  ]);
  await tx.call('setPoolDataProvider', provider, poolAddressesProviderAbi, 'setPoolDataProvider', [
    dataProvider,
  ]);

  await tx.flush();
  const [pool, poolConfigurator] = await Promise.all([
    readContract(client, { address: provider, abi: poolAddressesProviderAbi, functionName: 'getPool' }),
    readContract(client, {
      address: provider,
      abi: poolAddressesProviderAbi,
      functionName: 'getPoolConfigurator',
    }),
  ]);

  const reserves = await addReserves(client, tx, { provider, pool, poolConfigurator }, assets, {
    treasury: options.treasury ?? account.address,
    eModeCategories: options.eModeCategories ?? [],
  });
  return { addressesProvider: provider, pool, poolConfigurator, aclManager, oracle, dataProvider, reserves };
}

/**
 * Lists `assets` on a deployed market (their oracle sources already set): token implementations,
 * one rate strategy per distinct curve, `initReserves`, collateral parameters, borrowing, reserve
 * factor, caps, flash loans, e-mode categories and members; flushed and read back.
 */
async function addReserves(
  client: Client,
  tx: Sender,
  market: { provider: Address; pool: Address; poolConfigurator: Address },
  assets: readonly AaveV3AssetOptions[],
  options: { treasury: Address; eModeCategories: readonly AaveV3EModeCategoryOptions[] },
): Promise<Record<string, AaveV3Reserve>> {
  const { provider, pool, poolConfigurator } = market;
  // Token implementations (bound to the pool proxy) and one rate strategy per distinct curve.
  const aTokenImpl = await tx.deploy('AToken implementation', artifact('AToken'), [pool]);
  const stableDebtImpl = await tx.deploy('StableDebtToken implementation', artifact('StableDebtToken'), [
    pool,
  ]);
  const variableDebtImpl = await tx.deploy(
    'VariableDebtToken implementation',
    artifact('VariableDebtToken'),
    [pool],
  );
  const strategies = new Map<string, Address>();
  for (const a of assets) {
    const rate = a.rate ?? DEFAULT_RATE_STRATEGY;
    const key = `${rate.optimalUsageBps}/${rate.baseRateBps}/${rate.slope1Bps}/${rate.slope2Bps}`;
    if (strategies.has(key)) continue;
    const ray = (bps: number) => BigInt(bps) * RAY_PER_BPS;
    strategies.set(
      key,
      await tx.deploy(`rate strategy ${key}`, artifact('DefaultReserveInterestRateStrategy'), [
        provider,
        ray(rate.optimalUsageBps),
        ray(rate.baseRateBps),
        ray(rate.slope1Bps),
        ray(rate.slope2Bps),
        0n, // stable rate: disabled on every reserve
        0n,
        0n,
        0n,
        0n,
      ]),
    );
  }
  const strategyOf = (a: AaveV3AssetOptions) => {
    const rate = a.rate ?? DEFAULT_RATE_STRATEGY;
    return strategies.get(`${rate.optimalUsageBps}/${rate.baseRateBps}/${rate.slope1Bps}/${rate.slope2Bps}`)!;
  };

  // List the reserves, then set their parameters (the guardian could too; the pool admin does).
  const { treasury } = options;
  const inputs = assets.map((a) => ({
    aTokenImpl,
    stableDebtTokenImpl: stableDebtImpl,
    variableDebtTokenImpl: variableDebtImpl,
    underlyingAssetDecimals: a.decimals,
    interestRateStrategyAddress: strategyOf(a),
    underlyingAsset: a.asset,
    treasury,
    incentivesController: zeroAddress,
    aTokenName: `Aave Drill ${a.symbol}`,
    aTokenSymbol: `a${a.symbol}`,
    variableDebtTokenName: `Aave Drill Variable Debt ${a.symbol}`,
    variableDebtTokenSymbol: `variableDebt${a.symbol}`,
    stableDebtTokenName: `Aave Drill Stable Debt ${a.symbol}`,
    stableDebtTokenSymbol: `stableDebt${a.symbol}`,
    params: '0x' as const,
  }));
  for (let i = 0; i < inputs.length; i += RESERVES_PER_INIT) {
    const batch = inputs.slice(i, i + RESERVES_PER_INIT);
    const symbols = assets.slice(i, i + RESERVES_PER_INIT).map((a) => a.symbol);
    await tx.call(
      `initReserves(${symbols.join(', ')})`,
      poolConfigurator,
      poolConfiguratorAbi,
      'initReserves',
      [batch],
      GAS.initReservePerAsset * BigInt(batch.length),
    );
  }
  for (const a of assets) {
    const at = `${a.symbol}: `;
    if (a.liquidationThresholdBps > 0) {
      await tx.call(
        `${at}configureReserveAsCollateral`,
        poolConfigurator,
        poolConfiguratorAbi,
        'configureReserveAsCollateral',
        [a.asset, BigInt(a.ltvBps), BigInt(a.liquidationThresholdBps), BigInt(a.liquidationBonusBps)],
      );
    }
    if (a.borrowingEnabled) {
      await tx.call(
        `${at}setReserveBorrowing`,
        poolConfigurator,
        poolConfiguratorAbi,
        'setReserveBorrowing',
        [a.asset, true],
      );
    }
    if (a.reserveFactorBps > 0) {
      await tx.call(`${at}setReserveFactor`, poolConfigurator, poolConfiguratorAbi, 'setReserveFactor', [
        a.asset,
        BigInt(a.reserveFactorBps),
      ]);
    }
    if (a.supplyCap > 0n) {
      await tx.call(`${at}setSupplyCap`, poolConfigurator, poolConfiguratorAbi, 'setSupplyCap', [
        a.asset,
        a.supplyCap,
      ]);
    }
    if (a.borrowCap > 0n) {
      await tx.call(`${at}setBorrowCap`, poolConfigurator, poolConfiguratorAbi, 'setBorrowCap', [
        a.asset,
        a.borrowCap,
      ]);
    }
    if (a.flashLoanEnabled ?? true) {
      await tx.call(
        `${at}setReserveFlashLoaning`,
        poolConfigurator,
        poolConfiguratorAbi,
        'setReserveFlashLoaning',
        [a.asset, true],
      );
    }
  }
  for (const e of options.eModeCategories) {
    await tx.call(
      `e-mode ${e.id}: setEModeCategory`,
      poolConfigurator,
      poolConfiguratorAbi,
      'setEModeCategory',
      [
        e.id,
        e.ltvBps,
        e.liquidationThresholdBps,
        e.liquidationBonusBps,
        e.priceSource ?? zeroAddress,
        e.label,
      ],
    );
  }
  for (const a of assets) {
    if (!a.eModeCategory) continue;
    await tx.call(
      `${a.symbol}: setAssetEModeCategory`,
      poolConfigurator,
      poolConfiguratorAbi,
      'setAssetEModeCategory',
      [a.asset, a.eModeCategory],
    );
  }
  await tx.flush();

  const reserves: Record<string, AaveV3Reserve> = {};
  const data = await Promise.all(
    assets.map((a) =>
      readContract(client, { address: pool, abi: poolAbi, functionName: 'getReserveData', args: [a.asset] }),
    ),
  );
  assets.forEach((a, i) => {
    const d = data[i]!;
    reserves[a.symbol] = {
      symbol: a.symbol,
      asset: getAddress(a.asset),
      decimals: a.decimals,
      aToken: d.aTokenAddress,
      variableDebtToken: d.variableDebtTokenAddress,
      stableDebtToken: d.stableDebtTokenAddress,
      interestRateStrategy: d.interestRateStrategyAddress,
    };
  });
  return reserves;
}

/**
 * Lists more reserves on a market already deployed by `deployAaveV3Market` (a governance listing):
 * sets their oracle sources, then lists and configures them as the deploy does. `account` must be
 * the market's pool admin (its deployer). Returns the new reserves by symbol.
 *
 * @example
 * const { GOV } = await listAaveV3Reserves(chain.client, market, { account, assets: [gov] });
 */
export async function listAaveV3Reserves(
  client: Client,
  market: Pick<AaveV3Market, 'addressesProvider' | 'pool' | 'poolConfigurator' | 'oracle'>,
  options: { account: Account; assets: readonly AaveV3AssetOptions[]; treasury?: Address },
): Promise<Record<string, AaveV3Reserve>> {
  const { account, assets } = options;
  await checkDecimals(client, assets);
  const tx = await createSender(client, account);
  await tx.call('setAssetSources', market.oracle, aaveOracleAbi, 'setAssetSources', [
    assets.map((a) => a.asset),
    assets.map((a) => a.priceSource),
  ]);
  return addReserves(
    client,
    tx,
    { provider: market.addressesProvider, pool: market.pool, poolConfigurator: market.poolConfigurator },
    assets,
    { treasury: options.treasury ?? account.address, eModeCategories: [] },
  );
}

// ---- Sending ----

interface Sender {
  /** Sends a deployment; returns the address it will have (from the sender's nonce). */
  deploy(
    label: string,
    artifact: Artifact,
    args: readonly unknown[],
    libraries?: Record<string, Hex>,
  ): Promise<Address>;
  call<const TAbi extends Abi, TName extends ContractFunctionName<TAbi, 'nonpayable'>>(
    label: string,
    to: Address,
    abi: TAbi,
    functionName: TName,
    args: ContractFunctionArgs<TAbi, 'nonpayable', TName>,
    gas?: bigint,
  ): Promise<Hash>;
  /** Collects the receipts of everything sent since the last flush; throws on the first failure. */
  flush(): Promise<void>;
}

/**
 * Sends transactions from one account with locally tracked nonces, fixed gas and fees taken once,
 * so each costs a signature and one RPC call. Receipts are checked at `flush`.
 */
async function createSender(client: Client, account: Account): Promise<Sender> {
  const [startNonce, block] = await Promise.all([
    getTransactionCount(client, { address: account.address, blockTag: 'pending' }),
    getBlock(client, { blockTag: 'latest' }),
  ]);
  let nonce = startNonce;
  const baseFee = block.baseFeePerGas ?? 1_000_000_000n;
  // Base fee falls while blocks stay under half full (each of ours is one transaction); doubling it
  // plus the tip is headroom for the rest of the deploy.
  const maxPriorityFeePerGas = 1_000_000_000n;
  const maxFeePerGas = baseFee * 2n + maxPriorityFeePerGas;
  const gasCap = (block.gasLimit * 9n) / 10n;
  const capGas = (gas: bigint) => (gas < gasCap ? gas : gasCap);
  const common = { account, chain: client.chain, maxFeePerGas, maxPriorityFeePerGas };
  let pending: { label: string; hash: Hash; address?: Address }[] = [];

  const fail = (label: string, error: unknown): never => {
    throw new FirebreakError(
      'ERR_DEPLOY_FAILED',
      `Aave v3 market deploy: ${label} failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error, details: { step: label } },
    );
  };

  return {
    async deploy(label, art, args, libraries) {
      const address = getContractAddress({ from: account.address, nonce: BigInt(nonce) });
      try {
        const hash = await deployContract(client, {
          ...common,
          abi: art.abi,
          bytecode: libraries ? linkBytecode(art, libraries) : art.bytecode,
          args: args as unknown[],
          gas: capGas(GAS.deploy),
          nonce,
        });
        pending.push({ label, hash, address });
      } catch (error) {
        fail(label, error);
      }
      nonce += 1;
      return address;
    },
    async call(label, to, abi, functionName, args, gas = GAS.call) {
      let hash: Hash | undefined;
      try {
        hash = await writeContract(client, {
          ...common,
          address: to,
          abi: abi as Abi,
          functionName: functionName as string,
          args: args as readonly unknown[],
          gas: capGas(gas),
          nonce,
        });
        pending.push({ label, hash });
      } catch (error) {
        fail(label, error);
      }
      nonce += 1;
      return hash!;
    },
    async flush() {
      const batch = pending;
      pending = [];
      const receipts = await Promise.all(
        batch.map(({ hash }) =>
          getTransactionReceipt(client, { hash }).catch(() =>
            waitForTransactionReceipt(client, { hash, timeout: 30_000 }),
          ),
        ),
      ).catch((error: unknown) => fail('waiting for receipts (is the chain mining?)', error));
      batch.forEach((sent, i) => {
        const receipt = receipts[i]!;
        if (receipt.status !== 'success') fail(sent.label, new Error(`transaction ${sent.hash} reverted`));
        if (sent.address && receipt.contractAddress?.toLowerCase() !== sent.address.toLowerCase()) {
          fail(sent.label, new Error(`deployed at ${receipt.contractAddress}, expected ${sent.address}`));
        }
      });
    },
  };
}

// ---- Checks before sending anything ----

function validateOptions(options: AaveV3MarketOptions): void {
  const problems: string[] = [];
  if (options.assets.length === 0) problems.push('no assets to list');
  const symbols = new Set<string>();
  const addresses = new Set<string>();
  for (const a of options.assets) {
    const at = `${a.symbol}:`;
    if (symbols.has(a.symbol)) problems.push(`${at} symbol listed twice`);
    if (addresses.has(a.asset.toLowerCase())) problems.push(`${at} asset ${a.asset} listed twice`);
    symbols.add(a.symbol);
    addresses.add(a.asset.toLowerCase());
    const bps = {
      ltvBps: a.ltvBps,
      liquidationThresholdBps: a.liquidationThresholdBps,
      reserveFactorBps: a.reserveFactorBps,
    };
    for (const [name, value] of Object.entries(bps)) {
      if (!Number.isInteger(value) || value < 0 || value > BPS) {
        problems.push(`${at} ${name} ${value} not in 0..${BPS}`);
      }
    }
    if (!Number.isInteger(a.decimals) || a.decimals < 0 || a.decimals > 255) {
      problems.push(`${at} decimals ${a.decimals} not in 0..255`);
    }
    if (a.ltvBps > a.liquidationThresholdBps) problems.push(`${at} ltvBps exceeds liquidationThresholdBps`);
    if (a.liquidationThresholdBps > 0) {
      if (!Number.isInteger(a.liquidationBonusBps) || a.liquidationBonusBps <= BPS) {
        problems.push(`${at} liquidationBonusBps must exceed ${BPS} (it includes the principal: 10500 = 5%)`);
      } else if (Math.floor((a.liquidationThresholdBps * a.liquidationBonusBps + BPS / 2) / BPS) > BPS) {
        problems.push(`${at} liquidationThreshold × liquidationBonus exceeds 100%`);
      }
    }
    for (const [name, cap] of [
      ['supplyCap', a.supplyCap],
      ['borrowCap', a.borrowCap],
    ] as const) {
      if (cap < 0n || cap > MAX_CAP) problems.push(`${at} ${name} ${cap} not in 0..${MAX_CAP} whole tokens`);
    }
    const rate = a.rate ?? DEFAULT_RATE_STRATEGY;
    if (Object.values(rate).some((v) => !Number.isInteger(v) || v < 0)) {
      problems.push(`${at} rate values must be whole, non-negative bps`);
    }
    if (rate.optimalUsageBps > BPS) problems.push(`${at} optimalUsageBps above ${BPS}`);
  }
  validateEModes(options, problems);
  if (problems.length > 0) {
    throw new FirebreakError(
      'ERR_DEPLOY_FAILED',
      `Aave v3 market options are invalid: ${problems.join('; ')}`,
      {
        details: { problems },
      },
    );
  }
}

/** E-mode categories: the checks `PoolConfigurator.setEModeCategory`/`setAssetEModeCategory` make. */
function validateEModes(options: AaveV3MarketOptions, problems: string[]): void {
  const ids = new Set<number>();
  for (const e of options.eModeCategories ?? []) {
    const at = `e-mode ${e.id}:`;
    if (!Number.isInteger(e.id) || e.id < 1 || e.id > 255) problems.push(`${at} id not in 1..255`);
    if (ids.has(e.id)) problems.push(`${at} listed twice`);
    ids.add(e.id);
    if (!Number.isInteger(e.ltvBps) || e.ltvBps < 1 || e.ltvBps > e.liquidationThresholdBps) {
      problems.push(`${at} ltvBps must be in 1..liquidationThresholdBps`);
    }
    if (!Number.isInteger(e.liquidationThresholdBps) || e.liquidationThresholdBps > BPS) {
      problems.push(`${at} liquidationThresholdBps not in 1..${BPS}`);
    }
    if (!Number.isInteger(e.liquidationBonusBps) || e.liquidationBonusBps <= BPS) {
      problems.push(`${at} liquidationBonusBps must exceed ${BPS}`);
    } else if (Math.floor((e.liquidationThresholdBps * e.liquidationBonusBps + BPS / 2) / BPS) > BPS) {
      problems.push(`${at} liquidationThreshold × liquidationBonus exceeds 100%`);
    }
  }
  for (const a of options.assets) {
    if (!a.eModeCategory) continue;
    const category = options.eModeCategories?.find((e) => e.id === a.eModeCategory);
    if (!category) problems.push(`${a.symbol}: eModeCategory ${a.eModeCategory} is not in eModeCategories`);
    else if (category.liquidationThresholdBps <= a.liquidationThresholdBps) {
      problems.push(
        `${a.symbol}: e-mode ${category.id}'s liquidation threshold must exceed the asset's (${a.liquidationThresholdBps} bps)`,
      );
    }
  }
}

async function checkDecimals(client: Client, assets: readonly AaveV3AssetOptions[]): Promise<void> {
  const onChain = await Promise.all(
    assets.map((a) =>
      readContract(client, { address: a.asset, abi: erc20Abi, functionName: 'decimals' }).catch(
        (error: unknown) => {
          throw new FirebreakError('ERR_DEPLOY_FAILED', `${a.symbol}: cannot read decimals() of ${a.asset}`, {
            cause: error,
          });
        },
      ),
    ),
  );
  assets.forEach((a, i) => {
    if (onChain[i] !== a.decimals) {
      throw new FirebreakError(
        'ERR_DEPLOY_FAILED',
        `${a.symbol}: asset ${a.asset} has ${onChain[i]} decimals on chain, options say ${a.decimals}`,
      );
    }
  });
}
