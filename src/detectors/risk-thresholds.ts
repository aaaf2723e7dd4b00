/**
 * Detect — `risk-thresholds`: the risk engine's metrics of a lending market, at every block, against
 * configured lines, so a playbook can act on "bad debt above X", "LaR at −10 % above Y" or "VaR
 * above Z".
 *
 * Reads the market's positions from `view.positions(market)` (the position book's snapshot at the
 * block; the engine hands it in) and computes, for each metric configured:
 * - `badDebt` (kind `insolvency`): Σ max(0, debt − collateral) over accounts, at the oracle's prices;
 * - `liquidatable` (kind `liquidity`): the debt of accounts with health factor < 1 now;
 * - `lar` (kind `liquidity`): liquidations at risk — the debt of accounts with HF < 1 once the named
 *   assets fall by `shockBps` (each alone, the worst reported; or `together`);
 * - `var` (kind `insolvency`): Value at Risk, the `quantile` of net insolvent debt over seeded Monte
 *   Carlo price paths (GBM with jumps), recomputed every `everyBlocks` blocks (kept in `ctx.state`),
 *   optionally in worker threads while the engine goes on, used `lagBlocks` blocks later.
 * A value at or above `thresholdUsd` is `high`, at or above `criticalUsd` `critical`. The dedupe key
 * names the metric, chain and market (and the shock for LaR), not the block or the severity: one
 * condition, one key, as it escalates. A market with no book is reported once per block as
 * `degraded` rather than silently skipped.
 */
import type { Hex } from 'viem';
import { compileHealthBook, type HealthBook, stressGrid } from '../risk/health';
import { type AssetDynamics, monteCarloRisk } from '../risk/montecarlo';
import { riskNow } from '../risk/now';
import type { PositionSnapshot } from '../risk/types';
import { findingOf } from './finding';
import type { DetectorDefinition, Finding, FindingKind, Severity } from './types';

export const RISK_THRESHOLDS = 'risk-thresholds';

/** A line on a metric, in USD. Without `criticalUsd`, every crossing is `high`. */
export interface RiskLine {
  thresholdUsd: number;
  criticalUsd?: number | undefined;
}

export interface LarLine extends RiskLine {
  /** The price fall, basis points (1000 = −10 %). */
  shockBps: number;
  /** Assets that fall, by symbol or address; default every asset of the market. */
  assets?: readonly string[] | undefined;
  /** All named assets fall together (one figure) instead of each alone (the worst one). Default false. */
  together?: boolean | undefined;
}

export interface VarLine extends RiskLine {
  horizonDays: number;
  steps: number;
  paths: number;
  seed: number;
  /** Default 0.95 (Gauntlet's definition). */
  quantile?: number | undefined;
  /** Annualised volatility: one for every asset, or by symbol (`default` for the rest). */
  volatility: number | Readonly<Record<string, number>>;
  /** One correlation for every pair of assets, in [0, 1). */
  correlation: number;
  /** Jumps per year, and the mean and standard deviation of a jump's log size. */
  jumpIntensity?: number | undefined;
  jumpMean?: number | undefined;
  jumpStdev?: number | undefined;
  /** Recompute every this many blocks (the last result stands in between). */
  everyBlocks: number;
  /** Worker threads for the paths (0: this thread, which the computation then blocks). */
  workers?: number | undefined;
  /**
   * Blocks between a snapshot and the use of its VaR (default 0: computed and used at once). With
   * workers, the paths run while the engine handles these blocks; the result is used at the same
   * block on every run (it waits for it there if it is late), so findings stay reproducible.
   */
  lagBlocks?: number | undefined;
}

export interface RiskThresholdsParams {
  /** The market's identity (Aave v3: PoolAddressesProvider): what `view.positions` is asked for. */
  market: Hex;
  badDebt?: RiskLine | undefined;
  liquidatable?: RiskLine | undefined;
  lar?: LarLine | undefined;
  var?: VarLine | undefined;
}

