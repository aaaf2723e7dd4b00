// The live path, end to end: what `firebreak run` does — a configured RPC URL, `connectChain`, the
// polling block source, the engine, a store on disk — against a real JSON-RPC server (the embedded
// chain served over HTTP by Hardhat's JsonRpcServer), not the in-process provider. The engine gets
// only the HTTP client: no provider to subscribe to, so it must find the attack block by polling.
// The attack is the oracle half of the Inverse Finance drill on the real Aave v3 + Uniswap v2
// market; the engine must contain INV (frozen, LTV 0), leave USDC alone, and leave the incident in
// the store folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { waitForTransactionReceipt, writeContract } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServedChain } from '../src/chain/embedded';
import { connectChain } from '../src/chain/rpc';
import { createCommon } from '../src/common/common';
import { isFirebreakError } from '../src/common/errors';
import {
  type ChainConfig,
  chainConfig as chainConfigSchema,
  type FirebreakConfig,
} from '../src/config/schema';
import { type PreparedDrill, prepareDrill } from '../src/drills/runner';
import { loadScenario, type Scenario } from '../src/drills/scenario';
import { createEngine } from '../src/engine/engine';
import { readReserveConfiguration } from '../src/protocols/aave-v3/reader';
import { swapExactIn } from '../src/protocols/uniswap-v2/pool';
import { openStore } from '../src/store/store';
import { oracleDeviationConfig } from './support/drill-config';
import { sleep, waitFor } from './support/wait';

const twapAbi = [
  { type: 'function', name: 'update', stateMutability: 'nonpayable', inputs: [], outputs: [] },
] as const;

