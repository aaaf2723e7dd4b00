/**
 * Engine — the one place where the stages are wired together:
 *
 *   block source → block view → detectors → incidents → playbooks → executors → verify
 *
 * No stage knows the next one; each gets its input here and hands back its output. The engine
 * takes already-connected clients (the embedded chain, or RPC endpoints through `connectChain`),
 * a store and the secrets source, so tests, drills and `firebreak run` all build it the same way.
 */
import type { Client, EIP1193Provider, Hex } from 'viem';
import { type BlockSource, createBlockSource } from '../chain/block-source';
import type { Common } from '../common/common';
import { FirebreakError } from '../common/errors';
import { resolveSecret, type SecretSource } from '../config/load';
import type { FirebreakConfig } from '../config/schema';
import { oracleDeviation } from '../detectors/oracle-deviation';
import { memoryDetectorState, runDetectors } from '../detectors/run';
import { type BlockEvent, type DetectorInstance, type Finding, instantiate } from '../detectors/types';
import { createBlockView } from '../detectors/view';
import { createIncidentManager, type IncidentManager, type IncidentRepository } from '../incidents/manager';
import { type AaveMarketAddresses, resolveAaveMarket } from '../protocols/aave-v3/market';
import { createAavePlanBuilder } from '../respond/actions/aave-v3';
import { createEoaExecutor, type Executor } from '../respond/executors/eoa';
import {
  type ActionRepository,
  createResponder,
  type Responder,
  type ResponderHooks,
} from '../respond/responder';

export interface EngineChain {
  client: Client;
  /** Where the provider can push `newHeads` (embedded chain, WebSocket), the source wakes on them. */
  provider?: EIP1193Provider;
}

export type EngineStore = IncidentRepository & ActionRepository;

export interface BlockProcessed {
  event: BlockEvent;
  findings: Finding[];
  /** Monotonic milliseconds when the engine finished with the block (tx sent, if any). */
  doneAt: number;
}

export interface EngineHooks extends ResponderHooks {
  onBlockProcessed?(info: BlockProcessed): void;
}

export interface EngineOptions {
  config: FirebreakConfig;
  /** Connected clients by chain name. */
  chains: ReadonlyMap<string, EngineChain>;
  store: EngineStore;
  common: Common;
  /** Where secret references are resolved; process.env by default. */
  secrets?: SecretSource;
  hooks?: EngineHooks;
  /** Per-detector time limit for one block. */
  detectorTimeoutMs?: number;
  killSwitch?: boolean;
}

export interface Engine {
  readonly incidents: IncidentManager;
  readonly markets: ReadonlyMap<string, AaveMarketAddresses>;
  /**
   * Follows every configured chain until `stop()`, from `fromBlock` (by chain name) or else from
   * the block after the current head.
   */
  start(fromBlock?: ReadonlyMap<string, bigint>): void;
  stop(): Promise<void>;
  /** Runs one block through the loop (what the source does for each block). */
  processBlock(chainName: string, event: BlockEvent): Promise<BlockProcessed>;
  /** Resolves when every sent action has been mined and verified (or failed). */
  settled(): Promise<void>;
}

