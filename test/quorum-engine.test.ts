// Quorum before action: a block hash seen from one provider only never gets an action taken on its
// word, and a liar is outvoted when the honest endpoints agree. Real chain, real HTTP, three
// endpoints behind fault-injecting proxies.
import type { Hex } from 'viem';
import { getBlock, getTransactionCount, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServedChain } from '../src/chain/embedded';
import { toBlockRef } from '../src/chain/events';
import { connectChain } from '../src/chain/rpc';
import { createCommon } from '../src/common/common';
import type { FirebreakConfig } from '../src/config/schema';
import { drillEngineConfig, type PreparedDrill, prepareDrill } from '../src/drills/runner';
import { loadScenario } from '../src/drills/scenario';
import { createEngine } from '../src/engine/engine';
import { readReserveConfiguration } from '../src/protocols/aave-v3/reader';
import { swapExactIn } from '../src/protocols/uniswap-v2/pool';
import { openStore } from '../src/store/store';
import { type FaultProxy, lieAbout, startFaultProxy } from './support/fault-proxy';

const twapAbi = [
  { type: 'function', name: 'update', stateMutability: 'nonpayable', inputs: [], outputs: [] },
] as const;

describe('quorum before action', () => {
  const scenario = loadScenario('scenarios/inverse-finance-2022.yaml');
  const common = createCommon();
  let drill: PreparedDrill;
  let served: ServedChain;
  let proxies: FaultProxy[];

  /** The Inverse Finance manipulation, done directly: the market's INV price is ~56× its reference afterwards. */
  const manipulate = async () => {
    const { client } = drill.chain;
    const attacker = drill.market.accounts.get('attacker')!;
    const twap = drill.market.twaps.get('INV')!;
    const update = async () => {
      const hash = await writeContract(client, {
        address: twap,
        abi: twapAbi,
        functionName: 'update',
        account: attacker.account,
        chain: client.chain,
      });
      expect((await waitForTransactionReceipt(client, { hash, pollingInterval: 1 })).status).toBe('success');
    };
    const later = async () => {
      await client.increaseTime({ seconds: 61 });
      await client.mine({ blocks: 1 });
    };
    await later();
    await update();
    await swapExactIn(client, {
      pair: drill.market.pools.get('INV-WETH')!,
      tokenIn: drill.market.tokens.get('WETH')!.address,
      amountIn: 300n * 10n ** 18n,
      to: attacker.address,
      account: attacker.account,
    });
    await later();
    await update();
  };

  beforeEach(async () => {
    drill = await prepareDrill(scenario);
    await drill.chain.setAutomine(true);
    served = await drill.chain.serve();
    proxies = await Promise.all([0, 1, 2].map(() => startFaultProxy({ target: served.url })));
    await manipulate();
  }, 60_000);

  afterEach(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await served.close();
  });

  /** One engine over the three endpoints with `quorum`, fed the latest block as `hash` says it is. */
  const respondTo = async (quorum: number, hash: (real: Hex) => Hex) => {
    const base = drillEngineConfig(scenario, drill.market, drill.chain.chainId);
    const chain = {
      ...base.chains[0]!,
      rpc: proxies.map((p, i) => `${p.url}/endpoint-${i}`),
      quorum,
      pollIntervalMs: 20,
    };
    const config: FirebreakConfig = { ...base, chains: [chain] };
    const connected = await connectChain(chain, undefined, 5_000, common);
    const store = await openStore({ memory: true });
    const engine = await createEngine({
      config,
      chains: new Map([['embedded', { client: connected.client, pool: connected.pool }]]),
      store,
      common,
      secrets: { FIREBREAK_GUARDIAN_KEY: drill.market.guardian.privateKey },
    });
    const block = toBlockRef(await getBlock(drill.chain.client));
    await engine.processBlock('embedded', {
      type: 'block',
      chainId: drill.chain.chainId,
      receivedAt: 0,
      block: { ...block, hash: hash(block.hash) },
    });
    // Let anything sent be mined and verified.
    await drill.chain.mine();
    await engine.settled();
    const [incident] = await store.listIncidents();
    const timeline = incident ? await store.listTimeline(incident.id) : [];
    const health = connected.pool.health();
    await engine.stop();
    await store.close();
    connected.pool.close();
    return { timeline, health };
  };

  const invFrozen = async () =>
    (
      await readReserveConfiguration(
        drill.chain.client,
        drill.market.aave.pool,
        drill.market.tokens.get('INV')!.address,
      )
    ).isFrozen;

  it('holds the action when the block it rests on is known to one provider only', async () => {
    const guardian = drill.market.guardian.address as Hex;
    const before = await getTransactionCount(drill.chain.client, { address: guardian });
    // The engine believes a block hash that only a lying endpoint served; the other two disagree.
    proxies[0]!.setFault(
      { kind: 'lie', seed: 'liar' },
      { methods: ['eth_getBlockByNumber', 'eth_getBlockByHash'] },
    );
    const { timeline, health } = await respondTo(2, (real) => lieAbout(real, 'liar'));
    const types = timeline.map((e) => e.type);
    expect(types).toContain('finding');
    expect(types).toContain('action-refused');
    expect(types).not.toContain('tx-sent');
    expect(timeline.find((e) => e.type === 'action-refused')?.summary).toMatch(/held/);
    expect(await getTransactionCount(drill.chain.client, { address: guardian })).toBe(before);
    expect(await invFrozen()).toBe(false);
    expect(health.find((h) => h.index === 0)?.demoted).toBe(true);
  }, 60_000);

  it('acts when the honest majority confirms the block, outvoting a liar', async () => {
    // The liar lies about blocks only. (Lying about eth_call too made this test depend on which
    // endpoint the pool's latency ranking picked for the detectors' reads: when a loaded machine
    // made the liar the fastest, the reads themselves were lies and holding the action was right.)
    proxies[2]!.setFault(
      { kind: 'lie', seed: 'liar' },
      { methods: ['eth_getBlockByNumber', 'eth_getBlockByHash'] },
    );
    const { timeline, health } = await respondTo(2, (real) => real);
    const types = timeline.map((e) => e.type);
    // On failure, say what happened instead (which entry, which reason, which endpoint was demoted).
    const story = JSON.stringify({ timeline: timeline.map((e) => [e.type, e.summary]), health });
    expect(types, story).toContain('tx-sent');
    expect(types).toContain('effect-verified');
    expect(await invFrozen()).toBe(true);
    expect(health.find((h) => h.index === 2)?.demoted).toBe(true);
  }, 60_000);
});