/** A local port nothing listens on: bound, read, released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('live RPC: firebreak run over HTTP against a served chain', () => {
  let scenario: Scenario;
  let drill: PreparedDrill;
  let served: ServedChain;
  let dir: string;

  /** The drill's engine config, pointed at a URL as a user's config file would be. */
  const liveConfig = (url: string, dataDir: string): FirebreakConfig => {
    const config = oracleDeviationConfig(scenario, drill.market, drill.chain.chainId);
    return {
      ...config,
      dataDir,
      chains: config.chains.map((c) => ({ ...c, rpc: [url], pollIntervalMs: 20 })),
    };
  };

  beforeAll(async () => {
    scenario = loadScenario('scenarios/inverse-finance-2022.yaml');
    drill = await prepareDrill(scenario);
    await drill.chain.setAutomine(true);
    served = await drill.chain.serve();
    dir = mkdtempSync(join(tmpdir(), 'firebreak-live-rpc-'));
  }, 120_000);

  afterAll(async () => {
    await served?.close();
    await drill?.chain.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTP and WebSocket on a loopback port', () => {
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(served.wsUrl).toBe(served.url.replace(/^http/, 'ws'));
    expect(served.url).not.toMatch(/:0$/);
  });

  it('detects and contains a manipulated collateral seen only through the RPC URL', async () => {
    const { market, chain } = drill;
    const attackerClient = chain.client; // the attacker drives the chain in-process; the engine only sees HTTP
    const attacker = market.accounts.get('attacker')!;
    const inv = market.tokens.get('INV')!.address;
    const usdc = market.tokens.get('USDC')!.address;
    const twap = market.twaps.get('INV')!;
    const reserve = (asset: Hex) => readReserveConfiguration(attackerClient, market.aave.pool, asset);
    const usdcBefore = await reserve(usdc);
    expect([(await reserve(inv)).isFrozen, (await reserve(inv)).ltvBps]).toEqual([false, 6000]);

    const dataDir = join(dir, 'store');
    const config = liveConfig(served.url, dataDir);
    const chainConfig = config.chains[0]!;

    // What `runLive` does: connect each chain by URL, open the store, build and start the engine.
    const connected = await connectChain(chainConfig);
    expect(connected.config.id).toBe(chain.chainId);
    const store = await openStore({ dataDir: config.dataDir });
    const controller = new AbortController();
    const processed: bigint[] = [];
    const engine = await createEngine({
      config,
      chains: new Map([[chainConfig.name, { client: connected.client }]]),
      store,
      common: createCommon({ signal: controller.signal }),
      secrets: { FIREBREAK_GUARDIAN_KEY: market.guardian.privateKey },
      hooks: { onBlockProcessed: ({ event }) => processed.push(event.block.number) },
    });
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      controller.abort();
      await engine.stop();
      await engine.settled();
      await store.close();
    };
    try {
      engine.start();
      // The source picks its starting head asynchronously: mine blocks until one is processed, so
      // the attack cannot land before the engine is following the chain.
      await waitFor('the engine to follow the chain', 10_000, async () => {
        const mined = await chain.mine();
        await sleep(40);
        return processed.includes(mined) ? mined : undefined;
      });

      const update = async () => {
        const hash = await writeContract(attackerClient, {
          address: twap,
          abi: twapAbi,
          functionName: 'update',
          account: attacker.account,
          chain: attackerClient.chain,
        });
        const receipt = await waitForTransactionReceipt(attackerClient, { hash, pollingInterval: 1 });
        expect(receipt.status).toBe('success');
        return receipt.blockNumber;
      };
      const later = async (seconds: number) => {
        await attackerClient.increaseTime({ seconds });
        await attackerClient.mine({ blocks: 1 });
      };

      // Open a TWAP window, swap 300 WETH into the thin pool, close the window a period later.
      await later(61);
      await update();
      const swap = await swapExactIn(attackerClient, {
        pair: market.pools.get('INV-WETH')!,
        tokenIn: market.tokens.get('WETH')!.address,
        amountIn: 300n * 10n ** 18n,
        to: attacker.address,
        account: attacker.account,
      });
      expect(swap.confirmed).toBe(true);
      await later(61);
      const manipulatedBlock = await update();

      const verified = await waitFor('an effect-verified timeline event', 10_000, async () =>
        store.db
          .selectFrom('timeline_events')
          .selectAll()
          .where('type', '=', 'effect-verified')
          .executeTakeFirst(),
      );
      expect(processed).toContain(manipulatedBlock);

      // INV contained; USDC as it was.
      const invAfter = await reserve(inv);
      expect([invAfter.isFrozen, invAfter.ltvBps]).toEqual([true, 0]);
      const usdcAfter = await reserve(usdc);
      expect(usdcAfter.data).toBe(usdcBefore.data);
      expect([usdcAfter.isFrozen, usdcAfter.isPaused, usdcAfter.ltvBps]).toEqual([false, false, 8000]);

      // The guardian's transactions went out over HTTP and were mined after the attack block.
      const actions = await store.db.selectFrom('actions').selectAll().execute();
      expect(actions.map((a) => [a.action, a.status, a.tx_hashes.length])).toEqual([
        ['aave-v3.contain-collateral', 'verified', 2],
      ]);
      for (const hash of actions[0]!.tx_hashes as Hex[]) {
        const receipt = await waitForTransactionReceipt(attackerClient, { hash });
        expect(receipt.status).toBe('success');
        expect(receipt.blockNumber).toBeGreaterThan(manipulatedBlock);
      }
      expect(verified.incident_id).toBeTruthy();

      await stop();
    } finally {
      await stop();
    }

    // The store folder holds the incident after a close and reopen.
    const reopened = await openStore({ dataDir });
    try {
      expect(reopened.origin).toBe('existing');
      const incidents = await reopened.listIncidents();
      expect(incidents.map((i) => [i.status, i.severity, i.subject.asset])).toEqual([
        ['contained', 'critical', inv],
      ]);
      const timeline = await reopened.listTimeline(incidents[0]!.id);
      const types = timeline.map((e) => e.type);
      expect(types).toContain('finding');
      expect(types.filter((t) => t === 'tx-sent')).toHaveLength(1);
      expect(types.filter((t) => t === 'effect-verified')).toHaveLength(1);
      const stored = await reopened.listActions(incidents[0]!.id);
      expect(stored.map((a) => a.status)).toEqual(['verified']);
    } finally {
      await reopened.close();
    }

    // After stop, the engine no longer follows the chain.
    const count = processed.length;
    await chain.mine();
    await sleep(100);
    expect(processed).toHaveLength(count);
  }, 60_000);

  it('refuses an endpoint that serves another chain id', async () => {
    const chainConfig: ChainConfig = chainConfigSchema.parse({
      id: 1,
      name: 'mainnet',
      rpc: [served.url],
      pollIntervalMs: 20,
    });
    const error = await connectChain(chainConfig).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFirebreakError(error, 'ERR_RPC_WRONG_CHAIN')).toBe(true);
    expect((error as Error).message).toContain(
      `serves chain id ${drill.chain.chainId}, but the config says 1`,
    );
  });

  it('fails fast with ERR_RPC_UNREACHABLE on a closed port, without the URL path', async () => {
    const port = await closedPort();
    const secretPath = '/v2/s3cr3t-api-key-do-not-print';
    const chainConfig: ChainConfig = chainConfigSchema.parse({
      id: drill.chain.chainId,
      name: 'local',
      rpc: [`http://127.0.0.1:${port}${secretPath}`],
      pollIntervalMs: 20,
    });
    const started = performance.now();
    const error = await connectChain(chainConfig).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = performance.now() - started;
    expect(isFirebreakError(error, 'ERR_RPC_UNREACHABLE')).toBe(true);
    expect(elapsed).toBeLessThan(10_000);
    const message = (error as Error).message;
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).not.toContain('s3cr3t');
    expect(message).not.toContain(secretPath);
  });
});
