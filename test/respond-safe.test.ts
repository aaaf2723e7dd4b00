// The `safe` executor on the Inverse Finance drill's real Aave v3 market, with a real Safe 1.4.1
// (deployed from @safe-global/safe-contracts' artifacts) holding EMERGENCY_ADMIN and RISK_ADMIN
// (the drill's guardian EOA loses both). The containing action is two calls (freeze INV, LTV 0),
// batched into one Safe transaction through MultiSendCallOnly. (1) A 2-of-3 Safe whose two agent
// keys meet the threshold executes in the block after the detection, and the effect is verified.
// (2) A 3-of-5 Safe with two agent keys waits with 2 of 3 signatures (nothing is sent) and
// completes when a third owner approves through `firebreak approve --key-env`, called as a
// function while the engine runs on the same data folder, and (3) as a real spawned command;
// (4) or when a third owner calls the Safe's `approveHash` on-chain, with no CLI at all. (5) Left
// waiting past its deadline it fails, escalated, and nothing executes afterwards.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFunctionData, type Hex, parseAbi, toFunctionSelector } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  getTransaction,
  getTransactionCount,
  getTransactionReceipt,
  readContract,
  writeContract,
} from 'viem/actions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deriveKeys } from '../src/chain/embedded';
import { decideAction } from '../src/cli/approve';
import { type Clock, createCommon } from '../src/common/common';
import type { Logger } from '../src/common/logger';
import { freezeReserve } from '../src/protocols/aave-v3/actions';
import { readReserveConfiguration } from '../src/protocols/aave-v3/reader';
import { approvalsDir, readApprovalsState } from '../src/respond/approvals';
import {
  createSafeExecutor,
  multiSendCallOnlyAbi,
  ON_CHAIN_APPROVAL,
  preValidatedSignature,
  safeAbi,
} from '../src/respond/executors/safe';
import { DEFAULT_APPROVAL_TIMEOUT_SECONDS } from '../src/respond/responder';
import type { ActionPlan } from '../src/respond/types';
import { storeTxJournal } from '../src/store/executor-txs';
import { openStore, type Store } from '../src/store/store';
import {
  actionsOf,
  approvalRefusal,
  captureLogger,
  containedTimeline,
  createSafe,
  deploySafeContracts,
  drillSession,
  handRolesTo,
  type ManipulatedDrill,
  manipulatedDrill,
  respondConfig,
  type SafeDeployment,
  safeArtifacts,
  shiftableClock,
  startEngine,
  timelineOf,
} from './support/respond-drill';
import { waitFor } from './support/wait';

