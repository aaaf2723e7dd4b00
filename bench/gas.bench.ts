/**
 * Bench `gas` — gas per operation of Firebreak's contracts on the embedded chain (receipts'
 * `gasUsed`, refunds applied), and `breaker_outflow_overhead_gas`: what routing a withdrawal
 * through the ERC-7265 breaker (`transfer` to the breaker + `onTokenOutflow`) adds to the same
 * vault's withdrawal paid directly, when no limit is hit — the median over repeated withdrawals
 * within one tick, and separately the first withdrawal of a new tick (the window moves).
 */
import { type Abi, type Address, maxUint256 } from 'viem';
import { deployArtifact, firebreakArtifact } from '../src/chain/artifacts';
import { createEmbeddedChain, type EmbeddedChain, type FundedAccount } from '../src/chain/embedded';
import { approve, freezeReserve, supply } from '../src/protocols/aave-v3/actions';
import { deployAaveV3Market } from '../src/protocols/aave-v3/fixture';
import { tripBreaker } from '../src/protocols/erc7265';
import {
  actionSalt,
  allowAaveV3Levers,
  backstopPoolAbi,
  breakerVaultAbi,
  circuitBreakerAbi,
  deployBackstopPool,
  deployBreakerVault,
  deployCircuitBreaker,
  deployGuardianHub,
  deployRecoveryVault,
  hubProposeOrConfirm,
  recoveryVaultAbi,
} from '../src/protocols/firebreak';
import { type Metric, percentile } from './stats';

const E18 = 10n ** 18n;
const E8 = 10n ** 8n;
const REPEATS = 15;

interface Sent {
  to: Address;
  abi: Abi | readonly unknown[];
  functionName: string;
  args?: readonly unknown[];
}

