/**
 * Drills — the price/loss chart of a drill, as a hand-written SVG: the true (reference) price and
 * the lending market's oracle price of the scenario's key assets over the protected run's blocks,
 * markers for the attacker's steps, detection and mitigation, and a bar for each run's loss.
 *
 * Pure functions of plain data (no chain, no file): `drillChartInput` picks the data out of a
 * `DrillResult`, `drillChartSvg` draws it. Prices of assets worth $1 and $3,000 share one axis as
 * a multiple of each asset's starting reference price (log scale when the range is wide).
 */
import { niceStep, usd, xml } from '../risk/report';
import type { DrillResult } from './runner';

export interface PricePoint {
  block: number;
  /** True USD prices by symbol. */
  prices: Readonly<Record<string, number>>;
  /** The lending market's oracle prices by symbol. */
  oraclePrices: Readonly<Record<string, number>>;
}

export type MarkerKind = 'attack' | 'detected' | 'mitigated';

export interface ChartMarker {
  block: number;
  kind: MarkerKind;
  label: string;
}

export interface DrillChartInput {
  title: string;
  /** The run's start block: the x axis counts blocks from here. */
  startBlock: number;
  endBlock: number;
  series: readonly PricePoint[];
  /** Assets to draw; `keyAssets(series)` when omitted. */
  assets?: readonly string[];
  markers: readonly ChartMarker[];
  losses: { unprotectedUsd: number; protectedUsd: number };
}

// ---- Layout ----

export const CHART = {
  width: 720,
  height: 440,
  /** The price panel. */
  plot: { left: 74, right: 690, top: 74, bottom: 300 },
  /** The loss panel: two bars. */
  bars: { left: 170, right: 600, top: 356, height: 22, gap: 10 },
} as const;

