/**
 * Test support — a Firebreak process for the respond kill test (`test/respond-kill.test.ts`): opens
 * the store folder, connects to the served chain's URL, and runs the engine as `firebreak run` does
 * with a real Aave v3 market, an `eoa` guardian executor (key from FIREBREAK_GUARDIAN_KEY) and one
 * playbook that pauses the reserve a critical exploit finding names. The finding comes from a test
 * detector that fires on every block from `triggerBlock` on (the condition persists, as a real one
 * would). Prints `block <n>`, `sent <hashes>` and `verified <ok>` lines on stdout; on SIGTERM it
 * stops, prints `store <json>` (its action records and nonce journal) and exits 0 (the test kills
 * it with SIGKILL in between).
 *
 * Usage: node respond-child.ts <dataDir> <rpcUrl> <chainId> <startBlock> <addressesProvider> <asset> <triggerBlock>
 */
import type { Hex } from 'viem';
import { connectChain } from '../../src/chain/rpc';
import { createCommon } from '../../src/common/common';
import { createLogger } from '../../src/common/logger';
import { firebreakConfig } from '../../src/config/schema';
import { makeFinding } from '../../src/detectors/finding';
import { type DetectorDefinition, instantiate } from '../../src/detectors/types';
import { createEngine } from '../../src/engine/engine';
import { openStore } from '../../src/store/store';

const [dataDir, url, chainId, startBlock, provider, asset, triggerBlock] = process.argv.slice(2);
if (!dataDir || !url || !chainId || !startBlock || !provider || !asset || !triggerBlock) {
  process.stderr.write(
    'usage: respond-child.ts <dataDir> <rpcUrl> <chainId> <startBlock> <addressesProvider> <asset> <triggerBlock>\n',
  );
  process.exit(2);
}

/** A critical exploit finding about `asset` of the market on every block from `from` on. */
const exploitFrom: DetectorDefinition<{ from: bigint; market: Hex; asset: Hex }> = {
  type: 'exploit-from-block',
  description: 'an exploit in progress from a given block on',
  async detect(event, ctx) {
    if (event.block.number < ctx.params.from) return [];
    return [
      makeFinding({
        detector: 'exploit-from-block',
        detectorInstance: ctx.instanceId,
        severity: 'critical',
        kind: 'exploit',
        subject: {
          chainId: event.chainId,
          protocol: 'aave-v3',
          market: ctx.params.market,
          asset: ctx.params.asset,
        },
        dedupeKey: `exploit:${ctx.params.asset}`,
        confidence: 1,
        title: `exploit on ${ctx.params.asset} in block ${event.block.number}`,
        evidence: { from: ctx.params.from.toString() },
        block: event.block,
      }),
    ];
  },
};

const config = firebreakConfig.parse({
  chains: [
    {
      id: Number(chainId),
      name: 'local',
      rpc: [url],
      pollIntervalMs: 10,
      confirmations: 12,
      maxBlockRange: 50,
      startBlock: Number(startBlock),
    },
  ],
  markets: [{ id: 'market', chain: 'local', protocol: 'aave-v3', addressesProvider: provider }],
  executors: [
    {
      id: 'guardian',
      type: 'eoa',
      chain: 'local',
      key: { env: 'FIREBREAK_GUARDIAN_KEY' },
      priorityFeeGwei: 2,
      maxFeeGwei: 500,
      bumpAfterBlocks: 3,
    },
  ],
  playbooks: [
    {
      id: 'pause-on-exploit',
      when: { kind: 'exploit', severity: 'critical' },
      do: [{ action: 'aave-v3.pause-reserve', executor: 'guardian' }],
      cooldownBlocks: 0,
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
  extraDetectors: {
    local: [
      instantiate('exploit', exploitFrom, {
        from: BigInt(triggerBlock),
        market: provider.toLowerCase() as Hex,
        asset: asset as Hex,
      }),
    ],
  },
  hooks: {
    onBlockProcessed: ({ event }) => process.stdout.write(`block ${event.block.number}\n`),
    onSent: ({ txHashes }) => process.stdout.write(`sent ${txHashes.join(',')}\n`),
    onVerified: ({ ok }) => process.stdout.write(`verified ${ok}\n`),
  },
});
process.once('SIGTERM', () => {
  controller.abort();
  void engine
    .stop()
    .then(async () => {
      // What the store holds, for the test: the action records and the nonce journal.
      const actions = await store.db
        .selectFrom('actions')
        .select(['action', 'status', 'tx_hashes'])
        .execute();
      const txs = await store.db.selectFrom('executor_txs').select(['nonce', 'status', 'hashes']).execute();
      process.stdout.write(
        `store ${JSON.stringify({ actions, txs: txs.map((t) => ({ ...t, nonce: Number(t.nonce) })) })}\n`,
      );
    })
    .then(() => store.close())
    .then(() => process.exit(0));
});
engine.start();
process.stdout.write('started\n');
