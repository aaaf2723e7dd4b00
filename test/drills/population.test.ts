/**
 * Generated populations (issue 8) on a real Aave v3 drill market on the embedded chain: every
 * position opens through the PositionSpawner with the drawn collateral and debt, its on-chain
 * health factor (`getUserAccountData`) lies in the spec's range, the same seed gives the same
 * positions, and a population the market cannot hold is refused, naming `population[i]` and the
 * fix, before anything is sent.
 */
import { type Hex, parseEventLogs } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain } from '../../src/chain/embedded';
import { isFirebreakError } from '../../src/common/errors';
import { type DrillMarket, deployDrillMarket } from '../../src/drills/market';
import {
  deployPopulation,
  type PopulationPosition,
  type PopulationSpec,
  planPopulation,
  populationSchema,
  readPopulationAssets,
} from '../../src/drills/population';
import { parseScenario } from '../../src/drills/scenario';
import { deployAccountReader, readAccountDataBatch } from '../../src/drills/spawner';
import { poolAbi } from '../../src/protocols/aave-v3/abi';
import { USDC_ASSET, WETH_ASSET } from '../support/assets';

const scenario = parseScenario(
  {
    name: 'population-test',
    title: 'Populations on a small market',
    market: {
      assets: [
        USDC_ASSET,
        WETH_ASSET,
        {
          symbol: 'WBTC',
          decimals: 8,
          priceUsd: 30000,
          ltvBps: 7000,
          liquidationThresholdBps: 7500,
          liquidationBonusBps: 10650,
        },
        {
          symbol: 'GOV',
          decimals: 18,
          priceUsd: 5,
          ltvBps: 5000,
          liquidationThresholdBps: 6000,
          liquidationBonusBps: 11000,
          borrowingEnabled: false,
        },
      ],
    },
    accounts: [
      { name: 'usdc-supplier', role: 'supplier', supplies: { USDC: 50_000_000 } },
      { name: 'weth-supplier', role: 'supplier', supplies: { WETH: 2_000 } },
    ],
    timeline: [{ block: 1, do: 'set-price', asset: 'WETH', priceUsd: 2000 }],
  },
  'inline-population-test',
);

const spec = (over: Record<string, unknown>): PopulationSpec =>
  populationSchema.parse({
    name: 'crowd',
    count: 10,
    collateral: 'WETH',
    debt: 'USDC',
    sizeUsd: { median: 10_000, sigma: 1 },
    healthFactor: { min: 1.1, max: 2 },
    ...over,
  });

const SPECS = [
  spec({
    name: 'crowd',
    count: 200,
    sizeUsd: { median: 20_000, sigma: 1, min: 500, max: 500_000 },
    healthFactor: { min: 1.04, max: 1.8 },
  }),
  spec({
    name: 'btc-whales',
    count: 50,
    collateral: 'WBTC',
    debt: 'USDC',
    sizeUsd: { median: 200_000, sigma: 0.5 },
    healthFactor: { min: 1.2, max: 1.5 },
  }),
  spec({
    name: 'eth-shorts',
    count: 50,
    collateral: 'USDC',
    debt: 'WETH',
    sizeUsd: { median: 5_000, sigma: 0.3 },
    healthFactor: { min: 1.1, max: 3 },
  }),
];

/** The Borrow events of `accounts` between two blocks: (account, asset, amount), in log order. */
async function borrows(chain: EmbeddedChain, market: DrillMarket, from: bigint) {
  const logs = await chain.client.getLogs({ address: market.aave.pool, fromBlock: from });
  return parseEventLogs({ abi: poolAbi, logs, eventName: 'Borrow' }).map((l) => ({
    account: l.args.onBehalfOf.toLowerCase(),
    asset: l.args.reserve.toLowerCase(),
    amount: l.args.amount,
  }));
}

