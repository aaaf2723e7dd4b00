/**
 * Drills — the runner: deploy the scenario's market on the embedded chain, snapshot, run the
 * counterfactual (nobody responds), revert, run it again protected by the engine, and score both.
 *
 * Time is honest. Blocks are mined one at a time at the scenario's block time. After each block
 * the scenario's actors put their next transactions into the mempool at once (an attacker does not
 * wait) and the engine gets the block budget to see the block and respond; the next block is mined
 * when the engine has finished with this one or the budget runs out, whichever comes first. The
 * block builder orders the mempool by tip, so the engine's transactions must outbid the attacker's
 * to land first. The runner never tells the engine anything it would not see on a real chain.
 */
import { rmSync } from 'node:fs';
import { type Hex, type TransactionReceipt, toHex } from 'viem';
import { getTransactionReceipt, readContract, waitForTransactionReceipt } from 'viem/actions';
import { createAnvilChain } from '../chain/anvil';
import { createEmbeddedChain, type EmbeddedChain } from '../chain/embedded';
import { minBig } from '../common/bigint';
import { type Common, createCommon } from '../common/common';
import type { FirebreakConfig } from '../config/schema';
import { createEngine, type Engine } from '../engine/engine';
import type { TimelineEvent } from '../incidents/types';
import { erc20Abi, poolAbi } from '../protocols/aave-v3/abi';
import { readReserveConfiguration } from '../protocols/aave-v3/reader';
import { openStore, type Store } from '../store/store';
import { createActors, type PreparedStep, type SubmittedStep } from './actors';
import {
  accountsNeeded,
  type DrillMarket,
  deployDrillMarket,
  mintDrillToken,
  sendAndConfirm,
  toUnits,
} from './market';
import { type Outcome, outcome, snapshotMarket } from './measure';
import type { Scenario } from './scenario';

export interface DrillOptions {
  /** Wall-clock budget the engine gets per block (12 s mainnet-like by default; 250 ms for an L2-like run). */
  blockBudgetMs?: number;
  common?: Common;
  onProgress?: (event: DrillProgress) => void;
  /**
   * A data folder for the protected run's incident store (replaced on every run), so the incidents,
   * timeline and actions can be inspected afterwards. In memory when omitted.
   */
  storeDir?: string;
}

export type DrillProgress =
  | { type: 'phase'; message: string }
  | { type: 'block'; run: RunKind; offset: number; of: number; blockNumber: bigint; note?: string };

export type RunKind = 'counterfactual' | 'protected';

export interface StepResult {
  label: string | null;
  actor: string;
  do: string;
  offset: number;
  block: bigint | null;
  /** 'success' | 'reverted' per transaction, in order. */
  status: ('success' | 'reverted')[];
  txs: { hash: Hex; block: bigint; index: number; status: 'success' | 'reverted' }[];
  skipped?: string;
}

export interface ActionSummary {
  id: string;
  action: string;
  asset: string | null;
  status: string;
  txHashes: Hex[];
  sentBlock: string | null;
  minedBlock: string | null;
  /** Block available → transactions broadcast, in milliseconds. */
  latencyMs: number | null;
}

export interface RunResult extends Outcome {
  kind: RunKind;
  startBlock: bigint;
  endBlock: bigint;
  steps: StepResult[];
  firstHarmBlock: bigint | null;
  detectedBlock: bigint | null;
  mitigatedBlock: bigint | null;
  actions: ActionSummary[];
  timeline: TimelineEvent[];
  /** Per reserve named in score.usableAfter: could an ordinary user still supply and borrow it? */
  usable: Record<string, boolean>;
  /** Whether the containing tx landed before the step named in score.mitigateBefore (null when not asked). */
  mitigatedBeforeHarm: boolean | null;
  /** Milliseconds spent per block by the engine (available → done), for the protected run. */
  engineBlockMs: number[];
}

export interface DrillResult {
  scenario: Scenario;
  blockBudgetMs: number;
  marketDeployMs: number;
  counterfactual: RunResult;
  protected: RunResult;
  lossPreventedPct: number | null;
  verdict: 'pass' | 'fail';
  reasons: string[];
  wallMs: number;
}

const attackersOf = (s: Scenario) => s.accounts.filter((a) => a.role === 'attacker').map((a) => a.name);

