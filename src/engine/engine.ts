/**
 * Engine — the one place where the stages are wired together:
 *
 *   ingestor (per chain) → block view → detectors → incidents → playbooks → executors → verify
 *
 * No stage knows the next one; each gets its input here and hands back its output. The engine
 * takes already-connected clients (the embedded chain, or RPC endpoints through `connectChain`),
 * a store and the secrets source, so tests, drills and `firebreak run` all build it the same way.
 *
 * Exactly once across crashes: each chain's ingestor resumes from the chain's checkpoint in the
 * store. A block's findings (with their incidents and timeline) and the checkpoint that moves past
 * the block are written in ONE transaction, which also counts the block in `processed_blocks`; the
 * response (playbooks → actions) runs after it, and a response a crash interrupted runs again at
 * restart (`response_pending`; actions are idempotent by their deterministic id). A `reorg` retracts
 * the findings of the orphaned blocks, records it on their incidents' timelines, marks the blocks
 * orphaned and moves the checkpoint back to the common ancestor, again in one transaction. Actions
 * already sent are not undone; the timeline says so.
 *
 * Several chains: each runs its own loop with its own ingestor and cursor; a loop that fails logs,
 * backs off and restarts from its checkpoint, and the other chains go on.
 */

import type { Client, EIP1193Provider, Hex } from 'viem';
import type { HeadWakeups } from '../chain/block-source';
import type { BlockRef, FinalizedEvent, ReorgEvent } from '../chain/events';
import { createIngestor, type Ingestor, type IngestorOptions } from '../chain/ingest';
import type { OpenPushProvider, PushProvider } from '../chain/mempool';
import type { MetricsRegistry } from '../chain/metrics';
import { createReadAhead, type ReadAhead, requestOf } from '../chain/read-ahead';
import type { DeepReorgEvent, TrackedEvent } from '../chain/reorg';
import { boundSource } from '../chain/replay';
import { type RecordedCall, type RpcPool, recordingClient } from '../chain/rpc-pool';
import { anySignal, type Common } from '../common/common';
import { describeError, FirebreakError } from '../common/errors';
import { abortableSleep } from '../common/sleep';
import type { SecretSource } from '../config/load';
import type { ChainConfig, FirebreakConfig } from '../config/schema';
import { memoryDetectorState, runDetectors } from '../detectors/run';
import type { BlockEvent, DetectorInstance, Finding } from '../detectors/types';
import { createBlockView } from '../detectors/view';
import {
  createIncidentManager,
  type IncidentManager,
  type IncidentRepository,
  type IngestResult,
} from '../incidents/manager';
import type { AaveMarketAddresses } from '../protocols/aave-v3/market';
import { createPlanBuilder } from '../respond/actions';
import { createExecutors } from '../respond/executors';
import { guardrailPolicy } from '../respond/guardrails';
import {
  type ActionRepository,
  createResponder,
  type Responder,
  type ResponderHooks,
} from '../respond/responder';
import type { ActionPlan } from '../respond/types';
import { createPositionTracker, type PositionTracker } from '../risk/tracker';
import { storeTxJournal } from '../store/executor-txs';
import {
  type Checkpoint,
  clearResponsePending,
  countLiveFindings,
  getCheckpoint,
  listActionsTaken,
  listCanonicalBlocks,
  listFindingsOfBlock,
  listLiveFindingsAtHeight,
  markBlocksOrphaned,
  pruneProcessedBlocks,
  recordBlocksProcessed,
  retractFindingsOfBlocks,
  type StoredFinding,
  setCheckpoint,
} from '../store/ingestion';
import { withoutYielding } from '../store/pglite-dialect';
import { listActions, type StoreDb, storeActions } from '../store/store';
import { warmStore } from '../store/warm';
import { buildDetectors } from './detectors';
import { createPriorityFeeds } from './priority-feed';

/** Processed-block rows kept per chain below the finalized head (about two weeks of mainnet)... */
const PROCESSED_BLOCKS_KEPT = 100_000n;
/** ...pruned every this many finalized blocks. */
const PRUNE_EVERY_BLOCKS = 1_000n;
/** Catch-up and replay commit quiet blocks in batches of at most this many blocks... */
const MAX_BATCH_BLOCKS = 1_000;
/** ...or this old (ms), so a long catch-up still checkpoints often. */
const MAX_BATCH_MS = 1_000;

