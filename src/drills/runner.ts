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
import { type Hex, parseGwei, type TransactionReceipt, toHex } from 'viem';
import { getTransactionReceipt, readContract } from 'viem/actions';
import { createAnvilChain } from '../chain/anvil';
import { createEmbeddedChain, type EmbeddedChain } from '../chain/embedded';
import { minBig } from '../common/bigint';
import { type Common, createCommon } from '../common/common';
import { createRng, mixSeed } from '../common/random';
import type { PlaybookConfig } from '../config/schema';
import { createEngine, type Engine } from '../engine/engine';
import type { TimelineEvent } from '../incidents/types';
import { aaveOracleAbi, erc20Abi, poolAbi } from '../protocols/aave-v3/abi';
import { decodeAaveV3Log } from '../protocols/aave-v3/events';
import { readReserveConfiguration } from '../protocols/aave-v3/reader';
import { readFeed } from '../protocols/chainlink/feed';
import { openStore, type Store } from '../store/store';
import {
  type ActingBot,
  createActors,
  type PreparedStep,
  type SubmittedBotCalls,
  type SubmittedStep,
  type TxSlot,
} from './actors';
import { type BotSpec, createBot } from './bots';
import type { Bot } from './bots/types';
import { defaultDrillPlaybooks, drillEngineConfig } from './defaults';
import {
  accountsNeeded,
  type DrillMarket,
  deployDrillMarket,
  mintDrillToken,
  sendAndConfirm,
  toUnits,
} from './market';
import { type Outcome, outcome, snapshotMarket } from './measure';
import { deployPopulation } from './population';
import { type DrillStep, expandTimeline, type Scenario } from './scenario';

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
  /** The playbooks to run the protected run with instead of the drill's defaults (`firebreak drill --config`). */
  playbooks?: PlaybookConfig[];
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
  /** The block's findings returned by the detectors → transactions broadcast (filing, decision, plan, simulation, signing), ms. */
  findingToSentMs: number | null;
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
  /** Per mined block: true (reference) and market-oracle USD prices by symbol. */
  series: SeriesPoint[];
  /** Liquidation penalties paid by users other than the attackers (seized value − repaid value, at true prices). */
  liquidationPenaltiesUsd: number;
  /** Liquidations that happened, in order. */
  liquidations: LiquidationRecord[];
  /** What each bot sent and how much of it reverted. */
  bots: { name: string; kind: string; txs: number; reverted: number }[];
  /** The scenario's loss measure (score.loss) applied to this run: what the verdict compares. */
  scoredLossUsd: number;
}

export interface SeriesPoint {
  offset: number;
  block: number;
  prices: Record<string, number>;
  oraclePrices: Record<string, number>;
}

export interface LiquidationRecord {
  block: number;
  user: Hex;
  liquidator: Hex;
  collateral: string;
  debt: string;
  debtRepaidUsd: number;
  collateralSeizedUsd: number;
}

export interface DrillResult {
  scenario: Scenario;
  blockBudgetMs: number;
  marketDeployMs: number;
  counterfactual: RunResult;
  protected: RunResult;
  lossPreventedPct: number | null;
  verdict: 'pass' | 'fail' | 'expected-fail';
  /** The scenario's stated reason it is expected to fail (`score.expectedFailure`), or null. */
  expectedFailure: string | null;
  reasons: string[];
  wallMs: number;
}

const attackersOf = (s: Scenario) => s.accounts.filter((a) => a.role === 'attacker').map((a) => a.name);

export { DRILL_DETECTOR_IDS, drillEngineConfig } from './defaults';

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
    // Block times independent of the machine's speed: the same seed gives the same chain and score.
    clock: 'steady',
  });
  const deployStarted = performance.now();
  const market = await deployDrillMarket(chain, scenario, (m) => phase(`deploying: ${m}`));
  market.population = await deployPopulation(chain, market, scenario.population, scenario.seed, (m) =>
    phase(`deploying: ${m}`),
  );
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
    playbooks?: PlaybookConfig[] | undefined;
    /** An open, empty store for the protected run instead of a fresh one; the caller empties and closes it. */
    store?: Store | undefined;
  },
): Promise<RunResult> {
  if (kind === 'counterfactual')
    return runOnce(kind, prepared.chain, prepared.market, scenario, {
      budget: options.budget,
      common: options.common,
      onProgress: options.onProgress,
    });
  if (options.storeDir) rmSync(options.storeDir, { recursive: true, force: true });
  const given = options.store;
  const store =
    given ??
    (await openStore(options.storeDir ? { dataDir: options.storeDir } : { memory: true }, options.common));
  try {
    return await runOnce(kind, prepared.chain, prepared.market, scenario, {
      budget: options.budget,
      common: options.common,
      onProgress: options.onProgress,
      store,
      playbooks: options.playbooks,
    });
  } finally {
    if (!given) await store.close();
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
    playbooks: options.playbooks,
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
    expectedFailure: scenario.score.expectedFailure ?? null,
    reasons,
    wallMs: performance.now() - started,
  };
}

