/**
 * Drills — the scorecard as data and as a document: the JSON written by `firebreak drill --json`
 * (stable field names; block numbers as numbers, amounts in USD) and the Markdown report written
 * by `--md`, with one price/loss chart per scenario (chart.ts) as an SVG file beside it.
 *
 * Pure: nothing here reads a chain or writes a file. Verdicts come from the runner; this module
 * only says what they mean for a person and for an exit code.
 */
import type { TimelineEvent } from '../incidents/types';
import { drillChartInput, drillChartSvg } from './chart';
import type { DrillResult, RunResult } from './runner';
import { SCENARIO_FORMAT_VERSION } from './scenario-schema';

// ---- Verdicts ----

/**
 * What a drill's verdict means for a person: `unexpected-pass` is a scenario marked as an expected
 * failure (`score.expectedFailure`) that passed — good news, and a sign the mark should go.
 */
export type DrillOutcome = 'pass' | 'fail' | 'expected-fail' | 'unexpected-pass';

export function drillOutcome(result: Pick<DrillResult, 'verdict'> & { expectedFailure?: string | null }) {
  if (result.verdict === 'pass' && typeof result.expectedFailure === 'string')
    return 'unexpected-pass' as const;
  return result.verdict;
}

/** The process exit code for a set of drills: 1 when any failed its pass criteria, else 0 (expected failures and unexpected passes included). */
export const drillExitCode = (results: readonly Pick<DrillResult, 'verdict'>[]): 0 | 1 =>
  results.some((r) => r.verdict === 'fail') ? 1 : 0;

export interface DrillSummary {
  scenarios: number;
  pass: number;
  fail: number;
  expectedFail: number;
  unexpectedPass: number;
  exitCode: 0 | 1;
}

export function summarizeDrills(results: readonly DrillResult[]): DrillSummary {
  const count = (o: DrillOutcome) => results.filter((r) => drillOutcome(r) === o).length;
  return {
    scenarios: results.length,
    pass: count('pass'),
    fail: count('fail'),
    expectedFail: count('expected-fail'),
    unexpectedPass: count('unexpected-pass'),
    exitCode: drillExitCode(results),
  };
}

// ---- JSON ----

const num = (b: bigint | null) => (b === null ? null : Number(b));
const round = (n: number) => Math.round(n * 100) / 100;

