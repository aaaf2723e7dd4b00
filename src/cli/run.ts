/**
 * CLI — `firebreak run`: connect to the configured chains, open the store, start the engine and
 * keep it running until SIGINT/SIGTERM.
 */
import { connectChain } from '../chain/rpc';
import { createCommon } from '../common/common';
import type { Logger } from '../common/logger';
import type { FirebreakConfig } from '../config/schema';
import { createEngine, type EngineChain } from '../engine/engine';
import { openStore } from '../store/store';

export async function runLive(config: FirebreakConfig, logger: Logger): Promise<number> {
  const chains = new Map<string, EngineChain>();
  for (const chain of config.chains) {
    const connected = await connectChain(chain);
    chains.set(chain.name, { client: connected.client });
    logger.info({ chain: chain.name, id: chain.id }, 'connected');
  }
  const controller = new AbortController();
  const store = await openStore({ dataDir: config.dataDir });
  try {
    const engine = await createEngine({
      config,
      chains,
      store,
      common: createCommon({ logger, signal: controller.signal }),
      // The operator's emergency brake, without editing the config.
      ...(process.env.FIREBREAK_KILL_SWITCH === '1' ? { killSwitch: true } : {}),
    });
    engine.start();
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
    await store.close();
  }
  return 0;
}