export async function createEngine(options: EngineOptions): Promise<Engine> {
  const { config, common } = options;
  const chainConfigs = new Map(config.chains.map((c) => [c.name, c]));
  const chainOf = (name: string): EngineChain => {
    const chain = options.chains.get(name);
    if (!chain)
      throw new FirebreakError('ERR_USAGE', `chain "${name}" is configured but no client was given for it`);
    return chain;
  };

  // Markets: resolve each from its addresses provider.
  const markets = new Map<string, AaveMarketAddresses>();
  const marketsByAddress = new Map<Hex, AaveMarketAddresses>();
  for (const m of config.markets) {
    const resolved = await resolveAaveMarket(chainOf(m.chain).client, m.addressesProvider);
    markets.set(m.id, resolved);
    marketsByAddress.set(resolved.addressesProvider, resolved);
  }

  // Detectors, grouped by chain.
  const detectorsByChain = new Map<string, DetectorInstance[]>();
  for (const d of config.detectors) {
    const market = config.markets.find((m) => m.id === d.market)!;
    const resolved = markets.get(d.market)!;
    const instance = instantiate(d.id, oracleDeviation, {
      market: resolved.addressesProvider,
      oracle: resolved.oracle,
      oracleDecimals: resolved.baseCurrencyDecimals,
      assets: d.params.assets,
      thresholdBps: d.params.thresholdBps,
      criticalBps: d.params.criticalBps,
    });
    const list = detectorsByChain.get(market.chain) ?? [];
    list.push(instance);
    detectorsByChain.set(market.chain, list);
  }

  // Executors: keys are resolved here, once, and live only inside each executor's closure.
  const executors = new Map<string, Executor>();
  for (const e of config.executors) {
    const chain = chainConfigs.get(e.chain)!;
    const key = resolveSecret(e.key, `executors[${e.id}].key`, options.secrets);
    if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
      throw new FirebreakError(
        'ERR_CONFIG_INVALID',
        `executors[${e.id}].key: environment variable ${e.key.env} does not hold a private key\n    fix: set it to a 0x-prefixed 32-byte hex key`,
      );
    }
    executors.set(
      e.id,
      createEoaExecutor({
        id: e.id,
        client: chainOf(e.chain).client,
        chainId: chain.id,
        privateKey: key as Hex,
        priorityFeeGwei: e.priorityFeeGwei,
        maxFeeGwei: e.maxFeeGwei,
        dryRun: e.dryRun,
        receiptPollMs: chain.pollIntervalMs,
        common,
      }),
    );
  }

  const incidents = await createIncidentManager(options.store, common.clock);
  const clientForChainId = new Map(config.chains.map((c) => [c.id, chainOf(c.name).client]));
  const responder: Responder = createResponder({
    playbooks: config.playbooks,
    executors,
    incidents,
    actions: options.store,
    buildPlan: createAavePlanBuilder({
      clientFor: (chainId: number) => clientForChainId.get(chainId),
      marketsByAddress,
    }),
    guardrails: { killSwitch: options.killSwitch ?? config.killSwitch },
    common,
    ...(options.hooks ? { hooks: options.hooks } : {}),
  });

  const stateOf = memoryDetectorState();
  const processBlock = async (chainName: string, event: BlockEvent): Promise<BlockProcessed> => {
    const { client } = chainOf(chainName);
    const view = createBlockView(client, event.chainId, event.block.number);
    const findings = await runDetectors(detectorsByChain.get(chainName) ?? [], event, view, {
      timeoutMs: options.detectorTimeoutMs ?? 5_000,
      logger: common.logger,
      stateOf,
    });
    for (const f of findings) {
      if (f.kind === 'degraded')
        common.logger.warn(
          { chain: chainName, block: event.block.number.toString(), detector: f.detectorInstance },
          f.title,
        );
    }
    const results = await incidents.ingest(findings);
    await responder.respond(results, event);
    const processed = { event, findings, doneAt: common.clock.monotonic() };
    options.hooks?.onBlockProcessed?.(processed);
    return processed;
  };

  const sources: BlockSource[] = [];
  const loops: Promise<void>[] = [];
  return {
    incidents,
    markets,
    start(fromBlock) {
      for (const chain of config.chains) {
        const { client, provider } = chainOf(chain.name);
        const from = fromBlock?.get(chain.name);
        const source = createBlockSource({
          ...(from === undefined ? {} : { fromBlock: from }),
          client,
          chainId: chain.id,
          pollIntervalMs: chain.pollIntervalMs,
          common,
          ...(provider ? { subscribeVia: provider } : {}),
        });
        sources.push(source);
        loops.push(
          (async () => {
            for await (const event of source) {
              try {
                await processBlock(chain.name, event);
              } catch (error) {
                common.logger.error(
                  { chain: chain.name, block: event.block.number.toString(), err: String(error) },
                  'block failed',
                );
              }
            }
          })(),
        );
      }
    },
    async stop() {
      for (const s of sources) s.stop();
      await Promise.allSettled(loops);
    },
    processBlock,
    settled: () => responder.settled(),
  };
}
