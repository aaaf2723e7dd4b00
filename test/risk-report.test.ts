// `firebreak risk` as a user runs it, on the Inverse Finance scenario: the real Aave v3 market and
// Uniswap v2 pool on the embedded chain, the position book built from the market's logs, and a
// Markdown report with SVG charts. The report's figures are checked against the node (the same
// scenario replayed, `getUserAccountData` read at the end) and against the JSON figures the
// command wrote; the charts against those figures.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommon } from '../src/common/common';
import { riskThresholds } from '../src/detectors/risk-thresholds';
import { detectorHarness } from '../src/detectors/testing';
import { createBlockView } from '../src/detectors/view';
import { prepareDrill, runScenario } from '../src/drills/runner';
import { loadScenario } from '../src/drills/scenario';
import { buildBookSnapshot } from '../src/engine/risk';
import { readUserAccountData } from '../src/protocols/aave-v3/reader';
import { usd, usdShort } from '../src/risk/report';

const SCENARIO = 'scenarios/inverse-finance-2022.yaml';

const firebreak = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/firebreak.mjs', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

interface Figures {
  blockNumber: string;
  accounts: number;
  book: { parityChecked: number; parityMismatches: number };
  assets: { symbol: string; priceUsd: number; referencePriceUsd: number }[];
  now: {
    totalDebtUsd: number;
    totalCollateralUsd: number;
    borrowers: number;
    weakest: { account: string; healthFactor: number; debtUsd: number; collateralUsd: number };
  };
  atReference: { badDebtUsd: number };
  healthFactorBuckets: { label: string; accounts: number }[];
  lar: { label: string; liquidatableDebtUsd: number[]; badDebtUsd: number[] }[];
  cascade: { rounds: unknown[]; badDebtUsd: number; liquidatedDebtUsd: number; shockedAssets: string[] };
  contagion: { edges: { from: string; to: string; lossUsd: number }[] };
  sensitivity: { thresholds: { badDebtAtHorizonUsd: number }[] };
  monteCarlo: { valueAtRiskUsd: number; liquidationsAtRiskUsd: number };
}