export interface EngineChain {
  client: Client;
  /** Where the provider can push `newHeads` (embedded chain), the source wakes on them. */
  provider?: EIP1193Provider;
  /** A head signal (`chain/heads.ts`: polling, WebSocket `newHeads`); preferred over `provider`. */
  heads?: HeadWakeups;
  /**
   * The chain's endpoints as a pool (`chain/rpc-pool.ts`). With `quorum` > 1 in the chain's config,
   * the block hash and every state read behind an action are confirmed by that many endpoints
   * before anything is sent.
   */
  pool?: RpcPool;
  /**
   * A ready source of events (a streamed recording, `chain/recorded-source.ts`) to process instead
   * of following the chain: iterated once, to its end, with no checkpoint resume; a failure fails
   * `done()`.
   */
  source?: AsyncIterable<TrackedEvent>;
  /**
   * A socket to subscribe to pending transactions on (`mempool: true` with a `ws` endpoint);
   * without it, `provider` when it pushes, else a pending-transaction filter polled over `client`.
   */
  mempool?: PushProvider;
  /** Opens another such socket, to subscribe again after `mempool` dropped or could not be opened. */
  reopenMempool?: OpenPushProvider;
}

/** What the engine needs of the store: the repositories, and the database for its transactions. */
export type EngineStore = IncidentRepository & ActionRepository & { readonly db: StoreDb };

export interface BlockProcessed {
  event: BlockEvent;
  findings: Finding[];
  /** Monotonic milliseconds when the engine finished with the block (tx sent, if any). */
  doneAt: number;
}

export interface ReorgProcessed {
  chain: string;
  event: ReorgEvent | DeepReorgEvent;
  /** The findings this reorg retracted, with their incidents. */
  retracted: StoredFinding[];
}

export interface EngineHooks extends ResponderHooks {
  onBlockProcessed?(info: BlockProcessed): void;
  /** After a reorg's retractions are stored (a `deep-reorg` is also logged as an error). */
  onReorg?(info: ReorgProcessed): void;
  onFinalized?(info: { chain: string; event: FinalizedEvent }): void;
  /** A chain's loop failed; it restarts from its checkpoint after a backoff, other chains go on. */
  onChainError?(info: { chain: string; error: unknown }): void;
  /**
   * A block's detectors ran: its findings (none, often), emitted before they are filed and
   * responded to; `at` is clock.monotonic().
   */
  onFindings?(info: { chain: string; event: BlockEvent; findings: readonly Finding[]; at: number }): void;
}

export interface EngineOptions {
  config: FirebreakConfig;
  /** Connected clients by chain name. */
  chains: ReadonlyMap<string, EngineChain>;
  store: EngineStore;
  common: Common;
  /** Where secret references are resolved; process.env by default. */
  secrets?: SecretSource;
  hooks?: EngineHooks;
  /** Per-detector time limit for one block. */
  detectorTimeoutMs?: number;
  killSwitch?: boolean;
  /** Where per-chain ingestion metrics go (blocks processed, processing time, head lag). */
  metrics?: MetricsRegistry;
  /** Detector instances to run besides the configured ones, by chain name (tests, library users). */
  extraDetectors?: Readonly<Record<string, readonly DetectorInstance[]>>;
  /** Attach every log of each block to its event (`eth_getLogs` over ranges); off until a detector needs them. */
  logs?: boolean;
}

