/**
 * Risk — a market as it stands: totals, liquidatable debt and bad debt of a snapshot at its own
 * (oracle) prices, with the weakest account and the largest uncovered debt. A pure function of the
 * snapshot, shared by the `risk-thresholds` detector and the risk report.
 */
import type { Hex } from 'viem';
import { type HealthBook, healthFactors } from './health';
import type { PositionSnapshot } from './types';

/** What the market looks like now, at the oracle's prices (a pure function of the snapshot). */
export interface RiskNow {
  accounts: number;
  borrowers: number;
  totalDebtUsd: number;
  totalCollateralUsd: number;
  liquidatableAccounts: number;
  liquidatableDebtUsd: number;
  badDebtUsd: number;
  badDebtAccounts: number;
  /** The account with the lowest health factor (null when nobody borrows). */
  weakest: { account: Hex; healthFactor: number; debtUsd: number; collateralUsd: number } | null;
  /** The account with the largest uncovered debt (null when there is none). */
  largestBadDebt: { account: Hex; badDebtUsd: number; debtUsd: number; collateralUsd: number } | null;
}

/** Totals, liquidatable debt and bad debt of a snapshot at its own prices (`book`: compiled from it). */
export function riskNow(snapshot: PositionSnapshot, book?: HealthBook): RiskNow {
  const a = snapshot.assets.length;
  const n = snapshot.accounts.length;
  const hf = healthFactors(book ?? snapshot);
  const out: RiskNow = {
    accounts: n,
    borrowers: 0,
    totalDebtUsd: 0,
    totalCollateralUsd: 0,
    liquidatableAccounts: 0,
    liquidatableDebtUsd: 0,
    badDebtUsd: 0,
    badDebtAccounts: 0,
    weakest: null,
    largestBadDebt: null,
  };
  for (let i = 0; i < n; i++) {
    let debt = 0;
    let coll = 0;
    for (let j = 0; j < a; j++) {
      const price = snapshot.assets[j]!.priceUsd;
      debt += snapshot.debt[i * a + j]! * price;
      coll += snapshot.collateral[i * a + j]! * price;
    }
    out.totalDebtUsd += debt;
    out.totalCollateralUsd += coll;
    if (!(debt > 0)) continue;
    out.borrowers++;
    const h = hf[i]!;
    const account = snapshot.accounts[i]!;
    if (h < 1) {
      out.liquidatableAccounts++;
      out.liquidatableDebtUsd += debt;
    }
    if (out.weakest === null || h < out.weakest.healthFactor)
      out.weakest = { account, healthFactor: h, debtUsd: debt, collateralUsd: coll };
    const bad = debt - coll;
    if (bad > 0) {
      out.badDebtUsd += bad;
      out.badDebtAccounts++;
      if (out.largestBadDebt === null || bad > out.largestBadDebt.badDebtUsd)
        out.largestBadDebt = { account, badDebtUsd: bad, debtUsd: debt, collateralUsd: coll };
    }
  }
  return out;
}
