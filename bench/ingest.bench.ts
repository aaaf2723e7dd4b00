/**
 * Bench `ingest` — the engine's ingestion on the Inverse Finance drill market, with the detectors
 * `drillEngineConfig` configures, over real local JSON-RPC (HTTP for reads, WebSocket `newHeads`
 * for wake-ups, through `connectChain` as `firebreak run` connects):
 *
 * - live: anvil in its own process, as a node is (chain/anvil.ts); from a block being available at
 *   the RPC (right after `evm_mine` returns) to its findings being emitted (the engine's
 *   `onFindings`: detectors run, before the findings are filed), over 1,000 blocks mined one at a
 *   time; and to the block's checkpoint being committed (`onBlockProcessed`), reported beside it.
 * - catch-up: the embedded chain served over HTTP (it keeps every block's state; the detectors
 *   read at each block): the engine stopped with its checkpoint, 5,000 blocks mined, then a new
 *   engine over the same store: seconds from opening it to having processed the head.
 * - replay: 10,000 blocks of 200 real ERC-20 transfers each (bench/busy-blocks.ts: made on anvil,
 *   recorded with the detectors' reads, cached), replayed through the engine by
 *   `replayRecording` (streamed, logs attached to every block event, packed: a log is decoded
 *   into a viem object when something reads it), twice: blocks/s. A third replay reads every
 *   log of every block (`event.logs`, as a consumer of all logs would): `replay_all_logs_blocks_per_s`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFunctionData, erc20Abi, type Hex } from 'viem';
import { createMetrics, type MetricsRegistry } from '../src/chain/metrics';
import { logCountOf } from '../src/chain/packed-logs';
import { connectChain } from '../src/chain/rpc';
import { createCommon } from '../src/common/common';
import { silentLogger } from '../src/common/logger';
import type { FirebreakConfig } from '../src/config/schema';
import { drillEngineConfig, prepareDrill } from '../src/drills/runner';
import { loadScenario } from '../src/drills/scenario';
import { createEngine, type EngineChain } from '../src/engine/engine';
import { replayRecording } from '../src/engine/replay';
import { openStore } from '../src/store/store';
import { busyBlocksRecording } from './busy-blocks';
import { type Metric, percentile, round } from './stats';

const SCENARIO = 'scenarios/inverse-finance-2022.yaml';
const REPLAY_RUNS = 2;
const LIVE_BLOCKS = 1_000;
const CATCHUP_BLOCKS = 5_000;
const POLL_MS = 5;

/** One engine over one store, with a hook that resolves waiters when a block is processed. */
async function startEngine(opts: {
  config: FirebreakConfig;
  chain: EngineChain;
  store: { dataDir: string } | { memory: true };
  guardianKey: Hex;
  logs?: boolean;
  fromBlock?: bigint;
  metrics?: MetricsRegistry;
}) {
  const controller = new AbortController();
  const common = createCommon({ signal: controller.signal, logger: silentLogger() });
  const store = await openStore(opts.store, common);
  const doneAt = new Map<bigint, number>();
  /** When each block's findings were emitted (the detectors' result, before it is filed). */
  const emittedAt = new Map<bigint, number>();
  const waiters = new Map<bigint, (at: number) => void>();
  let last = -1n;
  const engine = await createEngine({
    config: opts.config,
    chains: new Map([['embedded', opts.chain]]),
    store,
    common,
    secrets: { FIREBREAK_GUARDIAN_KEY: opts.guardianKey },
    ...(opts.logs ? { logs: true } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    hooks: {
      onFindings: ({ event }) => {
        emittedAt.set(event.block.number, performance.now());
      },
      onBlockProcessed: ({ event }) => {
        const at = performance.now();
        const n = event.block.number;
        doneAt.set(n, at);
        if (n > last) last = n;
        // A waiter for block n is satisfied by n or anything past it (the engine never skips).
        for (const [w, resolve] of waiters)
          if (w <= n) {
            waiters.delete(w);
            resolve(at);
          }
      },
    },
  });
  engine.start(opts.fromBlock === undefined ? undefined : new Map([['embedded', opts.fromBlock]]));
  /** Resolves with performance.now() when block n (or later) has been processed. */
  const processed = (n: bigint, timeoutMs = 30_000): Promise<number> => {
    if (last >= n) return Promise.resolve(doneAt.get(n) ?? performance.now());
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(n);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for block ${n} (last processed ${last})`));
      }, timeoutMs);
      waiters.set(n, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    controller.abort();
    await engine.stop();
    await engine.settled();
    await store.close();
  };
  return { engine, processed, doneAt, emittedAt, last: () => last, stop };
}

export async function run({ log }: { log: (m: string) => void }): Promise<Metric[]> {
  const scenario = loadScenario(SCENARIO);
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-bench-ingest-'));
  const connections: { close(): void }[] = [];
  const closing: (() => Promise<void>)[] = [];
  /** The drill market on a chain served over HTTP + WebSocket, and an engine config pointing at it. */
  const marketOn = async (evm: 'edr' | 'anvil') => {
    const prepared = await prepareDrill(scenario, () => {}, { evm });
    const served = await prepared.chain.serve();
    closing.push(async () => {
      await served.close();
      await prepared.chain.close();
    });
    const base = drillEngineConfig(scenario, prepared.market, prepared.chain.chainId);
    const config: FirebreakConfig = {
      ...base,
      dataDir: join(dir, `store-${evm}`),
      // Heads pushed over the node's WebSocket (`newHeads`), as `firebreak run` does with `ws` set;
      // polling every POLL_MS only while the socket is down.
      chains: base.chains.map((c) => ({
        ...c,
        rpc: [served.url],
        ws: served.wsUrl,
        pollIntervalMs: POLL_MS,
      })),
    };
    return { ...prepared, config };
  };
  const connect = async (config: FirebreakConfig) => {
    const connected = await connectChain(
      config.chains[0]!,
      undefined,
      5_000,
      createCommon({ logger: silentLogger() }),
    );
    connections.push(connected);
    return {
      client: connected.client,
      pool: connected.pool,
      ...(connected.heads ? { heads: connected.heads } : {}),
    } satisfies EngineChain;
  };

  try {
    // ---- live: anvil in its own process, as a node is; one block at a time -------------------
    const node = await marketOn('anvil');
    const guardianKey = node.market.guardian.privateKey;
    const attacker = node.market.accounts.get('attacker')!;
    const weth = node.market.tokens.get('WETH')!.address;
    const recipients = node.chain.accounts.map((a) => a.address);
    let transfers = 0;
    /** Queues a 1-wei WETH transfer from the attacker (mined by the next `evm_mine`). */
    const transfer = () =>
      node.chain.provider.request({
        method: 'eth_sendTransaction',
        params: [
          {
            from: attacker.address,
            to: weth,
            gas: '0x186a0',
            data: encodeFunctionData({
              abi: erc20Abi,
              functionName: 'transfer',
              args: [recipients[transfers++ % recipients.length]!, 1n],
            }),
          },
        ],
      } as never) as Promise<Hex>;
    const liveMetrics = createMetrics();
    const live = await startEngine({
      config: node.config,
      chain: await connect(node.config),
      store: { dataDir: node.config.dataDir },
      guardianKey,
      metrics: liveMetrics,
    });
    // The source picks its head asynchronously: mine until a block is processed.
    for (let i = 0; ; i++) {
      const n = await node.chain.mine();
      try {
        await live.processed(n, 200);
        break;
      } catch (error) {
        if (i > 50) throw error;
      }
    }
    const latencies: number[] = [];
    const committed: number[] = [];
    let txBlocks = 0;
    for (let i = 0; i < LIVE_BLOCKS; i++) {
      if (i % 5 === 0) {
        await transfer();
        txBlocks++;
      }
      const n = await node.chain.mine();
      const available = performance.now();
      const done = await live.processed(n, 10_000);
      const emitted = live.emittedAt.get(n);
      if (emitted === undefined)
        throw new Error(`block ${n} was processed without its findings being emitted`);
      latencies.push(emitted - available);
      committed.push(done - available);
    }
    await live.stop();
    // Each detector's share of the detectors' time (wall time per block; they run concurrently).
    const perDetector = liveMetrics
      .snapshot()
      .metrics.flatMap((m) => (m.type === 'summary' && m.name === 'firebreak_detector_ms' ? m.series : []))
      .map((s) => ({ detector: s.labels.detector ?? '?', sum: s.sum, count: s.count }));
    const detectorTotal = perDetector.reduce((t, d) => t + d.sum, 0);
    log(
      `live, per detector (mean ms per block, share of the detectors' time): ${perDetector
        .sort((a, b) => b.sum - a.sum)
        .map(
          (d) =>
            `${d.detector} ${(d.sum / Math.max(1, d.count)).toFixed(2)} ms ${((100 * d.sum) / Math.max(1e-9, detectorTotal)).toFixed(0)} %`,
        )
        .join(', ')}`,
    );
    const liveP50 = percentile(latencies, 50);
    const liveP99 = percentile(latencies, 99);
    log(
      `live: ${LIVE_BLOCKS} blocks mined one at a time on anvil (${txBlocks} with a WETH transfer), heads pushed over WebSocket`,
    );
    log(
      `live, to findings emitted (ms): p50 ${liveP50.toFixed(2)}, p90 ${percentile(latencies, 90).toFixed(2)}, p99 ${liveP99.toFixed(2)}, max ${Math.max(...latencies).toFixed(2)}`,
    );
    const committedP99 = percentile(committed, 99);
    log(
      `live, to checkpoint committed (ms): p50 ${percentile(committed, 50).toFixed(2)}, p90 ${percentile(committed, 90).toFixed(2)}, p99 ${committedP99.toFixed(2)}, max ${Math.max(...committed).toFixed(2)}`,
    );

    // ---- catch-up: on the embedded chain (it keeps every block's state; anvil here keeps 64) -----
    const { chain, config } = await marketOn('edr');
    const first = await startEngine({
      config,
      chain: await connect(config),
      store: { dataDir: config.dataDir },
      guardianKey,
    });
    for (let i = 0; ; i++) {
      const n = await chain.mine();
      try {
        await first.processed(n, 200);
        break;
      } catch (error) {
        if (i > 50) throw error;
      }
    }
    await first.stop();
    // ---- catch-up: engine stopped, 5,000 blocks mined, new engine over the same store ----------
    const mineStarted = performance.now();
    let head = 0n;
    for (let i = 0; i < CATCHUP_BLOCKS; i++) head = await chain.mine();
    log(
      `catch-up: mined ${CATCHUP_BLOCKS} blocks with evm_mine in ${((performance.now() - mineStarted) / 1000).toFixed(1)} s while stopped (head ${head})`,
    );
    const catchupStarted = performance.now();
    const catchup = await startEngine({
      config,
      chain: await connect(config),
      store: { dataDir: config.dataDir },
      guardianKey,
    });
    const engineUp = performance.now();
    await catchup.processed(head, 120_000);
    const catchupSeconds = (performance.now() - catchupStarted) / 1000;
    const behind = [...catchup.doneAt.keys()].sort((a, b) => (a < b ? -1 : 1));
    await catchup.stop();
    log(
      `catch-up: ${catchupSeconds.toFixed(2)} s from reopening the store to processing head ${head} (store + engine setup ${((engineUp - catchupStarted) / 1000).toFixed(2)} s; resumed at block ${behind[0]}, ${behind.length} blocks processed)`,
    );

    // ---- replay: 10,000 busy blocks recorded (cached), replayed through the engine -------------
    const replayFile = await busyBlocksRecording(scenario, SCENARIO, log);
    const replayCommon = createCommon({ logger: silentLogger() });
    const replayConfig: FirebreakConfig = { ...config, dataDir: join(dir, 'replay-store') };
    const replays: { blocksPerSecond: number; blocks: number; logs: number }[] = [];
    let allLogsPerSecond = 0;
    for (let run = 1; run <= REPLAY_RUNS + 1; run++) {
      // The last run makes every log's viem object (the hook reads `event.logs`: inside the timed part).
      const readAll = run > REPLAY_RUNS;
      let logs = 0;
      let made = 0;
      const replayed = await replayRecording({
        config: replayConfig,
        file: replayFile.path,
        common: replayCommon,
        secrets: { FIREBREAK_GUARDIAN_KEY: guardianKey },
        onBlock: (_, event) => {
          logs += logCountOf(event);
          if (readAll) for (const log of event.logs ?? []) made += log.data.length > 0 ? 1 : 0;
        },
      });
      if (readAll && made !== logs) throw new Error(`replay: ${made} logs read of ${logs}`);
      if (replayed.blocks !== replayFile.blocks)
        throw new Error(`replay processed ${replayed.blocks} blocks of ${replayFile.blocks}`);
      // A recording cannot build a position book: `concentration` says so once and runs on its
      // Borrow-event fallback (docs/detectors.md). Any other degraded finding is a failure.
      const noBook = replayed.findings.filter((f) => f.dedupeKey.startsWith('concentration:no-positions:'));
      if (run === 1 && noBook.length > 0) log(`replay: ${noBook[0]!.title}`);
      const degraded = replayed.findings.filter((f) => f.kind === 'degraded' && !noBook.includes(f));
      if (degraded.length > 0)
        throw new Error(`replay: ${degraded.length} detector runs failed (first: ${degraded[0]!.title})`);
      const blocksPerSecond = replayed.blocks / replayed.processingSeconds;
      if (readAll) allLogsPerSecond = blocksPerSecond;
      else replays.push({ blocksPerSecond, blocks: replayed.blocks, logs });
      log(
        `replay ${run}${readAll ? ' (every log read)' : ''}: ${replayed.blocks.toLocaleString('en-US')} blocks, ${logs.toLocaleString('en-US')} logs through the engine (logs attached, ${replayed.findings.length} findings) in ${replayed.processingSeconds.toFixed(2)} s after ${(replayed.seconds - replayed.processingSeconds).toFixed(2)} s of setup: ${blocksPerSecond.toFixed(0)} blocks/s, ${Math.round(logs / replayed.processingSeconds).toLocaleString('en-US')} logs/s (load average ${loadavg()[0]!.toFixed(2)})`,
      );
    }
    const replayMedian = percentile(
      replays.map((r) => r.blocksPerSecond),
      50,
    );
    const logsPerBlock = replays[0]!.logs / replays[0]!.blocks;

    return [
      { id: 'live_p50_ms', value: round(liveP50, 2), unit: 'ms', target: null, better: 'lower' },
      { id: 'live_p99_ms', value: round(liveP99, 2), unit: 'ms', target: 20, better: 'lower' },
      {
        id: 'live_committed_p99_ms',
        value: round(committedP99, 2),
        unit: 'ms',
        target: null,
        better: 'lower',
      },
      { id: 'catchup_5000_s', value: round(catchupSeconds, 2), unit: 's', target: null, better: 'lower' },
      {
        id: 'replay_blocks_per_s',
        value: round(replayMedian, 0),
        unit: 'blocks/s',
        target: 2000,
        better: 'higher',
      },
      {
        id: 'replay_all_logs_blocks_per_s',
        value: round(allLogsPerSecond, 0),
        unit: 'blocks/s',
        target: null,
        better: 'higher',
      },
      { id: 'replay_blocks', value: replays[0]!.blocks, unit: 'blocks', target: 10_000, better: 'higher' },
      {
        id: 'replay_logs_per_block',
        value: round(logsPerBlock, 1),
        unit: 'logs',
        target: 200,
        better: 'higher',
      },
    ];
  } finally {
    for (const c of connections) c.close();
    for (const close of closing) await close();
    rmSync(dir, { recursive: true, force: true });
  }
}
