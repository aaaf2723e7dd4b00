// The §6 and §7 drills' response actions on their own, on the real contracts (Firebreak's
// CircuitBreaker, OpenZeppelin's TimelockController) on the embedded chain: what they send, what
// they verify, and when they refuse.
import { encodeFunctionData, type Hex, keccak256, parseAbi, toHex, zeroAddress } from 'viem';
import { readContract, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployArtifact, firebreakArtifact, packageArtifact } from '../../../src/chain/artifacts';
import { createEmbeddedChain, type EmbeddedChain, type FundedAccount } from '../../../src/chain/embedded';
import { createBreakerPlanBuilder } from '../../../src/respond/actions/erc7265';
import { createTimelockPlanBuilder, timelockControllerAbi } from '../../../src/respond/actions/timelock';
import type { PlanBuilder } from '../../../src/respond/responder';
import type { ActionPlan } from '../../../src/respond/types';

const scheduleAbi = parseAbi([
  'function schedule(address target, uint256 value, bytes data, bytes32 predecessor, bytes32 salt, uint256 delay)',
  'function execute(address target, uint256 value, bytes payload, bytes32 predecessor, bytes32 salt) payable',
  'function hashOperation(address target, uint256 value, bytes data, bytes32 predecessor, bytes32 salt) view returns (bytes32)',
  'function grantRole(bytes32 role, address account)',
  'function updateDelay(uint256 newDelay)',
]);

describe('respond actions: erc7265.trip and timelock.cancel', () => {
  let chain: EmbeddedChain;
  let admin: FundedAccount;
  let guardian: FundedAccount;
  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 2, accountSeed: 'actions-test' });
    [admin, guardian] = chain.accounts as [FundedAccount, FundedAccount];
  });
  afterAll(() => chain.close());

  const send = async (from: FundedAccount, to: Hex, abi: readonly unknown[], fn: string, args: unknown[]) => {
    const hash = await writeContract(chain.client, {
      address: to,
      abi: abi as never,
      functionName: fn as never,
      args: args as never,
      account: from.account,
      chain: chain.client.chain,
    });
    return waitForTransactionReceipt(chain.client, { hash });
  };
  const sendPlan = async (plan: ActionPlan) => {
    for (const c of plan.calls)
      expect((await send(guardian, c.to, c.abi, c.functionName, [...c.args])).status).toBe('success');
  };
  const effectsHold = async (plan: ActionPlan) => {
    for (const e of plan.effects) expect(await e.read()).toBe(e.expected);
  };
  const decide = (action: string, evidence: Record<string, unknown>, target?: Hex) =>
    ({
      playbook: { id: 'p' },
      stepIndex: 0,
      step: { action, executor: 'guardian', autonomy: 'auto', ...(target ? { target } : {}) },
      result: {
        finding: { detector: 'governance-watch', subject: { chainId: chain.chainId }, evidence },
        incident: { id: 'incident-1' },
      },
    }) as never;
  const at = async () => ({ block: await chain.client.getBlock() }) as never;
  const build = async (builder: PlanBuilder, decision: never) => builder(decision, 'action-1', await at());
  const options = () => ({ clientFor: () => chain.client });

  it('erc7265.trip: asks for the breaker, trips it, verifies the rate limit, then has nothing left to do', async () => {
    const breaker = await deployArtifact(chain.client, firebreakArtifact('CircuitBreaker'), {
      account: admin.account,
      args: [admin.address, 3600n, 3600n, 60n],
    });
    await send(admin, breaker, parseAbi(['function setGuardian(address)']), 'setGuardian', [
      guardian.address,
    ]);
    const builder = createBreakerPlanBuilder(options());
    await expect(build(builder, decide('erc7265.trip', {}))).rejects.toThrow(/needs the breaker's address/);
    const plan = (await build(builder, decide('erc7265.trip', {}, breaker)))!;
    expect(plan.riskReducing).toBe(true);
    expect(plan.calls.map((c) => [c.to, c.functionName])).toEqual([[breaker, 'trip']]);
    await expect(plan.effects[0]!.read()).resolves.toBe(false);
    await sendPlan(plan);
    await effectsHold(plan);
    expect(await build(builder, decide('erc7265.trip', {}, breaker))).toBeNull();
  });

  it('timelock.cancel: cancels the queued operation named by the finding, and refuses when it is too late', async () => {
    const timelock = await deployArtifact(
      chain.client,
      packageArtifact('@openzeppelin/contracts/build/contracts/TimelockController.json'),
      { account: admin.account, args: [60n, [admin.address], [zeroAddress], admin.address] },
    );
    await send(admin, timelock, scheduleAbi, 'grantRole', [
      keccak256(toHex('CANCELLER_ROLE')),
      guardian.address,
    ]);
    const call = encodeFunctionData({ abi: scheduleAbi, functionName: 'updateDelay', args: [1n] });
    const queue = async (salt: Hex) => {
      await send(admin, timelock, scheduleAbi, 'schedule', [
        timelock,
        0n,
        call,
        `0x${'00'.repeat(32)}`,
        salt,
        60n,
      ]);
      return (await readContract(chain.client, {
        address: timelock,
        abi: scheduleAbi,
        functionName: 'hashOperation',
        args: [timelock, 0n, call, `0x${'00'.repeat(32)}`, salt],
      })) as Hex;
    };
    const builder = createTimelockPlanBuilder(options());
    const first = await queue(`0x${'01'.padStart(64, '0')}`);
    const evidence = { timelock: timelock.toLowerCase(), operationId: first, function: 'updateDelay' };

    await expect(build(builder, decide('timelock.cancel', { title: 'no ids' }))).rejects.toThrow(
      /needs a finding about a queued timelock call/,
    );
    await expect(build(builder, decide('timelock.cancel', evidence, admin.address))).rejects.toThrow(
      /may only cancel in/,
    );
    const plan = (await build(builder, decide('timelock.cancel', evidence, timelock)))!;
    expect(plan.calls.map((c) => [c.functionName, c.args])).toEqual([['cancel', [first]]]);
    await sendPlan(plan);
    await effectsHold(plan);
    expect(await build(builder, decide('timelock.cancel', evidence))).toBeNull();

    // An operation that ran already cannot be cancelled: the plan is refused, saying so.
    const second = await queue(`0x${'02'.padStart(64, '0')}`);
    await chain.client.request({ method: 'evm_increaseTime', params: [toHex(61)] } as never);
    await send(admin, timelock, scheduleAbi, 'execute', [
      timelock,
      0n,
      call,
      `0x${'00'.repeat(32)}`,
      `0x${'02'.padStart(64, '0')}`,
    ]);
    expect(
      await readContract(chain.client, {
        address: timelock,
        abi: timelockControllerAbi,
        functionName: 'isOperationDone',
        args: [second],
      }),
    ).toBe(true);
    await expect(
      build(builder, decide('timelock.cancel', { ...evidence, operationId: second })),
    ).rejects.toThrow(/already executed: too late to cancel/);
  });
});