/** The engine configuration a drill runs with: one detector over the watched assets and one playbook. */
export function drillEngineConfig(scenario: Scenario, market: DrillMarket, chainId: number): FirebreakConfig {
  const collateral = scenario.market.assets.filter((a) => a.ltvBps > 0).map((a) => a.symbol);
  const watch = scenario.response.watch ?? collateral;
  return {
    dataDir: '',
    killSwitch: false,
    chains: [
      // The embedded chain is instant-final: nothing reorganises it unless a test does so on purpose.
      {
        id: chainId,
        name: 'embedded',
        rpc: [],
        pollIntervalMs: 5,
        confirmations: 0,
        maxBlockRange: 500,
        concurrency: 4,
        quorum: 1,
      },
    ],
    markets: [
      {
        id: 'drill-market',
        chain: 'embedded',
        protocol: 'aave-v3',
        addressesProvider: market.aave.addressesProvider,
      },
    ],
    detectors: [
      {
        id: 'oracle-deviation',
        type: 'oracle-deviation',
        market: 'drill-market',
        params: {
          assets: watch.map((symbol) => ({
            asset: market.tokens.get(symbol)!.address,
            symbol,
            reference: { feed: market.referenceFeeds.get(symbol)! },
          })),
          thresholdBps: scenario.response.thresholdBps,
          criticalBps: scenario.response.criticalBps,
        },
      },
    ],
    executors: [
      {
        id: 'guardian',
        type: 'eoa',
        chain: 'embedded',
        key: { env: 'FIREBREAK_GUARDIAN_KEY' },
        priorityFeeGwei: scenario.response.priorityFeeGwei,
        maxFeeGwei: 1000,
        dryRun: false,
      },
    ],
    playbooks: [
      {
        id: 'contain-manipulated-collateral',
        description:
          'A critical oracle deviation on a collateral asset: contain that asset, leave the rest of the market running.',
        when: { detector: 'oracle-deviation', severity: 'critical', minConfidence: 0 },
        do: [{ action: scenario.response.action, executor: 'guardian', autonomy: 'auto' }],
        cooldownBlocks: 50,
      },
    ],
  };
}

export interface PreparedDrill {
  chain: EmbeddedChain;
  market: DrillMarket;
  marketDeployMs: number;
}

/**
 * Starts the embedded chain (Hardhat EDR in-process; `evm: 'anvil'` runs anvil instead, see
 * chain/anvil.ts) and deploys the scenario's market; automine is off when it returns.
 */
export async function prepareDrill(
  scenario: Scenario,
  phase: (message: string) => void = () => {},
  options: { evm?: 'edr' | 'anvil' } = {},
): Promise<PreparedDrill> {
  phase(options.evm === 'anvil' ? 'starting anvil' : 'starting the embedded chain');
  const start = options.evm === 'anvil' ? createAnvilChain : createEmbeddedChain;
  const chain = await start({
    accounts: accountsNeeded(scenario),
    accountSeed: `drill/${scenario.name}/${scenario.seed}`,
    initialDate: new Date(scenario.chain.startDate),
  });
  const deployStarted = performance.now();
  const market = await deployDrillMarket(chain, scenario, (m) => phase(`deploying: ${m}`));
  const marketDeployMs = performance.now() - deployStarted;
  await chain.setAutomine(false);
  return { chain, market, marketDeployMs };
}

/** Runs the scenario once from the chain's current state: unprotected, or protected by an engine on a fresh in-memory store. */
export async function runScenario(
  kind: RunKind,
  prepared: PreparedDrill,
  scenario: Scenario,
  options: {
    budget: number;
    common: Common;
    onProgress?: DrillOptions['onProgress'];
    storeDir?: string | undefined;
  },
): Promise<RunResult> {
  if (kind === 'counterfactual')
    return runOnce(kind, prepared.chain, prepared.market, scenario, {
      budget: options.budget,
      common: options.common,
      onProgress: options.onProgress,
    });
  if (options.storeDir) rmSync(options.storeDir, { recursive: true, force: true });
  const store = await openStore(
    options.storeDir ? { dataDir: options.storeDir } : { memory: true },
    options.common,
  );
  try {
    return await runOnce(kind, prepared.chain, prepared.market, scenario, {
      budget: options.budget,
      common: options.common,
      onProgress: options.onProgress,
      store,
    });
  } finally {
    await store.close();
  }
}

