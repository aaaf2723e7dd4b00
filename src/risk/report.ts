/**
 * Risk — the report: a market's risk results → a Markdown page and hand-written SVG charts a person
 * can read at a glance (health-factor histogram, liquidations-at-risk and bad-debt curves per asset,
 * the cascade's rounds, the contagion graph) and the sensitivity tables; and a JSON form of the
 * same figures. Pure: strings in memory, no file or chain access (the engine writes the files).
 */
import type { CascadeResult } from './cascade';
import type { ContagionGraph, ContagionResult, ContagionSource } from './contagion';
import type { ShockOutcome } from './health';
import type { LarCurve } from './lar';
import type { RiskNow } from './now';
import type { GovernanceRow, OracleRow, ThresholdRow } from './sensitivity';
import type { PositionSnapshot } from './types';

/** What the report shows: the results of every risk function on one snapshot. */
export interface RiskReportInput {
  scenario: { name: string; title: string; seed: number };
  /** Where the snapshot was taken, in words (`after the timeline`, `as deployed`). */
  at: 'deploy' | 'end';
  chainId: number;
  blockNumber: bigint;
  timestamp: bigint;
  book: { logs: number; blocks: number; parityChecked: number; parityMismatches: number };
  snapshot: PositionSnapshot;
  referencePrices: readonly number[];
  now: RiskNow;
  healthFactors: Float64Array;
  atReference: ShockOutcome | null;
  lar: readonly LarCurve[];
  cascade: {
    shockBps: number;
    shockedAssets: readonly number[];
    pools: readonly { asset: number; reserveAsset: number; reserveQuote: number }[];
    poolIds: readonly string[];
    oracleLagRounds: number;
    result: CascadeResult;
  };
  contagion: { graph: ContagionGraph; sources: readonly ContagionSource[]; result: ContagionResult };
  sensitivity: {
    asset: number;
    decline: { ratePerHour: number; horizonHours: number };
    responseHours: number;
    thresholds: readonly ThresholdRow[];
    governance: readonly GovernanceRow[];
    oracle: readonly OracleRow[];
  };
  monteCarlo: {
    paths: number;
    horizonDays: number;
    steps: number;
    seed: number;
    quantile: number;
    sigmas: readonly number[];
    correlation: number;
    valueAtRiskUsd: number;
    liquidationsAtRiskUsd: number;
    meanInsolventUsd: number;
    meanLiquidatedUsd: number;
  };
  timingsMs: Readonly<Record<string, number>>;
}

export interface RiskReport {
  markdown: string;
  /** SVG files by name (relative to the Markdown file, which links them by these names). */
  svgs: Record<string, string>;
}

// ---- Formatting ----

/** Whole dollars with thousands separators: `$1,234,567`. */
export const usd = (v: number): string =>
  Number.isFinite(v) ? `${v < 0 ? '−' : ''}$${Math.round(Math.abs(v)).toLocaleString('en-US')}` : String(v);

/** Short dollars for axes and labels: `$1.2M`, `$350k`, `$12`. */
export const usdShort = (v: number): string => {
  const a = Math.abs(v);
  const s =
    a >= 1e9
      ? `${trim(a / 1e9)}B`
      : a >= 1e6
        ? `${trim(a / 1e6)}M`
        : a >= 1e3
          ? `${trim(a / 1e3)}k`
          : trim(a);
  return `${v < 0 ? '−' : ''}$${s}`;
};
const trim = (v: number) =>
  (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)).replace(/\.?0+$/, '');
const pct = (v: number, digits = 1) => `${(v * 100).toFixed(digits)}%`;
const hours = (v: number | null) => (v === null ? 'not within the horizon' : `${v.toFixed(1)} h`);
const hf = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : '∞ (no debt)');

/** Escapes text for SVG and XML attributes. */
export const xml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A file-name-safe form of a symbol. */
const slug = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '_');

/** Round tick step for an axis from 0 to `max` with about `count` ticks. */
export function niceStep(max: number, count = 5): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const raw = max / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

// ---- SVG primitives ----

const W = 680;
const H = 340;
const M = { l: 78, r: 64, t: 58, b: 56 };
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';
const COLORS = {
  debt: '#d9822b',
  bad: '#c23030',
  close: '#8a6d3b',
  ok: '#3d8b40',
  warn: '#e0a800',
  grey: '#8a8f98',
  blue: '#2f6fb3',
};

