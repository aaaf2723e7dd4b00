/**
 * Drills — generated populations: many ordinary borrowers, each an Aave v3 position opened by the
 * drill-only PositionSpawner, with sizes and health factors drawn (deterministically, from the
 * scenario seed) from the distributions the scenario names.
 *
 * A position supplies one collateral asset and borrows one debt asset at the variable rate, in no
 * e-mode; a population without `debt` is suppliers, who supply and borrow nothing. Its collateral is worth `sizeUsd` (log-normal around the median, clamped) at the
 * protocol oracle's price when it opens; its health factor, at the oracle's prices and the
 * collateral's liquidation threshold, is drawn uniformly in `healthFactor` [min, max], and the debt
 * follows: `debtUsd = collateralUsd × LT / HF`. A population the market cannot hold (a health
 * factor the collateral's LTV does not allow to borrow, more debt than the reserve can lend, an
 * asset that is not borrowable or not collateral) is refused before anything is sent.
 */
import { type Address, encodeFunctionData, type Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { EmbeddedChain } from '../chain/embedded';
import { FirebreakError } from '../common/errors';
import { createRng, mixSeed, normal } from '../common/random';
import { type ConfigProblem, formatPath } from '../config/errors';
import { erc20Abi } from '../protocols/aave-v3/abi';
import { readAssetPrice, readReserveConfiguration } from '../protocols/aave-v3/reader';
import type { ReserveConfiguration } from '../protocols/aave-v3/types';
import { type DrillMarket, mintDrillToken, toUnits } from './market';
import { type PopulationSpec, populationSchema } from './population-schema';
import {
  deploySpawner,
  GAS_PER_SIMPLE_POSITION,
  mineTransactions,
  openPositions,
  runTransactions,
  type SpawnerCall,
  type SpawnPosition,
} from './spawner';

export { type PopulationSpec, populationSchema };

/** One opened position of a population. */
export interface PopulationPosition {
  /** `<population name>-<k>`, k from 1. */
  name: string;
  /** The position's account (a spawner clone), lower case. */
  address: Hex;
  /** Symbols; `debt` null for a supplier. */
  collateral: string;
  debt: string | null;
}

/** One position as drawn, before it is opened: raw token units. */
export interface PlannedPosition {
  name: string;
  collateral: string;
  /** Null for a supplier (then `debtUnits` is 0 and `healthFactor` infinite). */
  debt: string | null;
  collateralUnits: bigint;
  debtUnits: bigint;
  /** The health factor aimed at (the on-chain one differs by rounding only). */
  healthFactor: number;
}

/** What the planner needs to know about one asset of the market. */
export interface PopulationAssetState {
  symbol: string;
  address: Address;
  decimals: number;
  /** Oracle price, base currency units (8 decimals: USD). */
  price: bigint;
  config: Pick<
    ReserveConfiguration,
    | 'ltvBps'
    | 'liquidationThresholdBps'
    | 'borrowingEnabled'
    | 'isActive'
    | 'isFrozen'
    | 'isPaused'
    | 'eModeCategory'
  >;
  /** Underlying held by the aToken: what can be borrowed now (raw units). */
  liquidity: bigint;
}

/** Relative margin kept inside the health-factor range, for interest accrued while opening. */
const HF_MARGIN = 1e-5;
const BASE_UNIT = 1e8;

const problem = (i: number, path: (string | number)[], message: string, fix: string): ConfigProblem => ({
  path: ['population', i, ...path],
  message,
  fix,
});

/** A FirebreakError listing every problem, in the scenario errors' format. */
export function populationError(problems: readonly ConfigProblem[]): FirebreakError {
  const lines = problems.map((p) => `  - ${formatPath(p.path)}: ${p.message}\n    fix: ${p.fix}`);
  return new FirebreakError(
    'ERR_SCENARIO_INVALID',
    `scenario population cannot be opened on this market (${problems.length} problem${problems.length === 1 ? '' : 's'})\n${lines.join('\n')}`,
    { details: { problems } },
  );
}

/**
 * Draws every position of `specs` (pure: no chain), checking that the market can hold them.
 * Deterministic: population `i` draws from `mixSeed(seed, i)`, so adding a population leaves the
 * others unchanged. Throws `ERR_SCENARIO_INVALID` naming `population[i]` and the fix.
 */
export function planPopulation(
  specs: readonly PopulationSpec[],
  assets: ReadonlyMap<string, PopulationAssetState>,
  seed: number,
): PlannedPosition[][] {
  const problems: ConfigProblem[] = [];
  const known = [...assets.keys()].join(', ') || '(none)';
  const names = new Set<string>();
  // Borrowable liquidity as populations open in order: earlier populations' supplies add to it.
  const available = new Map([...assets.values()].map((a) => [a.symbol, a.liquidity]));
  const plans: PlannedPosition[][] = [];
  specs.forEach((spec, i) => {
    plans.push([]);
    const parsed = populationSchema.safeParse(spec);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        problems.push(
          problem(
            i,
            issue.path.filter((p): p is string | number => typeof p !== 'symbol'),
            issue.message,
            'see populationSchema in src/drills/population.ts',
          ),
        );
      return;
    }
    const hfRange = spec.healthFactor;
    if ((spec.debt === undefined) !== (hfRange === undefined))
      problems.push(
        problem(
          i,
          ['healthFactor'],
          spec.debt === undefined
            ? 'a population without debt (suppliers) has no health factor'
            : 'a population of borrowers needs a health-factor range',
          spec.debt === undefined ? 'remove healthFactor, or give debt' : 'give healthFactor: { min, max }',
        ),
      );
    if (hfRange && hfRange.min > hfRange.max)
      problems.push(
        problem(i, ['healthFactor', 'max'], 'max is below min', 'make healthFactor.max ≥ healthFactor.min'),
      );
    const size = spec.sizeUsd;
    if ((size.min ?? 0) > size.median || (size.max ?? Number.POSITIVE_INFINITY) < size.median)
      problems.push(
        problem(
          i,
          ['sizeUsd'],
          'the median is outside [min, max]',
          'make sizeUsd.min ≤ median ≤ sizeUsd.max',
        ),
      );
    if (names.has(spec.name))
      problems.push(
        problem(i, ['name'], `duplicate population name "${spec.name}"`, 'give each population its own name'),
      );
    names.add(spec.name);
    const coll = assets.get(spec.collateral);
    const collateralProblem = () =>
      !coll
        ? problem(
            i,
            ['collateral'],
            `unknown asset "${spec.collateral}"`,
            `use one of market.assets: ${known}`,
          )
        : !coll.config.isActive || coll.config.isFrozen || coll.config.isPaused
          ? problem(
              i,
              ['collateral'],
              `the ${coll.symbol} reserve is not open for supply (inactive, frozen or paused)`,
              'use a live reserve',
            )
          : null;
    if (spec.debt === undefined || !hfRange) {
      const wrong = collateralProblem();
      if (wrong) problems.push(wrong);
      else if (coll && problems.length === 0) {
        const drawn = planSuppliers(spec, coll, i, seed, problems);
        plans[i] = drawn;
        const supplied = drawn.reduce((sum, p) => sum + p.collateralUnits, 0n);
        available.set(coll.symbol, available.get(coll.symbol)! + supplied);
      }
      return;
    }
    const debt = assets.get(spec.debt);
    const before = problems.length;
    const wrong = collateralProblem();
    if (wrong) problems.push(wrong);
    if (!debt)
      problems.push(
        problem(i, ['debt'], `unknown asset "${spec.debt}"`, `use one of market.assets: ${known}`),
      );
    if (!coll || !debt) return;
    if (coll.config.ltvBps === 0 || coll.config.liquidationThresholdBps === 0)
      problems.push(
        problem(
          i,
          ['collateral'],
          `${coll.symbol} cannot back a borrow (LTV ${coll.config.ltvBps / 100}%, liquidation threshold ${coll.config.liquidationThresholdBps / 100}%)`,
          'use an asset with ltvBps > 0 as collateral',
        ),
      );
    if (
      !debt.config.borrowingEnabled ||
      !debt.config.isActive ||
      debt.config.isFrozen ||
      debt.config.isPaused
    )
      problems.push(
        problem(
          i,
          ['debt'],
          `${debt.symbol} is not borrowable on this market${debt.config.borrowingEnabled ? ' (inactive, frozen or paused)' : ' (borrowingEnabled: false)'}`,
          `borrow an asset with borrowingEnabled: true, or enable borrowing of ${debt.symbol} in market.assets`,
        ),
      );
    if (problems.length > before) return;
    const lt = coll.config.liquidationThresholdBps / 1e4;
    const ltv = coll.config.ltvBps / 1e4;
    const lowest = lt / ltv;
    if (hfRange.min < lowest)
      problems.push(
        problem(
          i,
          ['healthFactor', 'min'],
          `health factor ${hfRange.min} is below what ${coll.symbol}'s LTV lets a position borrow to (LT/LTV = ${coll.config.liquidationThresholdBps / 100}%/${coll.config.ltvBps / 100}% = ${Number(lowest.toFixed(6))})`,
          `make healthFactor.min ≥ ${(Math.ceil(lowest * 1e4) / 1e4).toFixed(4)}`,
        ),
      );
    if (problems.length > before) return;

    const rng = createRng(mixSeed(seed, i));
    const { median, sigma } = spec.sizeUsd;
    const lo = spec.sizeUsd.min ?? median * Math.exp(-3 * sigma);
    const hi = spec.sizeUsd.max ?? median * Math.exp(3 * sigma);
    const hfLo = hfRange.min * (1 + HF_MARGIN);
    const hfHi = hfRange.max * (1 - HF_MARGIN);
    const collPrice = Number(coll.price) / BASE_UNIT;
    const debtPrice = Number(debt.price) / BASE_UNIT;
    let collTotal = 0n;
    let debtTotal = 0n;
    for (let k = 0; k < spec.count; k++) {
      const size = Math.min(hi, Math.max(lo, median * Math.exp(sigma * normal(rng))));
      const u = rng();
      const drawn = hfRange.min + u * (hfRange.max - hfRange.min);
      const hf = hfLo <= hfHi ? Math.min(hfHi, Math.max(hfLo, drawn)) : drawn;
      const collateralUnits = toUnits(size / collPrice, coll.decimals);
      const collUsd = Number((collateralUnits * coll.price) / 10n ** BigInt(coll.decimals)) / BASE_UNIT;
      const debtUnits = toUnits(((collUsd * lt) / hf / debtPrice) * (1 - 1e-12), debt.decimals);
      if (collateralUnits <= 0n || debtUnits <= 0n) {
        problems.push(
          problem(
            i,
            ['sizeUsd'],
            `a position of $${size.toPrecision(3)} rounds to no ${collateralUnits <= 0n ? spec.collateral : spec.debt}`,
            'raise sizeUsd.min (or the median)',
          ),
        );
        return;
      }
      collTotal += collateralUnits;
      debtTotal += debtUnits;
      plans[i]!.push({
        name: `${spec.name}-${k + 1}`,
        collateral: spec.collateral,
        debt: spec.debt,
        collateralUnits,
        debtUnits,
        healthFactor: hf,
      });
    }
    if (spec.collateral === spec.debt) available.set(debt.symbol, available.get(debt.symbol)! + collTotal);
    const can = available.get(debt.symbol)!;
    if (debtTotal > can) {
      const whole = (x: bigint) => Math.floor(Number(x) / 10 ** debt.decimals).toLocaleString('en-US');
      problems.push(
        problem(
          i,
          ['debt'],
          `the population borrows ${whole(debtTotal)} ${debt.symbol} in all; the ${debt.symbol} reserve can lend ${whole(can)}`,
          `supply more ${debt.symbol} (a supplier account's supplies), or lower count, sizeUsd or raise healthFactor`,
        ),
      );
      return;
    }
    available.set(debt.symbol, can - debtTotal);
    if (spec.collateral !== spec.debt) available.set(coll.symbol, available.get(coll.symbol)! + collTotal);
  });
  if (problems.length > 0) throw populationError(problems);
  return plans;
}

