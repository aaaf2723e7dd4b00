/**
 * Detect — `solvency`: a lending market losing the ability to make its depositors whole, read from
 * the risk engine's position book (`view.positions(market)`: every position at the block, valued at
 * the oracle's prices), never from a copy of its own.
 *
 * Three checks, all kind `insolvency`:
 * - underwater: an account below health factor 1, with at least `minDebtUsd` of debt, that nobody
 *   liquidated for `unliquidatedBlocks` blocks (the clock restarts when it is liquidated): `high`,
 *   `critical` from `criticalBlocks`. Liquidation bots clear a profitable position within a block or
 *   two; one left standing says the liquidation does not pay (Black Thursday: no bids; the CRV
 *   short: no depth to sell the collateral into), and each block it stands the debt can outgrow its
 *   collateral. One key per (market, account).
 * - bad debt: Σ max(0, debt − collateral) over accounts, at the oracle's prices — debt that no
 *   liquidation can recover any more: `high` from `badDebtUsd`, `critical` from `criticalBadDebtUsd`.
 *   The subject's asset is the debt asset carrying most of it (the reserve whose depositors bear it).
 * - liquidation shortfall: a `LiquidationCall` whose seized collateral is worth well below the debt
 *   it cleared. At the oracle's price Aave pays the liquidator its bonus by construction, so the
 *   collateral is valued at what it fetches: sold into its exit pair (a Uniswap v2 pool, `exits`) as
 *   that pool stands at the end of the block, the proceeds priced at the oracle; without an exit
 *   pair, at the oracle. `high` from `shortfallBps` below the debt, `critical` from
 *   `criticalShortfallBps`. One key per liquidation.
 *
 * State: the block each underwater account went (or was last liquidated) below 1, for accounts
 * below 1 only; a block seen again forgets clocks started at or after it.
 */
import type { AbiEvent, Hex } from 'viem';
import { poolAbi } from '../protocols/aave-v3/abi';
import { getAmountOut } from '../protocols/uniswap-v2/pool';
import { compileHealthBook, healthFactors } from '../risk/health';
import { riskNow } from '../risk/now';
import type { PositionSnapshot } from '../risk/types';
import { findingOf } from './finding';
import type { DetectorDefinition, Finding, Severity } from './types';

export const SOLVENCY = 'solvency';

export interface SolvencyParams {
  /** The market's identity (Aave v3: PoolAddressesProvider): what `view.positions` is asked for. */
  market: Hex;
  /** The Aave v3 Pool whose `LiquidationCall` events are read. */
  pool: Hex;
  /** Blocks an account may stay below health factor 1 before it is reported (`high`). */
  unliquidatedBlocks: number;
  /** … `critical` from this many blocks. */
  criticalBlocks: number;
  /** Accounts with less debt (USD) are dust: their liquidation does not pay its gas. */
  minDebtUsd: number;
  /** Bad debt (USD) that is `high` at or above. */
  badDebtUsd: number;
  /** … `critical` at or above. */
  criticalBadDebtUsd: number;
  /** A liquidation whose proceeds fall this far (bps) below the debt it cleared is `high`. */
  shortfallBps: number;
  /** … `critical` from this far. */
  criticalShortfallBps: number;
  /** Where a seized collateral is sold: a Uniswap v2 pair holding it. */
  exits: readonly { asset: Hex; pair: Hex }[];
}

interface Clock {
  /** The block it went below 1, or its last liquidation while below 1. */
  since: number;
  lastLiquidation?: number;
}

interface ClockState {
  lastBlock: number;
  clocks: Record<string, Clock>;
}

const liquidationEvent = poolAbi.find((x) => x.type === 'event' && x.name === 'LiquidationCall') as AbiEvent;

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;
const usd = (v: number) => `$${Math.round(v).toLocaleString('en-US')}`;
const whole = (amount: bigint, decimals: number) => Number(amount) / 10 ** decimals;

/** Each account's debt and collateral in USD at the snapshot's prices (pure). */
export function accountValues(snapshot: PositionSnapshot): {
  debtUsd: Float64Array;
  collateralUsd: Float64Array;
} {
  const a = snapshot.assets.length;
  const n = snapshot.accounts.length;
  const debtUsd = new Float64Array(n);
  const collateralUsd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < a; j++) {
      const price = snapshot.assets[j]!.priceUsd;
      debtUsd[i]! += snapshot.debt[i * a + j]! * price;
      collateralUsd[i]! += snapshot.collateral[i * a + j]! * price;
    }
  }
  return { debtUsd, collateralUsd };
}

/** Bad debt attributed to each debt asset, in proportion to each insolvent account's debts (pure). */
export function badDebtByAsset(snapshot: PositionSnapshot): number[] {
  const a = snapshot.assets.length;
  const { debtUsd, collateralUsd } = accountValues(snapshot);
  const out = new Array<number>(a).fill(0);
  for (let i = 0; i < snapshot.accounts.length; i++) {
    const bad = debtUsd[i]! - collateralUsd[i]!;
    if (!(bad > 0)) continue;
    for (let j = 0; j < a; j++)
      out[j]! += (bad * snapshot.debt[i * a + j]! * snapshot.assets[j]!.priceUsd) / debtUsd[i]!;
  }
  return out;
}

