// Exactly once, end to end: the engine on the embedded chain with the real Aave v3 market and
// Uniswap v2 pool of the Inverse Finance drill. The INV TWAP is pushed ~56× by a real swap; the
// engine sees the block, contains INV, and must never send the containing action a second time:
// not for the same block again, not for a later block, and not after a restart over the same store.
import { encodeFunctionData, type Hex, toHex } from 'viem';
import { getBlock, getTransactionCount, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toBlockRef } from '../src/chain/events';
import { type Common, createCommon } from '../src/common/common';
import type { BlockEvent } from '../src/detectors/types';
import { drillEngineConfig, type PreparedDrill, prepareDrill } from '../src/drills/runner';
import { loadScenario, type Scenario } from '../src/drills/scenario';
import { createEngine, type Engine } from '../src/engine/engine';
import { poolAbi } from '../src/protocols/aave-v3/abi';
import { readAssetPrice, readReserveConfiguration } from '../src/protocols/aave-v3/reader';
import { readFeed } from '../src/protocols/chainlink/feed';
import { swapExactIn } from '../src/protocols/uniswap-v2/pool';
import { openStore, type Store } from '../src/store/store';
import { countingClient } from './support/counting-client';

const twapAbi = [
  { type: 'function', name: 'update', stateMutability: 'nonpayable', inputs: [], outputs: [] },
] as const;

