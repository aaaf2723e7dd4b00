/**
 * Detect — `liquidity-exhaustion`: a lending reserve running out of cash, so its suppliers can no
 * longer withdraw (stETH/ETH in June 2022, USDC on every market during the SVB weekend, any reserve
 * a run or a borrowing spree empties).
 *
 * Per watched reserve (default: every reserve the pool lists), at the block: its cash (the
 * underlying held by its aToken), its debt (variable + stable debt tokens) and utilisation
 * debt / (cash + debt), exact in `bigint`; and, from a window of the cash over `windowBlocks`
 * blocks, the net outflow rate and the time until the cash is gone at that rate. The rate leaves out
 * the window's largest single block: one withdrawal, however large, is not a run (a paid-for one is
 * a depositor taking back its deposit; an unpaid one is `outflow-rate`'s to judge), many are.
 * One finding per reserve and block while either line is crossed, under one key per reserve (the
 * condition is "this reserve is running dry"; its severity is the worse of the two):
 * - utilisation: `high` from `utilisationBps`, `critical` from `criticalUtilisationBps`;
 * - forecast: cash exhausted within `horizonSeconds` at the current rate (`high`), within
 *   `criticalHorizonSeconds` (`critical`), once the window's outflow (less its largest block) is at
 *   least `minOutflowBps` of its starting cash.
 * Kind `liquidity`. The position book (`view.positions(market)`), when the engine keeps one, names
 * who is locked in and who holds the debt: suppliers whose deposit exceeds the cash left, and the
 * largest borrower's share. The detector reads it and keeps no copy; without a book those fields are
 * left out.
 */
import type { Hex } from 'viem';
import { findingOf } from './finding';
import type { DetectorDefinition, Finding, Severity } from './types';
import { rollingWindow } from './window';

export const LIQUIDITY_EXHAUSTION = 'liquidity-exhaustion';

export interface LiquidityExhaustionParams {
  /** The market's identity (Aave v3: PoolAddressesProvider). */
  market: Hex;
  /** The Aave v3 Pool whose reserves are watched. */
  pool: Hex;
  /** The reserves watched; default every reserve the pool lists. */
  assets?: readonly { asset: Hex; symbol?: string | undefined }[] | undefined;
  utilisationBps: number;
  criticalUtilisationBps: number;
  windowBlocks: number;
  horizonSeconds: number;
  criticalHorizonSeconds: number;
  minOutflowBps: number;
}

/** The net outflow of a cash series and the time to exhaustion at its rate (pure). */
export interface ExhaustionForecast {
  /** Net outflow over the window less its largest one-block outflow (≤ 0: no outflow). */
  outflow: bigint;
  /** The largest one-block outflow, left out of the rate. */
  largestBlockOutflow: bigint;
  blocks: number;
  seconds: number;
  /** Blocks and seconds until the cash is gone at the rate; null when it is not falling. */
  blocksLeft: number | null;
  secondsLeft: number | null;
}

/**
 * The forecast from cash samples, oldest first (`{ block, time, cash }`; the newest is now).
 *
 * @example forecastExhaustion([{ block: 1, time: 12, cash: 100n }, { block: 2, time: 24, cash: 90n }])
 */
export function forecastExhaustion(
  samples: readonly { block: number; time: number; cash: bigint }[],
): ExhaustionForecast | null {
  if (samples.length < 2) return null;
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const blocks = last.block - first.block;
  const seconds = last.time - first.time;
  if (blocks <= 0) return null;
  let largest = 0n;
  for (let k = 1; k < samples.length; k++) {
    const out = samples[k - 1]!.cash - samples[k]!.cash;
    if (out > largest) largest = out;
  }
  const outflow = first.cash - last.cash - largest;
  if (outflow <= 0n || last.cash <= 0n)
    return {
      outflow,
      largestBlockOutflow: largest,
      blocks,
      seconds,
      blocksLeft: last.cash <= 0n ? 0 : null,
      secondsLeft: last.cash <= 0n ? 0 : null,
    };
  // cash / (outflow / blocks), in blocks; seconds at the window's own block time.
  const blocksLeft = Number((last.cash * BigInt(blocks) * 1000n) / outflow) / 1000;
  const secondsLeft = seconds > 0 ? (blocksLeft * seconds) / blocks : blocksLeft * 12;
  return { outflow, largestBlockOutflow: largest, blocks, seconds, blocksLeft, secondsLeft };
}

const severityAt = (value: number, high: number, critical: number, below: boolean): Severity | null =>
  below
    ? value <= critical
      ? 'critical'
      : value <= high
        ? 'high'
        : null
    : value >= critical
      ? 'critical'
      : value >= high
        ? 'high'
        : null;

const worse = (a: Severity | null, b: Severity | null): Severity | null =>
  a === 'critical' || b === 'critical' ? 'critical' : a === 'high' || b === 'high' ? 'high' : null;

