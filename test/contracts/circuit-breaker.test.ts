/**
 * CircuitBreaker (ERC-7265) protecting the drill's BreakerVault on the embedded chain: the
 * behaviours peer suites check (70% retention: a bit more than 30% out within the window trips and
 * locks; override then claim; not operational reverts everything), the cooldown, the guardian's
 * trip through the ERC-7265 action builders, migration to a RecoveryVault, and the planted-bug
 * drain with and without the breaker.
 */
import type { Address } from 'viem';
import { beforeEach, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain } from '../../src/chain/embedded';
import {
  claimLockedFunds,
  markBreakerNotOperational,
  migrateFundsAfterExploit,
  overrideRateLimit,
  readBreakerState,
  readLockedFunds,
  tripBreaker,
} from '../../src/protocols/erc7265';
import {
  breakerVaultAbi,
  circuitBreakerAbi,
  deployBreakerVault,
  deployCircuitBreaker,
  deployRecoveryVault,
} from '../../src/protocols/firebreak';
import { advance, call, deployToken, revertReason, send } from './support';

const E18 = 10n ** 18n;
const WINDOW = 4n * 3600n;
const COOLDOWN = 3n * 86_400n;

describe('CircuitBreaker protecting a vault (70% retention, 4 h window in 5 min ticks)', () => {
  let chain: EmbeddedChain;
  let token: Address;
  let breaker: Address;
  let vault: Address;
  const admin = () => chain.accounts[0]!;
  const alice = () => chain.accounts[1]!;
  const bob = () => chain.accounts[2]!;
  const guardian = () => chain.accounts[3]!;
  const attacker = () => chain.accounts[4]!;

  const balanceOf = (who: Address, inVault = vault) =>
    chain.client.readContract({
      address: inVault,
      abi: breakerVaultAbi,
      functionName: 'balanceOf',
      args: [who],
    });
  const tokenBalance = async (who: Address) =>
    chain.client.readContract({
      address: token,
      abi: [
        {
          type: 'function',
          name: 'balanceOf',
          stateMutability: 'view',
          inputs: [{ type: 'address' }],
          outputs: [{ type: 'uint256' }],
        },
      ],
      functionName: 'balanceOf',
      args: [who],
    });
  const erc20Approve = [
    {
      type: 'function',
      name: 'approve',
      stateMutability: 'nonpayable',
      inputs: [{ type: 'address' }, { type: 'uint256' }],
      outputs: [{ type: 'bool' }],
    },
  ] as const;
  const deposit = async (who: typeof alice, amount: bigint, into = vault) => {
    await send(chain, who().account, call(token, erc20Approve, 'approve', [into, amount]));
    await send(chain, who().account, call(into, breakerVaultAbi, 'deposit', [amount]));
  };
  const withdraw = (who: typeof alice, amount: bigint, from = vault) =>
    send(chain, who().account, call(from, breakerVaultAbi, 'withdraw', [amount]));

  /** A vault with 10,000 deposited (6,000 Alice, 4,000 Bob), settled: the window has passed. */
  async function setUp(options: { revertOnRateLimit?: boolean; protect?: boolean } = {}) {
    chain = await createEmbeddedChain({ accounts: 6 });
    const account = admin().account;
    token = await deployToken(chain, account, 'dUSD', 18, [alice().address, bob().address], 1_000_000n * E18);
    breaker = await deployCircuitBreaker(chain.client, {
      account,
      admin: admin().address,
      rateLimitCooldownSeconds: Number(COOLDOWN),
      withdrawalPeriodSeconds: Number(WINDOW),
      tickSeconds: 300,
    });
    vault = await deployBreakerVault(chain.client, {
      account,
      asset: token,
      ...(options.protect === false ? {} : { breaker }),
      revertOnRateLimit: options.revertOnRateLimit ?? false,
    });
    await send(chain, account, call(breaker, circuitBreakerAbi, 'registerAsset', [token, 7000n, 0n]));
    await send(chain, account, call(breaker, circuitBreakerAbi, 'addProtectedContracts', [[vault]]));
    await send(chain, account, call(breaker, circuitBreakerAbi, 'setGuardian', [guardian().address]));
    await deposit(alice, 6000n * E18);
    await deposit(bob, 4000n * E18);
    await advance(chain, WINDOW + 300n);
  }

  beforeEach(async () => {
    await setUp();
  });

  it('pays out up to 30% of the liquidity within the window', async () => {
    const before = await tokenBalance(alice().address);
    await withdraw(alice, 3000n * E18);
    expect((await tokenBalance(alice().address)) - before).toBe(3000n * E18);
    expect((await readBreakerState(chain.client, breaker, { assets: [token] })).isRateLimited).toBe(false);
  });

  it('a bit more than 30% out within the window trips the breaker and locks the funds', async () => {
    await withdraw(alice, 2000n * E18);
    const before = await tokenBalance(bob().address);
    const receipt = await withdraw(bob, 1001n * E18); // 3,001 of 10,000 out: 69.99% retained
    expect(await tokenBalance(bob().address)).toBe(before);
    expect(await readLockedFunds(chain.client, breaker, { recipient: bob().address, asset: token })).toBe(
      1001n * E18,
    );
    const state = await readBreakerState(chain.client, breaker, { assets: [token] });
    expect(state).toMatchObject({ isRateLimited: true, isOperational: true, triggered: { [token]: true } });
    expect(state.lastRateLimitTimestamp).toBe(
      (await chain.client.getBlock({ blockHash: receipt.blockHash })).timestamp,
    );
    // While rate limited, every outflow is locked and claims revert.
    await withdraw(alice, 1n * E18);
    expect(await readLockedFunds(chain.client, breaker, { recipient: alice().address, asset: token })).toBe(
      1n * E18,
    );
    expect(
      await revertReason(
        send(chain, bob().account, claimLockedFunds(breaker, { asset: token, recipient: bob().address })),
      ),
    ).toBe('RateLimited');
  });

  it('after an admin override the locked funds can be claimed (and a grace period lets outflows through)', async () => {
    await withdraw(bob, 3500n * E18);
    expect(await revertReason(send(chain, alice().account, overrideRateLimit(breaker)))).toBe('NotAdmin');
    await send(chain, admin().account, overrideRateLimit(breaker));
    const before = await tokenBalance(bob().address);
    await send(chain, alice().account, claimLockedFunds(breaker, { asset: token, recipient: bob().address }));
    expect((await tokenBalance(bob().address)) - before).toBe(3500n * E18);
    expect(await readLockedFunds(chain.client, breaker, { recipient: bob().address, asset: token })).toBe(0n);
    // In the grace period a further outflow past the limit is paid, not locked.
    const alicesBefore = await tokenBalance(alice().address);
    await withdraw(alice, 1000n * E18);
    expect((await tokenBalance(alice().address)) - alicesBefore).toBe(1000n * E18);
  });

  it('anyone may lift an expired rate limit after the cooldown, not before', async () => {
    await withdraw(bob, 3500n * E18);
    const lift = call(breaker, circuitBreakerAbi, 'overrideExpiredRateLimit');
    expect(await revertReason(send(chain, alice().account, lift))).toBe('CooldownPeriodNotReached');
    await advance(chain, COOLDOWN);
    await send(chain, alice().account, lift);
    await send(chain, bob().account, claimLockedFunds(breaker, { asset: token, recipient: bob().address }));
    expect(await readLockedFunds(chain.client, breaker, { recipient: bob().address, asset: token })).toBe(0n);
  });

  it('after markAsNotOperational, deposits, withdrawals and claims revert; the admin migrates to a RecoveryVault', async () => {
    await withdraw(bob, 3500n * E18); // locked
    expect(await revertReason(send(chain, attacker().account, markBreakerNotOperational(breaker)))).toBe(
      'NotAdminOrGuardian',
    );
    await send(chain, guardian().account, markBreakerNotOperational(breaker));
    expect((await readBreakerState(chain.client, breaker)).isOperational).toBe(false);
    expect(await revertReason(deposit(alice, 1n * E18))).toBe('NotOperational');
    expect(await revertReason(withdraw(alice, 1n * E18))).toBe('NotOperational');
    expect(
      await revertReason(
        send(chain, bob().account, claimLockedFunds(breaker, { asset: token, recipient: bob().address })),
      ),
    ).toBe('NotOperational');

    const recovery = await deployRecoveryVault(chain.client, {
      account: admin().account,
      governance: admin().address,
      delaySeconds: 86_400,
    });
    expect(
      await revertReason(
        send(
          chain,
          guardian().account,
          migrateFundsAfterExploit(breaker, { assets: [token], recipient: recovery }),
        ),
      ),
    ).toBe('NotAdmin');
    await send(
      chain,
      admin().account,
      migrateFundsAfterExploit(breaker, { assets: [token], recipient: recovery }),
    );
    expect(await tokenBalance(recovery)).toBe(3500n * E18);
    expect(await tokenBalance(breaker)).toBe(0n);
  });

  it('the guardian trips the breaker (no breach needed); the next withdrawal is locked; strangers cannot trip', async () => {
    expect(await revertReason(send(chain, attacker().account, tripBreaker(breaker)))).toBe(
      'NotAdminOrGuardian',
    );
    await send(chain, guardian().account, tripBreaker(breaker));
    const before = await tokenBalance(alice().address);
    await withdraw(alice, 10n * E18);
    expect(await tokenBalance(alice().address)).toBe(before);
    expect(await readLockedFunds(chain.client, breaker, { recipient: alice().address, asset: token })).toBe(
      10n * E18,
    );
  });

  it('with revertOnRateLimit the breaching withdrawal reverts and the vault keeps the funds', async () => {
    await setUp({ revertOnRateLimit: true });
    expect(await revertReason(withdraw(alice, 3001n * E18))).toBe('RateLimited');
    expect(await balanceOf(alice().address, vault)).toBe(6000n * E18);
  });

  it('only protected contracts may report flows', async () => {
    expect(
      await revertReason(
        send(chain, attacker().account, call(breaker, circuitBreakerAbi, 'onTokenInflow', [token, 1n])),
      ),
    ).toBe('NotAProtectedContract');
  });

  it('the planted-bug drain takes everything unprotected, and at most 30% through the breaker', async () => {
    const drain = async () => {
      const start = await tokenBalance(attacker().address);
      for (const victim of [alice(), bob()]) {
        const amount = await balanceOf(victim.address, vault);
        await send(
          chain,
          attacker().account,
          call(vault, breakerVaultAbi, 'withdrawFor', [victim.address, amount, attacker().address]),
        );
      }
      return (await tokenBalance(attacker().address)) - start;
    };
    const protectedLoss = await drain();
    expect(protectedLoss).toBe(0n); // Alice's 6,000 alone breaches 30%: locked; Bob's follows into the lock
    expect(
      await readLockedFunds(chain.client, breaker, { recipient: attacker().address, asset: token }),
    ).toBe(10_000n * E18);
    await setUp({ protect: false });
    expect(await drain()).toBe(10_000n * E18);
  });
});