/**
 * A supplier population's positions: each supplies `sizeUsd` (log-normal, clamped, drawn from
 * `mixSeed(seed, i)` as a borrower population's are) of its asset and borrows nothing.
 */
function planSuppliers(
  spec: PopulationSpec,
  coll: PopulationAssetState,
  i: number,
  seed: number,
  problems: ConfigProblem[],
): PlannedPosition[] {
  const rng = createRng(mixSeed(seed, i));
  const { median, sigma } = spec.sizeUsd;
  const lo = spec.sizeUsd.min ?? median * Math.exp(-3 * sigma);
  const hi = spec.sizeUsd.max ?? median * Math.exp(3 * sigma);
  const price = Number(coll.price) / BASE_UNIT;
  const out: PlannedPosition[] = [];
  for (let k = 0; k < spec.count; k++) {
    const size = Math.min(hi, Math.max(lo, median * Math.exp(sigma * normal(rng))));
    const collateralUnits = toUnits(size / price, coll.decimals);
    if (collateralUnits <= 0n) {
      problems.push(
        problem(
          i,
          ['sizeUsd'],
          `a position of $${size.toPrecision(3)} rounds to no ${spec.collateral}`,
          'raise sizeUsd.min (or the median)',
        ),
      );
      return [];
    }
    out.push({
      name: `${spec.name}-${k + 1}`,
      collateral: spec.collateral,
      debt: null,
      collateralUnits,
      debtUnits: 0n,
      healthFactor: Number.POSITIVE_INFINITY,
    });
  }
  return out;
}