interface RunContext {
  budget: number;
  common: Common;
  onProgress: DrillOptions['onProgress'] | undefined;
  store?: Store;
  playbooks?: PlaybookConfig[] | undefined;
}

/** Every address that may hold a position: named accounts, the population, the bots' accounts. */
const borrowersOf = (market: DrillMarket): Hex[] => [
  ...[...market.accounts.values()].map((a) => a.address),
  ...market.population.map((p) => p.address),
  ...[...market.botAccounts.values()].flat().map((a) => a.address),
];

/** Fresh bots for one run (their memory starts empty), set up with automine on. */
async function startBots(
  chain: EmbeddedChain,
  market: DrillMarket,
  scenario: Scenario,
): Promise<ActingBot[]> {
  const out: ActingBot[] = [];
  if (scenario.bots.length === 0) return out;
  await chain.setAutomine(true);
  try {
    for (const spec of scenario.bots as BotSpec[]) {
      const accounts = market.botAccounts.get(spec.name) ?? [];
      const bot: Bot = await createBot(spec, {
        chain,
        market,
        scenario,
        accounts,
        borrowers: () => borrowersOf(market),
      });
      await bot.setup?.();
      out.push({ bot, accounts, priorityFeeGwei: spec.priorityFeeGwei });
    }
  } finally {
    await chain.setAutomine(false);
  }
  return out;
}