/** Asset indexes named by symbol (any case) or address; throws naming the unknown one. */
export function resolveAssets(snapshot: PositionSnapshot, names: readonly string[] | undefined): number[] {
  if (names === undefined || names.length === 0) return snapshot.assets.map((_, j) => j);
  return names.map((name) => {
    const key = name.toLowerCase();
    const j = snapshot.assets.findIndex(
      (x) => x.symbol.toLowerCase() === key || x.address.toLowerCase() === key,
    );
    if (j < 0)
      throw new Error(
        `${RISK_THRESHOLDS}: asset "${name}" is not listed on the market (listed: ${snapshot.assets.map((x) => x.symbol).join(', ')})`,
      );
    return j;
  });
}

/** One liquidations-at-risk figure: the debt liquidatable once `assets` fall by `shockBps`. */
export interface LarAtShock {
  assets: number[];
  label: string;
  liquidatableDebtUsd: number;
  liquidatableAccounts: number;
  badDebtUsd: number;
}

/** LaR at a shock: each asset alone (sorted worst first) or all of them together (one entry). */
export function larAtShock(
  snapshot: PositionSnapshot,
  assets: readonly number[],
  shockBps: number,
  together: boolean,
  book?: HealthBook,
): LarAtShock[] {
  const a = snapshot.assets.length;
  const factor = 1 - shockBps / 10_000;
  const sets = together ? [assets.slice()] : assets.map((j) => [j]);
  const vectors = sets.map((set) => {
    const v = new Float64Array(a).fill(1);
    for (const j of set) v[j] = factor;
    return v;
  });
  const outcomes = stressGrid(book ?? compileHealthBook(snapshot), vectors);
  return sets
    .map((set, k) => ({
      assets: set,
      label: set.map((j) => snapshot.assets[j]!.symbol).join('+'),
      liquidatableDebtUsd: outcomes[k]!.liquidatableDebtUsd,
      liquidatableAccounts: outcomes[k]!.liquidatableAccounts,
      badDebtUsd: outcomes[k]!.badDebtUsd,
    }))
    .sort((x, y) => y.liquidatableDebtUsd - x.liquidatableDebtUsd);
}

/** The Monte Carlo inputs of a VaR line for a snapshot's assets. */
export function varDynamics(
  snapshot: PositionSnapshot,
  line: VarLine,
): { dynamics: AssetDynamics[]; correlation: number[][] } {
  const a = snapshot.assets.length;
  const volOf = (symbol: string): number => {
    if (typeof line.volatility === 'number') return line.volatility;
    const entry = Object.entries(line.volatility).find(([k]) => k.toLowerCase() === symbol.toLowerCase());
    const v = entry?.[1] ?? line.volatility.default;
    if (v === undefined)
      throw new Error(`${RISK_THRESHOLDS}: var.volatility names no volatility for ${symbol} and no default`);
    return v;
  };
  const dynamics = snapshot.assets.map((x) => ({
    mu: 0,
    sigma: volOf(x.symbol),
    jumpIntensity: line.jumpIntensity ?? 0,
    jumpMean: line.jumpMean ?? 0,
    jumpStdev: line.jumpStdev ?? 0,
  }));
  const correlation = Array.from({ length: a }, (_, i) =>
    Array.from({ length: a }, (_, j) => (i === j ? 1 : line.correlation)),
  );
  return { dynamics, correlation };
}

interface VarCache {
  block: string;
  valueAtRiskUsd: number;
  liquidationsAtRiskUsd: number;
  meanInsolventUsd: number;
}

const severityOf = (value: number, line: RiskLine): Severity | null =>
  line.criticalUsd !== undefined && value >= line.criticalUsd
    ? 'critical'
    : value >= line.thresholdUsd
      ? 'high'
      : null;

const usd = (v: number) => `$${Math.round(v).toLocaleString('en-US')}`;
const round = (v: number) => Math.round(v * 100) / 100;