describe('firebreak risk', () => {
  let dir: string;
  let run: ReturnType<typeof firebreak>;
  let md: string;
  let figures: Figures;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'firebreak-risk-'));
    run = firebreak(
      'risk',
      SCENARIO,
      '--md',
      join(dir, 'report.md'),
      '--json',
      join(dir, 'risk.json'),
      '--quiet',
    );
    if (run.code === 0) {
      md = readFileSync(join(dir, 'report.md'), 'utf8');
      figures = JSON.parse(readFileSync(join(dir, 'risk.json'), 'utf8')) as Figures;
    }
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes the report, its charts and the JSON figures', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    for (const f of [
      'report.md',
      'report-hf-histogram.svg',
      'report-cascade.svg',
      'report-contagion.svg',
      'risk.json',
    ])
      expect(existsSync(join(dir, f)), f).toBe(true);
    for (const link of md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g))
      expect(existsSync(join(dir, link[1]!)), link[1]).toBe(true);
    expect(run.stdout).toContain(`block ${figures.blockNumber}`);
  });

  it("values the market as the node does, and raises risk findings on it: the attacker's position", async () => {
    // Replay the same scenario on a fresh chain and ask the Pool itself.
    const scenario = loadScenario(SCENARIO);
    const prepared = await prepareDrill(scenario);
    try {
      await runScenario('counterfactual', prepared, scenario, { budget: 1, common: createCommon() });
      const head = await prepared.chain.client.getBlockNumber();
      expect(head.toString()).toBe(figures.blockNumber);
      const borrower = figures.now.weakest.account as `0x${string}`;
      const node = await readUserAccountData(
        prepared.chain.client,
        prepared.market.aave.pool,
        borrower,
        head,
      );
      expect(figures.now.borrowers).toBe(1);
      expect(figures.now.weakest.debtUsd).toBeCloseTo(Number(node.totalDebtBase) / 1e8, 2);
      expect(figures.now.totalDebtUsd).toBeCloseTo(Number(node.totalDebtBase) / 1e8, 2);
      expect(figures.now.weakest.collateralUsd).toBeCloseTo(Number(node.totalCollateralBase) / 1e8, 2);
      expect(figures.now.weakest.healthFactor).toBeCloseTo(Number(node.healthFactor) / 1e18, 9);
      expect(figures.book.parityMismatches).toBe(0);
      expect(figures.book.parityChecked).toBe(figures.accounts);
      // The suppliers' deposits, from the scenario file, make up the rest of the collateral.
      const price = (s: string) => scenario.market.assets.find((a) => a.symbol === s)!.priceUsd;
      const deposits = scenario.accounts
        .filter((a) => a.role === 'supplier')
        .reduce((sum, a) => sum + Object.entries(a.supplies).reduce((t, [s, n]) => t + n * price(s), 0), 0);
      expect(figures.now.totalCollateralUsd - figures.now.weakest.collateralUsd).toBeCloseTo(deposits, -1);

      // Risk findings on the same market: the position book's snapshot handed to the detector
      // through the block view. The attacker's position is healthy at the (manipulated) oracle
      // price, so there is no bad debt; an INV fall of 20 % makes all its debt liquidatable.
      const { snapshot, parity } = await buildBookSnapshot(
        prepared.chain.client,
        prepared.chain.chainId,
        prepared.market.aave,
        head,
      );
      expect(parity.mismatches).toBe(0);
      const market = prepared.market.aave.addressesProvider;
      const detect = detectorHarness(riskThresholds, {
        market,
        badDebt: { thresholdUsd: 1 },
        lar: { thresholdUsd: 1_000_000, criticalUsd: 4_000_000, shockBps: 2000, assets: ['INV', 'WETH'] },
      });
      const block = await prepared.chain.client.getBlock({ blockNumber: head });
      const event = {
        type: 'block' as const,
        chainId: prepared.chain.chainId,
        receivedAt: 0,
        block: { number: head, hash: block.hash!, parentHash: block.parentHash, timestamp: block.timestamp },
        logs: [],
      };
      const view = createBlockView(prepared.chain.client, prepared.chain.chainId, head);
      const findings = await detect(event, {
        ...view,
        positions: async (m) => (m === market.toLowerCase() ? snapshot : null),
      });
      expect(findings.map((f) => f.evidence.metric)).toEqual(['lar']);
      const [lar] = findings;
      expect(lar!.kind).toBe('liquidity');
      expect(lar!.severity).toBe(Number(node.totalDebtBase) / 1e8 >= 4_000_000 ? 'critical' : 'high');
      expect(lar!.evidence.movedAssets).toBe('INV');
      expect(lar!.subject.asset).toBe(prepared.market.tokens.get('INV')!.address);
      expect(lar!.evidence.valueUsd).toBeCloseTo(Number(node.totalDebtBase) / 1e8, 0);
    } finally {
      await prepared.chain.close();
    }
  }, 120_000);

  it('shows the manipulated oracle against the reference price, and the bad debt at the true price', () => {
    const scenario = loadScenario(SCENARIO);
    const inv = figures.assets.find((a) => a.symbol === 'INV')!;
    expect(inv.referencePriceUsd).toBeCloseTo(
      scenario.market.assets.find((a) => a.symbol === 'INV')!.priceUsd,
      2,
    );
    expect(inv.priceUsd / inv.referencePriceUsd).toBeGreaterThan(10);
    expect(md).toContain(`${(inv.priceUsd / inv.referencePriceUsd).toFixed(3)}×`);
    expect(figures.atReference.badDebtUsd).toBeGreaterThan(0);
    expect(md).toContain(
      `| bad debt at the reference (true) prices | ${usd(figures.atReference.badDebtUsd)} |`,
    );
  });

  it('carries the computed figures into the page', () => {
    expect(md).toContain(`| total debt | ${usd(figures.now.totalDebtUsd)} |`);
    expect(md).toContain(`| VaR | ${usd(figures.monteCarlo.valueAtRiskUsd)} |`);
    expect(md).toContain(`| LaR | ${usd(figures.monteCarlo.liquidationsAtRiskUsd)} |`);
    expect(md).toContain(`| debt liquidated | ${usd(figures.cascade.liquidatedDebtUsd)} |`);
    expect(md).toContain(`| bad debt at the end | ${usd(figures.cascade.badDebtUsd)}`);
    for (const row of figures.sensitivity.thresholds) expect(md).toContain(usd(row.badDebtAtHorizonUsd));
    for (const b of figures.healthFactorBuckets) expect(md).toContain(`| ${b.label} | ${b.accounts} |`);
    // The cascade sells the attacker's INV into the thin pool: the shock is on INV, the largest collateral.
    expect(figures.cascade.shockedAssets).toEqual(['INV']);
    expect(figures.cascade.badDebtUsd).toBeGreaterThan(0);
  });

  it('draws the charts from the same figures', () => {
    const svg = (name: string) => readFileSync(join(dir, name), 'utf8');
    const hist = svg('report-hf-histogram.svg');
    for (const b of figures.healthFactorBuckets) expect(hist).toContain(`>${b.accounts}</text>`);
    const cascade = svg('report-cascade.svg');
    expect((cascade.match(/<rect [^>]*fill="#d9822b"/g) ?? []).length).toBe(figures.cascade.rounds.length);
    const contagion = svg('report-contagion.svg');
    expect(figures.contagion.edges.length).toBeGreaterThan(0);
    for (const e of figures.contagion.edges) expect(contagion).toContain(usdShort(e.lossUsd));
    // One LaR chart per asset whose curves are not flat zero.
    for (const curve of figures.lar) {
      const drawn = existsSync(join(dir, `report-lar-${curve.label}.svg`));
      const any = [...curve.liquidatableDebtUsd, ...curve.badDebtUsd].some((v) => v > 0);
      expect(drawn, curve.label).toBe(any);
    }
    expect(existsSync(join(dir, 'report-lar-INV.svg'))).toBe(true);
  });

  it('refuses a report path in a missing folder before deploying anything, exit 2', () => {
    const r = firebreak('risk', SCENARIO, '--md', join(dir, 'nope', 'report.md'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(join(dir, 'nope', 'report.md'));
    expect(r.stderr).toMatch(/does not exist\n\s+fix: create it/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('names a missing scenario file and an unknown shock asset, exit 2', () => {
    const missing = firebreak('risk', 'scenarios/nope.yaml', '--md', join(dir, 'x.md'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('scenarios/nope.yaml');
    const asset = firebreak('risk', SCENARIO, '--md', join(dir, 'x.md'), '--shock-assets', 'WBTC');
    expect(asset.code).toBe(2);
    expect(asset.stderr).toContain('"WBTC"');
    expect(asset.stderr).toContain('fix: use one of USDC, WETH, INV');
    const noMd = firebreak('risk', SCENARIO);
    expect(noMd.code).toBe(2);
    expect(noMd.stderr).toContain('fix: firebreak risk scenarios/inverse-finance-2022.yaml --md');
  });
});
