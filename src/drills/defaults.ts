/**
 * Drills — the response a drill runs with when the user brings no playbooks of their own: the
 * engine configuration `firebreak run` would get from a protocol team that turned on Firebreak's
 * built-in detectors for this market and kept the default playbooks.
 *
 * Detectors (their ids are what `--config` playbooks may name, `DRILL_DETECTOR_IDS`):
 * - `oracle-deviation`: the market's oracle against the independent reference feeds, on the
 *   collateral assets (or `response.watch`);
 * - `peg-watch`: the same detector against a feed fixed at the peg, for assets with `pegUsd`
 *   (a stablecoin's depeg is a true price move, so the reference feeds follow it);
 * - `feed-integrity`: the market's own feeds on their own terms (a jump the references did not
 *   make: Compound's DAI at $1.30);
 * - `amm-manipulation`: every pool, for the record (no playbook acts on it alone).
 * - `concentration`: one account's debt in a borrowable asset that a scenario pool holds, against
 *   that asset's reserves in the pools and the market's debt of it, read from the market's position
 *   book (kept from block 0; only on markets with such an asset). `debt-concentration`, the alias
 *   of the type it superseded, still names it in playbooks.
 *
 * - `vault-outflow` (`outflow-rate`): the lending vault's assets, when the scenario has one;
 * - `governance-watch`: the governance timelock's queue, when the scenario has one.
 * - `share-price-jump`: the ERC-4626 vaults of vault-share assets (`oracle: { vault }`), when the
 *   scenario has any; a critical jump up in value per share (a donation: Cream, SCENARIOS.md §8)
 *   contains that share as collateral, since its price moved with no trade behind it.
 *
 * Default playbooks: a critical oracle deviation or depeg on an asset contains that asset
 * (freeze + LTV 0, the Aave guardian's move in March 2023); a feed that jumps without its
 * references on a borrowable asset pauses that reserve, which also stops the liquidations the bad
 * price would cause (the move SCENARIOS.md §5 names). One account owing as much of an asset as
 * the DEX pools hold lowers that asset's borrow cap to the debt outstanding (SCENARIOS.md §2, the
 * CRV short: stop the build-up before a squeeze). An exploit-grade outflow from a breaker-protected
 * vault trips its breaker (§6); a dangerous call queued in the governance timelock inside the
 * minimum delay is cancelled (§7). Nothing pauses the whole pool.
 */
import type { Hex } from 'viem';
import { z } from 'zod';
import {
  detectorConfig,
  type FirebreakConfig,
  type FirebreakConfigInput,
  type PlaybookConfig,
} from '../config/schema';
import type { DrillMarket } from './market';
import type { Scenario } from './scenario';

export const DRILL_DETECTOR_IDS = [
  'oracle-deviation',
  'peg-watch',
  'feed-integrity',
  'amm-manipulation',
  'concentration',
  'share-price-jump',
  'vault-outflow',
  'governance-watch',
  // The alias of `concentration`'s type (the detector it superseded): playbooks naming it still match.
  'debt-concentration',
] as const;

/** Borrowable assets some scenario pool holds, with those pools' ids: what `concentration` watches. */
export function pooledDebtAssets(scenario: Scenario): { symbol: string; pools: string[] }[] {
  return scenario.market.assets
    .filter((a) => a.borrowingEnabled)
    .map((a) => ({
      symbol: a.symbol,
      pools: scenario.market.pools.filter((p) => p.tokens.includes(a.symbol)).map((p) => p.id),
    }))
    .filter((a) => a.pools.length > 0);
}

export const DRILL_EXECUTOR_ID = 'guardian';
/** With `market.guardianHub`: this agent's executor on the hub (its key in FIREBREAK_AGENT_KEY). */
export const DRILL_HUB_EXECUTOR_ID = 'hub';
/** With `market.protocolLiquidity`: the treasury's own key (FIREBREAK_TREASURY_KEY), acting for its holdings. */
export const DRILL_TREASURY_EXECUTOR_ID = 'treasury';

/** Assets priced as an ERC-4626 share (`oracle: { vault }`): what `share-price-jump` watches. */
export const vaultShareAssets = (scenario: Scenario): string[] =>
  scenario.market.assets
    .filter((a) => typeof a.oracle === 'object' && 'vault' in a.oracle)
    .map((a) => a.symbol);