export interface Engine {
  readonly incidents: IncidentManager;
  readonly markets: ReadonlyMap<string, AaveMarketAddresses>;
  /** The last block processed on each chain (by chain name), for head-lag reporting. */
  readonly lastProcessed: ReadonlyMap<string, BlockRef>;
  /**
   * Follows every configured chain until `stop()`, each from `fromBlock` (by chain name) if given,
   * else after its checkpoint in the store, else from its configured `startBlock`, else from the
   * head.
   */
  start(fromBlock?: ReadonlyMap<string, bigint>, toBlock?: ReadonlyMap<string, bigint>): void;
  /** With `toBlock` given to `start` (replay of a range or a recording): resolves when every bounded chain has processed it. */
  done(): Promise<void>;
  /** Stops following (the block in hand is finished first). */
  stop(): Promise<void>;
  /**
   * Runs one block through the loop (what the source does for each block): detectors, then one
   * transaction with the findings and the checkpoint (counted in `processed_blocks`), then the response.
   */
  processBlock(chainName: string, event: BlockEvent): Promise<BlockProcessed>;
  /** Applies a reorg: retracts the orphaned blocks' findings and moves the checkpoint back. */
  processReorg(chainName: string, event: ReorgEvent | DeepReorgEvent): Promise<ReorgProcessed>;
  /** Resolves when every sent action has been mined and verified (or failed). */
  settled(): Promise<void>;
}

