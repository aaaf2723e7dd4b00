// The `safe` executor on the Inverse Finance drill's real Aave v3 market, with a real Safe 1.4.1
// (deployed from @safe-global/safe-contracts' artifacts) holding EMERGENCY_ADMIN and RISK_ADMIN
// (the drill's guardian EOA loses both). The containing action is two calls (freeze INV, LTV 0),
// batched into one Safe transaction through MultiSendCallOnly. (1) A 2-of-3 Safe whose two agent
// keys meet the threshold executes in the block after the detection, and the effect is verified.
// (2) A 3-of-5 Safe with two agent keys waits with 2 of 3 signatures (nothing is sent) and
// completes when a third owner approves through `firebreak approve --key-env`, called as a
// function while the engine runs on the same data folder, and (3) as a real spawned command.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Hex, toFunctionSelector } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getTransactionCount, readContract } from 'viem/actions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deriveKeys } from '../src/chain/embedded';
import { decideAction } from '../src/cli/approve';
import { createCommon } from '../src/common/common';
import { isFirebreakError } from '../src/common/errors';
import { readReserveConfiguration } from '../src/protocols/aave-v3/reader';
import { approvalsDir, readApprovalsState } from '../src/respond/approvals';
import { multiSendCallOnlyAbi, safeAbi } from '../src/respond/executors/safe';
import { openStore, type Store } from '../src/store/store';
import {
  createSafe,
  deploySafeContracts,
  handRolesTo,
  type ManipulatedDrill,
  manipulatedDrill,
  type RunningEngine,
  respondConfig,
  type SafeDeployment,
  safeArtifacts,
  startEngine,
} from './support/respond-drill';
import { waitFor } from './support/wait';

