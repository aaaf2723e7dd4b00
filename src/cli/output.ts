/**
 * CLI — rendering: tables, money, the scorecard and the incident timeline, for a terminal.
 */
import type { DrillResult, RunResult } from '../drills/runner';

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
const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;

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
    usd(r.lossUsd),
    usd(r.badDebtUsd),
    usd(r.assetsTakenUsd),
    usd(r.attackerProfitUsd),
    r.kind === 'protected' ? block(r.firstHarmBlock, r.startBlock) : '—',
    r.kind === 'protected' ? block(r.detectedBlock, r.startBlock) : '—',
    r.kind === 'protected' ? block(r.mitigatedBlock, r.startBlock) : '—',
  ];
  const out: string[] = [];
  out.push(bold(`Scorecard — ${result.scenario.title}`));
  out.push(
    table(
      ['run', 'loss', 'bad debt', 'assets taken', 'attacker profit', 'first harm', 'detected', 'mitigated'],
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
  out.push(
    `verdict: ${result.verdict === 'pass' ? green(bold('PASS')) : red(bold('FAIL'))}${result.reasons.length ? ` — ${result.reasons.join('; ')}` : ''}`,
  );
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
