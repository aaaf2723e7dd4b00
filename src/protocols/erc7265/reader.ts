/**
 * Protocols / ERC-7265 — reader: a circuit breaker's state at a block (latest when omitted), through
 * the EIP's views only, so it reads any conforming breaker; plus, per asset, whether its limit is
 * triggered. Readers only: this module decides nothing.
 */
import type { Address, Client } from 'viem';
import { readContract } from 'viem/actions';
import { FirebreakError } from '../../common/errors';
import { erc7265Abi } from './abi';

export interface BreakerState {
  address: Address;
  admin: Address;
  isOperational: boolean;
  isRateLimited: boolean;
  /** Seconds. */
  rateLimitCooldownPeriod: bigint;
  lastRateLimitTimestamp: bigint;
  gracePeriodEndTimestamp: bigint;
  isInGracePeriod: boolean;
  /** Per asset asked for: is its limit breached as of the block. */
  triggered: Record<Address, boolean>;
}

/**
 * Reads a breaker's state. Throws `ERR_RPC_UNREACHABLE` (retryable) when the reads fail, naming
 * the breaker (a wrong address or a contract that is not ERC-7265 fails the same way).
 *
 * @example
 * const state = await readBreakerState(client, breaker, { assets: [usdc] });
 * if (state.triggered[usdc] && !state.isRateLimited) ...
 */
export async function readBreakerState(
  client: Client,
  breaker: Address,
  options: { assets?: readonly Address[]; blockNumber?: bigint } = {},
): Promise<BreakerState> {
  const at = options.blockNumber === undefined ? {} : { blockNumber: options.blockNumber };
  const read = <
    N extends
      | 'admin'
      | 'isOperational'
      | 'isRateLimited'
      | 'rateLimitCooldownPeriod'
      | 'lastRateLimitTimestamp'
      | 'gracePeriodEndTimestamp'
      | 'isInGracePeriod',
  >(
    functionName: N,
  ) =>
    readContract(client, { address: breaker, abi: erc7265Abi, functionName, ...at } as never) as Promise<
      N extends 'admin'
        ? Address
        : N extends 'isOperational' | 'isRateLimited' | 'isInGracePeriod'
          ? boolean
          : bigint
    >;
  try {
    const assets = options.assets ?? [];
    const [admin, isOperational, isRateLimited, cooldown, last, graceEnd, inGrace, triggered] =
      await Promise.all([
        read('admin'),
        read('isOperational'),
        read('isRateLimited'),
        read('rateLimitCooldownPeriod'),
        read('lastRateLimitTimestamp'),
        read('gracePeriodEndTimestamp'),
        read('isInGracePeriod'),
        Promise.all(
          assets.map((asset) =>
            readContract(client, {
              address: breaker,
              abi: erc7265Abi,
              functionName: 'isRateLimitTriggered',
              args: [asset],
              ...at,
            }),
          ),
        ),
      ]);
    return {
      address: breaker,
      admin,
      isOperational,
      isRateLimited,
      rateLimitCooldownPeriod: cooldown,
      lastRateLimitTimestamp: last,
      gracePeriodEndTimestamp: graceEnd,
      isInGracePeriod: inGrace,
      triggered: Object.fromEntries(assets.map((a, i) => [a, triggered[i] ?? false])),
    };
  } catch (error) {
    throw new FirebreakError(
      'ERR_RPC_UNREACHABLE',
      `cannot read ERC-7265 circuit breaker ${breaker}: ${(error as Error).message.split('\n')[0]}`,
      { cause: error, retryable: true, details: { breaker } },
    );
  }
}

/** A recipient's locked funds of one asset. */
export function readLockedFunds(
  client: Client,
  breaker: Address,
  params: { recipient: Address; asset: Address },
): Promise<bigint> {
  return readContract(client, {
    address: breaker,
    abi: erc7265Abi,
    functionName: 'lockedFunds',
    args: [params.recipient, params.asset],
  });
}
