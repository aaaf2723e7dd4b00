/**
 * Risk — seeded randomness and a deterministic synthetic market, for the benchmarks, the property
 * tests and anyone who wants to try the fast paths without a chain. Not a stand-in for the position
 * book in integration tests: real markets come from the book.
 *
 * The synthetic market is shaped like an Aave v3 mainnet market: six assets (two ETH-correlated in
 * e-mode 1, two stablecoins in e-mode 2, WBTC, and a thin governance token), ~30 % supply-only
 * accounts, borrowers with one or two collateral assets and usually one debt asset, ~15 % of
 * borrowers in e-mode, and health factors drawn from a right-skewed distribution: most between 1.2
 * and 3, a few per cent within 10 % of liquidation, about 0.5 % already below 1.
 */
import type { Address } from 'viem';
import { createRng, normal } from '../common/random';
import type { EModeCategory, PositionSnapshot, RiskAsset } from './types';

export { createRng, mixSeed, normal } from '../common/random';

const addr = (k: number): Address => `0x${k.toString(16).padStart(40, '0')}` as Address;

/** The six assets of the synthetic market (Aave v3 mainnet-like parameters). */
export function syntheticAssets(): RiskAsset[] {
  const asset = (
    k: number,
    symbol: string,
    priceUsd: number,
    ltv: number,
    lt: number,
    bonus: number,
    eModeCategory: number,
  ): RiskAsset => ({
    symbol,
    address: addr(0xa55e7000 + k),
    decimals: 18,
    priceUsd,
    ltv,
    liquidationThreshold: lt,
    liquidationBonus: bonus,
    liquidationProtocolFee: 0.1,
    eModeCategory,
  });
  return [
    asset(0, 'WETH', 3000, 0.8, 0.825, 1.05, 1),
    asset(1, 'wstETH', 3500, 0.785, 0.81, 1.06, 1),
    asset(2, 'WBTC', 60000, 0.73, 0.78, 1.05, 0),
    asset(3, 'USDC', 1, 0.77, 0.8, 1.045, 2),
    asset(4, 'DAI', 1, 0.63, 0.77, 1.05, 2),
    asset(5, 'CRV', 0.5, 0.35, 0.41, 1.083, 0),
  ];
}

export function syntheticEModes(): (EModeCategory | undefined)[] {
  return [
    undefined,
    { id: 1, label: 'ETH correlated', ltv: 0.93, liquidationThreshold: 0.95, liquidationBonus: 1.01 },
    { id: 2, label: 'Stablecoins', ltv: 0.93, liquidationThreshold: 0.95, liquidationBonus: 1.01 },
  ];
}

/**
 * A deterministic synthetic market of `accounts` positions: the same seed gives the same snapshot,
 * bit for bit.
 */