/** Reads what the planner needs about every asset of the drill market (prices, configuration, liquidity). */
export async function readPopulationAssets(
  chain: EmbeddedChain,
  market: DrillMarket,
): Promise<Map<string, PopulationAssetState>> {
  const { client } = chain;
  const out = new Map<string, PopulationAssetState>();
  for (const t of market.tokens.values()) {
    const reserve = market.aave.reserves[t.symbol];
    const [price, config, liquidity] = await Promise.all([
      readAssetPrice(client, market.aave.oracle, t.address),
      readReserveConfiguration(client, market.aave.pool, t.address),
      reserve
        ? readContract(client, {
            address: t.address,
            abi: erc20Abi,
            functionName: 'balanceOf',
            args: [reserve.aToken],
          })
        : Promise.resolve(0n),
    ]);
    out.set(t.symbol, {
      symbol: t.symbol,
      address: t.address,
      decimals: t.decimals,
      price,
      config,
      liquidity,
    });
  }
  return out;
}

/**
 * Opens every position of `specs` on the drill market's real Aave v3 pool through a fresh
 * PositionSpawner (deployed and owned by the market's deployer, which mints it the collateral).
 * Call it with automine on, after `deployDrillMarket` and before the drill turns automine off; it
 * leaves automine on. Returns the positions in spec order.
 *
 * @example
 * const market = await deployDrillMarket(chain, scenario, progress);
 * const crowd = await deployPopulation(chain, market, scenario.population, scenario.seed, progress);
 */
