/**
 * Protocols / Firebreak — GuardianHub call builders and readers (pure builders: nothing is sent).
 * What an agent sends to have a call made through the hub (`proposeOrConfirm`, so independent
 * agents meet on one proposal id), what governance sends to allow-list the Aave v3 levers, the
 * proposal id computed off-chain, and a proposal's state read back.
 *
 * The hub's rules (GuardianHub.sol) decide what may execute; these helpers only shape calls.
 */
import {
  type Address,
  type Client,
  encodeAbiParameters,
  encodeFunctionData,
  type Hex,
  keccak256,
  toFunctionSelector,
  toHex,
} from 'viem';
import { readContract } from 'viem/actions';
import type { ContractCall, MarketRef } from '../aave-v3/actions';
import { encodeCall } from '../aave-v3/actions';
import { guardianHubAbi } from './abi';

/** `GuardianHub.Rule`, by name. */
export const HUB_RULE = {
  None: 0,
  NoArgs: 1,
  BoolTrue: 2,
  AaveReserveFlagTrue: 3,
  AaveReserveFlagFalse: 4,
  AaveSupplyCapLower: 5,
  AaveBorrowCapLower: 6,
  AaveLtvLower: 7,
} as const;
export type HubRule = keyof typeof HUB_RULE;

/** `GuardianHub.ProposalState`, by index. */
export const PROPOSAL_STATES = ['unknown', 'pending', 'executed', 'expired', 'stale'] as const;
export type ProposalState = (typeof PROPOSAL_STATES)[number];

/** The salt a Firebreak action id maps to: the same action gives the same proposal on every agent. */
export function actionSalt(actionId: string): Hex {
  return keccak256(toHex(actionId));
}

/** The hub's proposal id for `target.call(data)` with `salt` (GuardianHub.proposalId). */
export function hubProposalId(params: {
  chainId: number;
  hub: Address;
  target: Address;
  data: Hex;
  salt: Hex;
}): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'uint256' },
        { type: 'address' },
        { type: 'address' },
        { type: 'bytes32' },
        { type: 'bytes32' },
      ],
      [BigInt(params.chainId), params.hub, params.target, keccak256(params.data), params.salt],
    ),
  );
}

/**
 * Wraps a call (e.g. `freezeReserve(market, asset)`) into the agent's `proposeOrConfirm` on the hub:
 * the first agent proposes, the next confirm, the k-th executes it in its own transaction.
 *
 * @example
 * const call = hubProposeOrConfirm(hub, freezeReserve(market, usdc), actionSalt(action.id));
 */
export function hubProposeOrConfirm(
  hub: Address,
  call: ContractCall,
  salt: Hex,
): ContractCall<typeof guardianHubAbi, 'proposeOrConfirm'> {
  const { to, data } = encodeCall(call);
  return {
    to: hub,
    abi: guardianHubAbi,
    functionName: 'proposeOrConfirm',
    args: [to, data, salt],
    description: `Through guardian hub ${hub}: ${call.description}`,
  };
}

/** Governance: allow-lists `target.selector` under `rule` (`pool`: the Aave Pool for Aave rules). */
export function allowCall(
  hub: Address,
  params: { target: Address; selector: Hex; rule: HubRule; pool?: Address },
): ContractCall<typeof guardianHubAbi, 'allowCall'> {
  const pool = params.pool ?? '0x0000000000000000000000000000000000000000';
  return {
    to: hub,
    abi: guardianHubAbi,
    functionName: 'allowCall',
    args: [params.target, params.selector, HUB_RULE[params.rule], pool],
    description: `Allow guardian hub ${hub} to call ${params.selector} on ${params.target} under rule ${params.rule}`,
  };
}

/** The Aave v3 PoolConfigurator levers the hub knows, with the rule it enforces on each. */
export const AAVE_V3_HUB_LEVERS = [
  ['setReserveFreeze(address,bool)', 'AaveReserveFlagTrue'],
  ['setReservePause(address,bool)', 'AaveReserveFlagTrue'],
  ['setPoolPause(bool)', 'BoolTrue'],
  ['setReserveBorrowing(address,bool)', 'AaveReserveFlagFalse'],
  ['setReserveFlashLoaning(address,bool)', 'AaveReserveFlagFalse'],
  ['setSupplyCap(address,uint256)', 'AaveSupplyCapLower'],
  ['setBorrowCap(address,uint256)', 'AaveBorrowCapLower'],
  ['configureReserveAsCollateral(address,uint256,uint256,uint256)', 'AaveLtvLower'],
] as const satisfies readonly (readonly [string, HubRule])[];

/** Governance's calls that allow-list every known Aave lever of `market` on the hub. */
export function allowAaveV3Levers(
  hub: Address,
  market: MarketRef,
): ContractCall<typeof guardianHubAbi, 'allowCall'>[] {
  return AAVE_V3_HUB_LEVERS.map(([signature, rule]) =>
    allowCall(hub, {
      target: market.poolConfigurator,
      selector: toFunctionSelector(`function ${signature}`),
      rule: rule === 'BoolTrue' ? 'BoolTrue' : rule,
      ...(rule === 'BoolTrue' ? {} : { pool: market.pool }),
    }),
  );
}

export interface HubProposal {
  id: Hex;
  state: ProposalState;
  expiresAt: bigint;
  confirmations: number;
}

/** Reads a proposal's state (`unknown` for an id never proposed). */
export async function readHubProposal(client: Client, hub: Address, id: Hex): Promise<HubProposal> {
  const [state, expiresAt, confirmations] = await readContract(client, {
    address: hub,
    abi: guardianHubAbi,
    functionName: 'getProposal',
    args: [id],
  });
  return { id, state: PROPOSAL_STATES[state] ?? 'unknown', expiresAt, confirmations };
}

/** The calldata of a built call, for `validateCall` or a log line. */
export function callData(call: ContractCall): Hex {
  return encodeFunctionData({ abi: call.abi, functionName: call.functionName, args: call.args } as Parameters<
    typeof encodeFunctionData
  >[0]);
}