/** Timeline event data as JSON: bigints (amounts, block numbers) become decimal strings. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function timelineEvent(e: TimelineEvent, start: bigint) {
  return {
    at: e.at,
    block: num(e.block),
    offset: e.block === null ? null : Number(e.block - start),
    type: e.type,
    summary: e.summary,
    incidentId: e.incidentId,
    data: plain(e.data),
  };
}

function run(r: RunResult) {
  const offset = (b: bigint | string | null) => (b === null ? null : Number(BigInt(b) - r.startBlock));
  return {
    scoredLossUsd: round(r.scoredLossUsd),
    lossUsd: round(r.lossUsd),
    badDebtUsd: round(r.badDebtUsd),
    assetsTakenUsd: round(r.assetsTakenUsd),
    treasuryLossUsd: round(r.treasuryLossUsd),
    liquidationPenaltiesUsd: round(r.liquidationPenaltiesUsd),
    attackerProfitUsd: round(r.attackerProfitUsd),
    attackerTakeUsd: round(r.attackerTakeUsd),
    startBlock: Number(r.startBlock),
    endBlock: Number(r.endBlock),
    firstHarmBlock: num(r.firstHarmBlock),
    detectedBlock: num(r.detectedBlock),
    mitigatedBlock: num(r.mitigatedBlock),
    mitigatedBeforeHarm: r.mitigatedBeforeHarm,
    actions: r.actions.map((a) => ({
      id: a.id,
      action: a.action,
      asset: a.asset,
      status: a.status,
      txHashes: a.txHashes,
      sentBlock: a.sentBlock === null ? null : Number(a.sentBlock),
      sentOffset: offset(a.sentBlock),
      minedBlock: a.minedBlock === null ? null : Number(a.minedBlock),
      minedOffset: offset(a.minedBlock),
      latencyMs: a.latencyMs === null ? null : round(a.latencyMs),
      findingToSentMs: a.findingToSentMs === null ? null : round(a.findingToSentMs),
    })),
    usableAfter: r.usable,
    steps: r.steps.map((s) => ({
      label: s.label,
      actor: s.actor,
      do: s.do,
      offset: s.offset,
      block: num(s.block),
      status: s.status,
      txs: s.txs.map((t) => ({ hash: t.hash, block: Number(t.block), index: t.index, status: t.status })),
      ...(s.skipped ? { skipped: s.skipped } : {}),
    })),
    liquidations: r.liquidations.map((l) => ({
      ...l,
      offset: l.block - Number(r.startBlock),
      debtRepaidUsd: round(l.debtRepaidUsd),
      collateralSeizedUsd: round(l.collateralSeizedUsd),
    })),
    bots: r.bots,
    timeline: r.timeline.map((e) => timelineEvent(e, r.startBlock)),
    series: r.series.map((p) => ({
      offset: p.offset,
      block: p.block,
      prices: p.prices,
      oraclePrices: p.oraclePrices,
    })),
  };
}

/** One drill's scorecard as JSON (the object `firebreak drill --json` writes for one scenario). */
export function drillToJson(result: DrillResult) {
  return {
    scenario: result.scenario.name,
    title: result.scenario.title,
    tags: result.scenario.tags,
    scenarioFormatVersion: SCENARIO_FORMAT_VERSION,
    blockBudgetMs: result.blockBudgetMs,
    marketDeployMs: round(result.marketDeployMs),
    lossMeasure: result.scenario.score.loss,
    counterfactual: run(result.counterfactual),
    protected: run(result.protected),
    lossPreventedPct: result.lossPreventedPct === null ? null : round(result.lossPreventedPct),
    verdict: result.verdict,
    unexpectedPass: drillOutcome(result) === 'unexpected-pass',
    expectedFailure: result.expectedFailure,
    reasons: result.reasons,
    wallMs: Math.round(result.wallMs),
  };
}

/** Several drills (a folder): `{ scenarios: [ drillToJson(...) … ], summary }`. */
export function drillsToJson(results: readonly DrillResult[]) {
  return { scenarios: results.map(drillToJson), summary: summarizeDrills(results) };
}

// ---- Markdown ----

export interface DrillReport {
  markdown: string;
  /** SVG files by name, relative to the Markdown file (which links them by these names). */
  svgs: Record<string, string>;
}

const dollars = (v: number) => `${v < 0 ? '−' : ''}$${Math.round(Math.abs(v)).toLocaleString('en-US')}`;
/** A table cell: no line breaks, pipes escaped. */
const cell = (s: string) => s.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
const mdTable = (head: readonly string[], rows: readonly (readonly string[])[]) =>
  [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
const at = (b: bigint | null, start: bigint) => (b === null ? '—' : `${b} (+${b - start})`);
const slug = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '_');

export const OUTCOME_LABEL: Record<DrillOutcome, string> = {
  pass: 'PASS',
  fail: 'FAIL',
  'expected-fail': 'EXPECTED FAIL',
  'unexpected-pass': 'UNEXPECTED PASS',
};

/** One or two sentences on the verdict: why it failed, why the failure was expected, or why a pass is a surprise. */
export function verdictExplanation(result: DrillResult): string[] {
  const reasons = result.reasons.length > 0 ? result.reasons.join('; ') : 'no reason recorded';
  switch (drillOutcome(result)) {
    case 'pass':
      return ['Every pass criterion held.'];
    case 'fail':
      return [`Failed: ${reasons}.`];
    case 'expected-fail':
      return [
        `Failed, as the scenario expects (${result.expectedFailure ?? 'no reason given'}): ${reasons}.`,
        'An expected failure does not fail the run (exit code 0).',
      ];
    case 'unexpected-pass':
      return [
        `Passed, although the scenario is marked as an expected failure (${result.expectedFailure}).`,
        'If the gap is closed, remove `score.expectedFailure` from the scenario so that a regression fails the run.',
      ];
  }
}

