/**
 * Detect — `debt-concentration`: one account's debt in an asset approaching the DEX liquidity that
 * would have to absorb its liquidation (the Aave v2 CRV short of November 2022: ~92M CRV borrowed
 * by one account, more than the on-chain markets could supply to repay it, so liquidations could
 * not clear when CRV squeezed and the market was left with bad debt).
 *
 * On every `Borrow` of a watched asset on the market's pool, it reads the borrower's debt of that
 * asset (variable + stable debt tokens) and the asset's reserves in the configured Uniswap v2 pairs
 * (the venues a liquidator buys the debt asset in or sells seized collateral into), at the block,
 * and reports the debt as a share of that depth: `high` from `thresholdBps`, `critical` from
 * `criticalBps`. Why the share of the pools' reserve: buying back a fraction f of an x·y=k pool's
 * reserve multiplies its price by 1/(1−f)², so past a few percent a liquidation's bonus no longer
 * pays for the impact in one go, and at half the reserve the price has quadrupled — the position
 * cannot be cleared through that venue at any bonus. Kind `liquidity`; the subject is the asset
 * (the lever is its borrowing), the account is named. One key per (asset, account): the condition
 * escalates under one key as the account borrows more.
 *
 * Blind spots: debt built with no `Borrow` in view (opened before the engine started, or grown by
 * price alone: the ratio is in tokens, so a squeeze does not move it); liquidity on venues not
 * configured (a CEX, other DEX pairs); many accounts each below the line.
 */
import type { AbiEvent, Hex } from 'viem';
import { poolAbi } from '../protocols/aave-v3/abi';
import { findingOf } from './finding';
import type { DetectorDefinition, Finding, Severity } from './types';

export interface DebtConcentrationParams {
  /** The market's identity (Aave v3: its PoolAddressesProvider), stamped on findings. */
  market: Hex;
  /** The Aave v3 Pool whose `Borrow` events are watched. */
  pool: Hex;
  assets: { asset: Hex; symbol?: string | undefined; pairs: Hex[] }[];
  /** Debt / pools' reserve of the asset, basis points: `high` at or above. */
  thresholdBps: number;
  /** … `critical` at or above. */
  criticalBps: number;
}

const borrowEvent = poolAbi.find((x) => x.type === 'event' && x.name === 'Borrow') as AbiEvent;

export const debtConcentration: DetectorDefinition<DebtConcentrationParams> = {
  type: 'debt-concentration',
  description:
    "One account's debt in an asset approaching the DEX liquidity its liquidation would need (the CRV short).",
  async detect(event, { instanceId, params, view, logs }) {
    const watched = new Map(params.assets.map((a) => [a.asset.toLowerCase(), a]));
    const borrows = await logs.decode(borrowEvent, params.pool);
    const findings: Finding[] = [];
    const seen = new Set<string>();
    for (const log of borrows) {
      const reserve = String(log.args.reserve).toLowerCase() as Hex;
      const account = String(log.args.onBehalfOf).toLowerCase() as Hex;
      const a = watched.get(reserve);
      const key = `${reserve}:${account}`;
      if (!a || seen.has(key)) continue;
      seen.add(key);
      const tokens = await view.reserveTokens(params.pool, reserve);
      const debtOf = (token: Hex) =>
        BigInt(token) === 0n ? Promise.resolve(0n) : view.balanceOf(token, account);
      const [variable, stable, depths] = await Promise.all([
        debtOf(tokens.variableDebtToken),
        debtOf(tokens.stableDebtToken),
        Promise.all(
          a.pairs.map(async (pair) => {
            const p = await view.pair(pair);
            if (p.token0.toLowerCase() === reserve) return p.reserve0;
            if (p.token1.toLowerCase() === reserve) return p.reserve1;
            return 0n;
          }),
        ),
      ]);
      const debt = variable + stable;
      const depth = depths.reduce((s, x) => s + x, 0n);
      // No pool holds any of it: nothing can absorb a liquidation; any debt is past every line.
      const shareBps =
        depth === 0n ? (debt > 0n ? Number.POSITIVE_INFINITY : 0) : Number((debt * 10_000n) / depth);
      if (shareBps < params.thresholdBps) continue;
      const severity: Severity = shareBps >= params.criticalBps ? 'critical' : 'high';
      const label = a.symbol ?? reserve;
      const shown = Number.isFinite(shareBps) ? `${(shareBps / 100).toFixed(0)}%` : 'all';
      findings.push(
        findingOf('debt-concentration', instanceId, event, {
          severity,
          kind: 'liquidity',
          subject: { protocol: 'aave-v3', market: params.market, asset: reserve, account },
          dedupeKey: `debt-concentration:${event.chainId}:${reserve}:${account}`,
          confidence: Math.min(1, 0.6 + 0.4 * Math.min(1, shareBps / Math.max(params.criticalBps, 1))),
          title: `one account owes ${shown} of the DEX liquidity of ${label}: its liquidation could not clear`,
          evidence: {
            symbol: label,
            asset: reserve,
            account,
            debt: debt.toString(),
            poolReserve: depth.toString(),
            shareBps: Number.isFinite(shareBps) ? shareBps : -1,
            pairs: a.pairs.join(','),
            thresholdBps: params.thresholdBps,
            criticalBps: params.criticalBps,
            tx: log.transactionHash,
          },
        }),
      );
    }
    return findings;
  },
};
