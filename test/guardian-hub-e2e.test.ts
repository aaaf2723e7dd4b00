// Two Firebreak agents, one quorum: the Inverse Finance drill's real Aave v3 market, whose
// EMERGENCY_ADMIN and RISK_ADMIN are a GuardianHub with three agents and threshold 2 (the drill's
// guardian EOA loses both roles, so the hub is the only way to freeze). The INV TWAP is pushed ~56×
// by a real swap. Each agent is a separate engine (own key, own config, own store) following the
// chain; they do not talk to each other. Two of them contain INV (frozen, LTV 0) in the block after
// the detection; one alone leaves the proposal waiting with 1 of 2 confirmations and says so, does
// not confirm twice after a restart, and finishes the story once a second agent arrives (even one
// that saw the incident a block later, under another action id).
import { type Hex, keccak256, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getBlock, getTransactionCount, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deriveKeys, type FundedAccount } from '../src/chain/embedded';
import { createCommon } from '../src/common/common';
import { parseConfig } from '../src/config/load';
import type { FirebreakConfig } from '../src/config/schema';
import { sendAndConfirm } from '../src/drills/market';
import { type PreparedDrill, prepareDrill } from '../src/drills/runner';
import { loadScenario, type Scenario } from '../src/drills/scenario';
import { createEngine, type Engine } from '../src/engine/engine';
import { aclManagerAbi } from '../src/protocols/aave-v3/abi';
import { readReserveConfiguration } from '../src/protocols/aave-v3/reader';
import {
  actionSalt,
  allowAaveV3Levers,
  deployGuardianHub,
  guardianHubAbi,
  hubProposalId,
  readHubProposal,
} from '../src/protocols/firebreak';
import { swapExactIn } from '../src/protocols/uniswap-v2/pool';
import { openStore, type Store } from '../src/store/store';
import { oracleDeviationConfig } from './support/drill-config';
import { actionsOf, containedTimeline, timelineOf } from './support/respond-drill';
import { waitFor } from './support/wait';

const twapAbi = [
  { type: 'function', name: 'update', stateMutability: 'nonpayable', inputs: [], outputs: [] },
] as const;

interface Agent {
  engine: Engine;
  store: Store;
  processed: Set<bigint>;
  /** Stops the engine and the executor's quorum watch. */
  stop(): Promise<void>;
}