async function runOnce(
  kind: RunKind,
  chain: EmbeddedChain,
  market: DrillMarket,
  scenario: Scenario,
  ctx: RunContext,
): Promise<RunResult> {
  const { client } = chain;
  const bots = await startBots(chain, market, scenario);
  const before = await snapshotMarket(chain, market);
  const startBlock = await client.getBlockNumber();
  const start = await client.getBlock({ blockNumber: startBlock });
  const actors = createActors(chain, market, scenario, bots);
  const timelineSteps = expandTimeline(scenario);
  const lastStep = Math.max(...timelineSteps.map((s) => s.block));
  const lastOffset = lastStep + scenario.tailBlocks;
  const botRandom = (offset: number) => (bot: Bot) =>
    createRng(mixSeed(mixSeed(scenario.seed, offset), hashName(bot.name)));
  const botSent: SubmittedBotCalls[] = [];
  const mined: { offset: number; blockNumber: bigint }[] = [];

  // The engine, for the protected run: built exactly as `firebreak run` builds it, on the same chain.
  let engine: Engine | undefined;
  const processed = new Map<bigint, () => void>();
  const processedBlocks = new Set<bigint>();
  const availableAt = new Map<bigint, number>();
  const latencies = new Map<string, number>();
  /** Per block, when its detectors returned findings; per action, findings → broadcast (ms). */
  const findingsAt = new Map<bigint, number>();
  const respondMs = new Map<string, number>();
  const engineBlockMs: number[] = [];
  // Behind a GuardianHub, the other running agents: each its own engine, key and store, as separate
  // deployments are; the run waits for every agent on every block.
  const agents: { engine: Engine; store: Store; processed: Set<bigint> }[] = [];
  if (kind === 'protected') {
    const config = drillEngineConfig(
      scenario,
      market,
      chain.chainId,
      ctx.playbooks ?? defaultDrillPlaybooks(scenario, market),
    );
    const running = market.hub ? Math.max(1, market.hub.running) : 1;
    const agentKeys = market.hub?.agents.slice(0, market.hub.running).map((a) => a.privateKey) ?? [];
    for (let i = 0; i < running; i++) {
      const primary = i === 0;
      const store = primary ? ctx.store! : await openStore({ memory: true }, ctx.common);
      const processedBy = new Set<bigint>();
      const e = await createEngine({
        config,
        chains: new Map([['embedded', { client, provider: chain.provider }]]),
        store,
        common: ctx.common,
        secrets: {
          FIREBREAK_GUARDIAN_KEY: market.guardian.privateKey,
          // With a hub and none of its agents running, the hub executor holds a key it does not accept.
          FIREBREAK_AGENT_KEY: agentKeys[i] ?? market.guardian.privateKey,
          // The protocol treasury's own key (`market.protocolLiquidity`): its executor migrates it.
          ...(market.treasury ? { FIREBREAK_TREASURY_KEY: market.treasury.account.privateKey } : {}),
        },
        hooks: {
          onBlockProcessed: ({ event, doneAt }) => {
            processedBy.add(event.block.number);
            if (agents.some((a) => !a.processed.has(event.block.number))) return;
            processedBlocks.add(event.block.number);
            const at = availableAt.get(event.block.number);
            if (at !== undefined) engineBlockMs.push(doneAt - at);
            processed.get(event.block.number)?.();
          },
          onFindings: ({ event, at }) => {
            if (!findingsAt.has(event.block.number)) findingsAt.set(event.block.number, at);
          },
          onSent: ({ plan, event, sentAt }) => {
            const at = availableAt.get(event.block.number);
            if (at !== undefined && !latencies.has(plan.id)) latencies.set(plan.id, sentAt - at);
            const found = findingsAt.get(event.block.number);
            if (found !== undefined && !respondMs.has(plan.id)) respondMs.set(plan.id, sentAt - found);
          },
        },
      });
      agents.push({ engine: e, store, processed: processedBy });
    }
    engine = agents[0]!.engine;
    for (const a of agents) a.engine.start(new Map([['embedded', startBlock + 1n]]));
  }

  const stepsAt = new Map<number, { step: DrillStep; index: number }[]>();
  timelineSteps.forEach((step, index) => {
    const list = stepsAt.get(step.block) ?? [];
    list.push({ step, index });
    stepsAt.set(step.block, list);
  });
  const submitted: (SubmittedStep & { offset: number })[] = [];
  const timestampOf = (offset: number) => start.timestamp + BigInt(offset * scenario.chain.blockTimeSeconds);
  const setNextTimestamp = (offset: number) =>
    client.request({ method: 'evm_setNextBlockTimestamp', params: [toHex(timestampOf(offset))] } as never);
  const rebidTip =
    scenario.chain.attackerRebidGwei === undefined
      ? undefined
      : parseGwei(String(scenario.chain.attackerRebidGwei));
  const attackers = attackersOf(scenario);
  const attackerAddresses = new Set(attackers.map((n) => market.accounts.get(n)!.address.toLowerCase()));
  /**
   * Resolves once every transaction that outbid the attackers (`slots`) waits again above their new
   * `tip`: the engine has answered. Polled until `until` settles (the block's budget).
   */
  const answered = async (slots: readonly TxSlot[], tip: bigint, until: Promise<unknown>) => {
    let over = false;
    void until.then(() => {
      over = true;
    });
    while (!over) {
      if (await actors.waitingAbove(slots, tip)) return 'done';
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return 'late';
  };
  const broadcast = async (offset: number, prepared: PreparedStep[]) => {
    for (const s of await actors.broadcast(prepared)) submitted.push({ ...s, offset });
  };

  await setNextTimestamp(1);
  await broadcast(1, await actors.prepare(stepsAt.get(1) ?? []));
  botSent.push(...(await actors.broadcastBots(await actors.prepareBots(1, botRandom(1)))));
  for (let offset = 1; offset <= lastOffset; offset++) {
    // The actors prepare their next block's transactions from the pending state (this block as it
    // will be mined), off the clock, and broadcast them the moment the block exists.
    await setNextTimestamp(offset);
    const next = await actors.prepare(stepsAt.get(offset + 1) ?? []);
    const nextBots = offset < lastOffset ? await actors.prepareBots(offset + 1, botRandom(offset + 1)) : [];
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
    botSent.push(...(await actors.broadcastBots(nextBots)));
    mined.push({ offset, blockNumber });
    let late = (await engineOrBudget) === 'late';
    if (!late && rebidTip !== undefined) {
      // Attackers that see their transactions outbid bid again; the engine gets the rest of the
      // budget to answer (until something not theirs tips above the new bid).
      const theirs = submitted.filter((s) => s.offset === offset + 1 && attackers.includes(s.step.actor));
      const outbidBy = await actors.rebid(theirs, rebidTip);
      if (outbidBy.length > 0 && engine) late = (await answered(outbidBy, rebidTip, outOfTime)) === 'late';
    }
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

  // Let anything the engines sent at the very end land, then stop them.
  if (engine) {
    const pending = Promise.all(agents.map((a) => a.engine.settled()));
    for (let i = 0; i < 5; i++) {
      const done = await Promise.race([
        pending.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 50)),
      ]);
      if (done) break;
      await chain.mine();
    }
    for (const a of agents) await a.engine.stop();
    for (const a of agents.slice(1)) await a.store.close();
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
  const result = outcome(before, after, attackers);
  // Prices per block, read after the run at each block (off the clock: the engine gets only its budget).
  const series: SeriesPoint[] = [];
  for (const { offset, blockNumber } of mined)
    series.push(await pricesAt(chain, market, offset, blockNumber));
  const liquidations = await readLiquidations(chain, market, startBlock + 1n, endBlock, series);
  const liquidationPenaltiesUsd = liquidations
    .filter((l) => !attackerAddresses.has(l.user.toLowerCase()))
    .reduce((sum, l) => sum + Math.max(0, l.collateralSeizedUsd - l.debtRepaidUsd), 0);
  const botStats = await Promise.all(
    bots.map(async ({ bot }) => {
      const hashes = botSent.filter((b) => b.bot === bot.name).flatMap((b) => b.txHashes);
      const receipts = await Promise.all(hashes.map((hash) => getTransactionReceipt(client, { hash })));
      return {
        name: bot.name,
        kind: bot.kind,
        txs: receipts.length,
        reverted: receipts.filter((r) => r.status !== 'success').length,
      };
    }),
  );
  const scoredLossUsd = scoredLoss(scenario, result, liquidationPenaltiesUsd);

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
          findingToSentMs: respondMs.get(record.id) ?? null,
        });
        if (
          record.status === 'verified' &&
          record.minedBlock !== null &&
          (mitigatedBlock === null || record.minedBlock < mitigatedBlock)
        ) {
          mitigatedBlock = record.minedBlock;
          // Every version sent is recorded; only the mined ones (not a replaced one) have a receipt.
          const receipts = (
            await Promise.all(
              record.txHashes.map((hash: Hex) => getTransactionReceipt(client, { hash }).catch(() => null)),
            )
          ).filter((r): r is TransactionReceipt => r !== null);
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
    series,
    liquidationPenaltiesUsd,
    liquidations,
    bots: botStats,
    scoredLossUsd,
    ...result,
  };
}

