/**
 * Protocols / Firebreak — deployers for Firebreak's own contracts (GuardianHub, CircuitBreaker,
 * RecoveryVault, BackstopPool) and the drill's breaker-protected vault. Each checks its options
 * before sending anything (`ERR_DEPLOY_FAILED` naming the problem), deploys the compiled artifact
 * from build/contracts and returns the address once mined.
 */
import { type Account, type Address, isAddress, zeroAddress } from 'viem';
import { type DeployClient, deployArtifact, firebreakArtifact } from '../../chain/artifacts';
import { FirebreakError } from '../../common/errors';

const fail = (contract: string, problem: string): never => {
  throw new FirebreakError('ERR_DEPLOY_FAILED', `${contract} options are invalid: ${problem}`, {
    details: { contract, problem },
  });
};

const checkAddress = (contract: string, name: string, value: string, allowZero = false) => {
  if (!isAddress(value, { strict: false })) fail(contract, `${name} ${value} is not an address`);
  if (!allowZero && value.toLowerCase() === zeroAddress)
    fail(contract, `${name} must not be the zero address`);
};

const whole = (n: number | bigint) => (typeof n === 'bigint' ? n >= 0n : Number.isInteger(n) && n >= 0);

export interface GuardianHubOptions {
  account: Account;
  /** The owner: may set agents, threshold, TTL and the allow-list (a timelock in production). */
  governance: Address;
  agents: readonly Address[];
  /** k: confirmations that execute a proposal (1 ≤ k ≤ agents). */
  threshold: number;
  /** How long a proposal stays open, seconds (60 s .. 30 days). */
  proposalTtlSeconds: number;
}

/** Deploys a `GuardianHub`. The allow-list starts empty: see `allowCall` in guardian-hub.ts. */
export async function deployGuardianHub(client: DeployClient, options: GuardianHubOptions): Promise<Address> {
  const c = 'GuardianHub';
  checkAddress(c, 'governance', options.governance);
  if (options.agents.length === 0 || options.agents.length > 32)
    fail(c, 'between 1 and 32 agents are needed');
  for (const [i, a] of options.agents.entries()) checkAddress(c, `agents[${i}]`, a);
  if (new Set(options.agents.map((a) => a.toLowerCase())).size !== options.agents.length) {
    fail(c, 'an agent is listed twice');
  }
  if (
    !Number.isInteger(options.threshold) ||
    options.threshold < 1 ||
    options.threshold > options.agents.length
  ) {
    fail(c, `threshold ${options.threshold} not in 1..${options.agents.length}`);
  }
  if (
    !whole(options.proposalTtlSeconds) ||
    options.proposalTtlSeconds < 60 ||
    options.proposalTtlSeconds > 30 * 86_400
  ) {
    fail(c, `proposalTtlSeconds ${options.proposalTtlSeconds} not in 60..${30 * 86_400}`);
  }
  return deployArtifact(client, firebreakArtifact(c), {
    account: options.account,
    args: [options.governance, options.agents, options.threshold, BigInt(options.proposalTtlSeconds)],
  });
}

export interface CircuitBreakerOptions {
  account: Account;
  admin: Address;
  /** How long a rate limit lasts before anyone may lift it. */
  rateLimitCooldownSeconds: number;
  /** The rolling window; a multiple of the tick, at most 1024 ticks. */
  withdrawalPeriodSeconds: number;
  tickSeconds: number;
}

/** Deploys an ERC-7265 `CircuitBreaker` (constructor order as the EIP's reference implementation). */
export async function deployCircuitBreaker(
  client: DeployClient,
  options: CircuitBreakerOptions,
): Promise<Address> {
  const c = 'CircuitBreaker';
  checkAddress(c, 'admin', options.admin);
  const { rateLimitCooldownSeconds: cooldown, withdrawalPeriodSeconds: period, tickSeconds: tick } = options;
  if (!whole(cooldown)) fail(c, `rateLimitCooldownSeconds ${cooldown} is not a whole number of seconds`);
  if (!whole(tick) || tick === 0) fail(c, `tickSeconds ${tick} must be a positive whole number`);
  if (!whole(period) || period < tick || period % tick !== 0 || period / tick > 1024) {
    fail(c, `withdrawalPeriodSeconds ${period} must be a multiple of tickSeconds ${tick}, 1..1024 ticks`);
  }
  return deployArtifact(client, firebreakArtifact(c), {
    account: options.account,
    args: [options.admin, BigInt(cooldown), BigInt(period), BigInt(tick)],
  });
}

export interface RecoveryVaultOptions {
  account: Account;
  governance: Address;
  /** Seconds between scheduling a release and executing it (1 h .. 60 days). */
  delaySeconds: number;
}

export async function deployRecoveryVault(
  client: DeployClient,
  options: RecoveryVaultOptions,
): Promise<Address> {
  const c = 'RecoveryVault';
  checkAddress(c, 'governance', options.governance);
  if (!whole(options.delaySeconds) || options.delaySeconds < 3600 || options.delaySeconds > 60 * 86_400) {
    fail(c, `delaySeconds ${options.delaySeconds} not in 3600..${60 * 86_400}`);
  }
  return deployArtifact(client, firebreakArtifact(c), {
    account: options.account,
    args: [options.governance, BigInt(options.delaySeconds)],
  });
}

export interface BackstopPoolOptions {
  account: Account;
  governance: Address;
  /** The stable asset stakers deposit and the pool repays bad debt in. */
  asset: Address;
  /** Seconds a withdrawal request waits (1 h .. 90 days). */
  cooldownSeconds: number;
  /** Seconds after the cooldown during which the request can be executed (≥ 1 h). */
  withdrawWindowSeconds: number;
}

export async function deployBackstopPool(
  client: DeployClient,
  options: BackstopPoolOptions,
): Promise<Address> {
  const c = 'BackstopPool';
  checkAddress(c, 'governance', options.governance);
  checkAddress(c, 'asset', options.asset);
  if (
    !whole(options.cooldownSeconds) ||
    options.cooldownSeconds < 3600 ||
    options.cooldownSeconds > 90 * 86_400
  ) {
    fail(c, `cooldownSeconds ${options.cooldownSeconds} not in 3600..${90 * 86_400}`);
  }
  if (!whole(options.withdrawWindowSeconds) || options.withdrawWindowSeconds < 3600) {
    fail(c, `withdrawWindowSeconds ${options.withdrawWindowSeconds} must be at least 3600`);
  }
  return deployArtifact(client, firebreakArtifact(c), {
    account: options.account,
    args: [
      options.governance,
      options.asset,
      BigInt(options.cooldownSeconds),
      BigInt(options.withdrawWindowSeconds),
    ],
  });
}

export interface BreakerVaultOptions {
  account: Account;
  asset: Address;
  /** The protecting breaker; omit for the unprotected counterfactual. */
  breaker?: Address;
  /** Revert a breaching withdrawal instead of locking its funds. Default false. */
  revertOnRateLimit?: boolean;
}

/** Deploys the drill's deposit vault (drill-only; it carries a planted bug, see BreakerVault.sol). */
export async function deployBreakerVault(
  client: DeployClient,
  options: BreakerVaultOptions,
): Promise<Address> {
  const c = 'BreakerVault';
  checkAddress(c, 'asset', options.asset);
  if (options.breaker !== undefined) checkAddress(c, 'breaker', options.breaker);
  return deployArtifact(client, firebreakArtifact(c), {
    account: options.account,
    args: [options.asset, options.breaker ?? zeroAddress, options.revertOnRateLimit ?? false],
  });
}
