/**
 * CLI — rendering: tables, money, the scorecard and the incident timeline, the drill progress
 * display and the drill summary table, for a terminal.
 */
import {
  type DrillOutcome,
  drillOutcome,
  OUTCOME_LABEL,
  SUMMARY_HEADERS,
  summaryRow,
  verdictExplanation,
} from '../drills/report';
import type { DrillProgress, DrillResult, RunResult } from '../drills/runner';

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (s: string) => (useColor ? `\u001b[${code}m${s}\u001b[0m` : s);
export const bold = paint(1);
export const dim = paint(2);
export const red = paint(31);
export const green = paint(32);
export const yellow = paint(33);

export function usd(n: number): string {
  const sign = n < 0 ? '-' : '';
  const v = Math.abs(n);
  if (v >= 1e6) return `${sign}$${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${sign}$${(v / 1e3).toFixed(1)}k`;
  return `${sign}$${v.toFixed(0)}`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colour codes
const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
const visible = (s: string) => stripAnsi(s).length;

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cells: string[]) => cells.map((c, i) => c + ' '.repeat(widths[i]! - visible(c))).join('  ');
  return [bold(line(headers)), dim(widths.map((w) => '─'.repeat(w)).join('  ')), ...rows.map(line)].join(
    '\n',
  );
}

const block = (b: bigint | null, start: bigint) => (b === null ? '—' : `${b} (+${b - start})`);

export function renderScorecard(result: DrillResult): string {
  const { counterfactual: cf, protected: prot } = result;
  const rows = (r: RunResult): string[] => [
    r.kind,
    usd(r.scoredLossUsd),
    usd(r.badDebtUsd),
    usd(r.assetsTakenUsd),
    usd(r.liquidationPenaltiesUsd),
    usd(r.attackerProfitUsd),
    r.kind === 'protected' ? block(r.firstHarmBlock, r.startBlock) : '—',
    r.kind === 'protected' ? block(r.detectedBlock, r.startBlock) : '—',
    r.kind === 'protected' ? block(r.mitigatedBlock, r.startBlock) : '—',
  ];
  const out: string[] = [];
  out.push(bold(`Scorecard — ${result.scenario.title}`));
  out.push(
    table(
      [
        'run',
        `loss (${result.scenario.score.loss})`,
        'bad debt',
        'assets taken',
        'penalties',
        'attacker profit',
        'first harm',
        'detected',
        'mitigated',
      ],
      [rows(cf), rows(prot)],
    ),
  );
  out.push('');
  if (prot.actions.length === 0) out.push('actions: none');
  for (const a of prot.actions) {
    out.push(
      `action ${a.action}${a.asset ? ` on ${a.asset}` : ''}: ${a.status}; sent in block ${a.sentBlock ?? '—'}, mined in ${a.minedBlock ?? '—'}` +
        (a.latencyMs === null ? '' : `, ${a.latencyMs.toFixed(1)} ms from block to broadcast`),
    );
  }
  for (const [symbol, ok] of Object.entries(prot.usable))
    out.push(`${symbol} usable by an ordinary user afterwards: ${ok ? green('yes') : red('no')}`);
  if (prot.mitigatedBeforeHarm !== null)
    out.push(
      `contained before "${result.scenario.score.mitigateBefore}": ${prot.mitigatedBeforeHarm ? green('yes') : red('no')}`,
    );
  out.push(
    `loss prevented: ${result.lossPreventedPct === null ? '—' : `${result.lossPreventedPct.toFixed(1)}%`}`,
  );
  out.push(`verdict: ${outcomeLabel(drillOutcome(result))} — ${verdictExplanation(result).join(' ')}`);
  return out.join('\n');
}

export function renderTimeline(result: DrillResult): string {
  const events = result.protected.timeline;
  if (events.length === 0) return dim('incident timeline: no incident');
  const t0 = events[0]!.at;
  const start = result.protected.startBlock;
  const lines = events.map((e) => {
    const at = `+${String(e.at - t0).padStart(5)} ms`;
    const b = e.block === null ? '        ' : `#${String(e.block)} (+${e.block - start})`.padEnd(8);
    return `${dim(at)}  ${b}  ${e.type.padEnd(15)} ${e.summary}`;
  });
  return [bold('Incident timeline (protected run)'), ...lines].join('\n');
}