describe('safe executor: a real Safe 1.4.1 holding the Aave roles', () => {
  let d: ManipulatedDrill;
  let contracts: SafeDeployment;
  let safe2of3: Hex;
  let safe3of5: Hex;
  let snapshot: Hex;
  // Owners 0 and 1 are Firebreak's agent keys; 2..4 are people.
  const keys = deriveKeys('respond-safe/owners', 5);
  const address = (i: number) => privateKeyToAccount(keys[i]!).address;
  const client = () => d.drill.chain.client;
  const invConfig = () => readReserveConfiguration(client(), d.drill.market.aave.pool, d.inv);
  const running: RunningEngine[] = [];
  const folders: string[] = [];
  const common = createCommon();

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
  const timelineOf = (store: Store) =>
    store.db.selectFrom('timeline_events').selectAll().orderBy('seq').execute();
  const actionsOf = (store: Store) => store.db.selectFrom('actions').selectAll().execute();
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'firebreak-safe-'));
    folders.push(dir);
    return join(dir, 'data');
  };

  beforeAll(async () => {
    d = await manipulatedDrill();
    contracts = await deploySafeContracts(d);
    safe2of3 = await createSafe(d, contracts, [address(0), address(1), address(2)], 2, 1n);
    safe3of5 = await createSafe(d, contracts, [0, 1, 2, 3, 4].map(address), 3, 2n);
    for (const i of [0, 1]) await d.drill.chain.setBalance(address(i), 10n ** 20n);
    snapshot = await d.drill.chain.snapshot();
  }, 120_000);

  beforeEach(async () => {
    await d.drill.chain.revert(snapshot);
    snapshot = await d.drill.chain.snapshot();
    await d.drill.chain.setAutomine(false);
  });

  afterAll(async () => {
    for (const r of running) await r.stop().catch(() => undefined);
    for (const r of running) await r.store.close().catch(() => undefined);
    await d?.drill.chain.close();
    for (const f of folders) rmSync(f, { recursive: true, force: true });
  });

  it("the executor's ABI is the published Safe 1.4.1 and MultiSendCallOnly ABI", () => {
    const selectors = (abi: readonly unknown[]) =>
      new Set(
        (abi as { type: string }[])
          .filter((x) => x.type === 'function' || x.type === 'event')
          .map((x) => toFunctionSelector(x as never)),
      );
    const published = selectors(safeArtifacts.singleton().abi);
    for (const s of selectors(safeAbi)) expect(published.has(s)).toBe(true);
    const multiSend = selectors(safeArtifacts.multiSend().abi);
    for (const s of selectors(multiSendCallOnlyAbi)) expect(multiSend.has(s)).toBe(true);
  });

  it('a 2-of-3 Safe whose two agent keys meet the threshold executes at once and the effect is verified', async () => {
    await d.drill.chain.setAutomine(true);
    await handRolesTo(d, safe2of3);
    await d.drill.chain.setAutomine(false);
    const store = await openStore({ memory: true });
    const engine = await startEngine(
      d,
      respondConfig(d, safeExecutor(safe2of3), { executor: 'treasury-safe' }),
      store,
      d.detection,
      {
        secrets: secrets(),
      },
    );
    running.push(engine);
    await engine.processedBlock(d.detection);
    expect(await getTransactionCount(client(), { address: address(0), blockTag: 'pending' })).toBe(1);
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

  it('a 3-of-5 Safe with two agent keys waits, and completes when a third owner approves through the CLI', async () => {
    await d.drill.chain.setAutomine(true);
    await handRolesTo(d, safe3of5);
    await d.drill.chain.setAutomine(false);
    const dir = dataDir();
    const store = await openStore({ dataDir: dir });
    const engine = await startEngine(
      d,
      respondConfig(d, safeExecutor(safe3of5), { executor: 'treasury-safe' }, dir),
      store,
      d.detection,
      {
        secrets: secrets(),
      },
    );
    running.push(engine);
    await engine.processedBlock(d.detection);
    await waitFor('the action to wait for owners', 10_000, async () =>
      (await actionsOf(store))[0]?.status === 'awaiting-quorum' ? true : undefined,
    );
    // Nothing was sent: the agents' 2 signatures are below the threshold.
    expect(await getTransactionCount(client(), { address: address(0), blockTag: 'pending' })).toBe(0);
    const [action] = await actionsOf(store);
    expect(action!.reason).toMatch(/signed by agents .*: 2 of 3, waiting for 1 more owner signature/);
    const approval = await store.getApproval(action!.id);
    expect(approval).toMatchObject({ kind: 'safe-signatures', status: 'awaiting' });
    expect(approval!.signatures.map((s) => s.signer).sort()).toEqual([address(0), address(1)].sort());
    expect(JSON.stringify(approval)).not.toContain(keys[0]!.slice(2)); // signatures, never keys
    const asked = (await timelineOf(store)).find((e) => e.summary.includes('needs 1 more owner signature'))!;
    expect(asked.summary).toContain(`firebreak approve ${action!.id} --key-env`);
    // The engine publishes what waits, for the CLI.
    expect(readApprovalsState(approvalsDir(dir))?.approvals.map((a) => a.actionId)).toContain(action!.id);

    const decide = (ownerKey: Hex | undefined, actionId = action!.id) =>
      decideAction({
        dataDir: dir,
        actionId,
        decision: 'approve',
        by: 'alice',
        ...(ownerKey ? { ownerKey } : {}),
        common,
      });
    const refusal = async (p: Promise<unknown>) => {
      const error = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isFirebreakError(error, 'ERR_APPROVAL')).toBe(true);
      return (error as Error).message;
    };
    // Clear refusals: an unknown id lists what awaits; no key; a key that is not an owner's.
    expect(await refusal(decide(keys[2], '0xdeadbeef'))).toContain(`awaiting: ${action!.id}`);
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
    const next = await d.drill.chain.mine();
    await engine.processedBlock(next);
    await waitFor('execTransaction broadcast', 10_000, async () =>
      (await getTransactionCount(client(), { address: address(0), blockTag: 'pending' })) === 1
        ? true
        : undefined,
    );
    const executedIn = await d.drill.chain.mine();
    await waitFor('the action to be verified', 10_000, async () =>
      (await actionsOf(store))[0]?.status === 'verified' ? true : undefined,
    );
    expect(await invConfig()).toMatchObject({ isFrozen: true, ltvBps: 0 });
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
    expect(timeline.at(-1)!.summary).toContain('incident contained');
    expect((await store.getApproval(action!.id))?.status).toBe('done');
    // Once done, a further approval is refused, saying so.
    await waitFor('the state file to show the approval done', 5_000, async () =>
      readApprovalsState(approvalsDir(dir))?.approvals.find((a) => a.actionId === action!.id)?.status ===
      'done'
        ? true
        : undefined,
    );
    expect(await refusal(decide(keys[3]))).toContain(`action ${action!.id} was already approved`);
    await engine.stop();
  }, 60_000);

  it('a waiting Safe transaction an owner rejects is never executed', async () => {
    await d.drill.chain.setAutomine(true);
    await handRolesTo(d, safe3of5);
    await d.drill.chain.setAutomine(false);
    const dir = dataDir();
    const store = await openStore({ dataDir: dir });
    const engine = await startEngine(
      d,
      respondConfig(d, safeExecutor(safe3of5), { executor: 'treasury-safe' }, dir),
      store,
      d.detection,
      { secrets: secrets() },
    );
    running.push(engine);
    await engine.processedBlock(d.detection);
    await waitFor('the action to wait for owners', 10_000, async () =>
      (await actionsOf(store))[0]?.status === 'awaiting-quorum' ? true : undefined,
    );
    const [action] = await actionsOf(store);
    const result = await decideAction({
      dataDir: dir,
      actionId: action!.id,
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
    expect(await getTransactionCount(client(), { address: address(0), blockTag: 'pending' })).toBe(0);
    expect(await nonceOf(safe3of5)).toBe(0n);
    expect(await invConfig()).toMatchObject({ isFrozen: false, ltvBps: 6000 });
    const refused = (await timelineOf(store)).filter((e) => e.type === 'action-refused');
    expect(refused.map((e) => e.summary)).toEqual([
      'aave-v3.contain-collateral rejected by erin: not this one: not executed',
    ]);
    await engine.stop();
  }, 60_000);

  it("an owner's signature given while no engine runs is stored, and completes the Safe transaction after a restart", async () => {
    await d.drill.chain.setAutomine(true);
    await handRolesTo(d, safe3of5);
    await d.drill.chain.setAutomine(false);
    const dir = dataDir();
    const config = respondConfig(d, safeExecutor(safe3of5), { executor: 'treasury-safe' }, dir);
    const store = await openStore({ dataDir: dir });
    const first = await startEngine(d, config, store, d.detection, { secrets: secrets() });
    await first.processedBlock(d.detection);
    await waitFor('the action to wait for owners', 10_000, async () =>
      (await actionsOf(store))[0]?.status === 'awaiting-quorum' ? true : undefined,
    );
    const [action] = await actionsOf(store);
    await first.stop();
    await store.close();

    const result = await decideAction({
      dataDir: dir,
      actionId: action!.id,
      decision: 'approve',
      by: 'frank',
      ownerKey: keys[3]!,
      common,
    });
    expect(result).toMatchObject({ via: 'store', signer: address(3) });

    // The restarted engine sees the manipulation again, builds the same Safe transaction (the nonce
    // has not moved), finds the stored signature, meets the threshold and executes.
    const reopened = await openStore({ dataDir: dir });
    const restarted = await startEngine(d, config, reopened, d.detection + 1n, { secrets: secrets() });
    running.push(restarted);
    await restarted.processedBlock(await d.drill.chain.mine());
    await waitFor('execTransaction broadcast', 10_000, async () =>
      (await getTransactionCount(client(), { address: address(0), blockTag: 'pending' })) === 1
        ? true
        : undefined,
    );
    await d.drill.chain.mine();
    await waitFor('the action to be verified', 10_000, async () =>
      (await actionsOf(reopened))[0]?.status === 'verified' ? true : undefined,
    );
    expect(await invConfig()).toMatchObject({ isFrozen: true, ltvBps: 0 });
    const timeline = await timelineOf(reopened);
    expect(
      timeline.some(
        (e) => e.summary.includes(`owner ${address(3)} signed`) && e.summary.includes('approved by frank'),
      ),
    ).toBe(true);
    await restarted.stop();
  }, 60_000);

  it('the same through a real `firebreak approve --key-env` process', async () => {
    await d.drill.chain.setAutomine(true);
    await handRolesTo(d, safe3of5);
    await d.drill.chain.setAutomine(false);
    const dir = dataDir();
    const configFile = join(dir, '..', 'firebreak.config.yaml');
    writeFileSync(
      configFile,
      `dataDir: ${JSON.stringify(dir)}\nchains:\n  - { id: ${d.drill.chain.chainId}, name: embedded, rpc: ["http://127.0.0.1:1"] }\n`,
    );
    const store = await openStore({ dataDir: dir });
    const engine = await startEngine(
      d,
      respondConfig(d, safeExecutor(safe3of5), { executor: 'treasury-safe' }, dir),
      store,
      d.detection,
      {
        secrets: secrets(),
      },
    );
    running.push(engine);
    await engine.processedBlock(d.detection);
    await waitFor('the action to wait for owners', 10_000, async () =>
      (await actionsOf(store))[0]?.status === 'awaiting-quorum' ? true : undefined,
    );
    const [action] = await actionsOf(store);
    const cli = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          'bin/firebreak.mjs',
          'approve',
          action!.id,
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

    const next = await d.drill.chain.mine();
    await engine.processedBlock(next);
    await waitFor('execTransaction broadcast', 10_000, async () =>
      (await getTransactionCount(client(), { address: address(0), blockTag: 'pending' })) === 1
        ? true
        : undefined,
    );
    await d.drill.chain.mine();
    await waitFor('the action to be verified', 10_000, async () =>
      (await actionsOf(store))[0]?.status === 'verified' ? true : undefined,
    );
    expect(await invConfig()).toMatchObject({ isFrozen: true, ltvBps: 0 });
    expect((await timelineOf(store)).some((e) => e.summary.includes('approved by carol'))).toBe(true);
    await engine.stop();
  }, 60_000);
});
