/**
 * Drills — the `flash-loan` step: an account flash-borrows an asset from the drill's Aave v3
 * market and makes any calls with it inside the same transaction, through its own
 * FlashLoanRunner (contracts/drills/FlashLoanRunner.sol, drill-only): the runner makes the step's
 * calls as itself (`@self`), repays the loan and the premium (the shortfall from the account's
 * wallet) and sends every market token it still holds back to the account.
 */
import { encodeFunctionData, type Hex, parseUnits } from 'viem';
import { deployArtifact, firebreakArtifact } from '../chain/artifacts';
import type { EmbeddedChain, FundedAccount } from '../chain/embedded';
import { erc20Abi } from '../protocols/aave-v3/abi';
import { buildCall, type CallArg, type DeployedNames } from './custom-call';
import type { Scenario } from './scenario';

export const flashLoanRunnerAbi = [
  {
    type: 'function',
    name: 'run',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'asset', type: 'address' },
      { name: 'amount', type: 'uint256' },
      {
        name: 'calls',
        type: 'tuple[]',
        components: [
          { name: 'target', type: 'address' },
          { name: 'data', type: 'bytes' },
        ],
      },
      { name: 'sweep', type: 'address[]' },
    ],
    outputs: [],
  },
] as const;

/** Deploys one runner per account that has a `flash-loan` step, owned by it. Automine must be on. */
export async function deployFlashRunners(
  chain: EmbeddedChain,
  scenario: Scenario,
  market: { accounts: ReadonlyMap<string, FundedAccount>; aave: { pool: Hex } },
): Promise<Map<string, Hex>> {
  const runners = new Map<string, Hex>();
  for (const step of scenario.timeline) {
    if (step.do !== 'flash-loan' || runners.has(step.actor)) continue;
    const owner = market.accounts.get(step.actor)!;
    const address = await deployArtifact(chain.client, firebreakArtifact('FlashLoanRunner'), {
      account: owner.account,
      args: [market.aave.pool],
    });
    runners.set(step.actor, address.toLowerCase() as Hex);
  }
  return runners;
}

interface FlashStep {
  actor: string;
  asset: string;
  amount: number;
  calls: { contract: string; function: string; args: CallArg[] }[];
}

/**
 * The actor's two transactions: approve the runner for the premium (it repays from the wallet
 * what the calls did not earn back), then `run`.
 */
export function flashLoanCalls(
  step: FlashStep,
  market: {
    flashRunners: ReadonlyMap<string, Hex>;
    tokens: ReadonlyMap<string, { address: Hex; decimals: number }>;
  },
  names: DeployedNames,
): { to: Hex; abi: readonly unknown[]; functionName: string; args: unknown[]; gas: bigint }[] {
  const runner = market.flashRunners.get(step.actor);
  if (!runner) throw new Error(`${step.actor} has no flash-loan contract`);
  const token = market.tokens.get(step.asset)!;
  const self: DeployedNames = {
    address: (name) => (name === 'self' ? runner : names.address(name)),
    decimals: names.decimals,
  };
  const calls = step.calls.map((c) => {
    const built = buildCall(c, self);
    return {
      target: built.to,
      data: encodeFunctionData({ abi: built.abi, functionName: built.functionName, args: built.args }),
    };
  });
  const sweep = [...market.tokens.values()].map((t) => t.address);
  return [
    {
      to: token.address,
      abi: erc20Abi,
      functionName: 'approve',
      args: [runner, 2n ** 256n - 1n],
      gas: 100_000n,
    },
    {
      to: runner,
      abi: flashLoanRunnerAbi,
      functionName: 'run',
      args: [
        token.address,
        parseUnits(step.amount.toFixed(Math.min(token.decimals, 12)), token.decimals),
        calls,
        sweep,
      ],
      gas: 3_000_000n + 500_000n * BigInt(calls.length),
    },
  ];
}
