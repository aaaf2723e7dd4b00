/**
 * Drills — `market.guardianHub`: the market's emergency levers behind a k-of-n GuardianHub
 * (contracts/GuardianHub.sol) instead of one guardian key. The hub is deployed by the market's
 * deployer (standing in for governance), allow-lists the Aave v3 levers, and takes EMERGENCY_ADMIN
 * and RISK_ADMIN from the guardian EOA, so a pause or freeze needs `threshold` agents' confirmations.
 * In the protected run, `running` Firebreak agents follow the chain, each a separate engine with its
 * own key and store, as separate deployments would (runner.ts); they do not talk to each other.
 */
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { waitForTransactionReceipt, writeContract } from 'viem/actions';
import type { FundedAccount } from '../chain/embedded';
import { deriveKeys, type EmbeddedChain } from '../chain/embedded';
import { aclManagerAbi } from '../protocols/aave-v3/abi';
import type { AaveV3Market } from '../protocols/aave-v3/types';
import { allowAaveV3Levers, deployGuardianHub } from '../protocols/firebreak';
import type { Scenario } from './scenario';

export interface DrillHub {
  address: Hex;
  threshold: number;
  /** Every agent key the hub accepts, in order; the first `running` run Firebreak in the protected run. */
  agents: { address: Hex; privateKey: Hex }[];
  running: number;
}

/** Deploys the scenario's hub (none without `market.guardianHub`). Automine must be on. */
export async function deployDrillHub(
  chain: EmbeddedChain,
  scenario: Scenario,
  market: { aave: AaveV3Market; deployer: FundedAccount; guardian: FundedAccount },
): Promise<DrillHub | undefined> {
  const spec = scenario.market.guardianHub;
  if (!spec) return undefined;
  const agents = deriveKeys(`drill/${scenario.name}/${scenario.seed}/hub-agents`, spec.agents).map(
    (privateKey) => ({
      privateKey,
      address: privateKeyToAccount(privateKey).address.toLowerCase() as Hex,
    }),
  );
  // Each agent pays for its own confirmations.
  for (const a of agents) await chain.setBalance(a.address, 10n ** 21n);
  const { deployer } = market;
  const send = async (to: Hex, abi: readonly unknown[], functionName: string, args: readonly unknown[]) => {
    const hash = await writeContract(chain.client, {
      address: to,
      abi: abi as never,
      functionName: functionName as never,
      args: args as never,
      account: deployer.account,
      chain: chain.client.chain,
    });
    const receipt = await waitForTransactionReceipt(chain.client, { hash, pollingInterval: 1 });
    if (receipt.status !== 'success')
      throw new Error(`guardian hub set-up: ${functionName} on ${to} reverted`);
  };
  const address = (
    await deployGuardianHub(chain.client, {
      account: deployer.account,
      governance: deployer.address,
      agents: agents.map((a) => a.address),
      threshold: spec.threshold,
      proposalTtlSeconds: spec.proposalTtlSeconds,
    })
  ).toLowerCase() as Hex;
  for (const allow of allowAaveV3Levers(address, market.aave))
    await send(allow.to, allow.abi, allow.functionName, allow.args);
  const acl = (fn: string, who: Hex) => send(market.aave.aclManager, aclManagerAbi, fn, [who]);
  await acl('addEmergencyAdmin', address);
  await acl('addRiskAdmin', address);
  await acl('removeEmergencyAdmin', market.guardian.address);
  await acl('removeRiskAdmin', market.guardian.address);
  return { address, threshold: spec.threshold, agents, running: spec.running ?? spec.threshold };
}