type PlaybookStep = PlaybookConfig['do'][number];

/** A playbook that acts at once through the drill's guardian, re-arming after `cooldownBlocks`. */
const auto = (
  id: string,
  description: string,
  when: Omit<PlaybookConfig['when'], 'minConfidence'>,
  action: PlaybookStep['action'],
  extra: { target?: Hex; cooldownBlocks?: number } = {},
): PlaybookConfig => ({
  id,
  description,
  when: { ...when, minConfidence: 0 },
  do: [
    {
      action,
      executor: DRILL_EXECUTOR_ID,
      autonomy: 'auto',
      ...(extra.target ? { target: extra.target } : {}),
    },
  ],
  cooldownBlocks: extra.cooldownBlocks ?? 50,
});

/**
 * The default playbooks (the scenario's `response.action` chooses the containing action). Each is
 * there only where its detector runs (see drillEngineConfig), so the configuration stays valid.
 */
export function defaultDrillPlaybooks(scenario: Scenario, market?: DrillMarket): PlaybookConfig[] {
  const assets = scenario.market.assets;
  const breaker = market?.extras?.vault?.breaker;
  const timelock = market?.extras?.governance?.timelock;
  const candidates: (PlaybookConfig | false | null | undefined)[] = [
    // An exploit-grade outflow from the breaker-protected vault (one transaction taking what it has
    // no claim to, next to a flash loan) trips the breaker, so later drains find their payouts
    // locked (SCENARIOS.md §6).
    breaker &&
      auto(
        'trip-breaker-on-drain',
        "One transaction took a vault's liquidity with no claim to it, next to a flash loan: trip the vault's circuit breaker so that every later payout is locked.",
        { detector: 'vault-outflow', kind: 'exploit', severity: 'critical' },
        'erc7265.trip',
        { target: breaker },
      ),
    // A call that moves funds or changes an admin, queued with less than a day's delay, is
    // cancelled (SCENARIOS.md §7).
    timelock &&
      auto(
        'cancel-dangerous-proposal',
        'A call that moves funds or changes an admin was queued with less than the minimum governance delay: cancel it before it can execute.',
        { detector: 'governance-watch', kind: 'governance', severity: 'critical' },
        'timelock.cancel',
        { target: timelock, cooldownBlocks: 0 },
      ),
    vaultShareAssets(scenario).length > 0 &&
      auto(
        'contain-inflated-vault-share',
        "A vault share's value per share jumped in one block (a donation, not a trade): contain that share as collateral before anyone borrows against the new price.",
        { detector: 'share-price-jump', kind: 'manipulation', severity: 'critical' },
        'aave-v3.contain-collateral',
      ),
    auto(
      'contain-manipulated-collateral',
      'A critical oracle deviation on a collateral asset: contain that asset, leave the rest of the market running.',
      { detector: 'oracle-deviation', severity: 'critical' },
      scenario.response.action,
    ),
    assets.some((a) => a.pegUsd !== undefined) &&
      auto(
        'contain-depegged-collateral',
        'A stablecoin far from its peg: freeze it and set its LTV to 0; liquidations keep running.',
        { detector: 'peg-watch', severity: 'critical' },
        'aave-v3.contain-collateral',
      ),
    assets.some((a) => a.oracle === 'feed') &&
      auto(
        'pause-on-bad-feed',
        "The market's own feed jumped where its references did not: pause that reserve so the bad price cannot liquidate or borrow.",
        { detector: 'feed-integrity', kind: 'manipulation', severity: 'high' },
        'aave-v3.pause-reserve',
      ),
    pooledDebtAssets(scenario).length > 0 &&
      auto(
        'cap-concentrated-debt',
        "One account owes as much of an asset as the DEX pools hold, so its liquidation could not clear: lower the asset's borrow cap to the debt outstanding before the position grows further.",
        { detector: 'concentration', severity: 'critical' },
        'aave-v3.lower-borrow-cap',
      ),
    // With protocol-owned liquidity: any critical finding moves the treasury's holdings exposed to
    // its subject (the pair's LP, the market's supplies) into the recovery vault.
    market?.treasury && {
      id: 'migrate-protocol-liquidity',
      description:
        "A critical finding about a venue the protocol's treasury is in: move the holdings exposed to it into the time-locked recovery vault.",
      when: { severity: 'critical', minConfidence: 0 },
      do: [{ action: 'liquidity.migrate', executor: DRILL_TREASURY_EXECUTOR_ID, autonomy: 'auto' }],
      cooldownBlocks: 50,
    },
  ];
  const playbooks = candidates.filter((p): p is PlaybookConfig => Boolean(p));
  // Behind a GuardianHub, the Aave levers are the hub's: each agent confirms them there.
  if (!market?.hub) return playbooks;
  return playbooks.map((p) => ({
    ...p,
    do: p.do.map((step) =>
      step.action.startsWith('aave-v3.') ? { ...step, executor: DRILL_HUB_EXECUTOR_ID } : step,
    ),
  }));
}