/** The summary row of one drill: scenario, verdict, losses, prevented %, detected/mitigated block, seconds. */
export function summaryRow(result: DrillResult): string[] {
  const prot = result.protected;
  return [
    result.scenario.name,
    OUTCOME_LABEL[drillOutcome(result)],
    dollars(result.counterfactual.scoredLossUsd),
    dollars(prot.scoredLossUsd),
    result.lossPreventedPct === null ? '—' : `${result.lossPreventedPct.toFixed(1)}%`,
    at(prot.detectedBlock, prot.startBlock),
    at(prot.mitigatedBlock, prot.startBlock),
    (result.wallMs / 1000).toFixed(1),
  ];
}

export const SUMMARY_HEADERS = [
  'scenario',
  'verdict',
  'unprotected loss',
  'protected loss',
  'prevented',
  'detected',
  'mitigated',
  'seconds',
] as const;

function scenarioSection(result: DrillResult, chart: string | null): string {
  const s = result.scenario;
  const cf = result.counterfactual;
  const prot = result.protected;
  const out: string[] = [];
  out.push(`## ${s.title}`, '');
  out.push(`\`${s.name}\`${s.tags.length > 0 ? ` — tags: ${s.tags.map((t) => `\`${t}\``).join(', ')}` : ''}`);
  if (s.description) out.push('', s.description.trim());
  out.push(
    '',
    `**Verdict: ${OUTCOME_LABEL[drillOutcome(result)]}.** ${verdictExplanation(result).join(' ')}`,
  );
  if (result.reasons.length > 1) out.push('', ...result.reasons.map((r) => `- ${r}`));
  if (chart) out.push('', `![${s.name}: prices, response and losses](${chart})`);
  const money = (pick: (r: RunResult) => number) => [dollars(pick(cf)), dollars(pick(prot))];
  out.push(
    '',
    mdTable(
      ['measure', 'unprotected', 'protected'],
      [
        [`**scored loss** (${s.score.loss}: what the verdict compares)`, ...money((r) => r.scoredLossUsd)],
        ['bad debt', ...money((r) => r.badDebtUsd)],
        ['assets taken', ...money((r) => r.assetsTakenUsd)],
        ...(s.market.protocolLiquidity ? [["treasury's loss", ...money((r) => r.treasuryLossUsd)]] : []),
        ['liquidation penalties (non-attackers)', ...money((r) => r.liquidationPenaltiesUsd)],
        ['attacker profit', ...money((r) => r.attackerProfitUsd)],
        ['attacker take (wallets only)', ...money((r) => r.attackerTakeUsd)],
        ['liquidations', String(cf.liquidations.length), String(prot.liquidations.length)],
      ],
    ),
  );
  const facts = [
    `loss prevented: ${result.lossPreventedPct === null ? '— (the unprotected run lost nothing)' : `${result.lossPreventedPct.toFixed(1)}% of the scored loss`}`,
    `first harm: block ${at(prot.firstHarmBlock, prot.startBlock)}; detected: ${at(prot.detectedBlock, prot.startBlock)}; mitigated: ${at(prot.mitigatedBlock, prot.startBlock)}`,
  ];
  if (prot.mitigatedBeforeHarm !== null)
    facts.push(`contained before "${s.score.mitigateBefore}": ${prot.mitigatedBeforeHarm ? 'yes' : 'no'}`);
  const usable = Object.entries(prot.usable);
  if (usable.length > 0)
    facts.push(
      `usable by an ordinary user afterwards: ${usable.map(([k, ok]) => `${k} ${ok ? 'yes' : 'no'}`).join(', ')}`,
    );
  if (prot.bots.length > 0)
    facts.push(
      `bots (protected run): ${prot.bots.map((b) => `${b.name} (${b.kind}) ${b.txs} tx, ${b.reverted} reverted`).join('; ')}`,
    );
  facts.push(`block budget ${result.blockBudgetMs} ms; ${(result.wallMs / 1000).toFixed(1)} s wall time`);
  out.push('', ...facts.map((f) => `- ${f}`));

  out.push('', '### Actions (protected run)', '');
  if (prot.actions.length === 0) out.push('None.');
  else
    out.push(
      mdTable(
        ['action', 'asset', 'status', 'sent for block', 'mined in block', 'block → broadcast'],
        prot.actions.map((a) => [
          a.action,
          a.asset ?? '—',
          a.status,
          a.sentBlock === null ? '—' : at(BigInt(a.sentBlock), prot.startBlock),
          a.minedBlock === null ? '—' : at(BigInt(a.minedBlock), prot.startBlock),
          a.latencyMs === null ? '—' : `${a.latencyMs.toFixed(1)} ms`,
        ]),
      ),
    );

  out.push('', '### Steps (protected run)', '');
  out.push(
    mdTable(
      ['offset', 'actor', 'step', 'label', 'landed in block', 'status'],
      prot.steps.map((st) => [
        `+${st.offset}`,
        st.actor,
        st.do,
        st.label ?? '',
        at(st.block, prot.startBlock),
        st.skipped ? `skipped: ${st.skipped}` : st.status.join(', ') || '—',
      ]),
    ),
  );

  out.push('', '### Incident timeline (protected run)', '');
  if (prot.timeline.length === 0) out.push('No incident.');
  else {
    const t0 = prot.timeline[0]!.at;
    out.push(
      mdTable(
        ['+ms', 'block', 'event', 'summary'],
        prot.timeline.map((e) => [`+${e.at - t0}`, at(e.block, prot.startBlock), e.type, e.summary]),
      ),
    );
  }
  return out.join('\n');
}