const COLORS = {
  attack: '#c23030',
  detected: '#d9822b',
  mitigated: '#3d8b40',
  unprotected: '#c23030',
  protected: '#2f6fb3',
  grid: '#e6e8eb',
  axis: '#333',
  muted: '#444',
};
const PALETTE = ['#7b3fb3', '#1c8c8c', '#b0700f', '#2f6fb3'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';
const f1 = (v: number) => v.toFixed(1);
const text = (x: number, y: number, s: string, attrs = '') =>
  `<text x="${f1(x)}" y="${f1(y)}" ${attrs}>${xml(s)}</text>\n`;

// ---- Data ----

/** How far an asset's prices moved in a series: the largest |ln| of reference drift and of oracle vs reference. */
function movement(series: readonly PricePoint[], symbol: string): number {
  let ref0: number | undefined;
  let oracle0: number | undefined;
  let score = 0;
  const ln = (a: number, b: number) => (a > 0 && b > 0 ? Math.abs(Math.log(a / b)) : 0);
  for (const p of series) {
    const ref = p.prices[symbol];
    const oracle = p.oraclePrices[symbol];
    if (ref !== undefined) {
      ref0 ??= ref;
      score = Math.max(score, ln(ref, ref0));
    }
    if (oracle !== undefined) {
      oracle0 ??= oracle;
      score = Math.max(score, ln(oracle, oracle0));
      if (ref !== undefined) score = Math.max(score, ln(oracle, ref));
    }
  }
  return score;
}

/**
 * The assets worth drawing: those whose reference or oracle price moved, or whose oracle left the
 * reference, most first, at most `max`; the first asset when nothing moved; none for no series.
 */
export function keyAssets(series: readonly PricePoint[], max = 3): string[] {
  const symbols: string[] = [];
  for (const p of series)
    for (const s of [...Object.keys(p.prices), ...Object.keys(p.oraclePrices)])
      if (!symbols.includes(s)) symbols.push(s);
  const moved = symbols
    .map((s) => ({ s, score: movement(series, s) }))
    .filter((m) => m.score > 1e-6)
    .sort((a, b) => b.score - a.score || a.s.localeCompare(b.s))
    .slice(0, max)
    .map((m) => m.s);
  return moved.length > 0 ? moved : symbols.slice(0, 1);
}

/** Each asset's price as a multiple of its first reference price (or first oracle price without one). */
export function relativeSeries(
  series: readonly PricePoint[],
  symbol: string,
): { reference: { block: number; r: number }[]; oracle: { block: number; r: number }[] } {
  const sorted = [...series].sort((a, b) => a.block - b.block);
  const base =
    sorted.map((p) => p.prices[symbol]).find((v) => v !== undefined && v > 0) ??
    sorted.map((p) => p.oraclePrices[symbol]).find((v) => v !== undefined && v > 0);
  const pick = (key: 'prices' | 'oraclePrices') =>
    base === undefined
      ? []
      : sorted.flatMap((p) => {
          const v = p[key][symbol];
          return v !== undefined && v > 0 && Number.isFinite(v) ? [{ block: p.block, r: v / base }] : [];
        });
  return { reference: pick('prices'), oracle: pick('oraclePrices') };
}

export interface Scale {
  (v: number): number;
  ticks: number[];
  log: boolean;
  lo: number;
  hi: number;
}

/**
 * The y scale of the price panel for the multiples in `values`: always includes 1×; logarithmic
 * when the largest is 3× the smallest or more, linear with a little headroom otherwise.
 */
export function priceScale(values: readonly number[], top: number, bottom: number): Scale {
  const finite = values.filter((v) => v > 0 && Number.isFinite(v));
  let lo = Math.min(1, ...finite);
  let hi = Math.max(1, ...finite);
  const log = hi / lo >= 3;
  let ticks: number[];
  if (log) {
    const steps = (decade: number) => [1, 2, 5].map((m) => m * 10 ** decade);
    const all: number[] = [];
    for (let d = Math.floor(Math.log10(lo)) - 1; d <= Math.ceil(Math.log10(hi)); d++) all.push(...steps(d));
    lo = Math.max(...all.filter((t) => t <= lo * (1 + 1e-9)));
    hi = Math.min(...all.filter((t) => t >= hi * (1 - 1e-9)));
    ticks = all.filter((t) => t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9));
    // Too many labels over a very wide range: keep the decades only.
    if (ticks.length > 9)
      ticks = ticks.filter((t) => Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9);
  } else {
    const span = Math.max(hi - lo, 0.02);
    const step = niceStep(span, 4);
    lo = Math.floor((lo - span * 0.05) / step) * step;
    hi = Math.ceil((hi + span * 0.05) / step) * step;
    if (lo <= 0) lo = Math.min(...finite, 1) / 2;
    ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step / 1e6; t += step)
      ticks.push(Number(t.toFixed(10)));
  }
  const pos = log
    ? (v: number) => (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))
    : (v: number) => (v - lo) / (hi - lo);
  const scale = ((v: number) => bottom - Math.min(1, Math.max(0, pos(v))) * (bottom - top)) as Scale;
  scale.ticks = ticks;
  scale.log = log;
  scale.lo = lo;
  scale.hi = hi;
  return scale;
}

/** The x scale: block → pixel, from the start block to the last block of the run or of the series. */
export function blockScale(input: DrillChartInput): ((block: number) => number) & { span: number } {
  const { left, right } = CHART.plot;
  const last = Math.max(
    input.endBlock,
    ...input.series.map((p) => p.block),
    ...input.markers.map((m) => m.block),
    input.startBlock + 1,
  );
  const span = last - input.startBlock;
  return Object.assign((block: number) => left + ((block - input.startBlock) / span) * (right - left), {
    span,
  });
}

/** Width in pixels of each run's loss bar (the larger loss fills the panel). */
export function lossBars(losses: DrillChartInput['losses']): { unprotected: number; protected: number } {
  const full = CHART.bars.right - CHART.bars.left;
  const max = Math.max(losses.unprotectedUsd, losses.protectedUsd, 0);
  const w = (v: number) => (max > 0 ? (Math.max(0, v) / max) * full : 0);
  return { unprotected: w(losses.unprotectedUsd), protected: w(losses.protectedUsd) };
}

const multiple = (v: number) => `${Number(v.toPrecision(4))}×`;

// ---- Drawing ----