const hashName = (name: string) => {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 31) + name.charCodeAt(i)) >>> 0;
  return h;
};

/** The loss the scenario's verdict compares (score.loss). */
function scoredLoss(scenario: Scenario, o: Outcome, penalties: number): number {
  switch (scenario.score.loss) {
    case 'bad-debt':
      return o.badDebtUsd;
    case 'assets-taken':
      return o.assetsTakenUsd;
    case 'penalties':
      return penalties;
    case 'sum':
      return o.badDebtUsd + o.assetsTakenUsd + penalties + o.treasuryLossUsd;
    case 'attacker-take':
      return Math.max(0, o.attackerTakeUsd);
    case 'treasury':
      return o.treasuryLossUsd;
  }
}

/** True and oracle prices after a block (one read per reference feed, one for the oracle). */
async function pricesAt(
  chain: EmbeddedChain,
  market: DrillMarket,
  offset: number,
  blockNumber: bigint,
): Promise<SeriesPoint> {
  const { client } = chain;
  const symbols = [...market.tokens.keys()];
  const prices: Record<string, number> = {};
  await Promise.all(
    symbols.map(async (symbol) => {
      const answer = await readFeed(client, market.referenceFeeds.get(symbol)!, blockNumber);
      prices[symbol] = Number(answer.answer) / 10 ** answer.decimals;
    }),
  );
  const oracle = (await readContract(client, {
    address: market.aave.oracle,
    abi: aaveOracleAbi,
    functionName: 'getAssetsPrices',
    args: [symbols.map((sym) => market.tokens.get(sym)!.address)],
    blockNumber,
  })) as readonly bigint[];
  const oraclePrices: Record<string, number> = {};
  symbols.forEach((symbol, i) => {
    oraclePrices[symbol] = Number(oracle[i] ?? 0n) / 1e8;
  });
  return { offset, block: Number(blockNumber), prices, oraclePrices };
}

