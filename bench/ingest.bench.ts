/**
 * Bench `ingest` — the engine's ingestion on the Inverse Finance drill market, with the detectors
 * `drillEngineConfig` configures, over a real local HTTP JSON-RPC (`serve()` + `connectChain`):
 *
 * - live: from a block being available at the RPC (right after `evm_mine` returns) to the engine's
 *   `onBlockProcessed` for it, over blocks mined one at a time. The engine finds blocks by polling
 *   (pollIntervalMs 5, no WebSocket heads), so the poll wait is part of every figure.
 * - catch-up: the engine stopped (checkpoint kept in its store folder), 5,000 blocks mined, then a
 *   new engine over the same store: seconds from opening it to having processed the head.
 * - replay: a range of blocks with ERC-20 Transfer activity recorded with `recordChain` (blocks,
 *   logs and the detectors' reads), replayed through the engine on `createRecordedProvider`
 *   (with `logs: true`, so every log is fetched and attached to its block event): blocks/s.
 *   The range is what ~60 s of generation gives on the embedded EVM, not the issue's 10,000
 *   blocks; `replay_blocks` and `replay_logs_per_block` say what was replayed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, createClient, custom, encodeFunctionData, erc20Abi, type Hex } from 'viem';
import { createRecordedProvider } from '../src/chain/recording';
import { connectChain } from '../src/chain/rpc';
import { createCommon } from '../src/common/common';
import { silentLogger } from '../src/common/logger';
import type { FirebreakConfig } from '../src/config/schema';
import { drillEngineConfig, prepareDrill } from '../src/drills/runner';
import { loadScenario } from '../src/drills/scenario';
import { createEngine, type EngineChain } from '../src/engine/engine';
import { recordChain } from '../src/engine/record';
import { openStore } from '../src/store/store';
import { type Metric, percentile, round } from './stats';

const LIVE_BLOCKS = 1_000;
const CATCHUP_BLOCKS = 5_000;
const REPLAY_TARGET_BLOCKS = 10_000;
const REPLAY_GENERATION_MS = 60_000;
const TRANSFERS_PER_BLOCK = 200;
const POLL_MS = 5;

/** One engine over one store, with a hook that resolves waiters when a block is processed. */
async function startEngine(opts: {
  config: FirebreakConfig;
  chain: EngineChain;
  store: { dataDir: string } | { memory: true };
  guardianKey: Hex;
  logs?: boolean;
  fromBlock?: bigint;
}) {
  const controller = new AbortController();
  const common = createCommon({ signal: controller.signal, logger: silentLogger() });
  const store = await openStore(opts.store, common);
  const doneAt = new Map<bigint, number>();
  const waiters = new Map<bigint, (at: number) => void>();
  let last = -1n;
  const engine = await createEngine({
    config: opts.config,
    chains: new Map([['embedded', opts.chain]]),
    store,
    common,
    secrets: { FIREBREAK_GUARDIAN_KEY: opts.guardianKey },
    ...(opts.logs ? { logs: true } : {}),
    hooks: {
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
  return { engine, processed, doneAt, last: () => last, stop };
}

export async function run({ log }: { log: (m: string) => void }): Promise<Metric[]> {
  const scenario = loadScenario('scenarios/inverse-finance-2022.yaml');
  const prepared = await prepareDrill(scenario);
  const { chain, market } = prepared;
  const served = await chain.serve();
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-bench-ingest-'));
  const base = drillEngineConfig(scenario, market, chain.chainId);
  const config: FirebreakConfig = {
    ...base,
    dataDir: join(dir, 'store'),
    chains: base.chains.map((c) => ({ ...c, rpc: [served.url], pollIntervalMs: POLL_MS })),
  };
  const chainConfig = config.chains[0]!;
  const guardianKey = market.guardian.privateKey;
  const attacker = market.accounts.get('attacker')!;
  const weth = market.tokens.get('WETH')!.address;
  const recipients = chain.accounts.map((a) => a.address);
  let transfers = 0;
  /** Queues a 1-wei WETH transfer from the attacker (mined by the next `evm_mine`). */
  const transfer = () =>
    chain.provider.request({
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

  const pools: { close(): void }[] = [];
  const connect = async () => {
    const connected = await connectChain(
      chainConfig,
      undefined,
      5_000,
      createCommon({ logger: silentLogger() }),
    );
    pools.push(connected.pool);
    return { client: connected.client, pool: connected.pool } satisfies EngineChain;
  };

  try {
    // ---- live: one block at a time, the engine polling the HTTP RPC every 5 ms ------------------
    const live = await startEngine({
      config,
      chain: await connect(),
      store: { dataDir: config.dataDir },
      guardianKey,
    });
    // The source picks its head asynchronously: mine until a block is processed.
    for (let i = 0; ; i++) {
      const n = await chain.mine();
      try {
        await live.processed(n, 200);
        break;
      } catch (error) {
        if (i > 50) throw error;
      }
    }
    const latencies: number[] = [];
    let txBlocks = 0;
    for (let i = 0; i < LIVE_BLOCKS; i++) {
      if (i % 5 === 0) {
        await transfer();
        txBlocks++;
      }
      const n = await chain.mine();
      const available = performance.now();
      const done = await live.processed(n, 10_000);
      latencies.push(done - available);
    }
    await live.stop();
    const liveP50 = percentile(latencies, 50);
    const liveP99 = percentile(latencies, 99);
    log(
      `live: ${LIVE_BLOCKS} blocks mined one at a time (${txBlocks} with a WETH transfer), engine polling HTTP every ${POLL_MS} ms (poll wait included)`,
    );
    log(
      `live (ms): p50 ${liveP50.toFixed(2)}, p90 ${percentile(latencies, 90).toFixed(2)}, p99 ${liveP99.toFixed(2)}, max ${Math.max(...latencies).toFixed(2)}`,
    );

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
      chain: await connect(),
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

    // ---- replay: generate activity, record it, replay the file through the engine -------------
    const genStarted = performance.now();
    const from = (await chain.mine()) + 1n;
    let to = from - 1n;
    while (performance.now() - genStarted < REPLAY_GENERATION_MS && to - from + 1n < REPLAY_TARGET_BLOCKS) {
      const sent: Promise<Hex>[] = [];
      for (let i = 0; i < TRANSFERS_PER_BLOCK; i++) sent.push(transfer());
      await Promise.all(sent);
      to = await chain.mine();
    }
    const genSeconds = (performance.now() - genStarted) / 1000;
    const generated = Number(to - from + 1n);
    log(
      `replay: generated ${generated} blocks (${from}–${to}) with ${TRANSFERS_PER_BLOCK} WETH transfers each in ${genSeconds.toFixed(1)} s (${(generated / genSeconds).toFixed(1)} blocks/s)`,
    );
    const out = join(dir, 'replay.jsonl.gz');
    const recorder = await connect();
    const summary = await recordChain({
      config,
      chain: 'embedded',
      client: recorder.client,
      from,
      to,
      out,
      common: createCommon({ logger: silentLogger() }),
    });
    if (summary.detectorFailures.length > 0)
      throw new Error(`recording: ${summary.detectorFailures.length} detector run(s) failed`);
    const logsPerBlock = summary.logs / summary.blocks;
    log(
      `replay: recorded ${summary.blocks} blocks, ${summary.logs} logs (${logsPerBlock.toFixed(1)}/block), ${summary.calls} calls, ${(summary.bytes / 1e6).toFixed(1)} MB in ${(summary.ms / 1000).toFixed(1)} s`,
    );

    const provider = await createRecordedProvider(out);
    const replayClient: Client = createClient({ transport: custom(provider, { retryCount: 0 }) });
    const replayStarted = performance.now();
    const replay = await startEngine({
      config,
      chain: { client: replayClient },
      store: { memory: true },
      guardianKey,
      logs: true,
      fromBlock: from,
    });
    const replayUp = performance.now();
    await replay.processed(to, 120_000);
    const replaySeconds = (performance.now() - replayUp) / 1000;
    const replayCount = replay.doneAt.size;
    await replay.stop();
    const blocksPerSecond = summary.blocks / replaySeconds;
    log(
      `replay: ${replayCount} blocks through the engine (logs attached) in ${replaySeconds.toFixed(2)} s after a ${((replayUp - replayStarted) / 1000).toFixed(2)} s setup: ${blocksPerSecond.toFixed(0)} blocks/s, ${((summary.logs / replaySeconds) | 0).toLocaleString('en-US')} logs/s`,
    );
    log(
      `replay: NOT the issue's 10,000 blocks × ≥200 logs; ${summary.blocks} blocks × ${logsPerBlock.toFixed(1)} logs/block`,
    );

    return [
      { id: 'live_p50_ms', value: round(liveP50, 2), unit: 'ms', target: null, better: 'lower' },
      { id: 'live_p99_ms', value: round(liveP99, 2), unit: 'ms', target: 20, better: 'lower' },
      { id: 'catchup_5000_s', value: round(catchupSeconds, 2), unit: 's', target: null, better: 'lower' },
      {
        id: 'replay_blocks_per_s',
        value: round(blocksPerSecond, 0),
        unit: 'blocks/s',
        target: 2000,
        better: 'higher',
      },
      { id: 'replay_blocks', value: summary.blocks, unit: 'blocks', target: null, better: 'higher' },
      {
        id: 'replay_logs_per_block',
        value: round(logsPerBlock, 1),
        unit: 'logs',
        target: 200,
        better: 'higher',
      },
    ];
  } finally {
    for (const p of pools) p.close();
    await served.close();
    await chain.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