const minutes = (s: number) => (s < 120 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`);

export const liquidityExhaustion: DetectorDefinition<LiquidityExhaustionParams> = {
  type: LIQUIDITY_EXHAUSTION,
  description:
    "A reserve's utilisation near 100% (suppliers locked in) and the time until its cash runs out at the current outflow.",
  async detect(event, { instanceId, params, view, state }) {
    const market = params.market.toLowerCase() as Hex;
    const watched =
      params.assets ?? (await view.reservesList(params.pool)).map((asset) => ({ asset, symbol: undefined }));
    const findings: Finding[] = [];
    for (const w of watched) {
      const asset = w.asset.toLowerCase() as Hex;
      const tokens = await view.reserveTokens(params.pool, asset);
      const debtOf = (token: Hex) => (BigInt(token) === 0n ? Promise.resolve(0n) : view.totalSupply(token));
      const [cash, variable, stable] = await Promise.all([
        view.balanceOf(asset, tokens.aToken),
        debtOf(tokens.variableDebtToken),
        debtOf(tokens.stableDebtToken),
      ]);
      const debt = variable + stable;
      const utilisationBps = cash + debt > 0n ? Number((debt * 10_000n) / (cash + debt)) : 0;

      const window = rollingWindow<string>(state, `cash:${asset}`, { maxBlocks: params.windowBlocks });
      window.push(event.block.number, event.block.timestamp, cash.toString());
      const samples = window.samples().map((s) => ({ block: s.block, time: s.time, cash: BigInt(s.value) }));
      const forecast = forecastExhaustion(samples);
      const start = samples[0]!.cash;
      const runBps =
        forecast && start > 0n && forecast.outflow > 0n ? Number((forecast.outflow * 10_000n) / start) : 0;
      const forecastSeverity =
        forecast?.secondsLeft != null && runBps >= params.minOutflowBps
          ? severityAt(forecast.secondsLeft, params.horizonSeconds, params.criticalHorizonSeconds, true)
          : null;
      const utilisationSeverity = severityAt(
        utilisationBps,
        params.utilisationBps,
        params.criticalUtilisationBps,
        false,
      );
      const severity = worse(utilisationSeverity, forecastSeverity);
      if (severity === null) continue;

      // Read only when there is something to say: the book names who is locked in.
      const snapshot = view.positions ? await view.positions(market) : null;
      const j = snapshot ? snapshot.assets.findIndex((x) => x.address.toLowerCase() === asset) : -1;
      const label = w.symbol ?? (j >= 0 ? snapshot!.assets[j]!.symbol : asset);
      const book: Finding['evidence'] = {};
      if (snapshot && j >= 0) {
        const a = snapshot.assets.length;
        const cashTokens = Number(cash) / 10 ** snapshot.assets[j]!.decimals;
        let suppliers = 0;
        let locked = 0;
        let totalDebt = 0;
        let largest = 0;
        let largestAccount: Hex | undefined;
        for (let i = 0; i < snapshot.accounts.length; i++) {
          const s = snapshot.supplied[i * a + j]!;
          const d = snapshot.debt[i * a + j]!;
          if (s > 0) {
            suppliers++;
            if (s > cashTokens) locked++;
          }
          totalDebt += d;
          if (d > largest) {
            largest = d;
            largestAccount = snapshot.accounts[i]!.toLowerCase() as Hex;
          }
        }
        Object.assign(book, {
          suppliers,
          suppliersLockedIn: locked,
          ...(largestAccount
            ? {
                largestBorrower: largestAccount,
                largestBorrowerShareBps: Math.round((largest / totalDebt) * 10_000),
              }
            : {}),
        });
      }
      const reasons = [
        ...(utilisationSeverity ? [`utilisation ${(utilisationBps / 100).toFixed(1)}%`] : []),
        ...(forecastSeverity && forecast?.secondsLeft != null
          ? [`cash gone in ~${minutes(forecast.secondsLeft)} at the current outflow`]
          : []),
      ];
      findings.push(
        findingOf(LIQUIDITY_EXHAUSTION, instanceId, event, {
          severity,
          kind: 'liquidity',
          subject: { protocol: 'aave-v3', market, asset },
          dedupeKey: `${LIQUIDITY_EXHAUSTION}:${event.chainId}:${market}:${asset}`,
          confidence: forecastSeverity && !utilisationSeverity ? 0.7 : 0.95,
          title: `${label} reserve running dry: ${reasons.join(', ')}`,
          evidence: {
            asset,
            symbol: label,
            aToken: tokens.aToken.toLowerCase(),
            cash: cash.toString(),
            debt: debt.toString(),
            utilisationBps,
            utilisationLineBps: params.utilisationBps,
            windowFromBlock: samples[0]!.block,
            windowCashStart: start.toString(),
            windowOutflowLessLargestBlock: (forecast?.outflow ?? 0n).toString(),
            largestBlockOutflow: (forecast?.largestBlockOutflow ?? 0n).toString(),
            outflowBps: runBps,
            ...(forecast?.blocksLeft != null
              ? {
                  blocksToExhaustion: Math.round(forecast.blocksLeft * 10) / 10,
                  secondsToExhaustion: Math.round(forecast.secondsLeft ?? 0),
                }
              : {}),
            horizonSeconds: params.horizonSeconds,
            block: event.block.number.toString(),
            ...book,
          },
        }),
      );
    }
    return findings;
  },
};