export async function runDrill(scenario: Scenario, options: DrillOptions = {}): Promise<DrillResult> {
  const started = performance.now();
  const common = options.common ?? createCommon();
  const budget = options.blockBudgetMs ?? 12_000;
  const phase = (message: string) => options.onProgress?.({ type: 'phase', message });
  const prepared = await prepareDrill(scenario, phase);
  const snapshot = await prepared.chain.snapshot();
  phase('counterfactual run: nobody responds');
  const counterfactual = await runScenario('counterfactual', prepared, scenario, {
    budget,
    common,
    onProgress: options.onProgress,
  });
  await prepared.chain.revert(snapshot);
  phase('protected run: Firebreak responds');
  const protectedRun = await runScenario('protected', prepared, scenario, {
    budget,
    common,
    onProgress: options.onProgress,
    storeDir: options.storeDir,
  });
  await prepared.chain.close();
  const { verdict, reasons, lossPreventedPct } = judge(scenario, counterfactual, protectedRun);
  return {
    scenario,
    blockBudgetMs: budget,
    marketDeployMs: prepared.marketDeployMs,
    counterfactual,
    protected: protectedRun,
    lossPreventedPct,
    verdict,
    reasons,
    wallMs: performance.now() - started,
  };
}

interface RunContext {
  budget: number;
  common: Common;
  onProgress: DrillOptions['onProgress'] | undefined;
  store?: Store;
}