export async function run({ log }: { log: (m: string) => void }): Promise<Metric[]> {
  const chain = await createEmbeddedChain({ accounts: 8 });
  const [gov, alice, agentA, agentB, agentC, bob] = chain.accounts as [FundedAccount, ...FundedAccount[]] &
    FundedAccount[];
  const gas = async (from: FundedAccount, c: Sent): Promise<bigint> => {
    const hash = await chain.client.writeContract({
      address: c.to,
      abi: c.abi as Abi,
      functionName: c.functionName,
      args: (c.args ?? []) as unknown[],
      account: from.account,
    } as never);
    const receipt = await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 1 });
    if (receipt.status !== 'success') throw new Error(`${c.functionName} reverted`);
    return receipt.gasUsed;
  };
  const table: [string, bigint][] = [];
  const record = (op: string, value: bigint) => {
    table.push([op, value]);
    return value;
  };

  // ---- Breaker-protected vault vs the same vault unprotected ----
  const tokenArtifact = firebreakArtifact('DrillToken');
  const token = await deployArtifact(chain.client, tokenArtifact, {
    account: gov!.account,
    args: ['dUSD', 'dUSD', 18],
  });
  await gas(gov!, {
    to: token,
    abi: tokenArtifact.abi,
    functionName: 'mint',
    args: [alice!.address, 10_000_000n * E18],
  });
  const breaker = await deployCircuitBreaker(chain.client, {
    account: gov!.account,
    admin: gov!.address,
    rateLimitCooldownSeconds: 3 * 86_400,
    withdrawalPeriodSeconds: 4 * 3600,
    tickSeconds: 300,
  });
  const plain = await deployBreakerVault(chain.client, { account: gov!.account, asset: token });
  const guarded = await deployBreakerVault(chain.client, { account: gov!.account, asset: token, breaker });
  record(
    'CircuitBreaker.registerAsset',
    await gas(gov!, {
      to: breaker,
      abi: circuitBreakerAbi,
      functionName: 'registerAsset',
      args: [token, 7000n, 0n],
    }),
  );
  await gas(gov!, {
    to: breaker,
    abi: circuitBreakerAbi,
    functionName: 'addProtectedContracts',
    args: [[guarded]],
  });
  await gas(gov!, {
    to: breaker,
    abi: circuitBreakerAbi,
    functionName: 'setGuardian',
    args: [agentA!.address],
  });
  for (const vault of [plain, guarded]) {
    await gas(alice!, {
      to: token,
      abi: tokenArtifact.abi,
      functionName: 'approve',
      args: [vault, maxUint256],
    });
    await gas(alice!, { to: vault, abi: breakerVaultAbi, functionName: 'deposit', args: [1_000_000n * E18] });
  }
  const depositPlain = record(
    'BreakerVault.deposit (unprotected)',
    await gas(alice!, { to: plain, abi: breakerVaultAbi, functionName: 'deposit', args: [E18] }),
  );
  const depositGuarded = record(
    'BreakerVault.deposit (protected: + onTokenInflow)',
    await gas(alice!, { to: guarded, abi: breakerVaultAbi, functionName: 'deposit', args: [E18] }),
  );
  await advanceTime(chain, 4n * 3600n + 300n); // the deposits settle: the window has passed

  // One withdrawal at a new tick each (the window moves), then repeated ones within the tick.
  const newTickPlain = await gas(alice!, {
    to: plain,
    abi: breakerVaultAbi,
    functionName: 'withdraw',
    args: [E18],
  });
  const newTickGuarded = await gas(alice!, {
    to: guarded,
    abi: breakerVaultAbi,
    functionName: 'withdraw',
    args: [E18],
  });
  const overheads: number[] = [];
  let plainLast = 0n;
  let guardedLast = 0n;
  for (let i = 0; i < REPEATS; i++) {
    plainLast = await gas(alice!, { to: plain, abi: breakerVaultAbi, functionName: 'withdraw', args: [E18] });
    guardedLast = await gas(alice!, {
      to: guarded,
      abi: breakerVaultAbi,
      functionName: 'withdraw',
      args: [E18],
    });
    overheads.push(Number(guardedLast - plainLast));
  }
  record('BreakerVault.withdraw (unprotected)', plainLast);
  record('BreakerVault.withdraw (protected, no limit hit)', guardedLast);
  record('BreakerVault.withdraw (protected, first in a new tick)', newTickGuarded);
  const overhead = percentile(overheads, 50);
  const overheadNewTick = Number(newTickGuarded - newTickPlain);
  record(
    'CircuitBreaker.trip (guardian)',
    await gas(agentA!, { ...tripBreaker(breaker), abi: circuitBreakerAbi }),
  );
  record(
    'BreakerVault.withdraw (protected, locked)',
    await gas(alice!, { to: guarded, abi: breakerVaultAbi, functionName: 'withdraw', args: [E18] }),
  );
  record(
    'CircuitBreaker.overrideRateLimit',
    await gas(gov!, { to: breaker, abi: circuitBreakerAbi, functionName: 'overrideRateLimit' }),
  );
  record(
    'CircuitBreaker.claimLockedFunds',
    await gas(bob!, {
      to: breaker,
      abi: circuitBreakerAbi,
      functionName: 'claimLockedFunds',
      args: [token, alice!.address],
    }),
  );

  // ---- GuardianHub on a real Aave v3 market, 2-of-3 ----
  const hub = await deployGuardianHub(chain.client, {
    account: gov!.account,
    governance: gov!.address,
    agents: [agentA!.address, agentB!.address, agentC!.address],
    threshold: 2,
    proposalTtlSeconds: 3600,
  });
  const feed = await deployArtifact(chain.client, firebreakArtifact('DrillPriceFeed'), {
    account: gov!.account,
    args: [8, 'dUSD / USD', E8],
  });
  const market = await deployAaveV3Market(chain.client, {
    account: gov!.account,
    guardian: hub,
    assets: [
      {
        symbol: 'dUSD',
        asset: token,
        decimals: 18,
        priceSource: feed,
        ltvBps: 7500,
        liquidationThresholdBps: 8000,
        liquidationBonusBps: 10500,
        reserveFactorBps: 1000,
        borrowingEnabled: true,
        supplyCap: 0n,
        borrowCap: 0n,
      },
    ],
  });
  const allows = allowAaveV3Levers(hub, market);
  record('GuardianHub.allowCall', await gas(gov!, allows[0]!));
  for (const a of allows.slice(1)) await gas(gov!, a);
  await gas(alice!, approve(market, { asset: token, amount: maxUint256 }));
  await gas(alice!, supply(market, { asset: token, amount: E18, onBehalfOf: alice!.address }));
  const freeze = hubProposeOrConfirm(hub, freezeReserve(market, token), actionSalt('bench-freeze'));
  record('GuardianHub.proposeOrConfirm (1st of 2: propose)', await gas(agentA!, freeze));
  record('GuardianHub.proposeOrConfirm (2nd of 2: confirm + freeze)', await gas(agentB!, freeze));

  // ---- RecoveryVault and BackstopPool ----
  const vault = await deployRecoveryVault(chain.client, {
    account: gov!.account,
    governance: gov!.address,
    delaySeconds: 3600,
  });
  await gas(gov!, {
    to: vault,
    abi: recoveryVaultAbi,
    functionName: 'setDestination',
    args: [bob!.address, true],
  });
  await gas(alice!, {
    to: token,
    abi: tokenArtifact.abi,
    functionName: 'approve',
    args: [vault, maxUint256],
  });
  record(
    'RecoveryVault.deposit',
    await gas(alice!, {
      to: vault,
      abi: recoveryVaultAbi,
      functionName: 'deposit',
      args: [token, 1_000n * E18],
    }),
  );
  record(
    'RecoveryVault.scheduleRelease',
    await gas(gov!, {
      to: vault,
      abi: recoveryVaultAbi,
      functionName: 'scheduleRelease',
      args: [token, 10n * E18, bob!.address],
    }),
  );
  await advanceTime(chain, 3600n);
  record(
    'RecoveryVault.executeRelease',
    await gas(bob!, { to: vault, abi: recoveryVaultAbi, functionName: 'executeRelease', args: [0n] }),
  );
  const pool = await deployBackstopPool(chain.client, {
    account: gov!.account,
    governance: gov!.address,
    asset: token,
    cooldownSeconds: 86_400,
    withdrawWindowSeconds: 86_400,
  });
  await gas(alice!, { to: token, abi: tokenArtifact.abi, functionName: 'approve', args: [pool, maxUint256] });
  record(
    'BackstopPool.deposit (first)',
    await gas(alice!, { to: pool, abi: backstopPoolAbi, functionName: 'deposit', args: [1_000n * E18] }),
  );
  record(
    'BackstopPool.deposit',
    await gas(alice!, { to: pool, abi: backstopPoolAbi, functionName: 'deposit', args: [1_000n * E18] }),
  );
  record(
    'BackstopPool.registerMarket',
    await gas(gov!, {
      to: pool,
      abi: backstopPoolAbi,
      functionName: 'registerMarket',
      args: [market.pool, 1_000n * E18, 200],
    }),
  );
  record(
    'BackstopPool.requestWithdraw',
    await gas(alice!, { to: pool, abi: backstopPoolAbi, functionName: 'requestWithdraw', args: [1_000n] }),
  );
  await chain.close();

  const width = Math.max(...table.map(([op]) => op.length));
  log(`${'operation'.padEnd(width)}  gas`);
  for (const [op, value] of table) log(`${op.padEnd(width)}  ${value.toLocaleString('en-US')}`);
  log(`onTokenInflow overhead on a deposit: ${(depositGuarded - depositPlain).toLocaleString('en-US')} gas`);
  log(
    `onTokenOutflow overhead on a withdrawal: median ${overhead.toLocaleString('en-US')} over ${REPEATS} (range ${Math.min(...overheads)}..${Math.max(...overheads)}); first in a new tick ${overheadNewTick.toLocaleString('en-US')}`,
  );
  return [
    { id: 'breaker_outflow_overhead_gas', value: overhead, unit: 'gas', target: 30_000, better: 'lower' },
    {
      id: 'breaker_outflow_overhead_new_tick_gas',
      value: overheadNewTick,
      unit: 'gas',
      target: null,
      better: 'lower',
    },
    {
      id: 'breaker_inflow_overhead_gas',
      value: Number(depositGuarded - depositPlain),
      unit: 'gas',
      target: null,
      better: 'lower',
    },
    ...table.map(([op, value]) => ({
      id: `gas_${op
        .replace(/\(.*\)/, (m) => m.replace(/[^a-z0-9]+/gi, '_'))
        .replace(/[^a-z0-9]+/gi, '_')
        .replace(/_+$/, '')
        .toLowerCase()}`,
      value: Number(value),
      unit: 'gas',
      target: null,
      better: 'lower' as const,
    })),
  ];
}

async function advanceTime(chain: EmbeddedChain, seconds: bigint) {
  const block = await chain.client.getBlock();
  await chain.mine({ timestamp: block.timestamp + seconds });
}