describe('safe executor: a real Safe 1.4.1 holding the Aave roles', () => {
  let d: ManipulatedDrill;
  let contracts: SafeDeployment;
  let safe2of3: Hex;
  let safe3of5: Hex;
  // Owners 0 and 1 are Firebreak's agent keys; 2..4 are people.
  const keys = deriveKeys('respond-safe/owners', 5);
  const address = (i: number) => privateKeyToAccount(keys[i]!).address;
  const client = () => d.drill.chain.client;
  const invConfig = () => readReserveConfiguration(client(), d.drill.market.aave.pool, d.inv);
  const session = drillSession();
  const { running } = session;
  const common = createCommon();
  const approveHashAbi = parseAbi(['function approveHash(bytes32 hashToApprove)']);

  const safeExecutor = (safe: Hex) => [
    {
      id: 'treasury-safe',
      type: 'safe' as const,
      chain: 'embedded',
      safe,
      multiSend: contracts.multiSend,
      keys: [{ env: 'AGENT_KEY_0' }, { env: 'AGENT_KEY_1' }],
      priorityFeeGwei: 2,
      maxFeeGwei: 1000,
    },
  ];
  const secrets = () => ({ AGENT_KEY_0: keys[0]!, AGENT_KEY_1: keys[1]! });
  const nonceOf = (safe: Hex) =>
    readContract(client(), { address: safe, abi: safeAbi, functionName: 'nonce' });
  const agentTxs = () => getTransactionCount(client(), { address: address(0), blockTag: 'pending' });
  const dataDir = () => session.dataDir('firebreak-safe-');
  const refusal = approvalRefusal;

  /**
   * The Safe takes the market roles, and an engine (its store in `dir`, or in memory) follows the
   * chain through the detection block.
   */
  const engineOn = async (
    safe: Hex,
    options: { dir?: string; approvalTimeoutSeconds?: number; clock?: Clock; logger?: Logger } = {},
  ) => {
    const { dir, approvalTimeoutSeconds, clock, logger } = options;
    await d.drill.chain.setAutomine(true);
    await handRolesTo(d, safe);
    await d.drill.chain.setAutomine(false);
    const config = respondConfig(
      d,
      safeExecutor(safe),
      { executor: 'treasury-safe', ...(approvalTimeoutSeconds ? { approvalTimeoutSeconds } : {}) },
      dir,
    );
    const store = await openStore(dir ? { dataDir: dir } : { memory: true });
    const engine = await startEngine(d, config, store, d.detection, {
      secrets: secrets(),
      ...(clock ? { clock } : {}),
      ...(logger ? { logger } : {}),
    });
    running.push(engine);
    await engine.processedBlock(d.detection);
    return { engine, store, config };
  };

  /** `engineOn` the 3-of-5 Safe, once the action waits for owners (2 of 3 signatures, the agents'). */
  const awaitingOwners = async (options: Parameters<typeof engineOn>[1] = {}) => {
    const started = await engineOn(safe3of5, options);
    await waitFor('the action to wait for owners', 10_000, async () =>
      (await actionsOf(started.store))[0]?.status === 'awaiting-quorum' ? true : undefined,
    );
    // The record says so first; the approval row, its timeline entry and the state file follow.
    await started.engine.engine.settled();
    const [action] = await actionsOf(started.store);
    return { ...started, action: action! };
  };

  /** The threshold is met: `execTransaction` goes out from agent 0, is mined, and the effect verified. */
  const executes = async (store: Store) => {
    await waitFor('execTransaction broadcast', 10_000, async () =>
      (await agentTxs()) === 1 ? true : undefined,
    );
    const block = await d.drill.chain.mine();
    await waitFor('the action to be verified', 10_000, async () =>
      (await actionsOf(store))[0]?.status === 'verified' ? true : undefined,
    );
    expect(await invConfig()).toMatchObject({ isFrozen: true, ltvBps: 0 });
    return block;
  };

  /** An owner calls `approveHash` on the Safe, as the Safe app does; returns the block it is mined in. */
  const approveOnChain = async (owner: number, safeTxHash: Hex) => {
    const hash = await writeContract(client(), {
      address: safe3of5,
      abi: approveHashAbi,
      functionName: 'approveHash',
      args: [safeTxHash],
      account: privateKeyToAccount(keys[owner]!),
      chain: client().chain,
    });
    const block = await d.drill.chain.mine();
    expect((await getTransactionReceipt(client(), { hash })).status).toBe('success');
    return block;
  };

  beforeAll(async () => {
    d = await manipulatedDrill();
    contracts = await deploySafeContracts(d);
    safe2of3 = await createSafe(d, contracts, [address(0), address(1), address(2)], 2, 1n);
    safe3of5 = await createSafe(d, contracts, [0, 1, 2, 3, 4].map(address), 3, 2n);
    for (const i of [0, 1, 2, 3, 4]) await d.drill.chain.setBalance(address(i), 10n ** 20n);
    await session.ready(d);
  }, 120_000);

  beforeEach(session.reset);

  afterAll(session.close);

  it("the executor's ABI is the published Safe 1.4.1 and MultiSendCallOnly ABI", () => {
    const selectors = (abi: readonly unknown[]) =>
      new Set(
        (abi as { type: string }[])
          .filter((x) => x.type === 'function' || x.type === 'event')
          .map((x) => toFunctionSelector(x as never)),
      );
    const published = selectors(safeArtifacts.singleton().abi);
    for (const s of selectors(safeAbi)) expect(published.has(s)).toBe(true);
    for (const s of selectors(approveHashAbi)) expect(published.has(s)).toBe(true);
    const multiSend = selectors(safeArtifacts.multiSend().abi);
    for (const s of selectors(multiSendCallOnlyAbi)) expect(multiSend.has(s)).toBe(true);
  });

  it('a 2-of-3 Safe whose two agent keys meet the threshold executes at once and the effect is verified', async () => {
    const { engine, store } = await engineOn(safe2of3);
    expect(await agentTxs()).toBe(1);
    expect(await getTransactionCount(client(), { address: address(1), blockTag: 'pending' })).toBe(0);
    const next = await d.drill.chain.mine();
    await engine.processedBlock(next);
    await engine.engine.settled();

    expect(await invConfig()).toMatchObject({ isFrozen: true, ltvBps: 0 });
    expect(await nonceOf(safe2of3)).toBe(1n);
    expect((await actionsOf(store)).map((a) => a.status)).toEqual(['verified']);
    const timeline = await timelineOf(store);
    const mined = timeline.find((e) => e.type === 'tx-mined')!;
    expect(mined.summary).toContain(`mined in block ${next}`);
    expect(mined.summary).toMatch(
      /Safe tx 0x[0-9a-f]{64} \(nonce 0\) executed with the signatures of agents/,
    );
    expect(mined.summary).toContain(address(0));
    expect(mined.summary).toContain(address(1));
    expect(timeline.some((e) => e.type === 'effect-verified')).toBe(true);
    await engine.stop();
  }, 60_000);

  it('a restart while execTransaction is pending follows the journaled one instead of sending a second', async () => {
    await d.drill.chain.setAutomine(true);
    await handRolesTo(d, safe2of3);
    await d.drill.chain.setAutomine(false);
    const store = await openStore({ memory: true });
    const journal = storeTxJournal(store.db);
    const executor = () =>
      createSafeExecutor({
        id: 'treasury-safe',
        client: client(),
        chainId: d.drill.chain.chainId,
        safe: safe2of3,
        multiSend: contracts.multiSend,
        privateKeys: [keys[0]!, keys[1]!],
        priorityFeeGwei: 2,
        maxFeeGwei: 1000,
        journal,
        dryRun: false,
        receiptPollMs: 5,
        common,
      });
    const plan: ActionPlan = {
      id: 'safe-restart-freeze',
      action: 'aave-v3.freeze-reserve',
      chainId: d.drill.chain.chainId,
      incidentId: 'incident',
      playbookId: 'playbook',
      riskReducing: true,
      calls: [freezeReserve(d.drill.market.aave, d.inv) as ActionPlan['calls'][number]],
      effects: [],
      blastRadius: '',
    };
    try {
      const first = executor();
      const sent = await first.send(plan, await first.simulate(plan), { baseFeePerGas: null });
      expect(sent.txHashes).toHaveLength(1);
      expect(await agentTxs()).toBe(1);
      const journaled = await store.db.selectFrom('executor_txs').selectAll().execute();
      expect(journaled.map((r) => [r.action_id, r.status, r.hashes])).toEqual([
        [plan.id, 'pending', sent.txHashes],
      ]);

      // The process restarts before it is mined: the Safe's nonce has not moved, the agents sign the
      // same transaction, and the journal hands back the execTransaction already sent.
      const second = executor();
      await second.resume!();
      const again = await second.send(plan, await second.simulate(plan), { baseFeePerGas: null });
      expect(again.txHashes).toEqual(sent.txHashes);
      expect(again.resumed).toBe(true);
      expect(await agentTxs()).toBe(1);

      await d.drill.chain.mine();
      const [a, b] = await Promise.all([sent.receipts, again.receipts]);
      expect(a[0]!.transactionHash).toBe(b[0]!.transactionHash);
      expect((await again.quorum)?.executed).toBe(true);
      expect(await nonceOf(safe2of3)).toBe(1n);
      expect(await invConfig()).toMatchObject({ isFrozen: true });
    } finally {
      await store.close();
    }
  }, 60_000);

  it('a 3-of-5 Safe with two agent keys waits, and completes when a third owner approves through the CLI', async () => {
    const dir = dataDir();
    const { engine, store, action } = await awaitingOwners({ dir });
    // Nothing was sent: the agents' 2 signatures are below the threshold.
    expect(await agentTxs()).toBe(0);
    expect(action.reason).toMatch(/signed by agents .*: 2 of 3, waiting for 1 more owner signature/);
    const approval = await store.getApproval(action.id);
    expect(approval).toMatchObject({ kind: 'safe-signatures', status: 'awaiting' });
    expect(approval!.signatures.map((s) => s.signer).sort()).toEqual([address(0), address(1)].sort());
    expect(JSON.stringify(approval)).not.toContain(keys[0]!.slice(2)); // signatures, never keys
    // The default deadline: DEFAULT_APPROVAL_TIMEOUT_SECONDS (900) from when it started waiting.
    expect(approval!.deadline! - approval!.createdAt).toBe(DEFAULT_APPROVAL_TIMEOUT_SECONDS * 1000);
    const asked = (await timelineOf(store)).find((e) => e.summary.includes('needs 1 more owner signature'))!;
    expect(asked.summary).toContain(`until ${new Date(approval!.deadline!).toISOString()}`);
    expect(asked.summary).toContain(`firebreak approve ${action.id} --key-env`);
    // The engine publishes what waits, for the CLI.
    expect(readApprovalsState(approvalsDir(dir))?.approvals.map((a) => a.actionId)).toContain(action.id);

    const decide = (ownerKey: Hex | undefined, actionId = action.id) =>
      decideAction({
        dataDir: dir,
        actionId,
        decision: 'approve',
        by: 'alice',
        ...(ownerKey ? { ownerKey } : {}),
        common,
      });
    // Clear refusals: an unknown id lists what awaits; no key; a key that is not an owner's.
    expect(await refusal(decide(keys[2], '0xdeadbeef'))).toContain(`awaiting: ${action.id}`);
    expect(await refusal(decide(undefined))).toContain("waits for Safe owners' signatures (2 of 3)");
    const stranger = deriveKeys('respond-safe/stranger', 1)[0]!;
    expect(await refusal(decide(stranger))).toContain(
      `${privateKeyToAccount(stranger).address} is not an owner of Safe`,
    );
    // Owner 2 approves while the engine runs: the decision goes through the inbox.
    const result = await decide(keys[2]);
    expect(result.via).toBe('inbox');
    expect(result.signer).toBe(address(2));
    expect(await invConfig()).toMatchObject({ isFrozen: false, ltvBps: 6000 });

    // At its next block the engine takes the signature, meets the threshold and executes.
    await engine.processedBlock(await d.drill.chain.mine());
    const executedIn = await executes(store);
    expect(await nonceOf(safe3of5)).toBe(1n);
    const timeline = await timelineOf(store);
    expect(
      timeline.some(
        (e) =>
          e.summary.includes(`owner ${address(2)} signed Safe tx`) && e.summary.includes('approved by alice'),
      ),
    ).toBe(true);
    const executed = timeline.filter((e) => e.type === 'tx-mined').at(-1)!;
    expect(executed.summary).toContain(`in block ${executedIn}`);
    expect(executed.summary).toContain(`(3 of 3)`);
    await containedTimeline(store);
    expect((await store.getApproval(action.id))?.status).toBe('done');
    // Once done, a further approval is refused, saying so.
    await waitFor('the state file to show the approval done', 5_000, async () =>
      readApprovalsState(approvalsDir(dir))?.approvals.find((a) => a.actionId === action.id)?.status ===
      'done'
        ? true
        : undefined,
    );
    expect(await refusal(decide(keys[3]))).toContain(`action ${action.id} was already approved`);
    await engine.stop();
  }, 60_000);

  it("a 3-of-5 Safe with two agent keys completes when a third owner calls the Safe's approveHash on-chain, with no CLI", async () => {
    const { engine, store, action } = await awaitingOwners({ dir: dataDir() });
    const safeTxHash = (await store.getApproval(action.id))!.request.safe!.safeTxHash;
    // A block with no approval on-chain changes nothing.
    await engine.processedBlock(await d.drill.chain.mine());
    expect((await actionsOf(store))[0]?.status).toBe('awaiting-quorum');
    expect(await agentTxs()).toBe(0);

    const approvedIn = await approveOnChain(3, safeTxHash);
    expect(
      await readContract(client(), {
        address: safe3of5,
        abi: safeAbi,
        functionName: 'approvedHashes',
        args: [address(3), safeTxHash],
      }),
    ).toBe(1n);
    await engine.processedBlock(approvedIn);
    const executedIn = await executes(store);
    expect(await nonceOf(safe3of5)).toBe(1n);

    const timeline = await timelineOf(store);
    const counted = timeline.filter((e) => e.summary.includes('on-chain'));
    expect(counted.map((e) => [e.summary, e.block_number])).toEqual([
      [`owner ${address(3)} approved Safe tx ${safeTxHash} on-chain: 3 of 3`, approvedIn],
    ]);
    const executed = timeline.filter((e) => e.type === 'tx-mined').at(-1)!;
    expect(executed.summary).toContain(`in block ${executedIn}`);
    expect(executed.summary).toContain(
      `signed by ${[address(0), address(1), address(3)].join(', ')} (3 of 3)`,
    );
    // What execTransaction carried for owner 3: the Safe's pre-validated signature (v = 1, r = owner).
    const sent = await getTransaction(client(), {
      hash: (executed.data as { quorum: { tx: Hex } }).quorum.tx,
    });
    const call = decodeFunctionData({ abi: safeAbi, data: sent.input });
    expect(call.functionName).toBe('execTransaction');
    expect((call.args![9] as Hex).toLowerCase()).toContain(
      preValidatedSignature(address(3)).slice(2).toLowerCase(),
    );
    // Stored with the approval's signatures (a restart hands it in again), which now says done.
    const approval = await store.getApproval(action.id);
    expect(approval?.status).toBe('done');
    expect(approval?.signatures.find((s) => s.signer === address(3))).toMatchObject({
      by: ON_CHAIN_APPROVAL,
      signature: preValidatedSignature(address(3)),
    });
    await engine.stop();
  }, 60_000);

  it('a 3-of-5 Safe left waiting past its deadline fails, escalated, and nothing executes even if owners sign afterwards', async () => {
    const dir = dataDir();
    const clock = shiftableClock();
    const { logger, lines } = captureLogger();
    const { engine, store, action } = await awaitingOwners({
      dir,
      approvalTimeoutSeconds: 60,
      clock,
      logger,
    });
    const approval = await store.getApproval(action.id);
    expect(approval!.deadline! - approval!.createdAt).toBe(60_000);
    const safeTxHash = approval!.request.safe!.safeTxHash;
    // One block inside the deadline changes nothing.
    await engine.processedBlock(await d.drill.chain.mine());
    expect((await actionsOf(store))[0]?.status).toBe('awaiting-quorum');

    clock.shift(61_000);
    // Past the deadline, an owner's signature is refused even before the engine's next block.
    const late = () =>
      decideAction({
        dataDir: dir,
        actionId: action.id,
        decision: 'approve',
        by: 'gina',
        ownerKey: keys[2]!,
        common: createCommon({ clock }),
      });
    const until = new Date(approval!.deadline!).toISOString();
    expect(await refusal(late())).toContain(
      `action ${action.id} (aave-v3.contain-collateral) is past its deadline: the owners' signatures of Safe tx ${safeTxHash} were due by ${until} (2 of 3 given)`,
    );
    const expiredIn = await d.drill.chain.mine();
    await engine.processedBlock(expiredIn);
    const [record] = await actionsOf(store);
    expect(record?.status).toBe('failed');
    expect(record?.reason).toBe(
      `waited for Safe owners until ${until} with 2 of 3 signatures of Safe tx ${safeTxHash}: not executed`,
    );
    const escalation = (await timelineOf(store)).filter((e) => e.summary.startsWith('ESCALATION'));
    expect(escalation.map((e) => [e.type, e.summary, e.block_number])).toEqual([
      [
        'action-refused',
        `ESCALATION: aave-v3.contain-collateral ${record!.reason}; the incident needs a human`,
        expiredIn,
      ],
    ]);
    const errors = lines.filter((l) => l.level === 50);
    expect(errors.map((l) => l.msg)).toEqual([
      `ESCALATION: the Safe transaction of aave-v3.contain-collateral (action ${action.id}, Safe tx ${safeTxHash}) expired at ${until} with 2 of 3 owner signatures: nothing was executed; decide by hand`,
    ]);
    expect(await store.getApproval(action.id)).toMatchObject({
      status: 'expired',
      deadline: approval!.deadline,
    });
    // Afterwards: the CLI still refuses, and an owner's on-chain approval is not acted on.
    await waitFor('the state file to show the approval expired', 5_000, async () =>
      readApprovalsState(approvalsDir(dir))?.approvals.find((a) => a.actionId === action.id)?.status ===
      'expired'
        ? true
        : undefined,
    );
    expect(await refusal(late())).toContain('is past its deadline');
    await engine.processedBlock(await approveOnChain(2, safeTxHash));
    await engine.processedBlock(await approveOnChain(3, safeTxHash));
    await engine.processedBlock(await d.drill.chain.mine());
    await engine.engine.settled();
    expect(await agentTxs()).toBe(0);
    expect(await nonceOf(safe3of5)).toBe(0n);
    expect(await invConfig()).toMatchObject({ isFrozen: false, ltvBps: 6000 });
    expect((await actionsOf(store)).map((a) => a.status)).toEqual(['failed']);
    expect((await timelineOf(store)).some((e) => e.summary.includes('on-chain:'))).toBe(false);
    await engine.stop();
  }, 60_000);

  it('a waiting Safe transaction an owner rejects is never executed', async () => {
    const dir = dataDir();
    const { engine, store, action } = await awaitingOwners({ dir });
    const result = await decideAction({
      dataDir: dir,
      actionId: action.id,
      decision: 'reject',
      by: 'erin',
      reason: 'not this one',
      common,
    });
    expect(result.via).toBe('inbox');
    await engine.processedBlock(await d.drill.chain.mine());
    await waitFor('the action to be rejected', 10_000, async () =>
      (await actionsOf(store))[0]?.status === 'rejected' ? true : undefined,
    );
    await engine.processedBlock(await d.drill.chain.mine());
    expect(await agentTxs()).toBe(0);
    expect(await nonceOf(safe3of5)).toBe(0n);
    expect(await invConfig()).toMatchObject({ isFrozen: false, ltvBps: 6000 });
    const refused = (await timelineOf(store)).filter((e) => e.type === 'action-refused');
    expect(refused.map((e) => e.summary)).toEqual([
      'aave-v3.contain-collateral rejected by erin: not this one: not executed',
    ]);
    await engine.stop();
  }, 60_000);

  it("an owner's signature given while no engine runs is stored, and completes the Safe transaction after a restart", async () => {
    const dir = dataDir();
    const first = await awaitingOwners({ dir });
    const { action } = first;
    await first.engine.stop();
    await first.store.close();

    const result = await decideAction({
      dataDir: dir,
      actionId: action.id,
      decision: 'approve',
      by: 'frank',
      ownerKey: keys[3]!,
      common,
    });
    expect(result).toMatchObject({ via: 'store', signer: address(3) });

    // The restarted engine sees the manipulation again, builds the same Safe transaction (the nonce
    // has not moved), finds the stored signature, meets the threshold and executes.
    const reopened = await openStore({ dataDir: dir });
    const restarted = await startEngine(d, first.config, reopened, d.detection + 1n, { secrets: secrets() });
    running.push(restarted);
    await restarted.processedBlock(await d.drill.chain.mine());
    await executes(reopened);
    const timeline = await timelineOf(reopened);
    expect(
      timeline.some(
        (e) => e.summary.includes(`owner ${address(3)} signed`) && e.summary.includes('approved by frank'),
      ),
    ).toBe(true);
    await restarted.stop();
  }, 60_000);

  it('the same through a real `firebreak approve --key-env` process', async () => {
    const dir = dataDir();
    const configFile = join(dir, '..', 'firebreak.config.yaml');
    writeFileSync(
      configFile,
      `dataDir: ${JSON.stringify(dir)}\nchains:\n  - { id: ${d.drill.chain.chainId}, name: embedded, rpc: ["http://127.0.0.1:1"] }\n`,
    );
    const { engine, store, action } = await awaitingOwners({ dir });
    const cli = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          'bin/firebreak.mjs',
          'approve',
          action.id,
          '--config',
          configFile,
          '--by',
          'carol',
          '--key-env',
          'OWNER_KEY',
        ],
        { env: { ...process.env, OWNER_KEY: keys[4]! }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => {
        out += String(c);
      });
      child.stderr.on('data', (c) => {
        err += String(c);
      });
      child.on('close', (code) => resolve({ code, out, err }));
    });
    expect(cli.err).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.out).toContain(`by owner ${address(4)} (carol)`);
    expect(cli.out).toContain('handed to the running engine');
    expect(cli.out + cli.err).not.toContain(keys[4]!.slice(2));

    await engine.processedBlock(await d.drill.chain.mine());
    await executes(store);
    expect((await timelineOf(store)).some((e) => e.summary.includes('approved by carol'))).toBe(true);
    await engine.stop();
  }, 60_000);
});
