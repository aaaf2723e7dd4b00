/**
 * Protocols / ERC-7265 — action builders for a circuit breaker (pure: nothing is sent). The
 * response engine's levers: trip the breaker (Firebreak's extension: rate-limit now, every later
 * outflow of a registered asset is locked) and mark it not operational (the EIP: inflows,
 * outflows and claims revert from then on; only the admin can migrate the funds). Who may send
 * them: the breaker's admin, or its guardian (directly, or a GuardianHub whose allow-list has
 * `trip()` / `markAsNotOperational()` under the `NoArgs` rule). Governance's levers (override,
 * migration) are here too, for drills and runbooks.
 */
import type { Address } from 'viem';
import type { ContractCall } from '../aave-v3/actions';
import { erc7265Abi, firebreakBreakerExtensionsAbi } from './abi';

/** Rate-limits the breaker now (Firebreak `CircuitBreaker` only; admin or guardian). Reversible. */
export function tripBreaker(breaker: Address): ContractCall<typeof firebreakBreakerExtensionsAbi, 'trip'> {
  return {
    to: breaker,
    abi: firebreakBreakerExtensionsAbi,
    functionName: 'trip',
    args: [],
    description: `Trip circuit breaker ${breaker}: lock every outflow of its registered assets (trip())`,
  };
}

/** Stops the breaker for good (ERC-7265 `markAsNotOperational`). Irreversible. */
export function markBreakerNotOperational(
  breaker: Address,
): ContractCall<typeof erc7265Abi, 'markAsNotOperational'> {
  return {
    to: breaker,
    abi: erc7265Abi,
    functionName: 'markAsNotOperational',
    args: [],
    description: `Mark circuit breaker ${breaker} not operational: inflows, outflows and claims revert (irreversible)`,
  };
}

/** Governance: lifts a rate limit judged a false positive (admin only). */
export function overrideRateLimit(breaker: Address): ContractCall<typeof erc7265Abi, 'overrideRateLimit'> {
  return {
    to: breaker,
    abi: erc7265Abi,
    functionName: 'overrideRateLimit',
    args: [],
    description: `Override the rate limit of circuit breaker ${breaker} (admin)`,
  };
}

/** Governance: once not operational, sends the breaker's balances of `assets` to `recipient`. */
export function migrateFundsAfterExploit(
  breaker: Address,
  params: { assets: readonly Address[]; recipient: Address },
): ContractCall<typeof erc7265Abi, 'migrateFundsAfterExploit'> {
  return {
    to: breaker,
    abi: erc7265Abi,
    functionName: 'migrateFundsAfterExploit',
    args: [params.assets, params.recipient],
    description: `Migrate ${params.assets.length} asset(s) from circuit breaker ${breaker} to ${params.recipient}`,
  };
}

/** Pays `recipient`'s locked funds of `asset` (anyone; reverts while rate limited). */
export function claimLockedFunds(
  breaker: Address,
  params: { asset: Address; recipient: Address },
): ContractCall<typeof erc7265Abi, 'claimLockedFunds'> {
  return {
    to: breaker,
    abi: erc7265Abi,
    functionName: 'claimLockedFunds',
    args: [params.asset, params.recipient],
    description: `Claim ${params.recipient}'s locked ${params.asset} from circuit breaker ${breaker}`,
  };
}