/** The run's LiquidationCall events, valued at the true prices of their block. */
async function readLiquidations(
  chain: EmbeddedChain,
  market: DrillMarket,
  fromBlock: bigint,
  toBlock: bigint,
  series: readonly SeriesPoint[],
): Promise<LiquidationRecord[]> {
  if (toBlock < fromBlock) return [];
  const logs = (await chain.client.request({
    method: 'eth_getLogs',
    params: [{ address: market.aave.pool, fromBlock: toHex(fromBlock), toBlock: toHex(toBlock) }],
  } as never)) as {
    address: Hex;
    topics: Hex[];
    data: Hex;
    blockNumber: Hex;
    transactionHash: Hex;
    logIndex: Hex;
  }[];
  const bySymbol = new Map([...market.tokens.values()].map((t) => [t.address.toLowerCase(), t]));
  const priceAt = (block: number) =>
    series.findLast((p) => p.block <= block)?.prices ?? series[0]?.prices ?? {};
  const out: LiquidationRecord[] = [];
  for (const log of logs) {
    const event = decodeAaveV3Log(log as never);
    if (event?.type !== 'LiquidationCall') continue;
    const collateral = bySymbol.get(event.collateralAsset.toLowerCase());
    const debt = bySymbol.get(event.debtAsset.toLowerCase());
    if (!collateral || !debt) continue;
    const block = Number(BigInt(log.blockNumber));
    const prices = priceAt(block);
    out.push({
      block,
      user: event.user,
      liquidator: event.liquidator,
      collateral: collateral.symbol,
      debt: debt.symbol,
      debtRepaidUsd: (Number(event.debtToCover) / 10 ** debt.decimals) * (prices[debt.symbol] ?? 0),
      collateralSeizedUsd:
        (Number(event.liquidatedCollateralAmount) / 10 ** collateral.decimals) *
        (prices[collateral.symbol] ?? 0),
    });
  }
  return out;
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
): { verdict: DrillResult['verdict']; reasons: string[]; lossPreventedPct: number | null } {
  const reasons: string[] = [];
  const { score } = scenario;
  const cfLoss = cf.scoredLossUsd;
  const protLoss = prot.scoredLossUsd;
  const measure = score.loss === 'sum' ? 'loss' : score.loss.replace('-', ' ');
  const lossPreventedPct = cfLoss > 0 ? Math.max(0, ((cfLoss - protLoss) / cfLoss) * 100) : null;
  const containing = prot.actions.filter((a) => a.status !== 'refused');
  if (score.expect === 'benign') {
    if (containing.length > 0)
      reasons.push(
        `a benign scenario led to ${containing.length} containing action(s): ${[...new Set(containing.map((a) => `${a.action}${a.asset ? ` on ${a.asset}` : ''}`))].join(', ')}`,
      );
  } else {
    if (cfLoss <= 0) {
      reasons.push(`the unprotected run's ${measure} was nothing: the drill proves nothing`);
    } else if (cfLoss < score.minCounterfactualLossUsd) {
      reasons.push(
        `the unprotected run's ${measure} was $${cfLoss.toFixed(0)}, below the scenario's minimum of $${score.minCounterfactualLossUsd}: the drill proves nothing`,
      );
    }
    if (protLoss > score.maxLossShare * cfLoss) {
      reasons.push(
        `protected ${measure} $${protLoss.toFixed(0)} exceeds ${(score.maxLossShare * 100).toFixed(0)}% of the unprotected $${cfLoss.toFixed(0)}`,
      );
    }
    if (prot.mitigatedBeforeHarm === false)
      reasons.push(`the containing transaction did not land before "${score.mitigateBefore}"`);
  }
  if (score.detectBefore !== undefined) {
    const target = prot.steps
      .filter((s) => s.label === score.detectBefore && s.block !== null)
      .reduce<bigint | null>((m, s) => (m === null || s.block! < m ? s.block! : m), null);
    if (prot.detectedBlock === null)
      reasons.push(`nothing was detected (needed before "${score.detectBefore}")`);
    else if (target !== null && prot.detectedBlock >= target)
      reasons.push(
        `first detection at block ${prot.detectedBlock}, not before "${score.detectBefore}" (block ${target})`,
      );
  }
  const taken = new Set(containing.map((a) => a.action));
  for (const action of score.mustAct)
    if (!taken.has(action)) reasons.push(`the response did not take ${action}, which the scenario requires`);
  for (const action of score.mustNotAct)
    if (taken.has(action)) reasons.push(`the response took ${action}, which the scenario forbids`);
  for (const [symbol, ok] of Object.entries(prot.usable))
    if (!ok) reasons.push(`${symbol} no longer works for an ordinary user after the response`);
  const verdict =
    reasons.length === 0 ? 'pass' : score.expectedFailure !== undefined ? 'expected-fail' : 'fail';
  return { verdict, reasons, lossPreventedPct };
}