export const solvency: DetectorDefinition<SolvencyParams> = {
  type: SOLVENCY,
  description:
    'Accounts left below health factor 1, bad debt, and liquidations whose proceeds fall short of the debt they clear.',
  async detect(event, { instanceId, params, view, state, logs }) {
    const market = params.market.toLowerCase() as Hex;
    const subject = { protocol: 'aave-v3', market };
    const block = Number(event.block.number);
    const finding = (input: Parameters<typeof findingOf>[3]): Finding =>
      findingOf(SOLVENCY, instanceId, event, input);
    const snapshot = view.positions ? await view.positions(market) : null;
    if (snapshot === null)
      return [
        finding({
          severity: 'medium',
          kind: 'degraded',
          subject,
          dedupeKey: `${SOLVENCY}:no-positions:${event.chainId}:${market}`,
          confidence: 1,
          title: `no position book follows market ${market}: solvency not checked`,
          evidence: { market, block: event.block.number.toString() },
        }),
      ];
    const findings: Finding[] = [];
    const assetIndex = new Map(snapshot.assets.map((x, j) => [x.address.toLowerCase(), j]));
    const common = {
      market,
      block: event.block.number.toString(),
      snapshotBlock: snapshot.blockNumber.toString(),
    };
    const liquidations = await logs.decode(liquidationEvent, params.pool);

    // 1. Accounts below health factor 1, and for how long.
    const book = compileHealthBook(snapshot);
    const hf = healthFactors(book);
    const { debtUsd, collateralUsd } = accountValues(snapshot);
    const liquidatedNow = new Set(liquidations.map((l) => String(l.args.user).toLowerCase()));
    const saved = state.get<ClockState>('clocks');
    const clocks: Record<string, Clock> = {};
    for (const [account, c] of Object.entries(saved?.clocks ?? {}))
      if (saved === undefined || block > saved.lastBlock || c.since < block) clocks[account] = c;
    const next: Record<string, Clock> = {};
    const a = snapshot.assets.length;
    for (let i = 0; i < snapshot.accounts.length; i++) {
      if (!(hf[i]! < 1) || debtUsd[i]! < params.minDebtUsd) continue;
      const account = snapshot.accounts[i]!.toLowerCase() as Hex;
      const liquidated = liquidatedNow.has(account);
      const prior = clocks[account];
      const clock: Clock = liquidated
        ? { since: block, lastLiquidation: block }
        : (prior ?? { since: block });
      next[account] = clock;
      const blocksBelow = block - clock.since;
      if (blocksBelow < params.unliquidatedBlocks) continue;
      const severity: Severity = blocksBelow >= params.criticalBlocks ? 'critical' : 'high';
      let top = 0;
      for (let j = 1; j < a; j++)
        if (
          snapshot.debt[i * a + j]! * snapshot.assets[j]!.priceUsd >
          snapshot.debt[i * a + top]! * snapshot.assets[top]!.priceUsd
        )
          top = j;
      const collaterals = snapshot.assets
        .filter((_, j) => snapshot.collateral[i * a + j]! > 0)
        .map((x) => x.symbol)
        .join(',');
      const uncovered = debtUsd[i]! > collateralUsd[i]!;
      findings.push(
        finding({
          severity,
          kind: 'insolvency',
          subject: { ...subject, asset: snapshot.assets[top]!.address.toLowerCase() as Hex, account },
          dedupeKey: `${SOLVENCY}:underwater:${event.chainId}:${market}:${account}`,
          confidence: uncovered ? 1 : 0.9,
          title: `${account} has been below health factor 1 (${hf[i]!.toFixed(3)}) for ${blocksBelow} blocks, unliquidated: ${usd(debtUsd[i]!)} of debt${uncovered ? ', more than its collateral' : ''}`,
          evidence: {
            ...common,
            account,
            healthFactor: round(hf[i]!, 4),
            debtUsd: round(debtUsd[i]!),
            collateralUsd: round(collateralUsd[i]!),
            belowSinceBlock: clock.since,
            blocksBelow,
            ...(clock.lastLiquidation !== undefined ? { lastLiquidationBlock: clock.lastLiquidation } : {}),
            largestDebtAsset: snapshot.assets[top]!.symbol,
            collateralAssets: collaterals,
            unliquidatedBlocks: params.unliquidatedBlocks,
            minDebtUsd: params.minDebtUsd,
          },
        }),
      );
    }
    state.set<ClockState>('clocks', { lastBlock: block, clocks: next });

    // 2. Bad debt: debt no collateral covers any more.
    const now = riskNow(snapshot, book);
    if (now.badDebtUsd >= params.badDebtUsd) {
      const byAsset = badDebtByAsset(snapshot);
      let top = 0;
      for (let j = 1; j < byAsset.length; j++) if (byAsset[j]! > byAsset[top]!) top = j;
      const w = now.largestBadDebt;
      findings.push(
        finding({
          severity: now.badDebtUsd >= params.criticalBadDebtUsd ? 'critical' : 'high',
          kind: 'insolvency',
          subject: { ...subject, asset: snapshot.assets[top]!.address.toLowerCase() as Hex },
          dedupeKey: `${SOLVENCY}:bad-debt:${event.chainId}:${market}`,
          confidence: 1,
          title: `${usd(now.badDebtUsd)} of debt is no longer covered by collateral (${now.badDebtAccounts} account(s)), most of it owed in ${snapshot.assets[top]!.symbol}`,
          evidence: {
            ...common,
            badDebtUsd: round(now.badDebtUsd),
            badDebtAccounts: now.badDebtAccounts,
            byDebtAsset: snapshot.assets
              .map((x, j) => `${x.symbol}=${round(byAsset[j]!)}`)
              .filter((_, j) => byAsset[j]! > 0)
              .join(','),
            totalDebtUsd: round(now.totalDebtUsd),
            totalCollateralUsd: round(now.totalCollateralUsd),
            ...(w
              ? {
                  largestAccount: w.account.toLowerCase(),
                  largestBadDebtUsd: round(w.badDebtUsd),
                  largestDebtUsd: round(w.debtUsd),
                  largestCollateralUsd: round(w.collateralUsd),
                }
              : {}),
            badDebtLineUsd: params.badDebtUsd,
            criticalBadDebtUsd: params.criticalBadDebtUsd,
          },
        }),
      );
    }

    // 3. Liquidations whose proceeds fall short of the debt they cleared.
    const exits = new Map(params.exits.map((e) => [e.asset.toLowerCase(), e.pair.toLowerCase() as Hex]));
    for (const l of liquidations) {
      const collateralAsset = String(l.args.collateralAsset).toLowerCase() as Hex;
      const debtAsset = String(l.args.debtAsset).toLowerCase();
      const jc = assetIndex.get(collateralAsset);
      const jd = assetIndex.get(debtAsset);
      if (jc === undefined || jd === undefined) continue; // a reserve listed after the book was built
      const c = snapshot.assets[jc]!;
      const d = snapshot.assets[jd]!;
      const debtCleared = l.args.debtToCover as bigint;
      const seized = l.args.liquidatedCollateralAmount as bigint;
      const debtClearedUsd = whole(debtCleared, d.decimals) * d.priceUsd;
      if (!(debtClearedUsd > 0)) continue;
      const oracleUsd = whole(seized, c.decimals) * c.priceUsd;
      let proceedsUsd = oracleUsd;
      let exit: Record<string, string | number> = { valuedAt: 'oracle' };
      const pair = exits.get(collateralAsset);
      if (pair !== undefined && seized > 0n) {
        const p = await view.pair(pair);
        const collateralIs0 = p.token0 === collateralAsset;
        const other = collateralIs0 ? p.token1 : p.token0;
        const jo = assetIndex.get(other);
        const [rIn, rOut] = collateralIs0 ? [p.reserve0, p.reserve1] : [p.reserve1, p.reserve0];
        if (jo !== undefined && (collateralIs0 || p.token1 === collateralAsset)) {
          const out = rIn > 0n && rOut > 0n ? getAmountOut(seized, rIn, rOut) : 0n;
          const o = snapshot.assets[jo]!;
          proceedsUsd = whole(out, o.decimals) * o.priceUsd;
          exit = {
            valuedAt: 'exit-pair',
            exitPair: pair,
            exitReserveIn: rIn.toString(),
            exitReserveOut: rOut.toString(),
            exitAmountOut: out.toString(),
            exitToken: o.symbol,
          };
        }
      }
      const shortfallBps = Math.floor(((debtClearedUsd - proceedsUsd) / debtClearedUsd) * 10_000);
      if (shortfallBps < params.shortfallBps) continue;
      const user = String(l.args.user).toLowerCase() as Hex;
      findings.push(
        finding({
          severity: shortfallBps >= params.criticalShortfallBps ? 'critical' : 'high',
          kind: 'insolvency',
          subject: { ...subject, asset: collateralAsset, account: user },
          dedupeKey: `${SOLVENCY}:liquidation:${event.chainId}:${market}:${l.transactionHash}:${l.logIndex}`,
          confidence: exit.valuedAt === 'exit-pair' ? 0.8 : 1,
          title: `liquidation of ${user} cleared ${usd(debtClearedUsd)} of ${d.symbol} debt for ${c.symbol} that fetches ${usd(proceedsUsd)} (${(shortfallBps / 100).toFixed(1)}% short): liquidating it does not pay`,
          evidence: {
            ...common,
            tx: l.transactionHash,
            user,
            liquidator: String(l.args.liquidator).toLowerCase(),
            collateralAsset: c.symbol,
            debtAsset: d.symbol,
            debtCleared: debtCleared.toString(),
            collateralSeized: seized.toString(),
            debtClearedUsd: round(debtClearedUsd),
            seizedAtOracleUsd: round(oracleUsd),
            proceedsUsd: round(proceedsUsd),
            shortfallBps,
            collateralPriceUsd: c.priceUsd,
            debtPriceUsd: d.priceUsd,
            ...exit,
          },
        }),
      );
    }
    return findings;
  },
};