async function runOnce(
  kind: RunKind,
  chain: EmbeddedChain,
  market: DrillMarket,
  scenario: Scenario,
  ctx: RunContext,
): Promise<RunResult> {
  const { client } = chain;
  const before = await snapshotMarket(chain, market);
  const startBlock = await client.getBlockNumber();
  const start = await client.getBlock({ blockNumber: startBlock });
  const actors = createActors(chain, market, scenario);
  const lastStep = Math.max(...scenario.timeline.map((s) => s.block));
  const lastOffset = lastStep + scenario.tailBlocks;

  // The engine, for the protected run: built exactly as `firebreak run` builds it, on the same chain.
  let engine: Engine | undefined;
  const processed = new Map<bigint, () => void>();
  const processedBlocks = new Set<bigint>();
  const availableAt = new Map<bigint, number>();
  const latencies = new Map<string, number>();
  const engineBlockMs: number[] = [];
  if (kind === 'protected') {
    engine = await createEngine({
      config: drillEngineConfig(scenario, market, chain.chainId),
      chains: new Map([['embedded', { client, provider: chain.provider }]]),
      store: ctx.store!,
      common: ctx.common,
      secrets: { FIREBREAK_GUARDIAN_KEY: market.guardian.privateKey },
      hooks: {
        onBlockProcessed: ({ event, doneAt }) => {
          processedBlocks.add(event.block.number);
          const at = availableAt.get(event.block.number);
          if (at !== undefined) engineBlockMs.push(doneAt - at);
          processed.get(event.block.number)?.();
        },
        onSent: ({ plan, event, sentAt }) => {
          const at = availableAt.get(event.block.number);
          if (at !== undefined) latencies.set(plan.id, sentAt - at);
        },
      },
    });
    engine.start(new Map([['embedded', startBlock + 1n]]));
  }

  const stepsAt = new Map<number, { step: Scenario['timeline'][number]; index: number }[]>();
  scenario.timeline.forEach((step, index) => {
    const list = stepsAt.get(step.block) ?? [];
    list.push({ step, index });
    stepsAt.set(step.block, list);
  });
  const submitted: (SubmittedStep & { offset: number })[] = [];
  const timestampOf = (offset: number) => start.timestamp + BigInt(offset * scenario.chain.blockTimeSeconds);
  const setNextTimestamp = (offset: number) =>
    client.request({ method: 'evm_setNextBlockTimestamp', params: [toHex(timestampOf(offset))] } as never);
  const broadcast = async (offset: number, prepared: PreparedStep[]) => {
    for (const s of await actors.broadcast(prepared)) submitted.push({ ...s, offset });
  };

  await setNextTimestamp(1);
  await broadcast(1, await actors.prepare(stepsAt.get(1) ?? []));
  for (let offset = 1; offset <= lastOffset; offset++) {
    // The actors prepare their next block's transactions from the pending state (this block as it
    // will be mined), off the clock, and broadcast them the moment the block exists.
    await setNextTimestamp(offset);
    const next = await actors.prepare(stepsAt.get(offset + 1) ?? []);
    const blockNumber = await chain.mine();
    availableAt.set(blockNumber, performance.now());
    const engineDone = engine
      ? new Promise<void>((resolve) => {
          if (processedBlocks.has(blockNumber)) resolve();
          else processed.set(blockNumber, resolve);
        })
      : Promise.resolve();
    // The budget runs from the moment the block exists.
    let timer: NodeJS.Timeout | undefined;
    const outOfTime = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), ctx.budget);
    });
    const engineOrBudget = Promise.race([engineDone.then(() => 'done' as const), outOfTime]);
    await broadcast(offset + 1, next);
    const late = (await engineOrBudget) === 'late';
    clearTimeout(timer);
    processed.delete(blockNumber);
    ctx.onProgress?.({
      type: 'block',
      run: kind,
      offset,
      of: lastOffset,
      blockNumber,
      ...(late ? { note: 'engine over budget' } : {}),
    });
  }

  // Let anything the engine sent at the very end land, then stop it.
  if (engine) {
    const pending = engine.settled();
    for (let i = 0; i < 5; i++) {
      const done = await Promise.race([
        pending.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 50)),
      ]);
      if (done) break;
      await chain.mine();
    }
    await engine.stop();
  }
  const endBlock = await client.getBlockNumber();

  const steps = await Promise.all(
    submitted.map(async (s): Promise<StepResult> => {
      const receipts: TransactionReceipt[] = await Promise.all(
        s.txHashes.map((hash) => getTransactionReceipt(client, { hash })),
      );
      const txs = receipts.map((r) => ({
        hash: r.transactionHash,
        block: r.blockNumber,
        index: r.transactionIndex,
        status: r.status === 'success' ? ('success' as const) : ('reverted' as const),
      }));
      return {
        label: s.step.label ?? null,
        actor: s.step.actor,
        do: s.step.do,
        offset: s.offset,
        block: txs[0]?.block ?? null,
        status: txs.map((t) => t.status),
        txs,
        ...(s.skipped ? { skipped: s.skipped } : {}),
      };
    }),
  );

  // Usability of the reserves the scenario says must keep working, checked by a fresh user.
  await chain.setAutomine(true);
  const usable: Record<string, boolean> = {};
  if (kind === 'protected')
    for (const symbol of scenario.score.usableAfter)
      usable[symbol] = await probeReserve(chain, market, symbol);
  await chain.setAutomine(false);

  const after = await snapshotMarket(chain, market);
  const attackers = attackersOf(scenario);
  const result = outcome(before, after, attackers);

  const attackerSteps = steps.filter((s) => attackers.includes(s.actor) && s.block !== null);
  const firstHarmBlock = minBig(attackerSteps.map((s) => s.block!));

  let timeline: TimelineEvent[] = [];
  let actions: ActionSummary[] = [];
  let detectedBlock: bigint | null = null;
  let mitigatedBlock: bigint | null = null;
  let mitigatedTx: { block: bigint; index: number } | null = null;
  if (engine && ctx.store) {
    const incidents = await ctx.store.listIncidents();
    for (const incident of incidents) timeline.push(...(await ctx.store.listTimeline(incident.id)));
    timeline = timeline.sort((a, b) => a.at - b.at);
    const firstFinding = timeline.find((e) => e.type === 'finding');
    detectedBlock = firstFinding?.block ?? null;
    const symbolOf = (asset: string | undefined) =>
      [...market.tokens.values()].find((t) => t.address === asset?.toLowerCase())?.symbol ?? null;
    for (const incident of incidents) {
      for (const record of await ctx.store.listActions(incident.id)) {
        actions.push({
          id: record.id,
          action: record.action,
          asset: symbolOf(incident.subject.asset),
          status: record.status,
          txHashes: record.txHashes,
          sentBlock: record.sentBlock?.toString() ?? null,
          minedBlock: record.minedBlock?.toString() ?? null,
          latencyMs: latencies.get(record.id) ?? null,
        });
        if (
          record.status === 'verified' &&
          record.minedBlock !== null &&
          (mitigatedBlock === null || record.minedBlock < mitigatedBlock)
        ) {
          mitigatedBlock = record.minedBlock;
          const receipts = await Promise.all(
            record.txHashes.map((hash: Hex) => waitForTransactionReceipt(client, { hash })),
          );
          const last = receipts.reduce((m: TransactionReceipt, r: TransactionReceipt) =>
            r.blockNumber > m.blockNumber ||
            (r.blockNumber === m.blockNumber && r.transactionIndex > m.transactionIndex)
              ? r
              : m,
          );
          mitigatedTx = { block: last.blockNumber, index: last.transactionIndex };
        }
      }
    }
    actions = actions.sort((a, b) => Number(a.sentBlock ?? 0) - Number(b.sentBlock ?? 0));
  }

  let mitigatedBeforeHarm: boolean | null = null;
  if (kind === 'protected' && scenario.score.mitigateBefore !== undefined) {
    const harm = steps.filter((s) => s.label === scenario.score.mitigateBefore).flatMap((s) => s.txs);
    const firstHarm = harm.reduce<{ block: bigint; index: number } | null>(
      (m, t) => (m === null || t.block < m.block || (t.block === m.block && t.index < m.index) ? t : m),
      null,
    );
    mitigatedBeforeHarm =
      mitigatedTx !== null &&
      (firstHarm === null ||
        mitigatedTx.block < firstHarm.block ||
        (mitigatedTx.block === firstHarm.block && mitigatedTx.index < firstHarm.index));
  }

  return {
    kind,
    startBlock,
    endBlock,
    steps,
    firstHarmBlock,
    detectedBlock,
    mitigatedBlock,
    actions,
    timeline,
    usable,
    mitigatedBeforeHarm,
    engineBlockMs,
    ...result,
  };
}