export function syntheticSnapshot(accounts: number, seed = 1): PositionSnapshot {
  const rng = createRng(seed);
  const assets = syntheticAssets();
  const eModes = syntheticEModes();
  const a = assets.length;
  const collateral = new Float64Array(accounts * a);
  const supplied = new Float64Array(accounts * a);
  const debt = new Float64Array(accounts * a);
  const eMode = new Uint8Array(accounts);
  const list: Address[] = new Array(accounts);
  // Collateral preference (volatile-heavy) and debt preference (stable-heavy), as cumulative weights.
  const collPick = [0.38, 0.55, 0.72, 0.86, 0.95, 1];
  const debtPick = [0.18, 0.2, 0.24, 0.68, 0.96, 1];
  const pick = (cum: number[]) => {
    const u = rng();
    let j = 0;
    while (u >= cum[j]!) j++;
    return j;
  };
  const lt = (i: number, j: number) => {
    const e = eMode[i]!;
    return e !== 0 && assets[j]!.eModeCategory === e
      ? eModes[e]!.liquidationThreshold
      : assets[j]!.liquidationThreshold;
  };
  for (let i = 0; i < accounts; i++) {
    list[i] = addr(0x10000000 + i);
    const row = i * a;
    const sizeUsd = Math.exp(Math.log(5_000) + 1.6 * normal(rng)); // median $5k, long tail
    const borrower = rng() >= 0.3;
    // E-mode: ETH-correlated or stablecoin loops.
    const em = borrower && rng() < 0.15 ? (rng() < 0.6 ? 1 : 2) : 0;
    eMode[i] = em;
    let c1: number;
    let c2 = -1;
    let d1: number;
    if (em === 1) {
      c1 = rng() < 0.7 ? 1 : 0;
      d1 = c1 === 1 ? 0 : 1;
    } else if (em === 2) {
      c1 = rng() < 0.6 ? 3 : 4;
      d1 = c1 === 3 ? 4 : 3;
    } else {
      c1 = pick(collPick);
      if (rng() < 0.3) c2 = pick(collPick);
      d1 = pick(debtPick);
      if (d1 === c1) d1 = c1 === 3 ? 4 : 3;
    }
    const share = c2 >= 0 && c2 !== c1 ? 0.3 + 0.4 * rng() : 1;
    collateral[row + c1] = (sizeUsd * share) / assets[c1]!.priceUsd;
    if (share < 1) collateral[row + c2] = (sizeUsd * (1 - share)) / assets[c2]!.priceUsd;
    // Supply-only assets not enabled as collateral, now and then.
    const idle = rng() < 0.1 ? pick(collPick) : -1;
    for (let j = 0; j < a; j++) supplied[row + j] = collateral[row + j]!;
    if (idle >= 0) supplied[row + idle]! += (sizeUsd * 0.2) / assets[idle]!.priceUsd;
    if (!borrower) continue;
    // Target health factor: 0.5 % below 1, otherwise 1 + a log-normal margin (median ~0.55).
    const hf = rng() < 0.005 ? 0.85 + 0.15 * rng() : 1 + Math.exp(Math.log(0.55) + 0.9 * normal(rng));
    let weighted = 0;
    for (let j = 0; j < a; j++) weighted += collateral[row + j]! * assets[j]!.priceUsd * lt(i, j);
    const debtUsd = weighted / hf;
    if (rng() < 0.1 && em === 0) {
      let d2 = pick(debtPick);
      if (d2 === d1 || collateral[row + d2]! > 0) d2 = d1 === 3 ? 4 : 3;
      if (collateral[row + d2]! > 0) d2 = d1;
      debt[row + d1]! += (debtUsd * 0.6) / assets[d1]!.priceUsd;
      debt[row + d2]! += (debtUsd * 0.4) / assets[d2]!.priceUsd;
    } else {
      debt[row + d1]! += debtUsd / assets[d1]!.priceUsd;
    }
  }
  return {
    chainId: 31337,
    blockNumber: 0n,
    assets,
    eModes,
    accounts: list,
    collateral,
    supplied,
    debt,
    eMode,
  };
}

/** One position for `snapshotFrom`: amounts per asset (whole tokens), e-mode id. */
export interface PositionSpec {
  collateral?: readonly number[];
  debt?: readonly number[];
  /** Supplied but not enabled as collateral. */
  idle?: readonly number[];
  eMode?: number;
}

/**
 * A snapshot from a few hand-written positions (for examples and tests of pure logic).
 *
 * @example snapshotFrom(syntheticAssets(), [{ collateral: [1], debt: [0, 0, 0, 1000] }])
 */
export function snapshotFrom(
  assets: readonly RiskAsset[],
  positions: readonly PositionSpec[],
  eModes: readonly (EModeCategory | undefined)[] = [undefined],
): PositionSnapshot {
  const a = assets.length;
  const n = positions.length;
  const collateral = new Float64Array(n * a);
  const supplied = new Float64Array(n * a);
  const debt = new Float64Array(n * a);
  const eMode = new Uint8Array(n);
  positions.forEach((pos, i) => {
    for (let j = 0; j < a; j++) {
      collateral[i * a + j] = pos.collateral?.[j] ?? 0;
      supplied[i * a + j] = (pos.collateral?.[j] ?? 0) + (pos.idle?.[j] ?? 0);
      debt[i * a + j] = pos.debt?.[j] ?? 0;
    }
    eMode[i] = pos.eMode ?? 0;
  });
  return {
    chainId: 31337,
    blockNumber: 0n,
    assets,
    eModes,
    accounts: positions.map((_, i) => addr(0x20000000 + i)),
    collateral,
    supplied,
    debt,
    eMode,
  };
}