describe('generated populations on a drill market', () => {
  let chain: EmbeddedChain;
  let market: DrillMarket;
  let clean: Hex;
  let reader: Hex;
  let crowd: PopulationPosition[];
  let openedFrom: bigint;
  const log = (line: string) => process.stderr.write(`[population] ${line}\n`);

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 5 });
    market = await deployDrillMarket(chain, scenario);
    reader = await deployAccountReader(chain, market.deployer);
    clean = await chain.snapshot();
    openedFrom = (await chain.client.getBlockNumber()) + 1n;
    const started = performance.now();
    crowd = await deployPopulation(chain, market, SPECS, 7);
    log(`${crowd.length} positions opened in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }, 300_000);

  afterAll(async () => {
    await chain?.close();
  });

  it('opens every position of every population, named in order', () => {
    expect(crowd.length).toBe(300);
    for (const s of SPECS) {
      const mine = crowd.filter((p) => p.name.startsWith(`${s.name}-`));
      expect(mine.length).toBe(s.count);
      expect(mine.map((p) => p.name)).toEqual(
        Array.from({ length: s.count }, (_, k) => `${s.name}-${k + 1}`),
      );
      expect(mine.every((p) => p.collateral === s.collateral && p.debt === s.debt)).toBe(true);
    }
    expect(new Set(crowd.map((p) => p.address)).size).toBe(300);
  });

  it("puts every position's on-chain health factor inside its population's range", async () => {
    const data = await readAccountDataBatch(
      chain,
      reader,
      market.aave.pool,
      crowd.map((p) => p.address),
    );
    const out: string[] = [];
    crowd.forEach((p, i) => {
      const s = SPECS.find((x) => p.name.startsWith(`${x.name}-`))!;
      const d = data[i]!;
      const hf = Number(d.healthFactor) / 1e18;
      if (!(d.totalDebtBase > 0n && hf >= s.healthFactor!.min && hf <= s.healthFactor!.max))
        out.push(`${p.name}: HF ${hf}, debt ${d.totalDebtBase}`);
      // Collateral value (USD) within the size clamp, at the oracle price.
      const usd = Number(d.totalCollateralBase) / 1e8;
      const lo = s.sizeUsd.min ?? s.sizeUsd.median * Math.exp(-3 * s.sizeUsd.sigma);
      const hi = s.sizeUsd.max ?? s.sizeUsd.median * Math.exp(3 * s.sizeUsd.sigma);
      if (!(usd >= lo * 0.999 && usd <= hi * 1.001))
        out.push(`${p.name}: collateral $${usd} outside [${lo}, ${hi}]`);
    });
    expect(out).toEqual([]);
    // The draws spread over the range (uniform): both ends of the crowd's range are populated.
    const hfs = data.slice(0, 200).map((d) => Number(d.healthFactor) / 1e18);
    expect(Math.min(...hfs)).toBeLessThan(1.1);
    expect(Math.max(...hfs)).toBeGreaterThan(1.7);
    // Sizes are log-normal around the median: about half the crowd above it.
    const above = data.slice(0, 200).filter((d) => Number(d.totalCollateralBase) / 1e8 > 20_000).length;
    expect(above).toBeGreaterThan(75);
    expect(above).toBeLessThan(125);
  }, 60_000);

  it('draws without a chain the same plan from the same seed', async () => {
    const assets = await readPopulationAssets(chain, market);
    const a = planPopulation(SPECS, assets, 7);
    const b = planPopulation(SPECS, assets, 7);
    expect(a).toEqual(b);
    // Population i draws from its own stream: adding a population leaves the earlier ones unchanged.
    expect(planPopulation(SPECS.slice(0, 2), assets, 7)).toEqual(a.slice(0, 2));
    expect(planPopulation(SPECS, assets, 8)[1]!.map((p) => p.debtUnits)).not.toEqual(
      a[1]!.map((p) => p.debtUnits),
    );
  });

  describe('refuses a population the market cannot hold, before sending anything', () => {
    const refused = async (specs: PopulationSpec[], path: string, fix: RegExp) => {
      const before = await chain.client.getBlockNumber();
      const error = await deployPopulation(chain, market, specs, 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isFirebreakError(error, 'ERR_SCENARIO_INVALID')).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain(path);
      expect(message).toMatch(fix);
      expect(await chain.client.getBlockNumber()).toBe(before);
      return message;
    };

    it('a health factor below what the LTV lets a position borrow to', async () => {
      // WETH: LT/LTV = 8250/8000 = 1.03125.
      const message = await refused(
        [spec({}), spec({ name: 'tight', healthFactor: { min: 1.02, max: 1.5 } })],
        'population[1].healthFactor.min',
        /fix: make healthFactor.min ≥ 1\.0313/,
      );
      expect(message).toContain('LT/LTV = 82.5%/80% = 1.03125');
    });

    it("a debt total above the debt reserve's available liquidity", async () => {
      // 50,000,000 USDC supplied, part of it lent to the crowd; 2,000 positions of $100k at HF 1.1 borrow $150M.
      const liquidity = (await readPopulationAssets(chain, market)).get('USDC')!.liquidity;
      expect(liquidity).toBeLessThan(50_000_000n * 10n ** 6n);
      const whole = Math.floor(Number(liquidity) / 1e6).toLocaleString('en-US');
      await refused(
        [
          spec({
            count: 2_000,
            sizeUsd: { median: 100_000, sigma: 0 },
            healthFactor: { min: 1.1, max: 1.1 },
          }),
        ],
        'population[0].debt',
        new RegExp(
          `borrows 150,000,000 USDC in all; the USDC reserve can lend ${whole}\\n\\s+fix: supply more USDC`,
        ),
      );
    });

    it('an asset that is not borrowable, and an unknown one', async () => {
      await refused(
        [spec({ debt: 'GOV' })],
        'population[0].debt',
        /GOV is not borrowable[\s\S]*fix: borrow an asset/,
      );
      await refused(
        [spec({ collateral: 'DOGE' })],
        'population[0].collateral',
        /unknown asset "DOGE"[\s\S]*fix: use one of market\.assets: USDC, WETH, WBTC, GOV/,
      );
    });

    it('a collateral that cannot back a borrow', async () => {
      // The market as read, with GOV's LTV at 0 (a reserve that counts as collateral for nothing).
      const assets = await readPopulationAssets(chain, market);
      const gov = assets.get('GOV')!;
      assets.set('GOV', { ...gov, config: { ...gov.config, ltvBps: 0 } });
      expect(() => planPopulation([spec({ collateral: 'GOV' })], assets, 1)).toThrow(
        /population\[0\]\.collateral: GOV cannot back a borrow[\s\S]*fix: use an asset with ltvBps > 0/,
      );
    });

    it('ranges upside down', async () => {
      await refused(
        [spec({ healthFactor: { min: 2, max: 1.5 } })],
        'population[0].healthFactor.max',
        /max is below min\n\s+fix: make healthFactor.max ≥ healthFactor.min/,
      );
      await refused(
        [spec({ sizeUsd: { median: 10, min: 20 } })],
        'population[0].sizeUsd',
        /fix: make sizeUsd.min ≤ median ≤ sizeUsd.max/,
      );
    });
  });

  it('opens the same positions from the same seed, and others from another seed', async () => {
    const first = await borrows(chain, market, openedFrom);
    expect(first.length).toBe(300);
    // The last test: it leaves the chain without the first deployment.
    await chain.revert(clean);
    clean = await chain.snapshot();
    const from = (await chain.client.getBlockNumber()) + 1n;
    const again = await deployPopulation(chain, market, SPECS.slice(0, 1), 7);
    expect(again.map((p) => p.address)).toEqual(crowd.slice(0, 200).map((p) => p.address));
    expect(await borrows(chain, market, from)).toEqual(first.slice(0, 200));
    await chain.revert(clean);
    clean = await chain.snapshot();
    const other = await deployPopulation(chain, market, SPECS.slice(0, 1), 8);
    const otherBorrows = await borrows(chain, market, from);
    expect(other.length).toBe(200);
    expect(otherBorrows.filter((b, k) => b.amount === first[k]!.amount).length).toBe(0);
  }, 240_000);

  it('opens a population of suppliers: collateral only, no debt, their liquidity lendable', async () => {
    await chain.revert(clean);
    clean = await chain.snapshot();
    const suppliers = populationSchema.parse({
      name: 'savers',
      count: 20,
      collateral: 'USDC',
      sizeUsd: { median: 50_000, sigma: 0.5 },
    });
    const before = (await readPopulationAssets(chain, market)).get('USDC')!.liquidity;
    const opened = await deployPopulation(chain, market, [suppliers], 3);
    expect(opened.map((p) => [p.collateral, p.debt])).toEqual(Array(20).fill(['USDC', null]));
    const data = await readAccountDataBatch(
      chain,
      reader,
      market.aave.pool,
      opened.map((p) => p.address),
    );
    expect(data.every((d) => d.totalDebtBase === 0n && d.totalCollateralBase > 0n)).toBe(true);
    const supplied = data.reduce((sum, d) => sum + d.totalCollateralBase, 0n); // USD, 8 decimals, USDC at $1
    const after = (await readPopulationAssets(chain, market)).get('USDC')!.liquidity;
    expect((after - before) * 100n).toBe(supplied);
    // A health factor on suppliers is refused, as is a borrower population without one.
    const refused = (over: Record<string, unknown>) =>
      expect(() => planPopulation([{ ...suppliers, ...over } as PopulationSpec], new Map(), 1)).toThrow(
        /population\[0\]\.healthFactor/,
      );
    refused({ healthFactor: { min: 1.1, max: 2 } });
    refused({ debt: 'WETH' });
  }, 120_000);
});