/** `vault-outflow` on the lending vault's assets; `governance-watch` on the governance timelock. */
function extraContractDetectors(market: DrillMarket): NonNullable<FirebreakConfigInput['detectors']> {
  const out: NonNullable<FirebreakConfigInput['detectors']> = [];
  const vault = market.extras?.vault;
  if (vault)
    out.push({
      id: 'vault-outflow',
      type: 'outflow-rate',
      chain: 'embedded',
      params: {
        assets: vault.assets.map((symbol) => ({
          asset: market.tokens.get(symbol)!.address,
          symbol,
          holder: vault.address,
        })),
      },
    });
  const timelock = market.extras?.governance?.timelock;
  if (timelock)
    out.push({
      id: 'governance-watch',
      type: 'governance-watch',
      chain: 'embedded',
      params: { marketContracts: false, timelocks: [timelock], minDelaySeconds: 86_400 },
    });
  return out;
}

/** The engine configuration a drill's protected run uses. */
export function drillEngineConfig(
  scenario: Scenario,
  market: DrillMarket,
  chainId: number,
  playbooks: PlaybookConfig[] = defaultDrillPlaybooks(scenario, market),
): FirebreakConfig {
  const collateral = scenario.market.assets.filter((a) => a.ltvBps > 0).map((a) => a.symbol);
  const watch = scenario.response.watch ?? collateral;
  const addressOf = (symbol: string) => market.tokens.get(symbol)!.address;
  const treasury = market.treasury;
  const detectors: NonNullable<FirebreakConfigInput['detectors']> = [
    {
      id: 'oracle-deviation',
      type: 'oracle-deviation',
      market: 'drill-market',
      params: {
        assets: watch.map((symbol) => ({
          asset: addressOf(symbol),
          symbol,
          reference: { feed: market.referenceFeeds.get(symbol)! },
        })),
        thresholdBps: scenario.response.thresholdBps,
        criticalBps: scenario.response.criticalBps,
      },
    },
  ];
  if (market.pegFeeds.size > 0)
    detectors.push({
      id: 'peg-watch',
      type: 'oracle-deviation',
      market: 'drill-market',
      params: {
        assets: [...market.pegFeeds].map(([symbol, feed]) => ({
          asset: addressOf(symbol),
          symbol,
          reference: { feed },
        })),
        // A stablecoin 5 % off its peg is high, 8 % critical; a sustained 2 % is high.
        thresholdBps: 500,
        criticalBps: 800,
        sustainBps: 200,
        sustainBlocks: 10,
      },
    });
  if (market.protocolFeeds.size > 0)
    detectors.push({
      id: 'feed-integrity',
      type: 'price-feed-integrity',
      // On the market, so its findings name the asset the feed prices and the pause can act on it.
      market: 'drill-market',
      params: {
        feeds: [...market.protocolFeeds].map(([symbol, feed]) => ({
          feed,
          symbol,
          asset: addressOf(symbol),
          references: [market.referenceFeeds.get(symbol)!],
          // Drill feeds move only when the scenario moves them; staleness is not what drills test.
          heartbeatSeconds: 365 * 24 * 3600,
        })),
      },
    });
  if (market.pools.size > 0)
    detectors.push({
      id: 'amm-manipulation',
      type: 'amm-manipulation',
      chain: 'embedded',
      params: {
        pools: [...market.pools].map(([id, pair]) => ({ pair, symbol: id })),
      },
    });
  detectors.push(...extraContractDetectors(market));
  if (market.vaults.size > 0)
    detectors.push({
      id: 'share-price-jump',
      type: 'share-price-jump',
      // On the market, so its findings name the market whose collateral the share is.
      market: 'drill-market',
      params: { assets: [...market.vaults].map(([symbol, v]) => ({ vault: v.vault, symbol })) },
    });
  const pooledDebt = pooledDebtAssets(scenario);
  if (pooledDebt.length > 0)
    detectors.push({
      id: 'concentration',
      type: 'concentration',
      market: 'drill-market',
      params: {
        assets: pooledDebt.map((a) => ({
          asset: addressOf(a.symbol),
          symbol: a.symbol,
          pairs: a.pools.map((id) => market.pools.get(id)!),
        })),
        // The borrow cap is the lever the playbook pulls: the debt side is the one it answers.
        sides: ['debt'],
      },
    });
  return {
    dataDir: '',
    killSwitch: false,
    chains: [
      // The embedded chain is instant-final: nothing reorganises it unless a test does so on purpose.
      {
        id: chainId,
        name: 'embedded',
        rpc: [],
        pollIntervalMs: 5,
        confirmations: 0,
        maxBlockRange: 500,
        concurrency: 4,
        quorum: 1,
        // Priority mode: the engine outbids the pending transactions that touch the market.
        mempool: scenario.response.mempool,
      },
    ],
    markets: [
      {
        id: 'drill-market',
        chain: 'embedded',
        protocol: 'aave-v3',
        addressesProvider: market.aave.addressesProvider,
        // `concentration` reads the market's position book: kept from the drill chain's first block.
        ...(pooledDebt.length > 0 ? { positionsFromBlock: 0 } : {}),
      },
    ],
    // Parsed as a config file's would be, so the detectors' defaults apply and a mistake here is caught.
    detectors: z.array(detectorConfig).parse(detectors),
    executors: [
      {
        id: DRILL_EXECUTOR_ID,
        type: 'eoa',
        chain: 'embedded',
        key: { env: 'FIREBREAK_GUARDIAN_KEY' },
        priorityFeeGwei: scenario.response.priorityFeeGwei,
        maxFeeGwei: 1000,
        dryRun: false,
      },
      ...(market.hub
        ? [
            {
              id: DRILL_HUB_EXECUTOR_ID,
              type: 'guardian-hub' as const,
              chain: 'embedded',
              hub: market.hub.address,
              key: { env: 'FIREBREAK_AGENT_KEY' },
              priorityFeeGwei: scenario.response.priorityFeeGwei,
              maxFeeGwei: 1000,
              dryRun: false,
            },
          ]
        : []),
      ...(treasury
        ? [
            {
              id: DRILL_TREASURY_EXECUTOR_ID,
              type: 'eoa' as const,
              chain: 'embedded',
              key: { env: 'FIREBREAK_TREASURY_KEY' },
              priorityFeeGwei: scenario.response.priorityFeeGwei,
              maxFeeGwei: 1000,
              dryRun: false,
            },
          ]
        : []),
    ],
    playbooks,
    ...(treasury ? treasuryConfig(treasury, addressOf) : {}),
  };
}

/** The `treasuries` entry and recovery vault of the drill's protocol-owned liquidity. */
function treasuryConfig(
  treasury: NonNullable<DrillMarket['treasury']>,
  addressOf: (symbol: string) => Hex,
): Pick<FirebreakConfig, 'guardrails' | 'treasuries'> {
  return {
    guardrails: {
      parameters: {},
      rateLimit: { maxActions: 10, windowSeconds: 3600 },
      vaults: [{ chain: 'embedded', address: treasury.vault }],
    },
    treasuries: [
      {
        id: 'protocol-treasury',
        chain: 'embedded',
        holder: treasury.account.address.toLowerCase() as Hex,
        executor: DRILL_TREASURY_EXECUTOR_ID,
        vault: treasury.vault,
        ...(treasury.router
          ? {
              uniswapV2: {
                router: treasury.router,
                pairs: [...treasury.lp.values()],
                slippageBps: 100,
                deadlineSeconds: 1800,
              },
            }
          : {}),
        aave:
          treasury.supplies.length > 0
            ? [{ market: 'drill-market', assets: treasury.supplies.map(addressOf) }]
            : [],
      },
    ],
  };
}