describe('guardian-hub executor: two Firebreak agents, a 2-of-3 GuardianHub, a real Aave v3 market', () => {
  let scenario: Scenario;
  let drill: PreparedDrill;
  let hub: Hex;
  let inv: Hex;
  let detection: bigint;
  let snapshot: Hex;
  const keys = deriveKeys('guardian-hub-e2e/agents', 3);
  const agentAddress = (i: number) => privateKeyToAccount(keys[i]!).address;
  const client = () => drill.chain.client;
  const invConfig = () => readReserveConfiguration(client(), drill.market.aave.pool, inv);
  const open: Agent[] = [];

  /** One agent's config, as its operator would write it, validated like a config file. */
  const agentConfig = (name: string): FirebreakConfig => {
    const base = oracleDeviationConfig(scenario, drill.market, drill.chain.chainId);
    // Validated as a file would be (the embedded chain has no URL: a placeholder passes the schema).
    const parsed = parseConfig(
      {
        ...base,
        chains: base.chains.map((c) => ({ ...c, rpc: ['http://embedded.invalid'] })),
        executors: [
          {
            id: 'hub-agent',
            type: 'guardian-hub',
            chain: 'embedded',
            hub,
            key: { env: 'FIREBREAK_AGENT_KEY' },
            priorityFeeGwei: scenario.response.priorityFeeGwei,
            maxFeeGwei: 1000,
          },
        ],
        playbooks: base.playbooks.map((p) => ({
          ...p,
          do: p.do.map((step) => ({ ...step, executor: 'hub-agent' })),
        })),
      },
      `${name}.config.yaml`,
    );
    return { ...parsed, chains: base.chains };
  };

  /** Starts agent `i` as its own engine (own store unless given) following the chain from `from`. */
  const startAgent = async (i: number, from: bigint, store?: Store): Promise<Agent> => {
    const controller = new AbortController();
    const own = store ?? (await openStore({ memory: true }));
    const processed = new Set<bigint>();
    const engine = await createEngine({
      config: agentConfig(`agent-${i}`),
      chains: new Map([['embedded', { client: client(), provider: drill.chain.provider }]]),
      store: own,
      common: createCommon({ signal: controller.signal }),
      secrets: { FIREBREAK_AGENT_KEY: keys[i]! },
      hooks: { onBlockProcessed: ({ event }) => processed.add(event.block.number) },
    });
    engine.start(new Map([['embedded', from]]));
    const agent: Agent = {
      engine,
      store: own,
      processed,
      stop: async () => {
        await engine.stop();
        controller.abort();
      },
    };
    open.push(agent);
    return agent;
  };

  const processedBy = (agents: Agent[], block: bigint) =>
    waitFor(`block ${block} processed by ${agents.length} agent(s)`, 30_000, async () =>
      agents.every((a) => a.processed.has(block)) ? true : undefined,
    );
  const statusOf = async (store: Store) => (await actionsOf(store)).map((a) => a.status);
  const txCount = (i: number) =>
    getTransactionCount(client(), { address: agentAddress(i), blockTag: 'pending' });

  /** The hub proposals of the containing action, as every agent derives them from the action id. */
  const proposals = async (store: Store) => {
    const [action] = await actionsOf(store);
    const config = await readReserveConfiguration(client(), drill.market.aave.pool, inv, detection);
    const { encodeCall, freezeReserve, setLtvZero } = await import('../src/protocols/aave-v3/actions');
    const salt = actionSalt(action!.id);
    return [freezeReserve(drill.market.aave, inv), setLtvZero(drill.market.aave, inv, config)].map((call) => {
      const { to, data } = encodeCall(call);
      return hubProposalId({ chainId: drill.chain.chainId, hub, target: to, data, salt });
    });
  };

  beforeAll(async () => {
    scenario = loadScenario('scenarios/inverse-finance-2022.yaml');
    drill = await prepareDrill(scenario);
    await drill.chain.setAutomine(true);
    const { market, chain } = drill;
    const deployer: FundedAccount = market.deployer;
    inv = market.tokens.get('INV')!.address;
    for (let i = 0; i < 3; i++) await chain.setBalance(agentAddress(i), 10n ** 20n);

    // Governance (the market's deployer here; a timelock in production) deploys the hub, allow-lists
    // the Aave levers, hands it the two roles and takes them from the guardian EOA.
    hub = await deployGuardianHub(client(), {
      account: deployer.account,
      governance: deployer.address,
      agents: [0, 1, 2].map(agentAddress),
      threshold: 2,
      proposalTtlSeconds: 3600,
    });
    for (const allow of allowAaveV3Levers(hub, market.aave))
      await sendAndConfirm(chain, deployer, allow.to, allow.abi, allow.functionName, allow.args);
    const acl = (fn: string, who: Hex) =>
      sendAndConfirm(chain, deployer, market.aave.aclManager, aclManagerAbi, fn, [who]);
    await acl('addEmergencyAdmin', hub);
    await acl('addRiskAdmin', hub);
    await acl('removeEmergencyAdmin', market.guardian.address);
    await acl('removeRiskAdmin', market.guardian.address);

    // The attack's oracle half, as in the drill: TWAP window, 300 WETH into the thin pool, close it.
    const attacker = market.accounts.get('attacker')!;
    const update = async () => {
      const hash = await writeContract(client(), {
        address: market.twaps.get('INV')!,
        abi: twapAbi,
        functionName: 'update',
        account: attacker.account,
        chain: client().chain,
      });
      expect((await waitForTransactionReceipt(client(), { hash, pollingInterval: 1 })).status).toBe(
        'success',
      );
    };
    const later = async (seconds: bigint) =>
      chain.mine({ timestamp: (await getBlock(client())).timestamp + seconds });
    await later(61n);
    await update();
    const swap = await swapExactIn(client(), {
      pair: market.pools.get('INV-WETH')!,
      tokenIn: market.tokens.get('WETH')!.address,
      amountIn: 300n * 10n ** 18n,
      to: attacker.address,
      account: attacker.account,
    });
    expect(swap.confirmed).toBe(true);
    await later(61n);
    await update();
    detection = await client().getBlockNumber();
    expect(await invConfig()).toMatchObject({ isFrozen: false, ltvBps: 6000 });
    snapshot = await chain.snapshot();
  }, 120_000);

  beforeEach(async () => {
    // Each test starts from the manipulated, uncontained market, mining only when the test says so.
    await drill.chain.revert(snapshot);
    snapshot = await drill.chain.snapshot();
    await drill.chain.setAutomine(false);
  });

  afterAll(async () => {
    for (const agent of open) await agent.stop().catch(() => undefined);
    for (const agent of open) await agent.store.close().catch(() => undefined);
    await drill?.chain.close();
  });

  it('two agents both detect the manipulation and their confirmations freeze INV in the next block', async () => {
    const a = await startAgent(0, detection);
    const b = await startAgent(1, detection);
    // Both engines detect and broadcast their confirmations for the detection block, then it is mined.
    await processedBy([a, b], detection);
    expect(await txCount(0)).toBe(2); // freeze + LTV 0, one proposeOrConfirm each
    expect(await txCount(1)).toBe(2);
    expect((await invConfig()).isFrozen).toBe(false); // nothing is mined yet
    const next = await drill.chain.mine();
    expect(next).toBe(detection + 1n);
    await processedBy([a, b], next);
    await a.engine.settled();
    await b.engine.settled();

    // The freeze landed, made by the hub in the block after the detection.
    expect(await invConfig()).toMatchObject({ isFrozen: true, ltvBps: 0 });
    const ids = await proposals(a.store);
    expect(ids).toEqual(await proposals(b.store)); // the two agents met on the same proposals
    for (const id of ids) {
      expect(await readHubProposal(client(), hub, id)).toMatchObject({ state: 'executed', confirmations: 2 });
      const [executed] = await client().getContractEvents({
        address: hub,
        abi: guardianHubAbi,
        eventName: 'Executed',
        args: { id },
        fromBlock: detection,
      });
      expect(executed?.blockNumber).toBe(detection + 1n);
    }

    // Both agents recorded the action as verified and the incident as contained; between them, one
    // confirmation proposed and one executed each call.
    for (const agent of [a, b]) {
      expect(await statusOf(agent.store)).toEqual(['verified']);
      expect((await agent.store.listIncidents()).map((i) => i.status)).toEqual(['contained']);
    }
    const mined = [
      ...(await timelineOf(a.store)).filter((e) => e.type === 'tx-mined'),
      ...(await timelineOf(b.store)).filter((e) => e.type === 'tx-mined'),
    ].map((e) => e.summary);
    expect(mined).toHaveLength(2);
    const ownExecutions = mined.join('\n').match(/executed by this agent's confirmation/g) ?? [];
    expect(ownExecutions).toHaveLength(2); // two calls, each executed by exactly one agent
    expect(mined.every((s) => s.includes(`mined in block ${detection + 1n}`))).toBe(true);
    await a.stop();
    await b.stop();
  }, 60_000);

  it('one agent alone executes nothing: the proposal waits with 1 of 2, a restart does not confirm twice, a second agent completes it', async () => {
    const a = await startAgent(0, detection);
    await processedBy([a], detection);
    const next = await drill.chain.mine();
    await processedBy([a], next);
    await a.engine.settled();

    // Confirmed, not executed: the reserve is untouched and the hub holds 1 of 2 for each call.
    expect(await invConfig()).toMatchObject({ isFrozen: false, ltvBps: 6000 });
    expect(await statusOf(a.store)).toEqual(['awaiting-quorum']);
    const ids = await proposals(a.store);
    for (const id of ids)
      expect(await readHubProposal(client(), hub, id)).toMatchObject({ state: 'pending', confirmations: 1 });
    const timeline = await timelineOf(a.store);
    const mined = timeline.filter((e) => e.type === 'tx-mined');
    expect(mined).toHaveLength(1);
    expect(mined[0]!.summary).toMatch(/Freeze the INV .*: confirmation 1 of 2, waiting for 1 more agent/);
    expect(mined[0]!.summary).toMatch(/Set the LTV of INV .*: confirmation 1 of 2, waiting for 1 more agent/);
    expect(timeline.some((e) => e.type === 'effect-verified' || e.type === 'effect-failed')).toBe(false);
    expect((await a.store.listIncidents()).map((i) => i.status)).toEqual(['open']);
    const [record] = await actionsOf(a.store);
    expect(record!.reason).toContain('confirmation 1 of 2');

    // A restart over the same store sees the detection block again: the hub already holds this
    // agent's confirmations, so nothing is sent and the action keeps waiting.
    await a.stop();
    const sentBefore = await txCount(0);
    const restarted = await startAgent(0, detection, a.store);
    await processedBy([restarted], detection);
    await restarted.engine.settled();
    expect(await txCount(0)).toBe(sentBefore);
    await waitFor('the restarted agent to wait for the quorum again', 10_000, async () =>
      (await statusOf(a.store))[0] === 'awaiting-quorum' &&
      (await timelineOf(a.store)).some((e) => e.summary.startsWith('no transaction from hub-agent'))
        ? true
        : undefined,
    );

    // A second agent arrives late: it first sees the manipulation a block after the first agent did,
    // so its incident and action ids differ; it joins the pending proposals of the same calls, its
    // confirmations execute both, and the first agent sees it happen.
    const b = await startAgent(2, next);
    await processedBy([b], next);
    expect((await actionsOf(b.store))[0]!.id).not.toBe((await actionsOf(a.store))[0]!.id);
    const executedIn = await drill.chain.mine();
    await b.engine.settled();
    expect(await invConfig()).toMatchObject({ isFrozen: true, ltvBps: 0 });
    expect(await statusOf(b.store)).toEqual(['verified']);
    const joined = (await timelineOf(b.store)).find((e) => e.type === 'tx-mined')!.summary;
    expect(joined).toContain(`joined agent ${agentAddress(0)}'s proposal ${ids[0]}`);
    expect(joined).toContain(`joined agent ${agentAddress(0)}'s proposal ${ids[1]}`);
    for (const id of ids)
      expect(await readHubProposal(client(), hub, id)).toMatchObject({ state: 'executed', confirmations: 2 });
    await waitFor('the first agent to see the quorum reached', 10_000, async () =>
      (await statusOf(a.store))[0] === 'verified' ? true : undefined,
    );
    const after = await containedTimeline(a.store);
    const reached = after.filter((e) => e.type === 'tx-mined').at(-1)!;
    expect(reached.summary).toContain(
      `executed by agent ${agentAddress(2)}'s confirmation in block ${executedIn}`,
    );
    expect(after.at(-1)!.summary).toContain('incident contained');
    await restarted.stop();
    await b.stop();
  }, 60_000);

  it('an agent restarted without its record while its confirmations are still unmined does not fail and does not confirm twice', async () => {
    // The first process broadcasts its confirmations and dies before they are mined; the restarted
    // one has no record of them (a crash before the record, or a new data folder). Its simulation
    // against the pending state sees its own confirmations already there (AlreadyConfirmed), so it
    // sends nothing again.
    const crashed = await startAgent(0, detection);
    await processedBy([crashed], detection);
    await crashed.stop();
    expect(await txCount(0)).toBe(2);
    const restarted = await startAgent(0, detection);
    await processedBy([restarted], detection);
    expect(await txCount(0)).toBe(2);
    const block = await drill.chain.mine();
    await processedBy([restarted], block);
    await restarted.engine.settled();

    // The hub counted the agent once; the restarted agent waits for the quorum instead of failing.
    for (const id of await proposals(restarted.store))
      expect(await readHubProposal(client(), hub, id)).toMatchObject({ state: 'pending', confirmations: 1 });
    expect(await statusOf(restarted.store)).toEqual(['awaiting-quorum']);
    const timeline = await timelineOf(restarted.store);
    expect(timeline.filter((e) => e.type === 'tx-mined')).toHaveLength(0);
    const waiting = timeline.filter(
      (e) => e.type === 'decision' && e.summary.includes('waiting for 1 more agent'),
    );
    expect(waiting).toHaveLength(1);
    expect(waiting[0]!.summary).toContain('confirmation 1 of 2, waiting for 1 more agent');
    expect(await invConfig()).toMatchObject({ isFrozen: false, ltvBps: 6000 });
    await restarted.stop();
  }, 60_000);

  it('a proposal that expires waiting for the quorum fails the action, with the reason on the timeline', async () => {
    const a = await startAgent(0, detection);
    await processedBy([a], detection);
    const next = await drill.chain.mine();
    await processedBy([a], next);
    await a.engine.settled();
    expect(await statusOf(a.store)).toEqual(['awaiting-quorum']);
    // Nobody else confirms within the hub's TTL (3600 s).
    const { timestamp } = await getBlock(client());
    await drill.chain.mine({ timestamp: timestamp + 3601n });
    await waitFor('the waiting action to fail', 10_000, async () =>
      (await statusOf(a.store))[0] === 'failed' ? true : undefined,
    );
    const failed = (await timelineOf(a.store)).filter((e) => e.type === 'effect-failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.summary).toMatch(
      /^effect NOT reached: guardian hub proposal 0x[0-9a-f]{64} \(.*\) is expired with 1 of 2 confirmations: the call was not made$/,
    );
    expect(await invConfig()).toMatchObject({ isFrozen: false, ltvBps: 6000 });
    await a.stop();
  }, 60_000);

  it('refuses before signing, with the reason, when the key is not one of the hub agents', async () => {
    const outsiderKey = keccak256(toHex('guardian-hub-e2e/outsider'));
    await drill.chain.setBalance(privateKeyToAccount(outsiderKey).address, 10n ** 20n);
    keys.push(outsiderKey);
    const outsider = await startAgent(3, detection);
    await processedBy([outsider], detection);
    await outsider.engine.settled();
    expect(await statusOf(outsider.store)).toEqual(['refused']);
    const refused = (await timelineOf(outsider.store)).filter((e) => e.type === 'action-refused');
    expect(refused[0]?.summary).toContain(
      `NotAgent: ${privateKeyToAccount(outsiderKey).address} is not an agent of the hub`,
    );
    expect(await getTransactionCount(client(), { address: privateKeyToAccount(outsiderKey).address })).toBe(
      0,
    );
    await outsider.stop();
  }, 60_000);
});