describe('engine: a containing action is sent exactly once', () => {
  let scenario: Scenario;
  let drill: PreparedDrill;
  let inv: Hex;
  /** The block in which the manipulated TWAP was published. */
  let manipulated: BlockEvent;
  let snapshot: Hex;
  const common: Common = createCommon();

  const client = () => drill.chain.client;
  const guardian = () => drill.market.guardian;
  const guardianTxCount = () => getTransactionCount(client(), { address: guardian().address });
  const invConfig = () => readReserveConfiguration(client(), drill.market.aave.pool, inv);

  const blockEvent = async (blockNumber?: bigint): Promise<BlockEvent> => {
    const block = await getBlock(client(), blockNumber === undefined ? {} : { blockNumber });
    return {
      type: 'block',
      chainId: drill.chain.chainId,
      receivedAt: common.clock.monotonic(),
      block: toBlockRef(block),
    };
  };

  const engineOver = (store: Store, options: { killSwitch?: boolean } = {}): Promise<Engine> =>
    createEngine({
      config: drillEngineConfig(scenario, drill.market, drill.chain.chainId),
      chains: new Map([['embedded', { client: client() }]]),
      store,
      common,
      secrets: { FIREBREAK_GUARDIAN_KEY: guardian().privateKey },
      ...options,
    });

  /** Every action record and timeline event in the store. */
  const recorded = async (store: Store) => {
    const actions = await store.db.selectFrom('actions').selectAll().execute();
    const timeline = await store.db.selectFrom('timeline_events').selectAll().orderBy('seq').execute();
    return { actions, types: timeline.map((e) => e.type), timeline };
  };

  beforeAll(async () => {
    scenario = loadScenario('scenarios/inverse-finance-2022.yaml');
    drill = await prepareDrill(scenario);
    await drill.chain.setAutomine(true);
    const { market, chain } = drill;
    inv = market.tokens.get('INV')!.address;
    const twap = market.twaps.get('INV')!;
    const attacker = market.accounts.get('attacker')!;
    const update = async () => {
      const hash = await writeContract(client(), {
        address: twap,
        abi: twapAbi,
        functionName: 'update',
        account: attacker.account,
        chain: client().chain,
      });
      expect((await waitForTransactionReceipt(client(), { hash, pollingInterval: 1 })).status).toBe(
        'success',
      );
    };
    const later = async (seconds: bigint) => {
      const { timestamp } = await getBlock(client());
      await chain.mine({ timestamp: timestamp + seconds });
    };

    // The attack's oracle half: open a TWAP window, swap 300 WETH into the thin pool, close the
    // window a period later, so the TWAP (and Aave's price of INV) is the manipulated spot price.
    await later(61n);
    await update();
    const swap = await swapExactIn(client(), {
      pair: market.pools.get('INV-WETH')!,
      tokenIn: market.tokens.get('WETH')!.address,
      amountIn: 300n * 10n ** 18n,
      to: attacker.address,
      account: attacker.account,
    });
    expect(swap.confirmed).toBe(true);
    await later(61n);
    await update();
    manipulated = await blockEvent();

    const price = await readAssetPrice(client(), market.aave.oracle, inv, manipulated.block.number);
    const reference = await readFeed(client(), market.referenceFeeds.get('INV')!);
    expect(price / reference.answer).toBeGreaterThanOrEqual(40n); // far past the critical line
    expect((await invConfig()).isFrozen).toBe(false);
    expect((await invConfig()).ltvBps).toBe(6000);
    snapshot = await chain.snapshot();
  }, 120_000);

  beforeEach(async () => {
    // Each test starts from the manipulated, uncontained market.
    await drill.chain.revert(snapshot);
    snapshot = await drill.chain.snapshot();
    await drill.chain.setAutomine(true);
  });

  afterAll(async () => {
    await drill?.chain.close();
  });

  it('contains INV once for a block seen twice, a later block, and a restarted engine', async () => {
    const store = await openStore({ memory: true });
    try {
      const txsBefore = await guardianTxCount();

      const engine = await engineOver(store);
      const first = await engine.processBlock('embedded', manipulated);
      await engine.settled();
      expect(first.findings.map((f) => [f.detector, f.severity, f.subject.asset])).toEqual([
        ['oracle-deviation', 'critical', inv],
      ]);

      // One action, verified: INV frozen with LTV 0, in two guardian transactions.
      const after1 = await recorded(store);
      expect(after1.actions.map((a) => [a.action, a.status, a.tx_hashes.length])).toEqual([
        ['aave-v3.contain-collateral', 'verified', 2],
      ]);
      expect(await guardianTxCount()).toBe(txsBefore + 2);
      const config = await invConfig();
      expect(config.isFrozen).toBe(true);
      expect(config.ltvBps).toBe(0);
      expect(after1.types.filter((t) => t === 'tx-sent')).toHaveLength(1);
      expect(after1.types.filter((t) => t === 'effect-verified')).toHaveLength(1);
      const incidents = await store.listIncidents();
      expect(incidents.map((i) => [i.status, i.severity])).toEqual([['contained', 'critical']]);

      // The same block again, then a later block on which the oracle is still off.
      await engine.processBlock('embedded', manipulated);
      await engine.settled();
      const laterBlock = await blockEvent();
      expect(laterBlock.block.number).toBeGreaterThan(manipulated.block.number);
      const later = await engine.processBlock('embedded', laterBlock);
      await engine.settled();
      expect(later.findings.map((f) => f.severity)).toEqual(['critical']);
      expect(await guardianTxCount()).toBe(txsBefore + 2);
      const after2 = await recorded(store);
      expect(after2.actions).toHaveLength(1);
      expect(after2.types.filter((t) => t === 'tx-sent')).toHaveLength(1);
      expect(after2.types.filter((t) => t === 'decision')).toHaveLength(1);

      // A restart: a second engine over the same store sees the same blocks again.
      await engine.stop();
      const restarted = await engineOver(store);
      await restarted.processBlock('embedded', manipulated);
      await restarted.processBlock('embedded', laterBlock);
      await restarted.settled();
      await restarted.stop();
      expect(await guardianTxCount()).toBe(txsBefore + 2);
      const after3 = await recorded(store);
      expect(after3.actions.map((a) => [a.id, a.status])).toEqual(
        after1.actions.map((a) => [a.id, a.status]),
      );
      expect(after3.types.filter((t) => t === 'tx-sent')).toHaveLength(1);
      expect(after3.types.filter((t) => t === 'decision')).toHaveLength(1);
      expect((await store.listIncidents()).map((i) => i.id)).toEqual(incidents.map((i) => i.id));
    } finally {
      await store.close();
    }
  });

  it('does not send again when restarted after sending but before the transactions are mined', async () => {
    // Here the reserve is not frozen yet when the second engine looks, so only the stored action
    // record stands between a restart and a second containing action.
    const store = await openStore({ memory: true });
    await drill.chain.setAutomine(false);
    try {
      const pendingTxs = () =>
        getTransactionCount(client(), { address: guardian().address, blockTag: 'pending' });
      const txsBefore = await pendingTxs();

      const crashed = await engineOver(store);
      await crashed.processBlock('embedded', manipulated);
      expect(await pendingTxs()).toBe(txsBefore + 2);
      expect((await recorded(store)).actions.map((a) => a.status)).toEqual(['sent']);

      const restarted = await engineOver(store);
      await restarted.processBlock('embedded', manipulated);
      expect(await pendingTxs()).toBe(txsBefore + 2);
      expect((await invConfig()).isFrozen).toBe(false);

      await drill.chain.mine();
      await crashed.settled();
      await restarted.settled();
      await crashed.stop();
      await restarted.stop();
      expect(await guardianTxCount()).toBe(txsBefore + 2);
      const config = await invConfig();
      expect([config.isFrozen, config.ltvBps]).toEqual([true, 0]);
      const { actions, types } = await recorded(store);
      expect(actions.map((a) => [a.status, a.tx_hashes.length])).toEqual([['verified', 2]]);
      expect(types.filter((t) => t === 'tx-sent')).toHaveLength(1);
    } finally {
      await drill.chain.setAutomine(true);
      await store.close();
    }
  });

  it('runs a response that a crash interrupted (block committed, response not run) at restart, once', async () => {
    const store = await openStore({ memory: true });
    try {
      const txsBefore = await guardianTxCount();
      // What a crash between the block's transaction and its response leaves: the findings and the
      // checkpoint stored, the checkpoint marked `response_pending`.
      const config = drillEngineConfig(scenario, drill.market, drill.chain.chainId);
      const crashed = await createEngine({
        config: { ...config, playbooks: [] },
        chains: new Map([['embedded', { client: client() }]]),
        store,
        common,
        secrets: { FIREBREAK_GUARDIAN_KEY: guardian().privateKey },
      });
      await crashed.processBlock('embedded', manipulated);
      await store.db.updateTable('checkpoints').set({ response_pending: true }).execute();
      expect(await guardianTxCount()).toBe(txsBefore);
      expect((await recorded(store)).actions).toEqual([]);

      // The restarted engine finds it at start, before following the chain.
      const restarted = await engineOver(store);
      restarted.start();
      for (let i = 0; i < 500 && (await recorded(store)).actions[0]?.status !== 'verified'; i++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      await restarted.stop();
      await restarted.settled();
      expect(await guardianTxCount()).toBe(txsBefore + 2);
      const { actions, types, timeline } = await recorded(store);
      expect(actions.map((a) => [a.action, a.status])).toEqual([['aave-v3.contain-collateral', 'verified']]);
      expect(types.filter((t) => t === 'tx-sent')).toHaveLength(1);
      // Sent in response to the interrupted block itself, not to a later one.
      expect(timeline.find((e) => e.type === 'tx-sent')?.block_number).toBe(manipulated.block.number);
      expect(types.filter((t) => t === 'finding')).toHaveLength(1);
      const checkpoint = await store.db.selectFrom('checkpoints').selectAll().executeTakeFirstOrThrow();
      expect(checkpoint.response_pending).toBe(false);
      const counted = await store.db.selectFrom('processed_blocks').selectAll().execute();
      expect(counted.find((r) => r.block_hash === manipulated.block.hash)?.times_processed).toBe(1);

      // And not again after another restart.
      const again = await engineOver(store);
      again.start();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await again.stop();
      await again.settled();
      expect(await guardianTxCount()).toBe(txsBefore + 2);
    } finally {
      await store.close();
    }
  });

  it('sends nothing with the kill-switch on and puts the refusal on the timeline', async () => {
    const store = await openStore({ memory: true });
    try {
      const txsBefore = await guardianTxCount();
      const engine = await engineOver(store, { killSwitch: true });
      const processed = await engine.processBlock('embedded', manipulated);
      await engine.settled();
      await engine.stop();

      expect(processed.findings.map((f) => f.severity)).toEqual(['critical']);
      expect(await guardianTxCount()).toBe(txsBefore);
      const config = await invConfig();
      expect(config.isFrozen).toBe(false);
      expect(config.ltvBps).toBe(6000);

      const { actions, types, timeline } = await recorded(store);
      expect(types).toEqual(['finding', 'decision', 'action-refused']);
      expect(timeline[2]?.summary).toBe(
        'aave-v3.contain-collateral refused: the global kill-switch is on: automatic actions are disabled',
      );
      expect(timeline[2]?.block_number).toBe(manipulated.block.number);
      expect(actions.map((a) => [a.action, a.status, a.tx_hashes])).toEqual([
        ['aave-v3.contain-collateral', 'refused', []],
      ]);
      expect((await store.listIncidents()).map((i) => i.status)).toEqual(['open']);
    } finally {
      await store.close();
    }
  });

  it("plans from the detectors' reads at the block: the node is asked for INV's configuration there once", async () => {
    // The plan needs INV's reserve configuration at the finding's block, which the detectors read
    // already: asking the node again would put one more round trip between finding and broadcast.
    const { client: counting, asked } = countingClient(drill.chain.provider, client().chain);
    const getConfiguration = encodeFunctionData({
      abi: poolAbi,
      functionName: 'getConfiguration',
      args: [inv],
    });
    const configReadsAt = (tag: string) =>
      asked.filter(
        (r) =>
          r.method === 'eth_call' &&
          (r.params[0] as { data?: string }).data === getConfiguration &&
          r.params[1] === tag,
      ).length;
    const store = await openStore({ memory: true });
    try {
      const engine = await createEngine({
        config: drillEngineConfig(scenario, drill.market, drill.chain.chainId),
        chains: new Map([['embedded', { client: counting }]]),
        store,
        common,
        secrets: { FIREBREAK_GUARDIAN_KEY: guardian().privateKey },
      });
      await engine.processBlock('embedded', manipulated);
      await engine.settled();
      await engine.stop();
      expect((await recorded(store)).actions.map((a) => [a.action, a.status])).toEqual([
        ['aave-v3.contain-collateral', 'verified'],
      ]);
      expect((await invConfig()).isFrozen).toBe(true);
      expect(configReadsAt(toHex(manipulated.block.number))).toBe(1);
      // Verifying the effect reads the configuration afresh, after the transactions are mined.
      expect(configReadsAt('latest')).toBeGreaterThanOrEqual(1);
    } finally {
      await store.close();
    }
  });
});