const svgOpen = (w: number, h: number, title: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" ${FONT} font-size="12">\n<title>${xml(title)}</title>\n<rect width="${w}" height="${h}" fill="#ffffff"/>\n<text x="${w / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${xml(title)}</text>\n`;

const text = (x: number, y: number, s: string, attrs = '') =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${xml(s)}</text>\n`;

/** Y axis from 0 to a nice maximum with grid lines; returns the scale. */
function yAxis(
  max: number,
  label: string,
  fmt: (v: number) => string,
  options: { right?: boolean; integer?: boolean } = {},
): { svg: string; y: (v: number) => number; top: number } {
  const right = options.right === true;
  const step = options.integer ? Math.max(1, Math.ceil(niceStep(max))) : niceStep(max);
  const top = Math.max(step, Math.ceil(max / step - 1e-9) * step);
  const y = (v: number) => H - M.b - (v / top) * (H - M.t - M.b);
  let svg = '';
  for (let v = 0; v <= top + step / 2; v += step) {
    if (!right)
      svg += `<line x1="${M.l}" x2="${W - M.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e6e8eb"/>\n`;
    svg += text(
      right ? W - M.r + 4 : M.l - 6,
      y(v) + 4,
      fmt(v),
      `text-anchor="${right ? 'start' : 'end'}" fill="#444"`,
    );
  }
  const lx = right ? W - 6 : 16;
  svg += `<text transform="translate(${lx},${(M.t + H - M.b) / 2}) rotate(-90)" text-anchor="middle" fill="#444">${xml(label)}</text>\n`;
  return { svg, y, top };
}

const frame = () =>
  `<line x1="${M.l}" x2="${W - M.r}" y1="${H - M.b}" y2="${H - M.b}" stroke="#333"/>\n<line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${H - M.b}" stroke="#333"/>\n`;

function legend(items: readonly { label: string; color: string; dashed?: boolean }[]): string {
  let x = M.l + 8;
  let out = '';
  for (const it of items) {
    out += `<line x1="${x}" x2="${x + 22}" y1="${M.t - 18}" y2="${M.t - 18}" stroke="${it.color}" stroke-width="3"${it.dashed ? ' stroke-dasharray="5 3"' : ''}/>\n`;
    out += text(x + 28, M.t - 14, it.label, 'fill="#222"');
    x += 40 + it.label.length * 6.6;
  }
  return out;
}

// ---- Charts ----

/** Health-factor buckets: edges and labels (the last two buckets: ≥ last edge, and no debt). */
export const HF_EDGES = [1, 1.05, 1.1, 1.25, 1.5, 2, 3, 5] as const;

/** Counts and debt per health-factor bucket (accounts without debt in the last bucket). */
export function hfBuckets(
  healthFactors: Float64Array,
  debtUsdOf: (i: number) => number,
): { label: string; accounts: number; debtUsd: number }[] {
  const labels = [
    `< ${HF_EDGES[0]}`,
    ...HF_EDGES.slice(1).map((e, k) => `${HF_EDGES[k]}–${e}`),
    `≥ ${HF_EDGES[HF_EDGES.length - 1]}`,
    'no debt',
  ];
  const out = labels.map((label) => ({ label, accounts: 0, debtUsd: 0 }));
  for (let i = 0; i < healthFactors.length; i++) {
    const h = healthFactors[i]!;
    let k: number;
    if (!Number.isFinite(h)) k = labels.length - 1;
    else {
      k = 0;
      while (k < HF_EDGES.length && h >= HF_EDGES[k]!) k++;
    }
    out[k]!.accounts++;
    out[k]!.debtUsd += debtUsdOf(i);
  }
  return out;
}

export function hfHistogramSvg(buckets: ReturnType<typeof hfBuckets>, title: string): string {
  const max = Math.max(1, ...buckets.map((b) => b.accounts));
  const ax = yAxis(max, 'accounts', (v) => String(Math.round(v)), { integer: true });
  const slot = (W - M.l - M.r) / buckets.length;
  let svg = svgOpen(W, H, title) + ax.svg;
  buckets.forEach((b, k) => {
    const x = M.l + k * slot + slot * 0.12;
    const color =
      k === 0 ? COLORS.bad : k <= 2 ? COLORS.warn : k === buckets.length - 1 ? COLORS.grey : COLORS.ok;
    const y = ax.y(b.accounts);
    svg += `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.76).toFixed(1)}" height="${(H - M.b - y).toFixed(1)}" fill="${color}"><title>${xml(`${b.label}: ${b.accounts} accounts, ${usd(b.debtUsd)} debt`)}</title></rect>\n`;
    svg += text(x + slot * 0.38, y - 4, String(b.accounts), 'text-anchor="middle" font-weight="600"');
    if (b.debtUsd > 0)
      svg += text(
        x + slot * 0.38,
        y - 17,
        usdShort(b.debtUsd),
        'text-anchor="middle" fill="#666" font-size="10"',
      );
    svg += text(x + slot * 0.38, H - M.b + 16, b.label, 'text-anchor="middle"');
  });
  svg += text(
    W / 2,
    H - 12,
    'health factor (accounts; the debt they owe above each bar)',
    'text-anchor="middle" fill="#444"',
  );
  return `${svg + frame()}</svg>\n`;
}

/** One asset's liquidations-at-risk and bad-debt curves against its price change. */
export function larSvg(curve: LarCurve, title: string, markShock?: number): string {
  const f = curve.factors;
  const series = [
    { values: curve.liquidatableDebtUsd, color: COLORS.debt, label: 'liquidatable debt' },
    ...(curve.closeableDebtUsd
      ? [{ values: curve.closeableDebtUsd, color: COLORS.close, label: 'closeable at once', dashed: true }]
      : []),
    { values: curve.badDebtUsd, color: COLORS.bad, label: 'bad debt' },
  ];
  const max = Math.max(1, ...series.flatMap((s) => Array.from(s.values)));
  const ax = yAxis(max, 'USD', usdShort);
  const x = (factor: number) => M.l + (1 - factor) * (W - M.l - M.r);
  let svg = svgOpen(W, H, title) + ax.svg;
  for (let p = 0; p <= 100; p += 10) {
    svg += text(x(1 - p / 100), H - M.b + 16, p === 0 ? '0%' : `−${p}%`, 'text-anchor="middle"');
  }
  if (markShock !== undefined) {
    const xs = x(1 - markShock);
    svg += `<line x1="${xs.toFixed(1)}" x2="${xs.toFixed(1)}" y1="${M.t}" y2="${H - M.b}" stroke="${COLORS.blue}" stroke-dasharray="3 3"/>\n`;
    svg += text(
      xs + 4,
      H - M.b - 6,
      `cascade shock −${(markShock * 100).toFixed(0)}%`,
      `fill="${COLORS.blue}" font-size="10"`,
    );
  }
  for (const s of series) {
    const pts = Array.from(f, (factor, k) => `${x(factor).toFixed(1)},${ax.y(s.values[k]!).toFixed(1)}`).join(
      ' ',
    );
    svg += `<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2.2"${'dashed' in s && s.dashed ? ' stroke-dasharray="5 3"' : ''}/>\n`;
  }
  svg += legend(
    series.map((s) => ({ label: s.label, color: s.color, dashed: 'dashed' in s && s.dashed === true })),
  );
  svg += text(
    W / 2,
    H - 12,
    `${curve.label} price change (every other price held)`,
    'text-anchor="middle" fill="#444"',
  );
  return `${svg + frame()}</svg>\n`;
}

/** The cascade's rounds: debt repaid per round (bars), and each shocked asset's oracle price (line). */
export function cascadeSvg(
  result: CascadeResult,
  shocked: readonly { index: number; symbol: string; startPrice: number }[],
  title: string,
): string {
  const rounds = result.rounds;
  const max = Math.max(1, ...rounds.map((r) => r.debtRepaidUsd));
  const ax = yAxis(max, 'debt repaid per round (USD)', usdShort);
  const n = Math.max(1, rounds.length);
  const slot = (W - M.l - M.r) / n;
  let svg = svgOpen(W, H, title) + ax.svg;
  rounds.forEach((r, k) => {
    const x = M.l + k * slot + slot * 0.1;
    const y = ax.y(r.debtRepaidUsd);
    svg += `<rect x="${x.toFixed(2)}" y="${y.toFixed(1)}" width="${Math.max(0.8, slot * 0.8).toFixed(2)}" height="${(H - M.b - y).toFixed(1)}" fill="${COLORS.debt}"><title>${xml(`round ${r.round}: ${r.liquidations} liquidations, ${usd(r.debtRepaidUsd)} repaid`)}</title></rect>\n`;
  });
  const every = Math.max(1, Math.ceil(n / 12));
  rounds.forEach((r, k) => {
    if (k % every === 0 || (k === n - 1 && k % every > every / 2))
      svg += text(M.l + (k + 0.5) * slot, H - M.b + 16, String(r.round), 'text-anchor="middle"');
  });
  // Oracle price relative to before the shock, on a right axis from 0 to 100 %+.
  const right = yAxis(1, 'oracle price / shocked price', (v) => `${Math.round(v * 100)}%`, { right: true });
  const palette = [COLORS.blue, '#7b3fb3', '#1c8c8c'];
  shocked.forEach((s, k) => {
    const pts = rounds
      .map(
        (r, i) =>
          `${(M.l + (i + 0.5) * slot).toFixed(1)},${right.y(Math.min(1, r.oraclePrices[s.index]! / s.startPrice)).toFixed(1)}`,
      )
      .join(' ');
    if (rounds.length > 0)
      svg += `<polyline points="${pts}" fill="none" stroke="${palette[k % palette.length]}" stroke-width="2"/>\n`;
  });
  svg += right.svg;
  svg += legend([
    { label: 'debt repaid', color: COLORS.debt },
    ...shocked.map((s, k) => ({ label: `${s.symbol} oracle price`, color: palette[k % palette.length]! })),
  ]);
  svg += text(
    W / 2,
    H - 12,
    `round (${rounds.length} in all${result.converged ? ', converged' : ', stopped at the round limit'})`,
    'text-anchor="middle" fill="#444"',
  );
  return `${svg + frame()}</svg>\n`;
}

/** The contagion graph: protocols, assets, pools and markets in columns; edges that carried a loss in red. */
export function contagionSvg(graph: ContagionGraph, result: ContagionResult, title: string): string {
  // Assets on the left, the pools and markets that hold them in the middle, protocols on the right.
  const columns: { kind: string; ids: string[] }[] = [
    { kind: 'assets', ids: graph.assets.map((a) => a.id) },
    { kind: 'pools and markets', ids: [...graph.pools.map((p) => p.id), ...graph.markets.map((m) => m.id)] },
    { kind: 'protocols', ids: graph.protocols.map((p) => p.id) },
  ];
  // Protocols in the order of what they operate, so their edges do not cross for nothing.
  const middle = columns[1]!.ids;
  const rank = (id: string) => {
    const ops = graph.protocols
      .find((p) => p.id === id)!
      .operates.map((x) => middle.indexOf(x))
      .filter((k) => k >= 0);
    return ops.length === 0 ? Number.POSITIVE_INFINITY : ops.reduce((t, k) => t + k, 0) / ops.length;
  };
  columns[2]!.ids.sort((x, y) => rank(x) - rank(y));
  const rows = Math.max(1, ...columns.map((c) => c.ids.length));
  const w = 820;
  const h = Math.max(260, 110 + rows * 70);
  const boxW = 180;
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((c, ci) => {
    const x = 20 + ci * ((w - 40 - boxW) / (columns.length - 1));
    c.ids.forEach((id, k) => {
      const y = 70 + ((h - 100) * (k + 0.5)) / c.ids.length;
      pos.set(id, { x, y });
    });
  });
  const structural: { from: string; to: string; kind: string }[] = [];
  for (const p of graph.protocols) {
    for (const a of p.issues) structural.push({ from: p.id, to: a, kind: 'issues' });
    for (const x of p.operates) structural.push({ from: p.id, to: x, kind: 'operates' });
  }
  for (const p of graph.pools) {
    for (const r of p.reserves) structural.push({ from: r.asset, to: p.id, kind: 'reserve' });
    if (p.lpToken) structural.push({ from: p.id, to: p.lpToken, kind: 'lp-token' });
  }
  for (const m of graph.markets) {
    for (const c of m.collateral)
      if (c.amountUsd > 0) structural.push({ from: c.asset, to: m.id, kind: 'collateral' });
    if (m.receiptToken) structural.push({ from: m.id, to: m.receiptToken, kind: 'receipt' });
  }
  const lossOf = new Map(result.edges.map((e) => [`${e.from}→${e.to}`, e]));
  const edgePath = (from: string, to: string) => {
    const a = pos.get(from);
    const b = pos.get(to);
    if (!a || !b) return null;
    const [x1, x2] = a.x <= b.x ? [a.x + boxW, b.x] : [a.x, b.x + boxW];
    const mid = (x1 + x2) / 2;
    // The label sits half way along the curve, in the gap between the columns.
    const t = 0.5;
    const u = 1 - t;
    const bez = (p0: number, p1: number, p2: number, p3: number) =>
      u * u * u * p0 + 3 * u * u * t * p1 + 3 * u * t * t * p2 + t * t * t * p3;
    return {
      d: `M${x1.toFixed(1)},${a.y.toFixed(1)} C${mid.toFixed(1)},${a.y.toFixed(1)} ${mid.toFixed(1)},${b.y.toFixed(1)} ${x2.toFixed(1)},${b.y.toFixed(1)}`,
      mx: bez(x1, mid, mid, x2),
      my: bez(a.y, a.y, b.y, b.y),
    };
  };
  let svg = svgOpen(w, h, title);
  svg += `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#999"/></marker><marker id="arrow-loss" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${COLORS.bad}"/></marker></defs>\n`;
  columns.forEach((c) => {
    const x = pos.get(c.ids[0] ?? '')?.x;
    if (x !== undefined)
      svg += text(x + boxW / 2, 50, c.kind, 'text-anchor="middle" fill="#666" font-weight="600"');
  });
  const maxLoss = Math.max(1, ...result.edges.map((e) => e.lossUsd));
  const labels: string[] = [];
  for (const e of structural) {
    const p = edgePath(e.from, e.to);
    if (!p) continue;
    const loss = lossOf.get(`${e.from}→${e.to}`);
    if (loss) {
      const width = 1.5 + 5 * (loss.lossUsd / maxLoss);
      svg += `<path d="${p.d}" fill="none" stroke="${COLORS.bad}" stroke-width="${width.toFixed(1)}" marker-end="url(#arrow-loss)"><title>${xml(`${e.from} → ${e.to} (${e.kind}): ${usd(loss.lossUsd)}, ${pct(loss.loss)} lost`)}</title></path>\n`;
      labels.push(
        text(
          p.mx,
          p.my - 5,
          `${usdShort(loss.lossUsd)} ${e.kind}`,
          `text-anchor="middle" fill="${COLORS.bad}" font-size="10" font-weight="600" paint-order="stroke" stroke="#fff" stroke-width="4"`,
        ),
      );
    } else {
      svg += `<path d="${p.d}" fill="none" stroke="#bbb" stroke-width="1.2" stroke-dasharray="4 3" marker-end="url(#arrow)"><title>${xml(`${e.from} → ${e.to} (${e.kind})`)}</title></path>\n`;
    }
  }
  // Loss edges the structure above does not draw (none today; kept so nothing is hidden).
  for (const e of result.edges) {
    if (structural.some((s) => s.from === e.from && s.to === e.to)) continue;
    const p = edgePath(e.from, e.to);
    if (p)
      svg += `<path d="${p.d}" fill="none" stroke="${COLORS.bad}" stroke-width="2" marker-end="url(#arrow-loss)"/>\n`;
  }
  const marketLoss = new Map(result.markets.map((m) => [m.id, m]));
  const poolLoss = new Map(result.pools.map((p) => [p.id, p]));
  for (const [id, p] of pos) {
    const assetLoss = result.assetLoss[id];
    const m = marketLoss.get(id);
    const pl = poolLoss.get(id);
    const hit = (assetLoss ?? 0) > 0 || m !== undefined || (pl?.lpLoss ?? 0) > 0;
    const detail =
      m !== undefined
        ? `collateral −${usdShort(m.collateralLossUsd)}, bad debt ${usdShort(m.badDebtUsd)}`
        : pl !== undefined
          ? `LP −${pct(pl.lpLoss)} (${usdShort(pl.lossUsd)})`
          : assetLoss !== undefined && assetLoss > 0
            ? `loses ${pct(assetLoss)}`
            : '';
    svg += `<rect x="${p.x}" y="${(p.y - 20).toFixed(1)}" width="${boxW}" height="40" rx="7" fill="${hit ? '#fdecea' : '#f4f6f8'}" stroke="${hit ? COLORS.bad : '#9aa1a9'}"/>\n`;
    svg += text(
      p.x + boxW / 2,
      p.y - (detail ? 3 : -4),
      id.length > 30 ? `${id.slice(0, 29)}…` : id,
      `text-anchor="middle" font-weight="600" font-size="${id.length > 24 ? 10 : 11}"`,
    );
    if (detail)
      svg += text(
        p.x + boxW / 2,
        p.y + 13,
        detail,
        `text-anchor="middle" font-size="10" fill="${COLORS.bad}"`,
      );
  }
  svg += labels.join('');
  return `${svg}</svg>\n`;
}

// ---- The page ----

const table = (head: readonly string[], rows: readonly (readonly (string | number)[])[]): string =>
  `| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`;
const accounts = (n: number) => `${n} account${n === 1 ? '' : 's'}`;

/**
 * The Markdown report and its SVG charts. Charts are named `<prefix>-<chart>.svg`; the page links
 * them by those names, so write them next to it.
 *
 * @example
 * const { markdown, svgs } = renderRiskReport(analysis, { svgPrefix: 'report' });
 */
export function renderRiskReport(r: RiskReportInput, options: { svgPrefix: string }): RiskReport {
  const s = r.snapshot;
  const a = s.assets.length;
  const sym = (j: number) => s.assets[j]!.symbol;
  const name = (chart: string) => `${options.svgPrefix}-${chart}.svg`;
  const svgs: Record<string, string> = {};
  const debtUsdOf = (i: number) => {
    let d = 0;
    for (let j = 0; j < a; j++) d += s.debt[i * a + j]! * s.assets[j]!.priceUsd;
    return d;
  };
  const shockFactor = r.cascade.shockBps / 10_000;
  const c = r.cascade.result;
  const mc = r.monteCarlo;
  const lines: string[] = [];
  const push = (...x: string[]) => lines.push(...x);

  push(
    `# Risk report — ${r.scenario.title}`,
    '',
    `Scenario \`${r.scenario.name}\` (seed ${r.scenario.seed}), ${r.at === 'end' ? 'after its timeline, with nobody responding' : 'as deployed, before its timeline'}: chain ${r.chainId}, block ${r.blockNumber} (${new Date(Number(r.timestamp) * 1000).toISOString()}).`,
    `Positions from the position book: ${r.book.logs} logs in ${r.book.blocks} blocks, ${s.accounts.length} accounts; ` +
      `the book's account data matched the node's \`getUserAccountData\` for ${r.book.parityChecked - r.book.parityMismatches} of ${r.book.parityChecked} accounts checked` +
      `${r.book.parityMismatches > 0 ? ` (**${r.book.parityMismatches} mismatches**)` : ''}.`,
    '',
    '## At a glance',
    '',
    table(
      ['figure', 'value'],
      [
        ['total debt', usd(r.now.totalDebtUsd)],
        ['total collateral (enabled, oracle prices)', usd(r.now.totalCollateralUsd)],
        ['borrowers', r.now.borrowers],
        [
          'liquidatable now (HF < 1)',
          `${usd(r.now.liquidatableDebtUsd)} (${accounts(r.now.liquidatableAccounts)})`,
        ],
        ['bad debt now', `${usd(r.now.badDebtUsd)} (${accounts(r.now.badDebtAccounts)})`],
        [
          'lowest health factor',
          r.now.weakest ? `${hf(r.now.weakest.healthFactor)} (${r.now.weakest.account})` : 'nobody borrows',
        ],
        ...(r.atReference
          ? [
              ['bad debt at the reference (true) prices', usd(r.atReference.badDebtUsd)],
              [
                'liquidatable at the reference prices',
                `${usd(r.atReference.liquidatableDebtUsd)} (${accounts(r.atReference.liquidatableAccounts)})`,
              ],
            ]
          : []),
        [
          `VaR (${mc.quantile * 100}th pct of insolvent debt, ${mc.horizonDays} days)`,
          usd(mc.valueAtRiskUsd),
        ],
        [
          `LaR (${mc.quantile * 100}th pct of liquidated value, ${mc.horizonDays} days)`,
          usd(mc.liquidationsAtRiskUsd),
        ],
        [
          `cascade after ${r.cascade.shockedAssets.map(sym).join('+')} −${(shockFactor * 100).toFixed(0)}%`,
          `${usd(c.liquidatedDebtUsd)} liquidated in ${c.rounds.length} rounds, ${usd(c.badDebtUsd)} bad debt`,
        ],
      ],
    ),
    '',
    '## Prices',
    '',
    table(
      ['asset', 'oracle price', 'reference price', 'oracle / reference', 'LT', 'bonus'],
      s.assets.map((x, j) => {
        const ref = r.referencePrices[j]!;
        return [
          x.symbol,
          `$${x.priceUsd.toLocaleString('en-US', { maximumFractionDigits: 4 })}`,
          Number.isFinite(ref) ? `$${ref.toLocaleString('en-US', { maximumFractionDigits: 4 })}` : '—',
          Number.isFinite(ref) && ref > 0 ? `${(x.priceUsd / ref).toFixed(3)}×` : '—',
          pct(x.liquidationThreshold),
          pct(x.liquidationBonus - 1),
        ];
      }),
    ),
  );

  // Health factors.
  const buckets = hfBuckets(r.healthFactors, debtUsdOf);
  svgs[name('hf-histogram')] = hfHistogramSvg(
    buckets,
    `Health factors — ${s.accounts.length} accounts, block ${r.blockNumber}`,
  );
  push(
    '',
    '## Health factors',
    '',
    `![health-factor histogram](${name('hf-histogram')})`,
    '',
    table(
      ['health factor', 'accounts', 'debt'],
      buckets.map((b) => [b.label, b.accounts, usd(b.debtUsd)]),
    ),
  );

  // LaR and bad-debt curves.
  push('', '## Liquidations at risk and bad debt, per asset', '');
  push(
    "Each asset's price falls alone, every other price held. Liquidatable debt: the debt of accounts whose health factor is below 1 at that price; closeable: what liquidators may repay at once (close factor); bad debt: debt no collateral covers.",
    '',
  );
  const at = (curve: LarCurve, drop: number) => {
    let best = 0;
    for (let k = 0; k < curve.factors.length; k++)
      if (Math.abs(curve.factors[k]! - (1 - drop)) < Math.abs(curve.factors[best]! - (1 - drop))) best = k;
    return best;
  };
  const drops = [0.1, 0.2, 0.3, 0.5];
  const rows: (string | number)[][] = [];
  const quiet: string[] = [];
  for (const curve of r.lar) {
    const maxValue = Math.max(...Array.from(curve.liquidatableDebtUsd), ...Array.from(curve.badDebtUsd));
    for (const d of drops) {
      const k = at(curve, d);
      rows.push([
        curve.label,
        `−${(d * 100).toFixed(0)}%`,
        usd(curve.liquidatableDebtUsd[k]!),
        curve.liquidatableAccounts[k]!,
        usd(curve.badDebtUsd[k]!),
      ]);
    }
    if (!(maxValue > 0)) {
      quiet.push(curve.label);
      continue;
    }
    const file = name(`lar-${slug(curve.label)}`);
    const shocked =
      r.cascade.shockedAssets.length === 1 &&
      curve.assets.length === 1 &&
      curve.assets[0] === r.cascade.shockedAssets[0];
    svgs[file] = larSvg(
      curve,
      `${curve.label}: liquidations at risk and bad debt`,
      shocked ? shockFactor : undefined,
    );
    push(`![${curve.label} LaR and bad-debt curves](${file})`, '');
  }
  if (quiet.length > 0)
    push(`No liquidation and no bad debt at any price of: ${quiet.join(', ')} (no chart).`, '');
  push(table(['asset', 'price change', 'liquidatable debt', 'accounts', 'bad debt'], rows));

  // Cascade.
  const shockedList = r.cascade.shockedAssets.map((j) => ({
    index: j,
    symbol: sym(j),
    startPrice: s.assets[j]!.priceUsd * (1 - shockFactor),
  }));
  svgs[name('cascade')] = cascadeSvg(
    c,
    shockedList,
    `Cascade: ${shockedList.map((x) => x.symbol).join('+')} −${(shockFactor * 100).toFixed(0)}%, oracle lag ${r.cascade.oracleLagRounds} round(s)`,
  );
  push(
    '',
    '## Liquidation cascade',
    '',
    `${shockedList.map((x) => x.symbol).join(' and ')} fall${shockedList.length === 1 ? 's' : ''} ${(shockFactor * 100).toFixed(0)}%; liquidators repay debt, seize collateral and sell it into the pools ` +
      `(${r.cascade.pools.length > 0 ? r.cascade.pools.map((p, k) => `${r.cascade.poolIds[k]}: ${p.reserveAsset.toLocaleString('en-US', { maximumFractionDigits: 2 })} ${sym(p.asset)} / ${usd(p.reserveQuote)}`).join('; ') : 'none: assets trade at the oracle price'}); ` +
      `the oracle follows the pools ${r.cascade.oracleLagRounds} round(s) late; repeat until nothing changes.`,
    '',
    `![cascade rounds](${name('cascade')})`,
    '',
    table(
      ['figure', 'value'],
      [
        ['rounds', `${c.rounds.length} (${c.converged ? 'converged' : 'round limit reached'})`],
        ['debt before (shocked prices)', usd(c.initialDebtUsd)],
        ['debt liquidated', usd(c.liquidatedDebtUsd)],
        ['collateral seized', usd(c.liquidatedCollateralUsd)],
        ['protocol fees', usd(c.protocolFeeUsd)],
        ['bad debt at the end', `${usd(c.badDebtUsd)} (${accounts(c.badDebtAccounts)})`],
        ['stuck (HF < 1, no profitable liquidation)', c.stuckAccounts],
        ...r.cascade.shockedAssets.map((j) => [
          `${sym(j)} final oracle price`,
          `$${c.finalPrices[j]!.toLocaleString('en-US', { maximumFractionDigits: 4 })}`,
        ]),
      ],
    ),
  );

  // Contagion.
  svgs[name('contagion')] = contagionSvg(
    r.contagion.graph,
    r.contagion.result,
    `Contagion: ${r.contagion.sources.map((x) => `${x.id} −${pct(x.loss, 0)}`).join(', ')}`,
  );
  push(
    '',
    '## Contagion',
    '',
    `![contagion graph](${name('contagion')})`,
    '',
    table(
      ['market', 'collateral lost', 'bad debt', 'depositors lose', 'path'],
      r.contagion.result.markets.map((m) => [
        m.id,
        usd(m.collateralLossUsd),
        usd(m.badDebtUsd),
        pct(m.depositorLoss, 2),
        m.path.join(' → '),
      ]),
    ),
    '',
    r.contagion.result.edges.length > 0
      ? table(
          ['from', 'to', 'edge', 'loss carried'],
          r.contagion.result.edges.map((e) => [e.from, e.to, e.kind, `${usd(e.lossUsd)} (${pct(e.loss)})`]),
        )
      : 'No edge carried a loss.',
  );

  // Sensitivity.
  const sv = r.sensitivity;
  const declineText = `${sym(sv.asset)} falling ${pct(sv.decline.ratePerHour, 1)} an hour (compounding) over ${sv.decline.horizonHours} h`;
  push(
    '',
    '## Sensitivity',
    '',
    `Under ${declineText}.`,
    '',
    `### Liquidation threshold of ${sym(sv.asset)} → time to insolvency`,
    '',
    "Borrowers re-lever to the threshold (same health factor as today); insolvency: uncovered debt ≥ 1 % of the market's debt with no liquidation.",
    '',
    table(
      ['threshold', 'first liquidation', 'first bad debt', 'insolvency', 'bad debt at horizon'],
      sv.thresholds.map((t) => [
        pct(t.liquidationThreshold),
        hours(t.hoursToFirstLiquidation),
        hours(t.hoursToFirstBadDebt),
        hours(t.hoursToInsolvency),
        usd(t.badDebtAtHorizonUsd),
      ]),
    ),
    '',
    `### Governance delay → loss while a fix waits (guardians respond in ${sv.responseHours} h)`,
    '',
    table(
      [
        'delay',
        'bad debt accrued',
        'liquidatable debt',
        'malicious change vetoable',
        'malicious change could take',
      ],
      sv.governance.map((g) => [
        `${g.delayHours} h`,
        usd(g.stressLossUsd),
        usd(g.liquidatableDebtUsd),
        g.vetoable ? 'yes' : 'no',
        usd(g.maliciousLossUsd),
      ]),
    ),
    '',
    '### Oracle heartbeat and deviation threshold → price error and the bad debt the lag lets accrue',
    '',
    table(
      ['heartbeat', 'deviation', 'lag', 'largest price error', 'gapped debt', 'bad debt from the lag'],
      sv.oracle.map((o) => [
        `${o.heartbeatHours} h`,
        pct(o.deviation, 1),
        `${o.lagHours.toFixed(2)} h`,
        pct(o.maxPriceError, 2),
        usd(o.gappedDebtUsd),
        usd(o.badDebtFromLagUsd),
      ]),
    ),
  );

  // Monte Carlo.
  push(
    '',
    '## Value at risk (Monte Carlo)',
    '',
    `${mc.paths} price paths over ${mc.horizonDays} days in ${mc.steps} steps (seed ${mc.seed}): geometric Brownian motion with jumps, volatility ${s.assets.map((x, j) => `${x.symbol} ${pct(mc.sigmas[j]!, 0)}`).join(', ')}, pairwise correlation ${mc.correlation}. VaR is the ${mc.quantile * 100}th percentile of net insolvent debt, LaR of liquidated value (Gauntlet's definitions).`,
    '',
    table(
      ['figure', 'value'],
      [
        ['VaR', usd(mc.valueAtRiskUsd)],
        ['LaR', usd(mc.liquidationsAtRiskUsd)],
        ['mean insolvent debt', usd(mc.meanInsolventUsd)],
        ['mean liquidated value', usd(mc.meanLiquidatedUsd)],
      ],
    ),
    '',
    '---',
    '',
    `Computed in ${Object.entries(r.timingsMs)
      .map(([k, v]) => `${k} ${v} ms`)
      .join(', ')}. Generated by \`firebreak risk\`.`,
    '',
  );
  return { markdown: lines.join('\n'), svgs };
}

/** The report's figures as JSON-safe data (bigints as strings, curves as arrays). */
export function riskToJson(r: RiskReportInput): Record<string, unknown> {
  const arr = (x: ArrayLike<number>) => Array.from(x);
  const c = r.cascade.result;
  return {
    scenario: r.scenario,
    at: r.at,
    chainId: r.chainId,
    blockNumber: r.blockNumber.toString(),
    timestamp: r.timestamp.toString(),
    book: r.book,
    accounts: r.snapshot.accounts.length,
    assets: r.snapshot.assets.map((x, j) => ({ ...x, referencePriceUsd: r.referencePrices[j] ?? null })),
    now: r.now,
    atReference: r.atReference && { ...r.atReference, histogram: undefined },
    healthFactorBuckets: hfBuckets(r.healthFactors, (i) => {
      let d = 0;
      const a = r.snapshot.assets.length;
      for (let j = 0; j < a; j++) d += r.snapshot.debt[i * a + j]! * r.snapshot.assets[j]!.priceUsd;
      return d;
    }),
    lar: r.lar.map((l) => ({
      label: l.label,
      assets: l.assets,
      factors: arr(l.factors),
      liquidatableDebtUsd: arr(l.liquidatableDebtUsd),
      liquidatableAccounts: arr(l.liquidatableAccounts),
      ...(l.closeableDebtUsd ? { closeableDebtUsd: arr(l.closeableDebtUsd) } : {}),
      badDebtUsd: arr(l.badDebtUsd),
    })),
    cascade: {
      shockBps: r.cascade.shockBps,
      shockedAssets: r.cascade.shockedAssets.map((j) => r.snapshot.assets[j]!.symbol),
      pools: r.cascade.pools.map((p, k) => ({ id: r.cascade.poolIds[k], ...p })),
      oracleLagRounds: r.cascade.oracleLagRounds,
      converged: c.converged,
      rounds: c.rounds.map((x) => ({
        round: x.round,
        liquidations: x.liquidations,
        debtRepaidUsd: x.debtRepaidUsd,
        collateralSeizedUsd: x.collateralSeizedUsd,
        oraclePrices: arr(x.oraclePrices),
      })),
      initialDebtUsd: c.initialDebtUsd,
      liquidatedDebtUsd: c.liquidatedDebtUsd,
      liquidatedCollateralUsd: c.liquidatedCollateralUsd,
      protocolFeeUsd: c.protocolFeeUsd,
      badDebtUsd: c.badDebtUsd,
      badDebtAccounts: c.badDebtAccounts,
      stuckAccounts: c.stuckAccounts,
      finalPrices: arr(c.finalPrices),
    },
    contagion: { sources: r.contagion.sources, ...r.contagion.result },
    sensitivity: r.sensitivity,
    monteCarlo: r.monteCarlo,
    timingsMs: r.timingsMs,
  };
}
