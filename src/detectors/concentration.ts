/**
 * Detect — `concentration`: one account's debt, or the collateral its liquidation would seize, too
 * large for the market and for the DEX liquidity a liquidation needs (the Aave v2 CRV short of
 * November 2022: ~92M CRV owed by one account, more than the on-chain markets could supply to buy
 * back, so its liquidations could not clear when CRV squeezed and the market kept bad debt).
 *
 * Reads the risk engine's position book (`view.positions(market)`: every position at the block,
 * interest accrued, at the oracle's prices) and keeps no copy of it. Per watched asset and account,
 * on each side:
 * - debt: the account's debt of the asset, which a liquidator must buy to repay;
 * - collateral: what a full liquidation of the account could seize of the asset and must sell,
 *   min(its collateral balance, its debt in USD × the asset's liquidation bonus / the asset's price).
 *   A supplier with no debt counts nothing: there is nothing to liquidate (its withdrawal is
 *   `liquidity-exhaustion`'s concern).
 * Each amount is measured two ways, in tokens:
 * - liquidity: against the asset's reserves in the configured Uniswap v2 pairs. Buying back (or
 *   selling) a fraction f of an x·y=k pool's reserve moves its price by 1/(1−f)² (or (1+f)²): past a
 *   few percent a liquidation bonus no longer pays for the impact, at half the reserve the price has
 *   quadrupled, at the whole reserve the position cannot be cleared through that venue at all.
 *   `high` from `liquidityBps`, `critical` from `criticalLiquidityBps`. Configured pairs that hold
 *   none of the asset leave nothing to absorb it: past every line (`liquidityBps` −1 in the evidence).
 * - share: against the market's total of the asset (all accounts' debt; all suppliers' balances).
 *   `high` from `shareBps`; `critical` only from `criticalShareBps`, when set (a share alone does not
 *   make a position unliquidatable: a new listing's first borrower owns all of its debt).
 * Positions worth less than `minUsd` on that side are dust and never reported. One finding per
 * (market, asset, account, side) and block while a line is crossed, its severity the worse of the
 * two measures; kind `liquidity`; the subject names the asset (the lever: its borrow cap, its LTV)
 * and the account.
 *
 * Cost: one pass over the snapshot's arrays (accounts × assets), then pair reads (memoised per
 * block) for the assets that have a position above `minUsd`. Because the whole book is scanned
 * every block, positions opened before the engine started and ratios grown with no transaction of
 * the account (a squeeze draining the pool, the debt asset's price rising under a collateral) are
 * seen as any other.
 *
 * Without a book (the market sets no `positionsFromBlock`, or the book cannot be read), it falls
 * back to the former `debt-concentration` check — on each `Borrow` of a watched asset, the
 * borrower's debt (debt-token balances) against the pairs, debt side and liquidity measure only —
 * and reports one `degraded` / `low` finding when the book goes missing.
 */
import type { AbiEvent, Hex } from 'viem';
import { poolAbi } from '../protocols/aave-v3/abi';
import type { PositionSnapshot } from '../risk/types';
import { findingOf } from './finding';
import type { DetectorDefinition, Finding, Severity } from './types';
import type { BlockView } from './view';

export const CONCENTRATION = 'concentration';

export type ConcentrationSide = 'debt' | 'collateral';

export interface ConcentrationAsset {
  asset: Hex;
  symbol?: string | undefined;
  /** Uniswap v2 pairs holding the asset: the liquidity a liquidation draws on. None: share measure only. */
  pairs: readonly Hex[];
}