export async function createEngine(options: EngineOptions): Promise<Engine> {
  const { config, common } = options;
  const chainOf = (name: string): EngineChain => {
    const chain = options.chains.get(name);
    if (!chain)
      throw new FirebreakError('ERR_USAGE', `chain "${name}" is configured but no client was given for it`);
    return chain;
  };

  // Markets and detectors, as `firebreak record` and replay build them; extra instances join their chain.
  const {
    markets,
    marketsByAddress,
    byChain: detectorsByChain,
  } = await buildDetectors(config, (name) => chainOf(name).client);
  for (const [chain, extra] of Object.entries(options.extraDetectors ?? {}))
    detectorsByChain.set(chain, [...(detectorsByChain.get(chain) ?? []), ...extra]);

  // Stopping the engine stops its loops and whatever its executors still watch (a quorum pending).
  const halt = new AbortController();
  const signal = anySignal([common.signal, halt.signal]);

  // Executors: keys are resolved here, once, and live only inside each executor's closure.
  const executors = createExecutors(config, {
    clientOf: (name) => chainOf(name).client,
    secrets: options.secrets,
    journal: storeTxJournal(options.store.db),
    common: { ...common, signal },
  });

  const incidents = await createIncidentManager(options.store, common.clock, common.logger);
  // The first incident's statements, once, now: not on the first response's path (see warm.ts).
  const warmed = await warmStore(options.store.db);
  if ('error' in warmed)
    common.logger.warn(
      { err: describeError(warmed.error) },
      'store warm-up failed; the first response pays for it',
    );
  else common.logger.debug({ ms: Math.round(warmed.ms) }, 'store warmed');

  // Quorum: the reads each block's detectors made, kept while the block's response may need them.
  const quorumOf = new Map(
    config.chains.map((c) => [c.id, { quorum: c.quorum, pool: chainOf(c.name).pool }]),
  );
  const evidence = new WeakMap<BlockEvent, () => RecordedCall[]>();
  const confirmEvidence = async (_plan: ActionPlan, event: BlockEvent): Promise<void> => {
    const q = quorumOf.get(event.chainId);
    if (!q?.pool || q.quorum <= 1) return;
    await q.pool.confirmBlockHash(event.block.number, event.block.hash, q.quorum);
    const calls = evidence.get(event)?.() ?? [];
    if (calls.length > 0)
      await q.pool.confirmCalls(
        calls,
        calls.map((c) => c.result),
        q.quorum,
      );
  };
  // Plans read through the chain's read client: a read of the finding's block that the detectors
  // or the risk engine already made is answered from the read-ahead, not asked again.
  const chainNameOf = new Map(config.chains.map((c) => [c.id, c.name]));
  // Priority mode: the pending transactions of the chains configured with `mempool: true`.
  const feeds = createPriorityFeeds({
    config,
    chains: options.chains,
    markets,
    executors,
    common: { ...common, signal },
  });
  const responder: Responder = createResponder({
    playbooks: config.playbooks,
    detectorIds: [
      ...config.detectors.map((d) => d.id),
      ...Object.values(options.extraDetectors ?? {}).flatMap((list) => list.map((d) => d.id)),
    ],
    executors,
    incidents,
    actions: options.store,
    buildPlan: createPlanBuilder({
      clientFor: (chainId: number) => {
        const name = chainNameOf.get(chainId);
        return name === undefined ? undefined : readClientOf(name);
      },
      marketsByAddress,
      config,
    }),
    guardrails: {
      killSwitch: options.killSwitch ?? config.killSwitch,
      policy: guardrailPolicy(config.guardrails, config.chains),
      ledger: { ...storeActions(options.store.db), getAction: (id) => options.store.getAction(id) },
    },
    confirm: confirmEvidence,
    outbid: feeds.outbid,
    followOutbid: feeds.followOutbid,
    common,
    ...(options.hooks ? { hooks: options.hooks } : {}),
  });

  const { store } = options;
  const stateOf = memoryDetectorState();

  // Live chains read ahead: each block's reads are sent as soon as the block is known (chain/read-ahead.ts).
  const readAheads = new Map<string, ReadAhead>();
  for (const c of config.chains) {
    const chain = options.chains.get(c.name);
    if (!chain || chain.source) continue;
    const pool = chain.pool;
    readAheads.set(
      c.name,
      createReadAhead(pool ? (m, p) => pool.request(m, p) : requestOf(chain.client), {
        ...(chain.client.chain ? { chain: chain.client.chain } : {}),
      }),
    );
  }
  /** The client a chain's per-block reads go through: its read-ahead's, when it has one. */
  const readClientOf = (name: string): Client => readAheads.get(name)?.client ?? chainOf(name).client;

  // Live position books, for the markets that ask for one (`positionsFromBlock`), by addresses provider.
  const trackers = new Map<Hex, PositionTracker>();
  for (const m of config.markets) {
    const resolved = markets.get(m.id);
    if (m.positionsFromBlock === undefined || !resolved) continue;
    // A replayed recording holds the blocks' logs and the detectors' reads, not the log ranges a
    // book is built from: the detectors that read one run on their fallbacks, and say so.
    if (options.chains.get(m.chain)?.source) {
      common.logger.info(
        { market: m.id },
        'replay: no position book for this market (a recording cannot build one)',
      );
      continue;
    }
    const chain = config.chains.find((c) => c.name === m.chain)!;
    trackers.set(
      resolved.addressesProvider.toLowerCase() as Hex,
      createPositionTracker(readClientOf(m.chain), {
        chainId: chain.id,
        pool: resolved.pool,
        oracle: resolved.oracle,
        fromBlock: BigInt(m.positionsFromBlock),
        maxBlockRange: chain.maxBlockRange,
      }),
    );
  }

  /**
   * Runs a store transaction, retried a few times with backoff; the incident memory is reloaded
   * after a failure. `single`: the work is one statement, atomic alone, so it runs without one.
   */
  const transaction = async <T>(
    what: string,
    work: (trx: StoreDb) => Promise<T>,
    opts: { single?: boolean } = {},
  ): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        // A single statement is a quiet block's checkpoint: on the live path, it does not let
        // other I/O in before it is done (see store/pglite-dialect.ts).
        return opts.single
          ? await withoutYielding(() => work(store.db))
          : await store.db.transaction().execute(work);
      } catch (error) {
        await incidents.reload().catch(() => undefined);
        if (attempt >= 4 || signal.aborted) throw error;
        common.logger.error({ attempt, err: describeError(error) }, `${what} failed; retrying`);
        await abortableSleep(100 * 4 ** (attempt - 1), signal);
      }
    }
  };

  /** The response to a block's findings; a failure leaves `response_pending` set for the next start. */
  const respond = async (chainName: string, event: BlockEvent, results: IngestResult[]) => {
    try {
      await responder.respond(results, event);
      await clearResponsePending(store.db, event.chainId, event.block.hash);
    } catch (error) {
      common.logger.error(
        { chain: chainName, block: event.block.number.toString(), err: describeError(error) },
        'response failed; it runs again at the next start',
      );
    }
  };

  // Per-chain ingestion metrics (RPC metrics come from each chain's pool).
  const metrics = options.metrics;
  const blocksProcessed = metrics?.counter('firebreak_chain_blocks_processed_total', 'Blocks processed', [
    'chain',
  ]);
  const processingMs = metrics?.summary('firebreak_block_processing_ms', 'Block available → processed, ms', [
    'chain',
  ]);
  const detectorMs = metrics?.summary('firebreak_detector_ms', 'One detector on one block (wall time), ms', [
    'chain',
    'detector',
  ]);
  const headLagSeconds = metrics?.gauge(
    'firebreak_chain_head_lag_seconds',
    'Now minus the last processed block time',
    ['chain'],
  );
  const lastProcessed = new Map<string, BlockRef>();

  /**
   * Blocks processed but not yet committed, per chain: during catch-up and replay (`backlog`),
   * blocks without findings are counted and checkpointed once per batch instead of once each. A
   * crash loses only uncommitted bookkeeping: those blocks are processed again at restart, and
   * still counted once. Their `onBlockProcessed` fires when the batch is committed.
   */
  const uncommitted = new Map<string, { processed: BlockProcessed[]; since: number }>();

  /** Metrics, head lag and the hook, once a block's bookkeeping is durable. */
  const finished = (chainName: string, processed: BlockProcessed) => {
    const labels = { chain: chainName };
    blocksProcessed?.inc(labels);
    processingMs?.observe(labels, processed.doneAt - processed.event.receivedAt);
    lastProcessed.set(chainName, processed.event.block);
    headLagSeconds?.set(
      labels,
      Math.max(0, common.clock.now() / 1000 - Number(processed.event.block.timestamp)),
    );
    options.hooks?.onBlockProcessed?.(processed);
  };

  /** Commits the chain's uncommitted blocks (one transaction), then fires their hooks. */
  const commitBatch = async (chainName: string): Promise<void> => {
    const batch = uncommitted.get(chainName);
    if (!batch || batch.processed.length === 0) return;
    const { chainId } = batch.processed[0]!.event;
    await transaction(`blocks ${batch.processed[0]!.event.block.number}..`, (trx) =>
      recordBlocksProcessed(trx, {
        chainId,
        blocks: batch.processed.map((p) => p.event.block),
        at: common.clock.now(),
      }),
    );
    uncommitted.delete(chainName);
    const doneAt = common.clock.monotonic();
    for (const p of batch.processed) finished(chainName, { ...p, doneAt });
  };

  const processBlock = async (chainName: string, event: BlockEvent): Promise<BlockProcessed> => {
    const chain = chainOf(chainName);
    const ahead = readAheads.get(chainName);
    ahead?.begin(event.block);
    feeds.blockSeen(chainName, event);
    // With a quorum to meet, the view reads through a recorder so the reads can be confirmed later.
    const recorder =
      chain.pool && (quorumOf.get(event.chainId)?.quorum ?? 1) > 1
        ? recordingClient(ahead ? { client: chain.pool.client, request: ahead.request } : chain.pool)
        : undefined;
    if (recorder) evidence.set(event, recorder.calls);
    const view = createBlockView(
      recorder?.client ?? readClientOf(chainName),
      event.chainId,
      event.block.number,
      {
        positions: async (market) => (await trackers.get(market)?.snapshotAt(event.block)) ?? null,
      },
    );
    const findings = await runDetectors(detectorsByChain.get(chainName) ?? [], event, view, {
      timeoutMs: options.detectorTimeoutMs ?? 5_000,
      logger: common.logger,
      stateOf,
      ...(detectorMs
        ? { onTimed: (detector, ms) => detectorMs.observe({ chain: chainName, detector }, ms) }
        : {}),
    });
    options.hooks?.onFindings?.({ chain: chainName, event, findings, at: common.clock.monotonic() });
    // The response plans and simulates while the findings are stored (it sends only after).
    if (findings.some((f) => f.kind !== 'degraded')) responder.anticipate(incidents.preview(findings), event);
    for (const f of findings) {
      if (f.kind === 'degraded')
        common.logger.warn(
          { chain: chainName, block: event.block.number.toString(), detector: f.detectorInstance },
          f.title,
        );
    }
    // A quiet block with more behind it joins the batch; the batch is committed by the first block
    // with findings or without a backlog, or when it grows too large or too old.
    if (findings.length === 0 && event.backlog) {
      let batch = uncommitted.get(chainName);
      if (!batch) {
        batch = { processed: [], since: common.clock.monotonic() };
        uncommitted.set(chainName, batch);
      }
      const processed = { event, findings, doneAt: common.clock.monotonic() };
      batch.processed.push(processed);
      if (batch.processed.length >= MAX_BATCH_BLOCKS || processed.doneAt - batch.since >= MAX_BATCH_MS)
        await commitBatch(chainName);
      return processed;
    }
    // One transaction: the batch before it, what the block produced, the checkpoint past it, and
    // its processed counter.
    // A block without findings is one statement (atomic alone): no transaction around it.
    const before = uncommitted.get(chainName)?.processed ?? [];
    const results = await transaction(
      `block ${event.block.number}`,
      async (trx) => {
        const ingested = await incidents.ingest(findings, storeActions(trx));
        await recordBlocksProcessed(trx, {
          chainId: event.chainId,
          blocks: [...before.map((p) => p.event.block), event.block],
          at: common.clock.now(),
          responsePending: ingested.length > 0,
        });
        return ingested;
      },
      { single: findings.length === 0 && before.length < MAX_BATCH_BLOCKS },
    );
    uncommitted.delete(chainName);
    if (results.length > 0) await respond(chainName, event, results);
    // Approvals: decisions from `firebreak approve`/`reject`, deadlines, owners' Safe signatures.
    await responder
      .onBlock(event)
      .catch((error) =>
        common.logger.error({ chain: chainName, err: describeError(error) }, 'handling approvals failed'),
      );
    const doneAt = common.clock.monotonic();
    for (const p of before) finished(chainName, { ...p, doneAt });
    const processed = { event, findings, doneAt };
    finished(chainName, processed);
    return processed;
  };

  const processReorg = async (
    chainName: string,
    event: ReorgEvent | DeepReorgEvent,
  ): Promise<ReorgProcessed> => {
    await commitBatch(chainName);
    const { chainId, orphaned } = event;
    const resumeAt = event.type === 'reorg' ? event.ancestor : event.anchor;
    const at = common.clock.now();
    const lowest = orphaned.at(-1)?.number ?? resumeAt.number + 1n;
    const highest = orphaned[0]?.number ?? resumeAt.number;
    const by =
      event.type === 'reorg'
        ? `reorg: blocks ${lowest}..${highest} orphaned; common ancestor ${resumeAt.number} (${resumeAt.hash})`
        : `reorg deeper than the ${event.window}-block window: blocks ${lowest}..${highest} orphaned at least`;
    if (event.type === 'deep-reorg') {
      const stale = (
        await listCanonicalBlocks(store.db, chainId, { from: resumeAt.number, to: resumeAt.number })
      )
        .filter((b) => b.hash !== resumeAt.hash)
        .map((b) => b.hash);
      common.logger.error(
        {
          chain: chainName,
          orphaned: `${lowest}..${highest}`,
          anchor: `${resumeAt.number} ${resumeAt.hash}`,
          window: event.window,
          deeperStill: stale.length > 0,
        },
        `REORG DEEPER THAN THE WINDOW on chain ${chainName}: the blocks the engine held (${lowest}..${highest}) are all orphaned and their findings retracted; ` +
          (stale.length > 0
            ? `the engine also processed another block at ${resumeAt.number}, so blocks below the window were orphaned too and are NOT retracted: investigate`
            : `blocks orphaned below the window, if any, are not known: investigate`) +
          '; raise confirmations if this chain reorganises this deep',
      );
    }
    const retracted = await transaction(`reorg at ${resumeAt.number}`, async (trx) => {
      const hashes = orphaned.map((b) => b.hash);
      const gone = await retractFindingsOfBlocks(trx, { chainId, blockHashes: hashes, at, by });
      await markBlocksOrphaned(trx, chainId, hashes, at);
      await setCheckpoint(trx, { chainId, block: resumeAt, at });
      const incidentIds = [...new Set(gone.map((g) => g.incidentId).filter((id) => id !== null))];
      const remaining = await countLiveFindings(trx, incidentIds);
      const taken = await listActionsTaken(trx, incidentIds);
      await incidents.retract(
        incidentIds.map((incidentId) => ({
          incidentId,
          findings: gone.filter((g) => g.incidentId === incidentId).map((g) => g.finding),
          remaining: remaining.get(incidentId) ?? 0,
          actionsTaken: taken.get(incidentId) ?? [],
        })),
        {
          summary: by,
          block: resumeAt.number,
          data: {
            reorg: event.type,
            orphaned: orphaned.map((b) => ({ number: b.number.toString(), hash: b.hash })),
            resumeAt: { number: resumeAt.number.toString(), hash: resumeAt.hash },
          },
        },
        storeActions(trx),
      );
      return gone;
    });
    const processed = { chain: chainName, event, retracted };
    options.hooks?.onReorg?.(processed);
    return processed;
  };

  /** Runs the response of a checkpointed block again when a crash interrupted it. */
  const resumeResponse = async (chainName: string, checkpoint: Checkpoint) => {
    const stored = await listFindingsOfBlock(store.db, checkpoint.chainId, checkpoint.block.hash);
    const findings = stored.filter((s) => s.retractedAt === null).map((s) => s.finding);
    const event: BlockEvent = {
      type: 'block',
      chainId: checkpoint.chainId,
      block: findings[0]?.block ?? checkpoint.block,
      receivedAt: common.clock.monotonic(),
    };
    common.logger.warn(
      { chain: chainName, block: checkpoint.block.number.toString(), findings: findings.length },
      'resuming the response to the last checkpointed block (interrupted before it ran)',
    );
    // Nothing is written twice: the findings are stored already; actions are idempotent by id.
    const results = await incidents.ingest(findings);
    await respond(chainName, event, results);
  };

  /**
   * Actions an earlier process sent (or planned) but never saw verified, because it stopped after
   * the chain had moved past their block (so no checkpoint marks their response pending): the
   * response of the block each answered runs again from its stored findings. Nothing is sent twice:
   * the executors' journal hands back the transactions already signed, and a plan whose effect is
   * in place ends verified. So do steps left waiting for a human approval: taken up from the block
   * of their decision (on the incident's timeline), they wait again under the same deadline, and an
   * approval given meanwhile (`firebreak approve` with no engine running) executes at the next block.
   */
  const resumeUnfinishedActions = async (chainName: string, chainId: number) => {
    const blocks = new Set<bigint>();
    for (const incident of await store.listOpenIncidents()) {
      if (incident.subject.chainId !== chainId) continue;
      const actions = await listActions(store.db, incident.id);
      for (const a of actions)
        if (['planned', 'sent', 'mined'].includes(a.status) && a.sentBlock !== null) blocks.add(a.sentBlock);
      const waiting = new Set(actions.filter((a) => a.status === 'awaiting-approval').map((a) => a.id));
      if (waiting.size === 0) continue;
      for (const entry of await incidents.timeline(incident.id))
        if (entry.type === 'decision' && entry.block !== null && waiting.has(String(entry.data.actionId)))
          blocks.add(entry.block);
    }
    for (const number of [...blocks].sort((x, y) => (x < y ? -1 : 1))) {
      const findings = await listLiveFindingsAtHeight(store.db, chainId, number);
      if (findings.length === 0) continue;
      common.logger.warn(
        { chain: chainName, block: number.toString(), findings: findings.length },
        'resuming actions an earlier process sent but did not see verified',
      );
      const event: BlockEvent = {
        type: 'block',
        chainId,
        block: findings[0]!.block,
        receivedAt: common.clock.monotonic(),
      };
      await respond(chainName, event, await incidents.ingest(findings));
    }
  };

  const handle = async (chainName: string, event: TrackedEvent) => {
    switch (event.type) {
      case 'block':
        await processBlock(chainName, event);
        return;
      case 'reorg':
      case 'deep-reorg':
        await processReorg(chainName, event);
        return;
      case 'finalized': {
        // Finalized history stays countable for a while (crash checks, audits), then goes.
        const n = event.block.number;
        if (n % PRUNE_EVERY_BLOCKS === 0n && n > PROCESSED_BLOCKS_KEPT)
          await pruneProcessedBlocks(store.db, event.chainId, n - PROCESSED_BLOCKS_KEPT);
        options.hooks?.onFinalized?.({ chain: chainName, event });
        return;
      }
    }
  };

  const ingestors = new Map<string, Ingestor>();
  const openIngestor = async (chain: ChainConfig, fromBlock: bigint | undefined): Promise<Ingestor> => {
    const { client, provider, heads } = chainOf(chain.name);
    const checkpoint = await getCheckpoint(store.db, chain.id);
    if (checkpoint?.responsePending) await resumeResponse(chain.name, checkpoint);
    await resumeUnfinishedActions(chain.name, chain.id);
    let resume: Pick<IngestorOptions, 'checkpoint' | 'fromBlock'> = {};
    if (fromBlock !== undefined) resume = { fromBlock };
    else if (checkpoint) {
      const below = await listCanonicalBlocks(store.db, chain.id, {
        from: checkpoint.block.number - BigInt(chain.confirmations),
        to: checkpoint.block.number - 1n,
      });
      resume = { checkpoint: { block: checkpoint.block, window: below } };
    } else if (chain.startBlock !== undefined) resume = { fromBlock: BigInt(chain.startBlock) };
    return createIngestor({
      client,
      chainId: chain.id,
      confirmations: chain.confirmations,
      pollIntervalMs: chain.pollIntervalMs,
      maxBlockRange: chain.maxBlockRange,
      concurrency: chain.concurrency,
      ...resume,
      ...(options.logs ? { logs: true } : {}),
      ...(heads ? { heads } : provider ? { subscribeVia: provider } : {}),
      common: { ...common, signal },
    });
  };

  /** One chain's loop: never skips a block; a failure restarts it from the checkpoint after a backoff. */
  const runChain = async (chain: ChainConfig, fromBlock: bigint | undefined, toBlock?: bigint) => {
    let delay = 250;
    let processedAny = false;
    while (!signal.aborted) {
      try {
        // After a restart the checkpoint rules, once this run has written one.
        const ingestor = await openIngestor(chain, processedAny ? undefined : fromBlock);
        ingestors.set(chain.name, ingestor);
        if (signal.aborted) ingestor.stop();
        const events = toBlock === undefined ? ingestor : boundSource(ingestor, toBlock);
        for await (const event of events) {
          await handle(chain.name, event);
          if (event.type === 'block') processedAny = true;
          delay = 250;
          if (signal.aborted) break;
        }
        await commitBatch(chain.name);
        if (signal.aborted || toBlock !== undefined) return; // a bounded replay ends at its last block
        throw new Error('the block source ended');
      } catch (error) {
        if (signal.aborted) return;
        common.logger.error(
          { chain: chain.name, retryInMs: delay, err: describeError(error) },
          'chain loop failed; restarting from its checkpoint',
        );
        options.hooks?.onChainError?.({ chain: chain.name, error });
        await abortableSleep(delay, signal);
        delay = Math.min(delay * 2, 30_000);
      } finally {
        // A batch a failure interrupted was not committed: its blocks are processed again.
        uncommitted.delete(chain.name);
        ingestors.get(chain.name)?.stop();
        ingestors.delete(chain.name);
      }
    }
  };

  /** A ready source (a streamed recording): processed once, to its end; a failure fails `done()`. */
  const runSource = async (chain: ChainConfig, source: AsyncIterable<TrackedEvent>) => {
    try {
      for await (const event of source) {
        await handle(chain.name, event);
        if (signal.aborted) break;
      }
      await commitBatch(chain.name);
    } finally {
      uncommitted.delete(chain.name);
    }
  };

  const loops: Promise<void>[] = [];
  let started = false;
  return {
    incidents,
    lastProcessed,
    markets,
    start(fromBlock, toBlock) {
      if (started) return;
      started = true;
      // Executors reconcile their nonce journal with the chain: heal a gap an earlier process left,
      // and follow (fee-bump) the transactions it left pending.
      for (const executor of executors.values()) {
        executor
          .resume?.()
          .catch((error: unknown) =>
            common.logger.warn(
              { executor: executor.id, err: describeError(error) },
              'executor resume failed',
            ),
          );
      }
      for (const chain of config.chains) {
        const { source } = chainOf(chain.name);
        loops.push(
          source
            ? runSource(chain, source)
            : runChain(chain, fromBlock?.get(chain.name), toBlock?.get(chain.name)),
        );
      }
    },
    done: () => Promise.all(loops).then(() => undefined),
    async stop() {
      halt.abort();
      for (const ingestor of ingestors.values()) ingestor.stop();
      await Promise.allSettled(loops);
    },
    processBlock,
    processReorg,
    settled: () => responder.settled(),
  };
}
