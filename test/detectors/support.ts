/**
 * Detector tests — shared helpers: the config that turns on every built-in detector over the
 * activity market, and the detectors run over a block range the way the engine runs them (one
 * view per block, the block's logs, state kept across blocks, each detector isolated, the position
 * book of a market that asks for one), with the time each detector took.
 */
import type { Client, Hex } from 'viem';
import { replayRange } from '../../src/chain/replay';
import { createCommon } from '../../src/common/common';
import { silentLogger } from '../../src/common/logger';
import { type FirebreakConfig, type FirebreakConfigInput, firebreakConfig } from '../../src/config/schema';
import { memoryDetectorState, runDetectors } from '../../src/detectors/run';
import type { DetectorInstance, Finding } from '../../src/detectors/types';
import { createBlockView } from '../../src/detectors/view';
import { buildDetectors } from '../../src/engine/detectors';
import { createPositionTracker, type PositionTracker } from '../../src/risk/tracker';
import type { ActivityMarket } from '../support/activity';

export type DetectorInput = NonNullable<FirebreakConfigInput['detectors']>[number];

/**
 * A config on the activity market's chain with the given detectors (defaults filled in by the
 * schema); `positionsFromBlock` makes `detectRange` keep the market's position book, as the engine does.
 */
export function configWith(
  am: ActivityMarket,
  detectors: DetectorInput[],
  options: { positionsFromBlock?: number } = {},
): FirebreakConfig {
  return firebreakConfig.parse({
    chains: [{ id: am.chain.chainId, name: 'embedded', rpc: ['http://127.0.0.1:1'], confirmations: 0 }],
    markets: [
      {
        id: 'aave',
        chain: 'embedded',
        protocol: 'aave-v3',
        addressesProvider: am.market.aave.addressesProvider,
        ...(options.positionsFromBlock !== undefined
          ? { positionsFromBlock: options.positionsFromBlock }
          : {}),
      },
    ],
    detectors,
  });
}

/** Every built-in detector (but those of the risk engine) watching the activity market. */
export function allBuiltins(am: ActivityMarket): DetectorInput[] {
  const m = am.market;
  const feed = (s: string) => m.protocolFeeds.get(s)!;
  const ref = (s: string) => m.referenceFeeds.get(s)!;
  const symbols = ['USDC', 'DAI', 'WETH'];
  return [
    {
      id: 'oracle-deviation',
      type: 'oracle-deviation',
      market: 'aave',
      params: {
        assets: symbols.map((s) => ({ asset: am.token(s), symbol: s, reference: { feed: ref(s) } })),
      },
    },
    {
      id: 'price-feed-integrity',
      type: 'price-feed-integrity',
      chain: 'embedded',
      params: {
        feeds: symbols.map((s) => ({
          feed: feed(s),
          symbol: s,
          references: [ref(s)],
          updaters: [m.deployer.address],
        })),
      },
    },
    {
      id: 'amm-manipulation',
      type: 'amm-manipulation',
      chain: 'embedded',
      params: { pools: [...m.pools].map(([id, pair]) => ({ pair, symbol: id })) },
    },
    {
      id: 'outflow-rate',
      type: 'outflow-rate',
      market: 'aave',
      params: { assets: symbols.map((s) => ({ asset: am.token(s), symbol: s })) },
    },
    {
      id: 'volatility-breaker',
      type: 'volatility-breaker',
      market: 'aave',
      params: {
        sources: [
          { asset: am.token('WETH'), symbol: 'WETH' },
          { pair: m.pools.get('WETH-USDC')!, symbol: 'WETH-USDC pool' },
        ],
      },
    },
    { id: 'governance-watch', type: 'governance-watch', market: 'aave', params: {} },
    {
      id: 'share-price-jump',
      type: 'share-price-jump',
      chain: 'embedded',
      params: { assets: [...m.pools].map(([id, pair]) => ({ pair, symbol: `${id} LP` })) },
    },
  ];
}

/** The built-ins that read the position book (the config must set `positionsFromBlock`). */
export function positionBuiltins(am: ActivityMarket): DetectorInput[] {
  const pools = am.market.pools;
  return [
    {
      id: 'solvency',
      type: 'solvency',
      market: 'aave',
      params: {
        exits: [
          { asset: am.token('WETH'), pair: pools.get('WETH-USDC')! },
          { asset: am.token('DAI'), pair: pools.get('DAI-USDC')! },
        ],
      },
    },
    { id: 'liquidity-exhaustion', type: 'liquidity-exhaustion', market: 'aave' },
  ];
}

export interface RangeResult {
  findings: Finding[];
  /** Milliseconds each detector instance spent, summed over the range. */
  msByDetector: Record<string, number>;
  blocks: number;
}

/** Runs the configured detectors (plus `extra`) over `from..to`, as the engine's block loop does. */
export async function detectRange(
  config: FirebreakConfig,
  client: Client,
  from: bigint,
  to: bigint,
  extra: DetectorInstance[] = [],
): Promise<RangeResult> {
  const chainId = config.chains[0]!.id;
  const { byChain, markets } = await buildDetectors(config, () => client);
  // The position books of the markets that ask for one, fed to the view as the engine does.
  const trackers = new Map<Hex, PositionTracker>();
  for (const m of config.markets) {
    const resolved = markets.get(m.id);
    if (m.positionsFromBlock === undefined || !resolved) continue;
    trackers.set(
      resolved.addressesProvider.toLowerCase() as Hex,
      createPositionTracker(client, {
        chainId,
        pool: resolved.pool,
        oracle: resolved.oracle,
        fromBlock: BigInt(m.positionsFromBlock),
      }),
    );
  }
  const msByDetector: Record<string, number> = {};
  const timed = [...(byChain.get('embedded') ?? []), ...extra].map(
    (d): DetectorInstance => ({
      ...d,
      run: async (...args) => {
        const t = performance.now();
        try {
          return await d.run(...args);
        } finally {
          msByDetector[d.id] = (msByDetector[d.id] ?? 0) + performance.now() - t;
        }
      },
    }),
  );
  const stateOf = memoryDetectorState();
  const findings: Finding[] = [];
  let blocks = 0;
  for await (const event of replayRange({ client, chainId, from, to, common: createCommon() })) {
    const view = createBlockView(client, chainId, event.block.number, {
      positions: async (market) => (await trackers.get(market)?.snapshotAt(event.block)) ?? null,
    });
    findings.push(
      ...(await runDetectors(timed, event, view, { timeoutMs: 30_000, logger: silentLogger(), stateOf })),
    );
    blocks++;
  }
  return { findings, msByDetector, blocks };
}

export const above = (findings: readonly Finding[], severity: Finding['severity']) => {
  const rank = { info: 0, low: 1, medium: 2, high: 3, critical: 4 } as const;
  return findings.filter((f) => rank[f.severity] > rank[severity]);
};

export const brief = (f: Finding) =>
  `${f.detectorInstance} ${f.severity} ${f.kind} @${f.block.number}: ${f.title}`;

export const lower = (a: string) => a.toLowerCase() as Hex;