export interface ConcentrationParams {
  /** The market's identity (Aave v3: its PoolAddressesProvider): what `view.positions` is asked for. */
  market: Hex;
  /** The Aave v3 Pool (its `Borrow` events feed the fallback without a book). */
  pool: Hex;
  /** The assets watched; default every asset the book lists, with no pairs (share measure only). */
  assets?: readonly ConcentrationAsset[] | undefined;
  /** The sides watched. */
  sides: readonly ConcentrationSide[];
  /** Amount / the pairs' reserve of the asset, bps: `high` at or above. */
  liquidityBps: number;
  /** … `critical` at or above. */
  criticalLiquidityBps: number;
  /** Amount / the market's total of the asset (debt, or supply), bps: `high` at or above. */
  shareBps: number;
  /** … `critical` at or above; unset: the share measure is never more than `high`. */
  criticalShareBps?: number | undefined;
  /** Positions worth less (USD, at the oracle) on a side are not reported. */
  minUsd: number;
}

/** One account's position in one watched asset, on one side, worth at least `minUsd`. */
export interface ConcentrationCandidate {
  /** Row of the account and column of the asset in the snapshot. */
  account: number;
  asset: number;
  side: ConcentrationSide;
  /** Whole tokens: the debt, or the collateral a full liquidation could seize. */
  amount: number;
  /** Whole tokens: the debt, or the collateral balance. */
  balance: number;
  /** The account's debt over all assets, USD (the seizable collateral's bound). */
  accountDebtUsd: number;
}

export interface ConcentrationScan {
  /** Per asset column (watched ones only; others 0): all accounts' debt, and all supplied balances. */
  totalDebt: Float64Array;
  totalSupplied: Float64Array;
  candidates: ConcentrationCandidate[];
}

/**
 * One pass over a snapshot: the market's totals of the watched assets and every position on the
 * watched sides worth at least `minUsd` (pure; accounts in snapshot order, then assets, debt first).
 *
 * @example scanConcentration(snapshot, [0, 2], { debt: true, collateral: true }, 100_000)
 */
export function scanConcentration(
  snapshot: PositionSnapshot,
  watched: readonly number[],
  sides: { debt: boolean; collateral: boolean },
  minUsd: number,
): ConcentrationScan {
  const a = snapshot.assets.length;
  const n = snapshot.accounts.length;
  const { debt, collateral, supplied, eMode } = snapshot;
  const price = new Float64Array(a);
  let maxBonus = 1;
  for (let j = 0; j < a; j++) {
    price[j] = snapshot.assets[j]!.priceUsd;
    maxBonus = Math.max(maxBonus, snapshot.assets[j]!.liquidationBonus);
  }
  for (const e of snapshot.eModes) if (e) maxBonus = Math.max(maxBonus, e.liquidationBonus);
  const w = Int32Array.from(watched);
  const totalDebt = new Float64Array(a);
  const totalSupplied = new Float64Array(a);
  const candidates: ConcentrationCandidate[] = [];
  for (let i = 0; i < n; i++) {
    const row = i * a;
    let debtUsd = 0;
    for (let j = 0; j < a; j++) {
      const d = debt[row + j]!;
      if (d > 0) debtUsd += d * price[j]!;
    }
    for (let k = 0; k < w.length; k++) {
      const j = w[k]!;
      totalDebt[j]! += debt[row + j]!;
      totalSupplied[j]! += supplied[row + j]!;
    }
    // Neither side can reach the line: a debt, or a seizure (debt × bonus), under minUsd.
    if (debtUsd * maxBonus < minUsd) continue;
    for (let k = 0; k < w.length; k++) {
      const j = w[k]!;
      const p = price[j]!;
      const d = debt[row + j]!;
      if (sides.debt && d > 0 && d * p >= minUsd)
        candidates.push({
          account: i,
          asset: j,
          side: 'debt',
          amount: d,
          balance: d,
          accountDebtUsd: debtUsd,
        });
      const c = collateral[row + j]!;
      if (!sides.collateral || c <= 0 || !(p > 0)) continue;
      const e = eMode[i]!;
      const category = e !== 0 && snapshot.assets[j]!.eModeCategory === e ? snapshot.eModes[e] : undefined;
      const bonus = category ? category.liquidationBonus : snapshot.assets[j]!.liquidationBonus;
      const seizable = Math.min(c, (debtUsd * bonus) / p);
      if (seizable * p >= minUsd)
        candidates.push({
          account: i,
          asset: j,
          side: 'collateral',
          amount: seizable,
          balance: c,
          accountDebtUsd: debtUsd,
        });
    }
  }
  return { totalDebt, totalSupplied, candidates };
}

