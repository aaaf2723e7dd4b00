/**
 * RecoveryVault on the embedded chain: funds leave only to a governance-approved destination,
 * after the delay, while still approved; a guardian can deposit and cancel, never withdraw.
 */
import type { Address } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain } from '../../src/chain/embedded';
import { deployRecoveryVault, recoveryVaultAbi } from '../../src/protocols/firebreak';
import { advance, call, deployToken, revertReason, send } from './support';

const E18 = 10n ** 18n;
const DAY = 86_400n;
const erc20 = [
  {
    type: 'function',
    name: 'approve',
    stateMutability: 'nonpayable',
    inputs: [{ type: 'address' }, { type: 'uint256' }],
    outputs: [{ type: 'bool' }],
  },
  {
    type: 'function',
    name: 'balanceOf',
    stateMutability: 'view',
    inputs: [{ type: 'address' }],
    outputs: [{ type: 'uint256' }],
  },
] as const;

describe('RecoveryVault', () => {
  let chain: EmbeddedChain;
  let token: Address;
  let vault: Address;
  const gov = () => chain.accounts[0]!;
  const guardian = () => chain.accounts[1]!;
  const safe = () => chain.accounts[2]!;
  const stranger = () => chain.accounts[3]!;
  const v = (functionName: string, args: readonly unknown[] = []) =>
    call(vault, recoveryVaultAbi, functionName, args);
  const balance = (who: Address) =>
    chain.client.readContract({ address: token, abi: erc20, functionName: 'balanceOf', args: [who] });

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 5 });
    token = await deployToken(chain, gov().account, 'dUSD', 18, [guardian().address], 1_000n * E18);
    vault = await deployRecoveryVault(chain.client, {
      account: gov().account,
      governance: gov().address,
      delaySeconds: Number(DAY),
    });
    await send(chain, gov().account, v('setGuardian', [guardian().address, true]));
    await send(chain, guardian().account, call(token, erc20, 'approve', [vault, 1_000n * E18]));
    await send(chain, guardian().account, v('deposit', [token, 1_000n * E18]));
  });

  it('holds what the guardian deposited; the guardian cannot schedule a release', async () => {
    expect(await balance(vault)).toBe(1_000n * E18);
    expect(
      await revertReason(
        send(chain, guardian().account, v('scheduleRelease', [token, 1n, guardian().address])),
      ),
    ).toBe('OwnableUnauthorizedAccount');
  });

  it('refuses a destination governance has not approved', async () => {
    expect(
      await revertReason(
        send(chain, gov().account, v('scheduleRelease', [token, 100n * E18, stranger().address])),
      ),
    ).toBe('DestinationNotApproved');
  });

  it('releases to an approved destination only after the delay', async () => {
    await send(chain, gov().account, v('setDestination', [safe().address, true]));
    await send(chain, gov().account, v('scheduleRelease', [token, 400n * E18, safe().address])); // id 0
    expect(await revertReason(send(chain, stranger().account, v('executeRelease', [0n])))).toBe(
      'ReleaseNotReady',
    );
    await advance(chain, DAY - 10n);
    expect(await revertReason(send(chain, stranger().account, v('executeRelease', [0n])))).toBe(
      'ReleaseNotReady',
    );
    await advance(chain, 10n);
    await send(chain, stranger().account, v('executeRelease', [0n]));
    expect(await balance(safe().address)).toBe(400n * E18);
    expect(await revertReason(send(chain, stranger().account, v('executeRelease', [0n])))).toBe(
      'ReleaseClosed',
    );
  });

  it('does not release to a destination unapproved during the delay; a guardian can cancel', async () => {
    await send(chain, gov().account, v('scheduleRelease', [token, 100n * E18, safe().address])); // id 1
    await send(chain, gov().account, v('scheduleRelease', [token, 100n * E18, safe().address])); // id 2
    await send(chain, gov().account, v('setDestination', [safe().address, false]));
    await advance(chain, DAY);
    expect(await revertReason(send(chain, stranger().account, v('executeRelease', [1n])))).toBe(
      'DestinationNotApproved',
    );
    expect(await revertReason(send(chain, stranger().account, v('cancelRelease', [2n])))).toBe(
      'NotOwnerOrGuardian',
    );
    await send(chain, guardian().account, v('cancelRelease', [2n]));
    await send(chain, gov().account, v('setDestination', [safe().address, true]));
    expect(await revertReason(send(chain, stranger().account, v('executeRelease', [2n])))).toBe(
      'ReleaseClosed',
    );
    expect(await balance(vault)).toBe(600n * E18);
  });
});
