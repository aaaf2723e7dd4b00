/**
 * Test support — the Inverse Finance drill's real Aave v3 market with the INV TWAP pushed ~56× by a
 * real swap (the oracle-deviation detector fires at `detection`), and engines that follow it with
 * a given executor config and store: what the approval and Safe tests share with the guardian-hub
 * test. Also deploys a real Safe 1.4.1 (singleton, proxy factory, MultiSendCallOnly) from
 * `@safe-global/safe-contracts`' published artifacts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Address, decodeEventLog, encodeFunctionData, type Hex, zeroAddress } from 'viem';
import { getBlock, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { expect } from 'vitest';
import { deployArtifact, packageArtifact } from '../../src/chain/artifacts';
import { type Clock, createCommon, systemClock } from '../../src/common/common';
import { isFirebreakError } from '../../src/common/errors';
import { createLogger, type Logger } from '../../src/common/logger';
import { parseConfig } from '../../src/config/load';
import type { FirebreakConfig, FirebreakConfigInput } from '../../src/config/schema';
import { sendAndConfirm } from '../../src/drills/market';
import { type PreparedDrill, prepareDrill } from '../../src/drills/runner';
import { loadScenario, type Scenario } from '../../src/drills/scenario';
import { createEngine, type Engine } from '../../src/engine/engine';
import { aclManagerAbi } from '../../src/protocols/aave-v3/abi';
import { readReserveConfiguration } from '../../src/protocols/aave-v3/reader';
import { swapExactIn } from '../../src/protocols/uniswap-v2/pool';
import type { Store } from '../../src/store/store';
import { oracleDeviationConfig } from './drill-config';
import { waitFor } from './wait';

const twapAbi = [
  { type: 'function', name: 'update', stateMutability: 'nonpayable', inputs: [], outputs: [] },
] as const;

export interface ManipulatedDrill {
  scenario: Scenario;
  drill: PreparedDrill;
  inv: Hex;
  /** The block at which the oracle-deviation detector sees the manipulation. */
  detection: bigint;
}

/** The drill market after the attack's oracle half (TWAP window, 300 WETH into the thin pool, close it). */
export async function manipulatedDrill(): Promise<ManipulatedDrill> {
  const scenario = loadScenario('scenarios/inverse-finance-2022.yaml');
  const drill = await prepareDrill(scenario);
  await drill.chain.setAutomine(true);
  const { market, chain } = drill;
  const client = chain.client;
  const inv = market.tokens.get('INV')!.address;
  const attacker = market.accounts.get('attacker')!;
  const update = async () => {
    const hash = await writeContract(client, {
      address: market.twaps.get('INV')!,
      abi: twapAbi,
      functionName: 'update',
      account: attacker.account,
      chain: client.chain,
    });
    expect((await waitForTransactionReceipt(client, { hash, pollingInterval: 1 })).status).toBe('success');
  };
  const later = async (seconds: bigint) =>
    chain.mine({ timestamp: (await getBlock(client)).timestamp + seconds });
  await later(61n);
  await update();
  const swap = await swapExactIn(client, {
    pair: market.pools.get('INV-WETH')!,
    tokenIn: market.tokens.get('WETH')!.address,
    amountIn: 300n * 10n ** 18n,
    to: attacker.address,
    account: attacker.account,
  });
  expect(swap.confirmed).toBe(true);
  await later(61n);
  await update();
  const detection = await client.getBlockNumber();
  expect(await readReserveConfiguration(client, market.aave.pool, inv)).toMatchObject({
    isFrozen: false,
    ltvBps: 6000,
  });
  return { scenario, drill, inv, detection };
}

/** Moves the market's EMERGENCY_ADMIN and RISK_ADMIN roles from the drill's guardian to `holder`. */
export async function handRolesTo(d: ManipulatedDrill, holder: Hex): Promise<void> {
  const { market, chain } = d.drill;
  const acl = (fn: string, who: Hex) =>
    sendAndConfirm(chain, market.deployer, market.aave.aclManager, aclManagerAbi, fn, [who]);
  await acl('addEmergencyAdmin', holder);
  await acl('addRiskAdmin', holder);
  await acl('removeEmergencyAdmin', market.guardian.address);
  await acl('removeRiskAdmin', market.guardian.address);
}