export const riskThresholds: DetectorDefinition<RiskThresholdsParams> = {
  type: RISK_THRESHOLDS,
  description:
    "A market's bad debt, liquidatable debt, liquidations at risk and VaR against configured lines.",
  async detect(event, { instanceId, params, view, state }) {
    const market = params.market.toLowerCase() as Hex;
    const snapshot = view.positions ? await view.positions(market) : null;
    const subject = { protocol: 'aave-v3', market };
    const finding = (input: Parameters<typeof findingOf>[3]): Finding =>
      findingOf(RISK_THRESHOLDS, instanceId, event, input);
    if (snapshot === null) {
      return [
        finding({
          severity: 'medium',
          kind: 'degraded',
          subject,
          dedupeKey: `${RISK_THRESHOLDS}:no-positions:${event.chainId}:${market}`,
          confidence: 1,
          title: `no position book follows market ${market}: risk thresholds not checked`,
          evidence: { market, block: event.block.number.toString() },
        }),
      ];
    }
    const findings: Finding[] = [];
    const book = compileHealthBook(snapshot);
    const common = {
      market,
      block: event.block.number.toString(),
      snapshotBlock: snapshot.blockNumber.toString(),
      accounts: snapshot.accounts.length,
    };
    const raise = (
      metric: string,
      kind: FindingKind,
      line: RiskLine,
      valueUsd: number,
      confidence: number,
      title: (severity: Severity) => string,
      evidence: Finding['evidence'],
      extra: { key?: string; asset?: Hex } = {},
    ) => {
      const severity = severityOf(valueUsd, line);
      if (severity === null) return;
      findings.push(
        finding({
          severity,
          kind,
          subject: extra.asset ? { ...subject, asset: extra.asset } : subject,
          dedupeKey: `${RISK_THRESHOLDS}:${extra.key ?? metric}:${event.chainId}:${market}`,
          confidence,
          title: title(severity),
          evidence: {
            metric,
            valueUsd: round(valueUsd),
            thresholdUsd: line.thresholdUsd,
            ...(line.criticalUsd !== undefined ? { criticalUsd: line.criticalUsd } : {}),
            ...common,
            ...evidence,
          },
        }),
      );
    };

    if (params.badDebt || params.liquidatable) {
      const now = riskNow(snapshot, book);
      const totals = {
        totalDebtUsd: round(now.totalDebtUsd),
        totalCollateralUsd: round(now.totalCollateralUsd),
      };
      if (params.badDebt) {
        const w = now.largestBadDebt;
        raise(
          'bad-debt',
          'insolvency',
          params.badDebt,
          now.badDebtUsd,
          1,
          () =>
            `${usd(now.badDebtUsd)} of debt is no longer covered by collateral (${now.badDebtAccounts} account(s)), line ${usd(params.badDebt!.thresholdUsd)}`,
          {
            badDebtAccounts: now.badDebtAccounts,
            ...totals,
            ...(w
              ? {
                  largestAccount: w.account,
                  largestBadDebtUsd: round(w.badDebtUsd),
                  largestDebtUsd: round(w.debtUsd),
                  largestCollateralUsd: round(w.collateralUsd),
                }
              : {}),
          },
        );
      }
      if (params.liquidatable) {
        const w = now.weakest;
        raise(
          'liquidatable',
          'liquidity',
          params.liquidatable,
          now.liquidatableDebtUsd,
          1,
          () =>
            `${usd(now.liquidatableDebtUsd)} of debt is liquidatable now (${now.liquidatableAccounts} account(s) below health factor 1), line ${usd(params.liquidatable!.thresholdUsd)}`,
          {
            liquidatableAccounts: now.liquidatableAccounts,
            ...totals,
            ...(w
              ? { weakestAccount: w.account, weakestHealthFactor: round(w.healthFactor * 1e4) / 1e4 }
              : {}),
          },
        );
      }
    }

    if (params.lar) {
      const line = params.lar;
      const set = resolveAssets(snapshot, line.assets);
      const [worst] = larAtShock(snapshot, set, line.shockBps, line.together ?? false, book);
      if (worst) {
        const pct = line.shockBps / 100;
        raise(
          'lar',
          'liquidity',
          line,
          worst.liquidatableDebtUsd,
          0.8,
          () =>
            `liquidations at risk: ${usd(worst.liquidatableDebtUsd)} of debt becomes liquidatable if ${worst.label} falls ${pct}% (${worst.liquidatableAccounts} account(s)), line ${usd(line.thresholdUsd)}`,
          {
            shockBps: line.shockBps,
            movedAssets: worst.label,
            together: line.together ?? false,
            liquidatableAccounts: worst.liquidatableAccounts,
            badDebtAtShockUsd: round(worst.badDebtUsd),
            prices: worst.assets
              .map((j) => `${snapshot.assets[j]!.symbol}=${snapshot.assets[j]!.priceUsd}`)
              .join(','),
          },
          {
            key: `lar-${line.shockBps}`,
            ...(worst.assets.length === 1 ? { asset: snapshot.assets[worst.assets[0]!]!.address } : {}),
          },
        );
      }
    }

    if (params.var) {
      const line = params.var;
      const keyResult = `var:${market}`;
      const keyPending = `var-pending:${market}`;
      const block = event.block.number;
      let result = state.get<VarCache>(keyResult);
      let pending = state.get<{ block: string; promise: Promise<VarCache> }>(keyPending);
      // Going back (a reorg, a replay from earlier) forgets what was computed after the block.
      if (result !== undefined && BigInt(result.block) > block) result = undefined;
      if (pending !== undefined && BigInt(pending.block) > block) pending = undefined;
      const lastStart = pending ? BigInt(pending.block) : result ? BigInt(result.block) : undefined;
      if (
        pending === undefined &&
        (lastStart === undefined || block - lastStart >= BigInt(line.everyBlocks))
      ) {
        const { dynamics, correlation } = varDynamics(snapshot, line);
        const promise = monteCarloRisk(book, {
          dynamics,
          correlation,
          horizonDays: line.horizonDays,
          steps: line.steps,
          paths: line.paths,
          seed: line.seed,
          quantile: line.quantile ?? 0.95,
          workers: line.workers ?? 0,
        }).then(
          (r): VarCache => ({
            block: block.toString(),
            valueAtRiskUsd: r.valueAtRiskUsd,
            liquidationsAtRiskUsd: r.liquidationsAtRiskUsd,
            meanInsolventUsd: r.meanInsolventUsd,
          }),
        );
        promise.catch(() => {}); // awaited below or at a later block: never an unhandled rejection
        pending = { block: block.toString(), promise };
      }
      // The result is used `lagBlocks` blocks after its snapshot, whatever the wall clock did:
      // the same blocks give the same findings.
      if (pending !== undefined && block - BigInt(pending.block) >= BigInt(line.lagBlocks ?? 0)) {
        try {
          result = await pending.promise;
        } finally {
          pending = undefined;
          state.set(keyPending, undefined);
        }
      }
      state.set(keyPending, pending);
      state.set(keyResult, result);
      if (result === undefined) return findings;
      const cached = result;
      const v = cached;
      const q = line.quantile ?? 0.95;
      raise(
        'var',
        'insolvency',
        line,
        v.valueAtRiskUsd,
        0.6,
        () =>
          `value at risk: ${usd(v.valueAtRiskUsd)} of insolvent debt at the ${q * 100}th percentile over ${line.horizonDays} day(s), line ${usd(line.thresholdUsd)}`,
        {
          quantile: q,
          horizonDays: line.horizonDays,
          paths: line.paths,
          steps: line.steps,
          seed: line.seed,
          computedAtBlock: v.block,
          liquidationsAtRiskUsd: round(v.liquidationsAtRiskUsd),
          meanInsolventUsd: round(v.meanInsolventUsd),
        },
      );
    }
    return findings;
  },
};