/** `value` against a high and an optional critical line. */
const lineSeverity = (value: number, high: number, critical: number | undefined): Severity | null =>
  critical !== undefined && value >= critical ? 'critical' : value >= high ? 'high' : null;

const worse = (x: Severity | null, y: Severity | null): Severity | null =>
  x === 'critical' || y === 'critical' ? 'critical' : (x ?? y);

/** Ratio in bps, rounded down (a hair of float error does not drop an exact 100 % below its line). */
const bps = (part: number, whole: number): number =>
  whole > 0 ? Math.floor((part / whole) * 10_000 + 1e-6) : part > 0 ? Number.POSITIVE_INFINITY : 0;

const round = (v: number, digits = 4) => Math.round(v * 10 ** digits) / 10 ** digits;
const usd = (v: number) => `$${Math.round(v).toLocaleString('en-US')}`;
const tokens = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: v >= 1000 ? 0 : 2 });
const pct = (b: number) => (Number.isFinite(b) ? `${(b / 100).toFixed(0)}%` : 'all');

/** The asset's reserves, in raw units, summed over `pairs` at the view's block. */
async function poolReserve(view: BlockView, pairs: readonly Hex[], asset: Hex): Promise<bigint> {
  const depths = await Promise.all(
    pairs.map(async (pair) => {
      const p = await view.pair(pair);
      if (p.token0.toLowerCase() === asset) return p.reserve0;
      if (p.token1.toLowerCase() === asset) return p.reserve1;
      return 0n;
    }),
  );
  return depths.reduce((s, x) => s + x, 0n);
}

interface BookState {
  /** Whether the last block ran without a book (the degraded finding is raised when it starts). */
  missing: boolean;
}

const borrowEvent = poolAbi.find((x) => x.type === 'event' && x.name === 'Borrow') as AbiEvent;

export const concentration: DetectorDefinition<ConcentrationParams> = {
  type: CONCENTRATION,
  description:
    "One account's debt, or the collateral its liquidation would seize, against the market and against the DEX liquidity a liquidation needs (the CRV short).",
  async detect(event, ctx) {
    const { params, view, state } = ctx;
    const market = params.market.toLowerCase() as Hex;
    let snapshot: PositionSnapshot | null = null;
    let why = 'no position book follows the market (set its positionsFromBlock)';
    try {
      snapshot = view.positions ? await view.positions(market) : null;
    } catch (error) {
      why = `the position book could not be read: ${(error as Error).message.split('\n')[0]}`;
    }
    const was = state.get<BookState>('book');
    state.set<BookState>('book', { missing: snapshot === null });
    if (snapshot === null) {
      const findings = await borrowFallback(event, ctx);
      if (was?.missing === true) return findings;
      return [
        findingOf(CONCENTRATION, ctx.instanceId, event, {
          severity: 'low',
          kind: 'degraded',
          subject: { protocol: 'aave-v3', market },
          dedupeKey: `${CONCENTRATION}:no-positions:${event.chainId}:${market}`,
          confidence: 1,
          title: `${why}: concentration falls back to Borrow events (debt against DEX liquidity only)`,
          evidence: { market, block: event.block.number.toString(), reason: why },
        }),
        ...findings,
      ];
    }
    return fromBook(event, ctx, snapshot, market);
  },
};

