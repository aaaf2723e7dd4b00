/**
 * CLI — `firebreak run`: connect to the configured chains, open the store, start the engine and
 * keep it running until SIGINT/SIGTERM. A chain with a `ws` endpoint is woken by its pushed heads
 * (falling back to polling while the socket is down); the others poll.
 */
import { createMetrics } from '../chain/metrics';
import { type ConnectedChain, connectChain } from '../chain/rpc';
import { createCommon } from '../common/common';
import type { Logger } from '../common/logger';
import type { FirebreakConfig } from '../config/schema';
import { createEngine, type EngineChain } from '../engine/engine';
import { chainStatus } from '../engine/status';
import { openStore } from '../store/store';

export async function runLive(config: FirebreakConfig, logger: Logger): Promise<number> {
  const controller = new AbortController();
  const common = createCommon({ logger, signal: controller.signal });
  const chains = new Map<string, EngineChain>();
  const connections: ConnectedChain[] = [];
  const metrics = createMetrics();
  let reporter: NodeJS.Timeout | undefined;
  let store: Awaited<ReturnType<typeof openStore>> | undefined;
  try {
    for (const chain of config.chains) {
      const connected = await connectChain(chain, undefined, 5_000, common, metrics);
      connections.push(connected);
      const entry: EngineChain = { client: connected.client, pool: connected.pool };
      if (connected.heads) entry.heads = connected.heads;
      if (connected.mempool) entry.mempool = connected.mempool;
      if (connected.reopenMempool) entry.reopenMempool = connected.reopenMempool;
      chains.set(chain.name, entry);
      logger.info({ chain: chain.name, id: chain.id, heads: chain.ws ? 'ws' : 'poll' }, 'connected');
    }
    store = await openStore({ dataDir: config.dataDir });
    const engine = await createEngine({
      config,
      chains,
      store,
      common,
      metrics,
      // The operator's emergency brake, without editing the config.
      ...(process.env.FIREBREAK_KILL_SWITCH === '1' ? { killSwitch: true } : {}),
    });
    engine.start();
    // Every minute (FIREBREAK_STATUS_EVERY_S), one line per chain: lag, throughput, RPC health.
    const everyS = Number(process.env.FIREBREAK_STATUS_EVERY_S ?? 60);
    if (everyS > 0) {
      reporter = setInterval(() => {
        for (const chain of config.chains) {
          const pool = chains.get(chain.name)?.pool;
          void (pool ? pool.request('eth_blockNumber', []) : Promise.resolve(undefined))
            .then((head) => logger.info(chainStatus(chain.name, engine, metrics, pool, head), 'status'))
            .catch(() => logger.info(chainStatus(chain.name, engine, metrics, pool, undefined), 'status'));
        }
      }, everyS * 1000);
      reporter.unref();
    }
    logger.info({ chains: config.chains.map((c) => c.name) }, 'firebreak is watching');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    logger.info('stopping: finishing the block in hand and waiting for sent actions');
    controller.abort();
    await engine.stop();
    await engine.settled();
  } finally {
    if (reporter) clearInterval(reporter);
    for (const c of connections) c.close();
    await store?.close();
  }
  return 0;
}
