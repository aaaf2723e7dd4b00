/**
 * Test support — a Firebreak process for the crash test (`test/ingest-crash.test.ts`): opens the
 * store folder, connects to the served chain's URL, and runs the engine as `firebreak run` does,
 * with one detector that fires on every 7th block. It prints `block <number>` on stdout after each
 * processed block, and stops cleanly on SIGTERM (the test kills it with SIGKILL in between).
 *
 * Usage: node --import tsx/esm test/support/ingest-child.ts <dataDir> <rpcUrl> <chainId> <startBlock>
 */
import { connectChain } from '../../src/chain/rpc';
import { createCommon } from '../../src/common/common';
import { createLogger } from '../../src/common/logger';
import { firebreakConfig } from '../../src/config/schema';
import { instantiate } from '../../src/detectors/types';
import { createEngine } from '../../src/engine/engine';
import { openStore } from '../../src/store/store';
import { everyNthBlock } from './test-detectors';

const [dataDir, url, chainId, startBlock] = process.argv.slice(2);
if (!dataDir || !url || !chainId || !startBlock) {
  process.stderr.write('usage: ingest-child.ts <dataDir> <rpcUrl> <chainId> <startBlock>\n');
  process.exit(2);
}

const config = firebreakConfig.parse({
  chains: [
    {
      id: Number(chainId),
      name: 'local',
      rpc: [url],
      pollIntervalMs: 5,
      confirmations: 12,
      concurrency: 4,
      maxBlockRange: 50,
      startBlock: Number(startBlock),
    },
  ],
});
const logger = createLogger({ level: 'warn' });
const connected = await connectChain(config.chains[0]!);
const store = await openStore({ dataDir });
const controller = new AbortController();
const engine = await createEngine({
  config,
  chains: new Map([['local', { client: connected.client }]]),
  store,
  common: createCommon({ logger, signal: controller.signal }),
  extraDetectors: { local: [instantiate('every-7th', everyNthBlock, { every: 7n })] },
  hooks: {
    onBlockProcessed: ({ event }) => process.stdout.write(`block ${event.block.number}\n`),
  },
});
process.once('SIGTERM', () => {
  controller.abort();
  void engine
    .stop()
    .then(() => store.close())
    .then(() => process.exit(0));
});
engine.start();
process.stdout.write('started\n');
