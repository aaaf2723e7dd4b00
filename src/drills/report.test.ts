import { describe, expect, it } from 'vitest';
import {
  drillExitCode,
  drillOutcome,
  drillsToJson,
  drillToJson,
  renderDrillReport,
  summarizeDrills,
} from './report';
import type { DrillResult, RunResult } from './runner';
import { loadScenario } from './scenario';
import { SCENARIO_FORMAT_VERSION } from './scenario-schema';

// A hand-built result of pure data (no chain): the report is a pure function of it.
const scenario = loadScenario('scenarios/inverse-finance-2022.yaml');
const START = 64n;

function runResult(kind: RunResult['kind'], over: Partial<RunResult> = {}): RunResult {
  return {
    kind,
    startBlock: START,
    endBlock: START + 10n,
    steps: [
      {
        label: 'manipulate',
        actor: 'attacker',
        do: 'swap',
        offset: 1,
        block: START + 1n,
        status: ['success', 'success'],
        txs: [
          { hash: '0xaa', block: START + 1n, index: 0, status: 'success' },
          { hash: '0xab', block: START + 1n, index: 1, status: 'success' },
        ],
      },
      {
        label: 'borrow',
        actor: 'attacker',
        do: 'borrow',
        offset: 7,
        block: null,
        status: [],
        txs: [],
        skipped: 'no borrowing capacity',
      },
    ],
    firstHarmBlock: START + 1n,
    detectedBlock: kind === 'protected' ? START + 6n : null,
    mitigatedBlock: kind === 'protected' ? START + 7n : null,
    actions:
      kind === 'protected'
        ? [
            {
              id: 'act-1',
              action: 'aave-v3.contain-collateral',
              asset: 'INV',
              status: 'verified',
              txHashes: ['0xcc'],
              sentBlock: String(START + 6n),
              minedBlock: String(START + 7n),
              latencyMs: 69.04,
              findingToSentMs: 3.2,
            },
          ]
        : [],
    timeline:
      kind === 'protected'
        ? [
            {
              incidentId: 'inc-1',
              at: 1_000,
              block: START + 6n,
              type: 'finding',
              summary: 'CRITICAL oracle-deviation: INV | 56× its reference',
              data: { oracle: 123n, nested: [{ wei: 10n ** 20n }] },
            },
          ]
        : [],
    usable: kind === 'protected' ? { USDC: true, WETH: true } : {},
    mitigatedBeforeHarm: kind === 'protected' ? true : null,
    engineBlockMs: [],
    series: [1, 2].map((offset) => ({
      offset,
      block: Number(START) + offset,
      prices: { INV: 367.36, WETH: 3450 },
      oraclePrices: { INV: offset === 2 ? 20_000 : 367.36, WETH: 3450 },
    })),
    badDebtUsd: kind === 'protected' ? 0 : 4_466_000.123,
    assetsTakenUsd: 0,
    liquidationPenaltiesUsd: kind === 'protected' ? 0 : 1_234.567,
    lossUsd: kind === 'protected' ? 0 : 4_466_000.123,
    treasuryLossUsd: 0,
    scoredLossUsd: kind === 'protected' ? 0 : 4_466_000.123 + 1_234.567,
    attackerProfitUsd: kind === 'protected' ? -897_500 : 3_580_000,
    attackerTakeUsd: kind === 'protected' ? 0 : 3_580_000,
    liquidations:
      kind === 'protected'
        ? []
        : [
            {
              block: Number(START) + 8,
              user: '0x0000000000000000000000000000000000000001',
              liquidator: '0x0000000000000000000000000000000000000002',
              collateral: 'WETH',
              debt: 'USDC',
              debtRepaidUsd: 10_000.004,
              collateralSeizedUsd: 11_234.571,
            },
          ],
    bots: kind === 'protected' ? [{ name: 'keeper-bot', kind: 'liquidator', txs: 3, reverted: 1 }] : [],
    ...over,
  };
}

function drill(over: Partial<DrillResult> = {}, name = scenario.name): DrillResult {
  return {
    scenario: { ...scenario, name },
    blockBudgetMs: 12_000,
    marketDeployMs: 321.456,
    counterfactual: runResult('counterfactual'),
    protected: runResult('protected'),
    lossPreventedPct: 100,
    verdict: 'pass',
    expectedFailure: null,
    reasons: [],
    wallMs: 2_600.4,
    ...over,
  };
}

const failed = (over: Partial<DrillResult> = {}, name?: string) =>
  drill(
    {
      verdict: 'fail',
      reasons: ['protected loss $900000 exceeds 10% of the unprotected $4466000'],
      lossPreventedPct: 79.86,
      ...over,
    },
    name,
  );
const expectedFail = (name?: string) =>
  failed({ verdict: 'expected-fail', expectedFailure: 'no detector sees a slow drain' }, name);
const unexpectedPass = (name?: string) => drill({ expectedFailure: 'no detector sees a slow drain' }, name);

describe('verdicts and the exit code', () => {
  it('fails the run only for a real failure', () => {
    expect(drillOutcome(drill())).toBe('pass');
    expect(drillOutcome(failed())).toBe('fail');
    expect(drillOutcome(expectedFail())).toBe('expected-fail');
    expect(drillOutcome(unexpectedPass())).toBe('unexpected-pass');
    expect(drillExitCode([drill()])).toBe(0);
    expect(drillExitCode([drill(), expectedFail(), unexpectedPass()])).toBe(0);
    expect(drillExitCode([drill(), failed()])).toBe(1);
    expect(drillExitCode([])).toBe(0);
  });

  it('counts each outcome', () => {
    expect(summarizeDrills([drill(), failed(), expectedFail(), unexpectedPass(), drill()])).toEqual({
      scenarios: 5,
      pass: 2,
      fail: 1,
      expectedFail: 1,
      unexpectedPass: 1,
      exitCode: 1,
    });
  });
});