async function fromBook(
  event: Parameters<DetectorDefinition<ConcentrationParams>['detect']>[0],
  { instanceId, params, view }: Parameters<DetectorDefinition<ConcentrationParams>['detect']>[1],
  snapshot: PositionSnapshot,
  market: Hex,
): Promise<Finding[]> {
  const column = new Map(snapshot.assets.map((x, j) => [x.address.toLowerCase(), j]));
  // Watched assets by column; a configured asset the market does not list is not watched.
  const config = new Map<number, ConcentrationAsset>();
  for (const w of params.assets ??
    snapshot.assets.map((x) => ({ asset: x.address as Hex, symbol: x.symbol, pairs: [] as Hex[] }))) {
    const j = column.get(w.asset.toLowerCase());
    if (j !== undefined) config.set(j, w);
  }
  const sides = { debt: params.sides.includes('debt'), collateral: params.sides.includes('collateral') };
  const scan = scanConcentration(snapshot, [...config.keys()], sides, params.minUsd);
  if (scan.candidates.length === 0) return [];

  // The pools' reserve of each asset with a candidate, in whole tokens (read once per block).
  const depth = new Map<number, { raw: bigint; whole: number }>();
  for (const j of new Set(scan.candidates.map((c) => c.asset))) {
    const pairs = config.get(j)!.pairs;
    if (pairs.length === 0) continue;
    const raw = await poolReserve(view, pairs, snapshot.assets[j]!.address.toLowerCase() as Hex);
    depth.set(j, { raw, whole: Number(raw) / 10 ** snapshot.assets[j]!.decimals });
  }

  const findings: Finding[] = [];
  const common = { block: event.block.number.toString(), snapshotBlock: snapshot.blockNumber.toString() };
  for (const c of scan.candidates) {
    const x = snapshot.assets[c.asset]!;
    const w = config.get(c.asset)!;
    const asset = x.address.toLowerCase() as Hex;
    const label = w.symbol ?? x.symbol;
    const d = depth.get(c.asset);
    const liquidity = d === undefined ? null : bps(c.amount, d.whole);
    const total = c.side === 'debt' ? scan.totalDebt[c.asset]! : scan.totalSupplied[c.asset]!;
    const share = bps(c.amount, total);
    const byLiquidity =
      liquidity === null ? null : lineSeverity(liquidity, params.liquidityBps, params.criticalLiquidityBps);
    const byShare = lineSeverity(share, params.shareBps, params.criticalShareBps);
    const severity = worse(byLiquidity, byShare);
    if (severity === null) continue;
    const account = snapshot.accounts[c.account]!.toLowerCase() as Hex;
    const scale = (value: number, line: number) => Math.min(1, value / Math.max(line, 1));
    const confidence = Math.max(
      byLiquidity && liquidity !== null ? 0.6 + 0.4 * scale(liquidity, params.criticalLiquidityBps) : 0,
      byShare ? 0.6 + 0.4 * scale(share, params.criticalShareBps ?? 10_000) : 0,
    );
    const amountUsd = c.amount * x.priceUsd;
    const reasons = [
      ...(byLiquidity && liquidity !== null ? [`${pct(liquidity)} of the ${label} in the DEX pools`] : []),
      ...(byShare ? [`${pct(share)} of the market's ${label} ${c.side === 'debt' ? 'debt' : 'supply'}`] : []),
    ].join(', ');
    const what =
      c.side === 'debt'
        ? `${account} owes ${tokens(c.amount)} ${label} (${usd(amountUsd)})`
        : `a liquidation of ${account} could seize ${tokens(c.amount)} ${label} (${usd(amountUsd)}) of its collateral`;
    const consequence =
      byLiquidity !== null
        ? c.side === 'debt'
          ? ': its liquidation could not buy the debt back'
          : ': its liquidation could not sell the collateral'
        : '';
    findings.push(
      findingOf(CONCENTRATION, instanceId, event, {
        severity,
        kind: 'liquidity',
        subject: { protocol: 'aave-v3', market, asset, account },
        dedupeKey: `${CONCENTRATION}:${event.chainId}:${market}:${asset}:${account}:${c.side}`,
        confidence,
        title: `${what}: ${reasons}${consequence}`,
        evidence: {
          ...common,
          side: c.side,
          symbol: label,
          asset,
          account,
          amount: round(c.amount),
          amountUsd: round(amountUsd, 2),
          priceUsd: x.priceUsd,
          ...(c.side === 'collateral'
            ? { collateralBalance: round(c.balance), accountDebtUsd: round(c.accountDebtUsd, 2) }
            : {}),
          marketTotal: round(total),
          shareBps: share,
          ...(d !== undefined
            ? {
                pairs: w.pairs.map((p) => p.toLowerCase()).join(','),
                poolReserve: d.raw.toString(),
                poolReserveTokens: round(d.whole),
                liquidityBps: liquidity !== null && Number.isFinite(liquidity) ? liquidity : -1,
              }
            : {}),
          liquidityLineBps: params.liquidityBps,
          criticalLiquidityLineBps: params.criticalLiquidityBps,
          shareLineBps: params.shareBps,
          ...(params.criticalShareBps !== undefined ? { criticalShareLineBps: params.criticalShareBps } : {}),
          minUsd: params.minUsd,
        },
      }),
    );
  }
  return findings;
}

