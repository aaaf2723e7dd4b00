// The timeline's time-based steps, mass withdrawal, custom call and heartbeat feed, on the real Aave v3
// market: a step at `time: 1m` lands in the block a minute after the start, a run on the USDC
// reserve is one withdrawal per supplier in one block (each taking its share), and the market's
// feed for WETH publishes only on a 1 % move or on its heartbeat while the true price walks; a
// `call` step transfers whole tokens by signature to an account named with @.
import { readContract } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommon } from '../../src/common/common';
import { type PreparedDrill, prepareDrill, type RunResult, runScenario } from '../../src/drills/runner';
import { parseScenario } from '../../src/drills/scenario';
import { erc20Abi, poolAbi } from '../../src/protocols/aave-v3/abi';
import { USDC_ASSET, WETH_ASSET } from '../support/assets';

const scenario = parseScenario(
  {
    name: 'timeline-steps',
    title: 'time-based steps, a mass withdrawal and a heartbeat feed',
    chain: { blockTimeSeconds: 12 },
    market: {
      assets: [USDC_ASSET, WETH_ASSET],
    },
    accounts: [
      { name: 'alice', role: 'supplier', supplies: { USDC: 100_000 }, holds: { USDC: 1_000 } },
      { name: 'bob', role: 'supplier', supplies: { USDC: 300_000 } },
      { name: 'carol', role: 'supplier', supplies: { WETH: 10 } },
      { name: 'dave', role: 'user', holds: { USDC: 1_000 } },
    ],
    timeline: [
      {
        time: 0,
        do: 'price-path',
        asset: 'WETH',
        blocks: 8,
        points: [
          [2, 2005],
          [4, 2030],
          [8, 2030],
        ],
        feedUpdates: { deviationBps: 100, heartbeatSeconds: 48 },
      },
      { time: '1m', do: 'mass-withdraw', asset: 'USDC', share: 0.5, label: 'run' },
      {
        block: 2,
        actor: 'alice',
        do: 'call',
        contract: 'USDC',
        function: 'function transfer(address to, uint256 amount) returns (bool)',
        args: ['@carol', '250.5 USDC'],
      },
      {
        block: 3,
        actor: 'dave',
        do: 'flash-loan',
        asset: 'USDC',
        amount: 100_000,
        calls: [
          { contract: 'USDC', function: 'approve(address,uint256)', args: ['@aave.pool', '100000 USDC'] },
          {
            contract: 'aave.pool',
            function: 'supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode)',
            args: ['@USDC', '100000 USDC', '@self', 0],
          },
          {
            contract: 'aave.pool',
            function: 'withdraw(address asset, uint256 amount, address to) returns (uint256)',
            args: ['@USDC', '100000 USDC', '@self'],
          },
        ],
      },
    ],
    tailBlocks: 1,
    score: { expect: 'benign' },
  },
  'test/drills/timeline-steps.test.ts',
);

describe('timeline: steps at times, a mass withdrawal, a heartbeat feed (real Aave v3)', () => {
  let prepared: PreparedDrill;
  let run: RunResult;
  beforeAll(async () => {
    prepared = await prepareDrill(scenario);
    run = await runScenario('counterfactual', prepared, scenario, { budget: 2_000, common: createCommon() });
  }, 120_000);
  afterAll(async () => {
    await prepared?.chain.close();
  });

  it('withdraws half of each supplier’s USDC in the block a minute after the start', () => {
    const withdrawals = run.steps.filter((s) => s.do === 'withdraw');
    expect(withdrawals.map((s) => [s.actor, s.offset, s.status])).toEqual([
      ['alice', 5, ['success']],
      ['bob', 5, ['success']],
    ]);
    expect(withdrawals[0]!.block).toBe(withdrawals[1]!.block);
    expect(withdrawals[0]!.label).toBe('run');
  });

  it('makes a custom call by signature, with @names and whole-token amounts resolved', async () => {
    const call = run.steps.find((s) => s.do === 'call')!;
    expect([call.actor, call.offset, call.status]).toEqual(['alice', 2, ['success']]);
    const carol = prepared.market.accounts.get('carol')!.address;
    const balance = await readContract(prepared.chain.client, {
      address: prepared.market.tokens.get('USDC')!.address,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [carol],
    });
    expect(balance).toBe(250_500_000n);
  });

  it('flash-borrows, makes the calls as the flash-loan contract, repays, and leaves the actor short only the premium', async () => {
    const step = run.steps.find((s) => s.do === 'flash-loan')!;
    expect([step.actor, step.offset, step.status]).toEqual(['dave', 3, ['success', 'success']]);
    const logs = await prepared.chain.client.getContractEvents({
      address: prepared.market.aave.pool,
      abi: poolAbi,
      eventName: 'FlashLoan',
      fromBlock: step.block!,
      toBlock: step.block!,
    });
    expect(logs).toHaveLength(1);
    const { amount, premium, target } = logs[0]!.args;
    expect(amount).toBe(100_000_000_000n);
    expect(target!.toLowerCase()).toBe(prepared.market.flashRunners.get('dave'));
    // The drill market's flash-loan premium (0 unless configured): whatever it is, the actor paid it.
    const balance = await readContract(prepared.chain.client, {
      address: prepared.market.tokens.get('USDC')!.address,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [prepared.market.accounts.get('dave')!.address],
    });
    expect(balance).toBe(1_000_000_000n - premium!);
  });

  it('moves the true price every block and the market’s feed only on deviation or heartbeat', () => {
    const weth = run.series.map((p) => [p.offset, p.prices.WETH, p.oraclePrices.WETH]);
    // True price: 2002.5, 2005, 2017.5, 2030, … ; the feed stays at 2000 until the +1.5 % at offset 4.
    expect(weth.find(([offset]) => offset === 3)).toEqual([3, 2017.5, 2000]);
    expect(weth.find(([offset]) => offset === 4)).toEqual([4, 2030, 2030]);
    // The feed's value changes once: its heartbeat at offset 8 republishes the same 2030.
    const feedChanges = weth.filter(([, , oracle], i) => i > 0 && oracle !== weth[i - 1]![2]).map(([o]) => o);
    expect(feedChanges).toEqual([4]);
  });
});