/** The verdict as a terminal shows it: PASS green, FAIL red, the two surprises yellow. */
export function outcomeLabel(outcome: DrillOutcome): string {
  const label = bold(OUTCOME_LABEL[outcome]);
  return outcome === 'pass' ? green(label) : outcome === 'fail' ? red(label) : yellow(label);
}

/** A scenario that could not run at all (its chain or market failed): a row of its own. */
export interface DrillError {
  scenario: string;
  message: string;
  wallMs: number;
}

/**
 * The summary of a drill run: one row per scenario (verdict, losses, prevented %, detected and
 * mitigated blocks, seconds), then one line per scenario that did not simply pass, saying why.
 */
export function renderDrillSummary(
  results: readonly DrillResult[],
  errors: readonly DrillError[] = [],
): string {
  const rows = results.map((r) => {
    const row = summaryRow(r);
    row[1] = outcomeLabel(drillOutcome(r));
    return row;
  });
  for (const e of errors)
    rows.push([e.scenario, red(bold('ERROR')), '—', '—', '—', '—', '—', (e.wallMs / 1000).toFixed(1)]);
  const out = [table([...SUMMARY_HEADERS], rows)];
  const notes: string[] = [];
  for (const r of results) {
    const outcome = drillOutcome(r);
    if (outcome === 'pass') continue;
    notes.push(`${outcomeLabel(outcome)} ${r.scenario.name}: ${verdictExplanation(r).join(' ')}`);
  }
  for (const e of errors)
    notes.push(`${red(bold('ERROR'))} ${e.scenario}: the drill could not run: ${e.message}`);
  if (notes.length > 0) out.push('', ...notes);
  return out.join('\n');
}

export interface DrillProgressDisplay {
  /** A scenario starts: its line appears. */
  start(index: number, name: string): void;
  /** The runner reports a phase or a block. */
  event(event: DrillProgress): void;
  /** The scenario is done: its line shows the outcome and stays. */
  done(outcome: string, seconds: number): void;
}

/**
 * One line per scenario while it runs. On a terminal the line is rewritten in place (phase, then
 * `protected: block k/n`); elsewhere (CI logs) each phase, and each block the engine ran over its
 * budget, is a plain line of its own.
 */
export function createDrillProgress(options: {
  total: number;
  tty: boolean;
  write: (text: string) => void;
  /** Terminal width: a rewritten line is cut to fit. */
  columns?: number | undefined;
  clock?: () => number;
}): DrillProgressDisplay {
  const clock = options.clock ?? (() => performance.now());
  const width = String(options.total).length;
  let prefix = '';
  let phase = '';
  let started = clock();
  const elapsed = () => dim(`[${((clock() - started) / 1000).toFixed(1)}s]`);
  const show = (status: string) => {
    if (options.tty) {
      // A line longer than the terminal wraps, and \r would then rewrite only its last row.
      let line = `${prefix} ${elapsed()} ${status}`;
      const max = (options.columns ?? 0) - 1;
      if (max > 10 && visible(line) > max) line = `${stripAnsi(line).slice(0, max - 1)}…`;
      options.write(`\r\u001b[2K${line}`);
    } else options.write(`${prefix} ${elapsed()} ${status}\n`);
  };
  return {
    start(index, name) {
      prefix = `[${String(index + 1).padStart(width)}/${options.total}] ${bold(name)}`;
      phase = 'starting';
      started = clock();
      show(phase);
    },
    event(event) {
      if (event.type === 'phase') {
        phase = event.message;
        show(phase);
        return;
      }
      const over = event.note ? ` ${yellow(event.note)}` : '';
      if (options.tty) show(`${event.run}: block ${event.offset}/${event.of}${over}`);
      else if (event.note) show(`${event.run}: block ${event.offset}/${event.of}${over}`);
    },
    done(outcome, seconds) {
      const line = `${prefix} ${outcome} ${dim(`in ${seconds.toFixed(1)} s`)}`;
      options.write(options.tty ? `\r\u001b[2K${line}\n` : `${line}\n`);
    },
  };
}