/** The chart as a standalone SVG document. */
export function drillChartSvg(input: DrillChartInput): string {
  const { width: W, height: H, plot: P, bars: B } = CHART;
  const assets = input.assets ?? keyAssets(input.series);
  const rel = assets.map((s) => ({ symbol: s, ...relativeSeries(input.series, s) }));
  const y = priceScale(
    rel.flatMap((a) => [...a.reference, ...a.oracle].map((p) => p.r)),
    P.top,
    P.bottom,
  );
  const x = blockScale(input);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT} font-size="12">\n`;
  svg += `<title>${xml(input.title)}</title>\n<rect width="${W}" height="${H}" fill="#ffffff"/>\n`;
  svg += text(W / 2, 22, input.title, 'text-anchor="middle" font-size="15" font-weight="600"');

  // Grid and y axis.
  for (const t of y.ticks) {
    svg += `<line x1="${P.left}" x2="${P.right}" y1="${f1(y(t))}" y2="${f1(y(t))}" stroke="${COLORS.grid}"/>\n`;
    svg += text(P.left - 6, y(t) + 4, multiple(t), `text-anchor="end" fill="${COLORS.muted}"`);
  }
  svg += `<text transform="translate(16,${(P.top + P.bottom) / 2}) rotate(-90)" text-anchor="middle" fill="${COLORS.muted}">${xml(`price ÷ starting true price${y.log ? ' (log)' : ''}`)}</text>\n`;

  // X axis: block offsets.
  const every = Math.max(1, Math.ceil(x.span / 12));
  for (let k = 0; k <= x.span; k += every)
    svg += text(x(input.startBlock + k), P.bottom + 16, `+${k}`, 'text-anchor="middle"');
  svg += text(
    (P.left + P.right) / 2,
    P.bottom + 34,
    `block (from the run's start, #${input.startBlock})`,
    `text-anchor="middle" fill="${COLORS.muted}"`,
  );

  // Price lines: reference solid, oracle dashed, one colour per asset.
  if (rel.every((a) => a.reference.length === 0 && a.oracle.length === 0)) {
    svg += text(
      (P.left + P.right) / 2,
      (P.top + P.bottom) / 2,
      'no price series recorded for this run',
      `text-anchor="middle" fill="${COLORS.muted}"`,
    );
  }
  // A price holds from its block to the next one: draw steps, not slopes between blocks.
  const steps = (pts: { block: number; r: number }[]) =>
    pts
      .flatMap((p, k) => {
        const here = `${f1(x(p.block))},${f1(y(p.r))}`;
        const prev = pts[k - 1];
        return prev && prev.r !== p.r ? [`${f1(x(p.block))},${f1(y(prev.r))}`, here] : [here];
      })
      .join(' ');
  const line = (pts: { block: number; r: number }[], color: string, dashed: boolean, label: string) =>
    pts.length === 0
      ? ''
      : `<polyline points="${steps(pts)}" fill="none" stroke="${color}" stroke-width="2.2"${dashed ? ' stroke-dasharray="6 4"' : ''}><title>${xml(label)}</title></polyline>\n`;
  rel.forEach((a, k) => {
    const color = PALETTE[k % PALETTE.length]!;
    svg += line(a.reference, color, false, `${a.symbol} true (reference) price`);
    svg += line(a.oracle, color, true, `${a.symbol} oracle price`);
  });

  // Markers: vertical lines, labels staggered down from the top of the panel.
  const groups = new Map<string, { block: number; kind: MarkerKind; labels: string[] }>();
  for (const m of [...input.markers].sort((a, b) => a.block - b.block)) {
    const key = `${m.kind}:${m.block}`;
    const g = groups.get(key) ?? { block: m.block, kind: m.kind, labels: [] };
    if (!g.labels.includes(m.label)) g.labels.push(m.label);
    groups.set(key, g);
  }
  [...groups.values()].forEach((g, i) => {
    const gx = x(g.block);
    const color = COLORS[g.kind];
    const dash =
      g.kind === 'attack'
        ? ' stroke-dasharray="2 3"'
        : g.kind === 'detected'
          ? ' stroke-dasharray="6 3"'
          : '';
    svg += `<line class="marker-${g.kind}" x1="${f1(gx)}" x2="${f1(gx)}" y1="${P.top}" y2="${P.bottom}" stroke="${color}" stroke-width="1.6"${dash}/>\n`;
    const label = `${g.kind === 'attack' ? 'attacker: ' : ''}${g.labels.join(', ')}`;
    const right = gx > P.left + (P.right - P.left) * 0.7;
    svg += text(
      right ? gx - 4 : gx + 4,
      P.top + 12 + (i % 5) * 14,
      label,
      `text-anchor="${right ? 'end' : 'start'}" fill="${color}" font-size="11"`,
    );
  });

  // Legend.
  let lx = P.left;
  const legendItem = (label: string, color: string, dashed: boolean) => {
    let out = `<line x1="${lx}" x2="${lx + 22}" y1="46" y2="46" stroke="${color}" stroke-width="2.5"${dashed ? ' stroke-dasharray="6 4"' : ''}/>\n`;
    out += text(lx + 27, 50, label, 'fill="#222"');
    lx += 40 + label.length * 6.4;
    return out;
  };
  rel.forEach((a, k) => {
    const color = PALETTE[k % PALETTE.length]!;
    svg += legendItem(`${a.symbol} true`, color, false);
    svg += legendItem(`${a.symbol} oracle`, color, true);
  });

  // Frame.
  svg += `<line x1="${P.left}" x2="${P.right}" y1="${P.bottom}" y2="${P.bottom}" stroke="${COLORS.axis}"/>\n`;
  svg += `<line x1="${P.left}" x2="${P.left}" y1="${P.top}" y2="${P.bottom}" stroke="${COLORS.axis}"/>\n`;

  // Loss panel.
  const widths = lossBars(input.losses);
  svg += text(P.left - 60, B.top - 10, 'scored loss at true prices', 'font-weight="600" fill="#222"');
  const bar = (row: number, label: string, value: number, w: number, color: string) => {
    const by = B.top + row * (B.height + B.gap);
    let out = text(B.left - 8, by + B.height / 2 + 4, label, 'text-anchor="end" fill="#222"');
    out += `<rect class="loss-${row === 0 ? 'unprotected' : 'protected'}" x="${B.left}" y="${by}" width="${f1(w)}" height="${B.height}" fill="${color}"><title>${xml(`${label}: ${usd(value)}`)}</title></rect>\n`;
    out += text(B.left + w + 6, by + B.height / 2 + 4, usd(value), 'font-weight="600" fill="#222"');
    return out;
  };
  svg += bar(0, 'unprotected run', input.losses.unprotectedUsd, widths.unprotected, COLORS.unprotected);
  svg += bar(1, 'protected run', input.losses.protectedUsd, widths.protected, COLORS.protected);
  return `${svg}</svg>\n`;
}

