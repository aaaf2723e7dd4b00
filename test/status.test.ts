// Watch metrics: per chain, head lag in blocks and seconds, blocks/s, and RPC calls/s and errors by
// endpoint (labels redacted), as `firebreak run` logs them — on a real chain over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServedChain } from '../src/chain/embedded';
import { createMetrics, toPrometheus } from '../src/chain/metrics';
import { connectChain } from '../src/chain/rpc';
import { createCommon } from '../src/common/common';
import { drillEngineConfig, type PreparedDrill, prepareDrill } from '../src/drills/runner';
import { loadScenario } from '../src/drills/scenario';
import { createEngine } from '../src/engine/engine';
import { chainStatus } from '../src/engine/status';
import { openStore } from '../src/store/store';

describe('chain status and metrics', () => {
  let drill: PreparedDrill;
  let served: ServedChain;
  beforeAll(async () => {
    drill = await prepareDrill(loadScenario('scenarios/inverse-finance-2022.yaml'));
    await drill.chain.setAutomine(true);
    served = await drill.chain.serve();
  }, 60_000);
  afterAll(async () => served.close());

  it('reports lag, throughput and per-endpoint RPC rates with redacted labels', async () => {
    const base = drillEngineConfig(
      loadScenario('scenarios/inverse-finance-2022.yaml'),
      drill.market,
      drill.chain.chainId,
    );
    const chain = { ...base.chains[0]!, rpc: [`${served.url}/v2/secret-key-123`], pollIntervalMs: 10 };
    const metrics = createMetrics();
    const common = createCommon();
    const connected = await connectChain(chain, undefined, 5_000, common, metrics);
    const store = await openStore({ memory: true });
    const engine = await createEngine({
      config: { ...base, chains: [chain] },
      chains: new Map([['embedded', { client: connected.client, pool: connected.pool }]]),
      store,
      common,
      metrics,
      secrets: { FIREBREAK_GUARDIAN_KEY: drill.market.guardian.privateKey },
    });
    const head = await drill.chain.client.getBlockNumber();
    engine.start(new Map([['embedded', head + 1n]]));
    for (let i = 0; i < 10; i++) await drill.chain.mine();
    const until = performance.now() + 10_000;
    while ((engine.lastProcessed.get('embedded')?.number ?? 0n) < head + 10n && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    // Rates count whole seconds only: let the second the blocks were processed in complete.
    await new Promise((r) => setTimeout(r, 1_100));
    const status = chainStatus('embedded', engine, metrics, connected.pool, `0x${(head + 12n).toString(16)}`);
    await engine.stop();
    await store.close();
    connected.pool.close();

    expect(status.lastBlock).toBe((head + 10n).toString());
    expect(status.headLagBlocks).toBe(2);
    expect(status.headLagSeconds).toEqual(expect.any(Number));
    expect(status.blocksPerSecond).toBeGreaterThan(0);
    const endpoints = status.endpoints as { endpoint: string; callsPerSecond: number }[];
    expect(endpoints).toHaveLength(1);
    expect(endpoints[0]!.callsPerSecond).toBeGreaterThan(0);
    const text = toPrometheus(metrics.snapshot());
    expect(text).toContain('firebreak_chain_blocks_processed_total');
    expect(text).toContain('firebreak_rpc_requests_total');
    expect(text).not.toContain('secret-key-123');
    expect(JSON.stringify(status)).not.toContain('secret-key-123');
  }, 60_000);
});
