// Simulation before signing (issue 6): a plan's calls in one execution per state, on the embedded
// chain with a real Aave v3 market. The calls run in order from the executor's address (a later call
// sees what an earlier one left), each call's gas limit covers what the node estimates for it, a
// known limit too small is refused, a revert names the call, the state and the decoded reason, and a
// node that refuses state overrides is simulated one call at a time with the same answers.
import { type Abi, type Address, createClient, custom, type Hex, publicActions } from 'viem';
import { estimateContractGas } from 'viem/actions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { firebreakArtifact } from '../src/chain/artifacts';
import { createEmbeddedChain, type EmbeddedChain } from '../src/chain/embedded';
import { isFirebreakError } from '../src/common/errors';
import { mintDrillToken } from '../src/drills/market';
import { freezeReserve, pauseReserve } from '../src/protocols/aave-v3/actions';
import { PLAN_SIMULATOR_CODE, simulatePlan } from '../src/respond/executors/simulate';
import type { PlannedCall } from '../src/respond/types';
import { deploySendingMarket, type SendingMarket } from './support/sending-market';

describe('simulatePlan: a plan in one execution per state', () => {
  let chain: EmbeddedChain;
  let m: SendingMarket;
  let snapshot: Hex;
  const tokenAbi = () => firebreakArtifact('DrillToken').abi as Abi;
  const guardian = () => chain.accounts[1]!;
  const plan = (calls: PlannedCall[]) => ({ action: 'test.plan', calls });
  const approveSelf = (amount: bigint): PlannedCall => ({
    to: m.usdc,
    abi: tokenAbi(),
    functionName: 'approve',
    args: [guardian().address, amount],
    description: 'approve the guardian itself',
  });
  const spendOwn = (amount: bigint): PlannedCall => ({
    to: m.usdc,
    abi: tokenAbi(),
    functionName: 'transferFrom',
    args: [guardian().address, '0x000000000000000000000000000000000000dEaD', amount],
    description: 'move USDC through its own allowance',
  });
  const failure = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFirebreakError(error, 'ERR_SIMULATION_FAILED')).toBe(true);
    return (error as Error).message;
  };

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 3 });
    m = await deploySendingMarket(chain.client, chain.accounts[0]!.account, guardian().address);
    await mintDrillToken(chain, chain.accounts[0]!, m.usdc, guardian().address, 1_000_000n);
    snapshot = await chain.snapshot();
  }, 60_000);

  beforeEach(async () => {
    await chain.revert(snapshot);
    snapshot = await chain.snapshot();
  });

  afterAll(async () => {
    await chain?.close();
  });

  it('carries the compiled PlanSimulator (paste build/contracts/PlanSimulator.json deployedBytecode after editing the contract)', () => {
    const compiled = (firebreakArtifact('PlanSimulator') as { deployedBytecode?: string }).deployedBytecode;
    expect(PLAN_SIMULATOR_CODE).toBe(compiled?.startsWith('0x') ? compiled : `0x${compiled}`);
  });

  it('runs the calls in order from the executor: a call that needs an earlier one passes only after it', async () => {
    const gas = await simulatePlan(
      chain.client,
      plan([approveSelf(500n), spendOwn(500n)]),
      guardian().address,
    );
    expect(gas).toHaveLength(2);
    for (const g of gas) expect(g).toBeGreaterThan(21_000n);
    // Alone, the spend has no allowance: refused, naming the call, the state and the token's own error.
    const message = await failure(simulatePlan(chain.client, plan([spendOwn(500n)]), guardian().address));
    expect(message).toContain(
      'simulation of "move USDC through its own allowance" reverted against the latest block',
    );
    expect(message).toContain('ERC20InsufficientAllowance(');
    // After an earlier call that does not give enough, the reason says it came after the plan's earlier calls.
    const after = await failure(
      simulatePlan(chain.client, plan([approveSelf(10n), spendOwn(500n)]), guardian().address),
    );
    expect(after).toContain("after the plan's earlier calls");
  });

  it('gives each call a limit at least the node’s own estimate, and keeps a known limit that is enough', async () => {
    const freeze = freezeReserve(m.market, m.weth);
    const [limit] = await simulatePlan(chain.client, plan([freeze]), guardian().address);
    const estimate = await estimateContractGas(chain.client, {
      ...freeze,
      account: guardian().address,
    } as never);
    expect(limit).toBeGreaterThanOrEqual(estimate);
    expect(limit).toBeLessThan(estimate * 2n);
    const [known] = await simulatePlan(
      chain.client,
      plan([{ ...freeze, gas: 300_000n }]),
      guardian().address,
    );
    expect(known).toBe(300_000n);
    const short = await failure(
      simulatePlan(chain.client, plan([{ ...freeze, gas: 25_000n }]), guardian().address),
    );
    expect(short).toMatch(/needs about \d+ gas, more than its limit of 25000/);
  });

  it('refuses a call the executor may not make, with the market’s reason', async () => {
    const stranger = chain.accounts[2]!.address;
    const message = await failure(
      simulatePlan(chain.client, plan([pauseReserve(m.market, m.usdc)]), stranger),
    );
    expect(message).toMatch(/reverted against the latest block: \d+/);
  });

  it('simulates one call at a time on a node that refuses state overrides, with the same answers', async () => {
    let refused = 0;
    const strict = createClient({
      chain: chain.chain,
      transport: custom({
        async request({ method, params }: { method: string; params?: unknown }) {
          const list = (params as unknown[] | undefined) ?? [];
          if (method === 'eth_call' && list.length > 2) {
            refused++;
            throw Object.assign(new Error('state override is not supported'), { code: -32602 });
          }
          return chain.provider.request({ method, params: list } as never);
        },
      }),
    }).extend(publicActions);
    const freeze = { ...freezeReserve(m.market, m.weth), gas: 300_000n };
    expect(await simulatePlan(strict, plan([freeze]), guardian().address)).toEqual([300_000n]);
    expect(refused).toBe(2); // the latest and the pending state, asked at once
    // Remembered: the next plan goes one call at a time straight away.
    const message = await failure(simulatePlan(strict, plan([spendOwn(5n)]), guardian().address));
    expect(message).toContain('simulation of "move USDC through its own allowance" reverted');
    expect(refused).toBe(2);
  });

  it('answers a pending transaction count from the pool, as a node does (the sender’s next nonce)', async () => {
    await chain.setAutomine(false);
    const from = chain.accounts[2]!;
    const count = (tag: 'latest' | 'pending') =>
      chain.client.getTransactionCount({ address: from.address as Address, blockTag: tag });
    const latest = await count('latest');
    for (let i = 0; i < 3; i++)
      await chain.client.sendTransaction({
        account: from.account,
        chain: chain.chain,
        to: '0x000000000000000000000000000000000000dEaD',
        value: 1n,
        nonce: latest + i,
      });
    expect(await count('pending')).toBe(latest + 3);
    await chain.mine();
    expect(await count('pending')).toBe(latest + 3);
    expect(await count('latest')).toBe(latest + 3);
    await chain.setAutomine(true);
  });
});