/** Without a book: the debt of each `Borrow`'s borrower against the pairs (the former check). */
async function borrowFallback(
  event: Parameters<DetectorDefinition<ConcentrationParams>['detect']>[0],
  { instanceId, params, view, logs }: Parameters<DetectorDefinition<ConcentrationParams>['detect']>[1],
): Promise<Finding[]> {
  if (!params.sides.includes('debt') || !params.assets) return [];
  const market = params.market.toLowerCase() as Hex;
  const watched = new Map(
    params.assets.filter((a) => a.pairs.length > 0).map((a) => [a.asset.toLowerCase(), a]),
  );
  if (watched.size === 0) return [];
  const borrows = await logs.decode(borrowEvent, params.pool);
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const log of borrows) {
    const asset = String(log.args.reserve).toLowerCase() as Hex;
    const account = String(log.args.onBehalfOf).toLowerCase() as Hex;
    const w = watched.get(asset);
    if (!w || seen.has(`${asset}:${account}`)) continue;
    seen.add(`${asset}:${account}`);
    const tokensOf = await view.reserveTokens(params.pool, asset);
    const debtOf = (token: Hex) =>
      BigInt(token) === 0n ? Promise.resolve(0n) : view.balanceOf(token, account);
    const [variable, stable, reserve] = await Promise.all([
      debtOf(tokensOf.variableDebtToken),
      debtOf(tokensOf.stableDebtToken),
      poolReserve(view, w.pairs, asset),
    ]);
    const debt = variable + stable;
    const liquidity =
      reserve === 0n ? (debt > 0n ? Number.POSITIVE_INFINITY : 0) : Number((debt * 10_000n) / reserve);
    const severity = lineSeverity(liquidity, params.liquidityBps, params.criticalLiquidityBps);
    if (severity === null) continue;
    const label = w.symbol ?? asset;
    findings.push(
      findingOf(CONCENTRATION, instanceId, event, {
        severity,
        kind: 'liquidity',
        subject: { protocol: 'aave-v3', market, asset, account },
        dedupeKey: `${CONCENTRATION}:${event.chainId}:${market}:${asset}:${account}:debt`,
        confidence: 0.6 + 0.4 * Math.min(1, liquidity / Math.max(params.criticalLiquidityBps, 1)),
        title: `${account} owes ${pct(liquidity)} of the ${label} in the DEX pools: its liquidation could not buy the debt back`,
        evidence: {
          block: event.block.number.toString(),
          source: 'borrow-event',
          side: 'debt',
          symbol: label,
          asset,
          account,
          debt: debt.toString(),
          pairs: w.pairs.map((p) => p.toLowerCase()).join(','),
          poolReserve: reserve.toString(),
          liquidityBps: Number.isFinite(liquidity) ? liquidity : -1,
          liquidityLineBps: params.liquidityBps,
          criticalLiquidityLineBps: params.criticalLiquidityBps,
          tx: log.transactionHash,
        },
      }),
    );
  }
  return findings;
}