const SAFE = '@safe-global/safe-contracts/build/artifacts/contracts';
export const safeArtifacts = {
  singleton: () => packageArtifact(`${SAFE}/Safe.sol/Safe.json`),
  factory: () => packageArtifact(`${SAFE}/proxies/SafeProxyFactory.sol/SafeProxyFactory.json`),
  multiSend: () => packageArtifact(`${SAFE}/libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json`),
};

export interface SafeDeployment {
  singleton: Address;
  factory: Address;
  multiSend: Address;
}

/** Deploys Safe 1.4.1's singleton, proxy factory and MultiSendCallOnly from the package's artifacts. */
export async function deploySafeContracts(d: ManipulatedDrill): Promise<SafeDeployment> {
  const { client } = d.drill.chain;
  const account = d.drill.market.deployer.account;
  return {
    singleton: await deployArtifact(client, safeArtifacts.singleton(), { account }),
    factory: await deployArtifact(client, safeArtifacts.factory(), { account }),
    multiSend: await deployArtifact(client, safeArtifacts.multiSend(), { account }),
  };
}

/** A Safe proxy with these owners and threshold, created through the factory (as the Safe app does). */
export async function createSafe(
  d: ManipulatedDrill,
  contracts: SafeDeployment,
  owners: Hex[],
  threshold: number,
  saltNonce: bigint,
): Promise<Address> {
  const { client } = d.drill.chain;
  const singleton = safeArtifacts.singleton();
  const factory = safeArtifacts.factory();
  const initializer = encodeFunctionData({
    abi: singleton.abi,
    functionName: 'setup',
    args: [owners, BigInt(threshold), zeroAddress, '0x', zeroAddress, zeroAddress, 0n, zeroAddress],
  });
  const hash = await writeContract(client, {
    address: contracts.factory,
    abi: factory.abi,
    functionName: 'createProxyWithNonce',
    args: [contracts.singleton, initializer, saltNonce],
    account: d.drill.market.deployer.account,
    chain: client.chain,
  });
  const receipt = await waitForTransactionReceipt(client, { hash, pollingInterval: 1 });
  expect(receipt.status).toBe('success');
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== contracts.factory.toLowerCase()) continue;
    const event = decodeEventLog({ abi: factory.abi, data: log.data, topics: log.topics });
    if (event.eventName === 'ProxyCreation') return (event.args as unknown as { proxy: Address }).proxy;
  }
  throw new Error('no ProxyCreation event');
}

/** The drill's oracle-deviation engine config with these executors (default: the drill's guardian EOA) and every step through `executor`. */
export function respondConfig(
  d: ManipulatedDrill,
  executors: FirebreakConfigInput['executors'] | undefined,
  step: { executor: string; autonomy?: 'auto' | 'approve'; approvalTimeoutSeconds?: number },
  dataDir?: string,
): FirebreakConfig {
  const base = oracleDeviationConfig(d.scenario, d.drill.market, d.drill.chain.chainId);
  // Validated as a file would be (the embedded chain has no URL: a placeholder passes the schema).
  const parsed = parseConfig(
    {
      ...base,
      ...(dataDir ? { dataDir } : {}),
      chains: base.chains.map((c) => ({ ...c, rpc: ['http://embedded.invalid'] })),
      executors: executors ?? base.executors,
      playbooks: base.playbooks.map((p) => ({ ...p, do: p.do.map((s) => ({ ...s, ...step })) })),
    } as FirebreakConfigInput,
    'respond.config.yaml',
  );
  return { ...parsed, chains: base.chains };
}

/** Log lines captured as parsed JSON objects. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

/** A wall clock that tests can move forward. */
export function shiftableClock(): Clock & { shift(ms: number): void } {
  let offset = 0;
  return {
    now: () => systemClock.now() + offset,
    monotonic: () => systemClock.monotonic(),
    shift(ms) {
      offset += ms;
    },
  };
}