/**
 * The Markdown report of one or more drills and its charts. Chart files are named
 * `<svgPrefix>-<scenario name>.svg`; write them next to the Markdown file.
 */
export function renderDrillReport(
  results: readonly DrillResult[],
  options: { svgPrefix: string; generatedAt?: Date },
): DrillReport {
  const svgs: Record<string, string> = {};
  const summary = summarizeDrills(results);
  const out: string[] = [];
  out.push('# Firebreak drill report', '');
  const parts = [
    `${summary.pass} pass`,
    `${summary.fail} fail`,
    ...(summary.expectedFail > 0 ? [`${summary.expectedFail} expected fail`] : []),
    ...(summary.unexpectedPass > 0 ? [`${summary.unexpectedPass} unexpected pass`] : []),
  ];
  out.push(
    `${results.length} scenario${results.length === 1 ? '' : 's'}: ${parts.join(', ')}. Exit code ${summary.exitCode}.` +
      (options.generatedAt ? ` Generated ${options.generatedAt.toISOString()}.` : ''),
  );
  out.push(
    '',
    'Each scenario runs twice from the same chain state: unprotected (nobody responds) and protected by Firebreak. Losses are valued at the final true (reference) prices. See docs/drills.md for every measure and verdict rule.',
  );
  out.push('', mdTable([...SUMMARY_HEADERS], results.map(summaryRow)));
  const used = new Set<string>();
  for (const result of results) {
    let name = `${options.svgPrefix}-${slug(result.scenario.name)}.svg`;
    for (let k = 2; used.has(name); k++) name = `${options.svgPrefix}-${slug(result.scenario.name)}-${k}.svg`;
    used.add(name);
    svgs[name] = drillChartSvg(drillChartInput(result));
    out.push('', scenarioSection(result, name));
  }
  return { markdown: `${out.join('\n')}\n`, svgs };
}