// ---- From a drill result ----

/** The chart's data from a drill: the protected run's prices and steps, both runs' scored losses (what the verdict compares). */
export function drillChartInput(result: DrillResult): DrillChartInput {
  const prot = result.protected;
  const attackers = new Set(result.scenario.accounts.filter((a) => a.role === 'attacker').map((a) => a.name));
  const markers: ChartMarker[] = [];
  for (const s of prot.steps)
    if (attackers.has(s.actor) && s.block !== null)
      markers.push({ block: Number(s.block), kind: 'attack', label: s.label ?? s.do });
  if (prot.detectedBlock !== null)
    markers.push({ block: Number(prot.detectedBlock), kind: 'detected', label: 'detected' });
  if (prot.mitigatedBlock !== null)
    markers.push({ block: Number(prot.mitigatedBlock), kind: 'mitigated', label: 'mitigated' });
  return {
    title: result.scenario.title,
    startBlock: Number(prot.startBlock),
    endBlock: Number(prot.endBlock),
    series: prot.series.map((p) => ({
      block: p.block,
      prices: p.prices,
      oraclePrices: p.oraclePrices,
    })),
    markers,
    losses: { unprotectedUsd: result.counterfactual.scoredLossUsd, protectedUsd: prot.scoredLossUsd },
  };
}