describe('drillToJson', () => {
  it('writes plain JSON: numbers for blocks, offsets from the start, bigints in event data as strings', () => {
    const json = JSON.parse(JSON.stringify(drillToJson(drill())));
    expect(json).toMatchObject({
      scenario: 'inverse-finance-2022',
      tags: scenario.tags,
      scenarioFormatVersion: SCENARIO_FORMAT_VERSION,
      marketDeployMs: 321.46,
      verdict: 'pass',
      unexpectedPass: false,
      expectedFailure: null,
      reasons: [],
      wallMs: 2600,
    });
    expect(json.lossMeasure).toBe('sum');
    expect(json.counterfactual.lossUsd).toBe(4_466_000.12);
    expect(json.counterfactual.scoredLossUsd).toBe(4_467_234.69);
    expect(json.counterfactual.liquidationPenaltiesUsd).toBe(1_234.57);
    expect(json.counterfactual.liquidations).toEqual([
      {
        block: Number(START) + 8,
        offset: 8,
        user: '0x0000000000000000000000000000000000000001',
        liquidator: '0x0000000000000000000000000000000000000002',
        collateral: 'WETH',
        debt: 'USDC',
        debtRepaidUsd: 10_000,
        collateralSeizedUsd: 11_234.57,
      },
    ]);
    const prot = json.protected;
    expect(prot.detectedBlock).toBe(Number(START) + 6);
    expect(prot.actions[0]).toEqual({
      id: 'act-1',
      action: 'aave-v3.contain-collateral',
      asset: 'INV',
      status: 'verified',
      txHashes: ['0xcc'],
      sentBlock: Number(START) + 6,
      sentOffset: 6,
      minedBlock: Number(START) + 7,
      minedOffset: 7,
      latencyMs: 69.04,
      findingToSentMs: 3.2,
    });
    expect(prot.timeline[0]).toMatchObject({
      block: Number(START) + 6,
      offset: 6,
      type: 'finding',
      incidentId: 'inc-1',
      data: { oracle: '123', nested: [{ wei: (10n ** 20n).toString() }] },
    });
    expect(prot.steps[0].txs[1]).toEqual({
      hash: '0xab',
      block: Number(START) + 1,
      index: 1,
      status: 'success',
    });
    expect(prot.steps[1].skipped).toBe('no borrowing capacity');
    expect(prot.series).toHaveLength(2);
    expect(prot.series[1].oraclePrices.INV).toBe(20_000);
    expect(prot.liquidationPenaltiesUsd).toBe(0);
  });

  it('names an unexpected pass and carries the stated reason of an expected failure', () => {
    expect(drillToJson(unexpectedPass())).toMatchObject({ verdict: 'pass', unexpectedPass: true });
    expect(drillToJson(expectedFail())).toMatchObject({
      verdict: 'expected-fail',
      unexpectedPass: false,
      expectedFailure: 'no detector sees a slow drain',
    });
  });

  it('writes a folder as { scenarios: [...] } with a summary', () => {
    const json = drillsToJson([drill({}, 'a'), failed({}, 'b')]);
    expect(json.scenarios.map((s) => s.scenario)).toEqual(['a', 'b']);
    expect(json.summary).toMatchObject({ scenarios: 2, pass: 1, fail: 1, exitCode: 1 });
  });
});

describe('renderDrillReport', () => {
  it('links one chart per scenario, each of which it renders, and says why what failed failed', () => {
    const results = [
      drill({}, 'first'),
      failed({}, 'second'),
      expectedFail('third'),
      unexpectedPass('fourth'),
    ];
    const { markdown, svgs } = renderDrillReport(results, { svgPrefix: 'report' });
    const links = [...markdown.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
    expect(links).toEqual(['report-first.svg', 'report-second.svg', 'report-third.svg', 'report-fourth.svg']);
    expect(Object.keys(svgs).sort()).toEqual([...links].sort());
    for (const svg of Object.values(svgs)) expect(svg.startsWith('<svg')).toBe(true);
    expect(markdown).toContain(
      '4 scenarios: 1 pass, 1 fail, 1 expected fail, 1 unexpected pass. Exit code 1.',
    );
    // The summary table: one row per scenario with its verdict and losses.
    expect(markdown).toMatch(
      /\| second \| FAIL \| \$4,467,235 \| \$0 \| 79\.9% \| 70 \(\+6\) \| 71 \(\+7\) \| 2\.6 \|/,
    );
    expect(markdown).toContain('| liquidations | 1 | 0 |');
    expect(markdown).toContain('keeper-bot (liquidator) 3 tx, 1 reverted');
    expect(markdown).toContain('Failed: protected loss $900000 exceeds 10% of the unprotected $4466000.');
    expect(markdown).toContain('as the scenario expects (no detector sees a slow drain)');
    expect(markdown).toContain('**Verdict: UNEXPECTED PASS.**');
    expect(markdown).toContain('remove `score.expectedFailure`');
    // A pipe inside a timeline summary does not break the table.
    expect(markdown).toContain('INV \\| 56× its reference');
    expect(markdown).toContain(
      '| aave-v3.contain-collateral | INV | verified | 70 (+6) | 71 (+7) | 69.0 ms |',
    );
  });

  it('gives two scenarios with one name two chart files', () => {
    const { svgs } = renderDrillReport([drill(), drill()], { svgPrefix: 'r' });
    expect(Object.keys(svgs)).toEqual(['r-inverse-finance-2022.svg', 'r-inverse-finance-2022-2.svg']);
  });
});