/** A fresh user supplies a reserve and borrows a little of it back: both must succeed. */
async function probeReserve(chain: EmbeddedChain, market: DrillMarket, symbol: string): Promise<boolean> {
  const { client } = chain;
  const t = market.tokens.get(symbol)!;
  const who = market.probe;
  const pool = market.aave.pool;
  try {
    const config = await readReserveConfiguration(client, pool, t.address);
    if (config.isFrozen || config.isPaused || !config.borrowingEnabled) return false;
    const amount = toUnits(1_000, t.decimals);
    await mintDrillToken(chain, market.deployer, t.address, who.address, amount);
    await sendAndConfirm(chain, who, t.address, erc20Abi, 'approve', [pool, amount]);
    await sendAndConfirm(chain, who, pool, poolAbi, 'supply', [t.address, amount, who.address, 0]);
    await sendAndConfirm(chain, who, pool, poolAbi, 'borrow', [t.address, amount / 10n, 2n, 0, who.address]);
    const debt = await readContract(client, {
      address: market.aave.reserves[symbol]!.variableDebtToken,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [who.address],
    });
    return debt > 0n;
  } catch {
    return false;
  }
}

function judge(
  scenario: Scenario,
  cf: RunResult,
  prot: RunResult,
): { verdict: 'pass' | 'fail'; reasons: string[]; lossPreventedPct: number | null } {
  const reasons: string[] = [];
  const lossPreventedPct =
    cf.lossUsd > 0 ? Math.max(0, ((cf.lossUsd - prot.lossUsd) / cf.lossUsd) * 100) : null;
  const containing = prot.actions.filter((a) => a.status !== 'refused');
  if (scenario.score.expect === 'benign') {
    if (containing.length > 0)
      reasons.push(`a benign scenario led to ${containing.length} containing action(s)`);
  } else {
    if (cf.lossUsd <= 0) {
      reasons.push('the unprotected run lost nothing: the drill proves nothing');
    } else if (cf.lossUsd < scenario.score.minCounterfactualLossUsd) {
      reasons.push(
        `the unprotected run lost $${cf.lossUsd.toFixed(0)}, below the scenario's minimum of $${scenario.score.minCounterfactualLossUsd}: the drill proves nothing`,
      );
    }
    if (prot.lossUsd > scenario.score.maxLossShare * cf.lossUsd) {
      reasons.push(
        `protected loss $${prot.lossUsd.toFixed(0)} exceeds ${(scenario.score.maxLossShare * 100).toFixed(0)}% of the unprotected $${cf.lossUsd.toFixed(0)}`,
      );
    }
    if (prot.mitigatedBeforeHarm === false)
      reasons.push(`the containing transaction did not land before "${scenario.score.mitigateBefore}"`);
  }
  for (const [symbol, ok] of Object.entries(prot.usable))
    if (!ok) reasons.push(`${symbol} no longer works for an ordinary user after the response`);
  return { verdict: reasons.length === 0 ? 'pass' : 'fail', reasons, lossPreventedPct };
}