export async function deployPopulation(
  chain: EmbeddedChain,
  market: DrillMarket,
  specs: readonly PopulationSpec[],
  seed: number,
  progress: (message: string) => void = () => {},
): Promise<PopulationPosition[]> {
  if (specs.length === 0) return [];
  const assets = await readPopulationAssets(chain, market);
  const plans = planPopulation(specs, assets, seed).flat();
  const started = performance.now();
  progress(`population: ${plans.length} positions planned`);

  const { deployer } = market;
  const pool = market.aave.pool;
  const spawner = await deploySpawner(chain, deployer, pool);
  const totals = new Map<string, bigint>();
  for (const p of plans) totals.set(p.collateral, (totals.get(p.collateral) ?? 0n) + p.collateralUnits);
  const approvals: SpawnerCall[] = [];
  for (const [sym, amount] of totals) {
    const asset = assets.get(sym)!.address;
    await mintDrillToken(chain, deployer, asset, spawner, amount);
    approvals.push({
      account: spawner,
      target: asset,
      data: encodeApprove(pool),
    });
  }
  await mineTransactions(chain, deployer, runTransactions(spawner, approvals));

  const positions: SpawnPosition[] = plans.map((p) => ({
    eMode: 0,
    supplies: [{ asset: assets.get(p.collateral)!.address, amount: p.collateralUnits }],
    borrows: p.debt === null ? [] : [{ asset: assets.get(p.debt)!.address, amount: p.debtUnits }],
  }));
  const accounts = await openPositions(chain, deployer, spawner, positions, {
    gasPerPosition: GAS_PER_SIMPLE_POSITION,
    onBlock: (opened) =>
      progress(
        `population: ${opened}/${plans.length} positions (${((performance.now() - started) / 1000).toFixed(1)} s)`,
      ),
  });
  return plans.map((p, k) => ({
    name: p.name,
    address: accounts[k]!,
    collateral: p.collateral,
    debt: p.debt,
  }));
}

const encodeApprove = (spender: Address): Hex =>
  encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [spender, 2n ** 256n - 1n] });