export interface RunningEngine {
  engine: Engine;
  store: Store;
  processed: Set<bigint>;
  stop(): Promise<void>;
  /** Resolves once the engine has processed `block`. */
  processedBlock(block: bigint): Promise<void>;
}

/** Starts an engine following the drill chain from `from`. */
export async function startEngine(
  d: ManipulatedDrill,
  config: FirebreakConfig,
  store: Store,
  from: bigint,
  extra: { secrets: Record<string, string>; clock?: Clock; logger?: Logger },
): Promise<RunningEngine> {
  const controller = new AbortController();
  const processed = new Set<bigint>();
  const engine = await createEngine({
    config,
    chains: new Map([['embedded', { client: d.drill.chain.client, provider: d.drill.chain.provider }]]),
    store,
    common: createCommon({
      signal: controller.signal,
      ...(extra.clock ? { clock: extra.clock } : {}),
      ...(extra.logger
        ? { logger: extra.logger }
        : process.env.DEBUG_RESPOND
          ? { logger: createLogger({ level: 'debug' }) }
          : {}),
    }),
    secrets: extra.secrets,
    hooks: { onBlockProcessed: ({ event }) => processed.add(event.block.number) },
  });
  engine.start(new Map([['embedded', from]]));
  return {
    engine,
    store,
    processed,
    async stop() {
      await engine.stop();
      controller.abort();
    },
    processedBlock: (block) =>
      waitFor(`block ${block} processed`, 30_000, async () => (processed.has(block) ? true : undefined)).then(
        () => undefined,
      ),
  };
}

/**
 * The life of a test file on one manipulated drill: each test starts from the state the file's
 * set-up left (`ready`: a snapshot, reverted and taken again before every test, with automine
 * off as a node mines), and at the end every engine the tests started (`running`) is stopped, its
 * store closed, the chain closed and the temporary folders (`folders`) removed.
 *
 * @example
 * const session = drillSession();
 * beforeAll(async () => { d = await manipulatedDrill(); …; await session.ready(d); });
 * beforeEach(session.reset);
 * afterAll(session.close);
 */
export function drillSession() {
  const running: RunningEngine[] = [];
  const folders: string[] = [];
  let drill: ManipulatedDrill | undefined;
  let snapshot: Hex | undefined;
  return {
    running,
    folders,
    /** A fresh data folder for a store (removed at the end): `<tmp>/<prefix>…/data`. */
    dataDir(prefix: string) {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      folders.push(dir);
      return join(dir, 'data');
    },
    async ready(d: ManipulatedDrill) {
      drill = d;
      snapshot = await d.drill.chain.snapshot();
    },
    async reset() {
      const chain = drill!.drill.chain;
      await chain.revert(snapshot!);
      snapshot = await chain.snapshot();
      await chain.setAutomine(false);
    },
    async close() {
      for (const r of running) await r.stop().catch(() => undefined);
      for (const r of running) await r.store.close().catch(() => undefined);
      await drill?.drill.chain.close();
      for (const f of folders) rmSync(f, { recursive: true, force: true });
    },
  };
}

/** Every timeline entry of a store, in order. */
export const timelineOf = (store: Store) =>
  store.db.selectFrom('timeline_events').selectAll().orderBy('seq').execute();

/**
 * The timeline once its last entry says the incident is contained. An action's record turns
 * `verified` just before its last entries are written (the store takes other work between
 * statements), so a test that saw `verified` waits for them here.
 */
export async function containedTimeline(store: Store, ms = 5_000) {
  return waitFor('the incident to be contained', ms, async () => {
    const timeline = await timelineOf(store);
    return timeline.at(-1)?.summary.includes('incident contained') ? timeline : undefined;
  });
}

/** Every action record of a store. */
export const actionsOf = (store: Store) => store.db.selectFrom('actions').selectAll().execute();

/** The message of the `ERR_APPROVAL` refusal `p` must end in (the test fails on anything else). */
export async function approvalRefusal(p: Promise<unknown>): Promise<string> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isFirebreakError(error, 'ERR_APPROVAL')).toBe(true);
  return (error as Error).message;
}
