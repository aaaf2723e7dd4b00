/**
 * Chain — metrics: a small in-process registry (counters, gauges, latency summaries, with labels)
 * and the RPC metrics every chain's pool reports into, per chain and per endpoint.
 *
 * No dependency and no global: one registry is created where the engine is wired and passed down.
 * `snapshot()` returns plain JSON (for the API and the dashboard); `toPrometheus(snapshot)` renders
 * the text exposition format for a `/metrics` route. Every label value is redacted when its series
 * is created, so an RPC URL with a key in its path can never become a label.
 */
import type { Clock } from '../common/common';
import { systemClock } from '../common/common';
import { redact } from '../common/errors';

export type Labels = Readonly<Record<string, string>>;

export interface Counter {
  inc(labels?: Labels, by?: number): void;
  value(labels?: Labels): number;
  /** Increments per second over the last `windowMs` (at most the registry's `maxRateWindowMs`). */
  rate(labels?: Labels, windowMs?: number): number;
}

export interface Gauge {
  set(labels: Labels, value: number): void;
  value(labels?: Labels): number | undefined;
}

export interface Summary {
  observe(labels: Labels, value: number): void;
  /** The q-quantile (0..1) of the recent observations kept for this series, or undefined if none. */
  quantile(labels: Labels, q: number): number | undefined;
}

export interface CounterSeries {
  labels: Labels;
  value: number;
  /** Increments per second over the registry's rate window. */
  perSecond: number;
}
export interface GaugeSeries {
  labels: Labels;
  value: number;
}
export interface SummarySeries {
  labels: Labels;
  /** Observations since start. */
  count: number;
  sum: number;
  /** Quantiles of the most recent observations (the reservoir); null when there are none. */
  quantiles: Record<string, number | null>;
  /** How many observations the quantiles are computed from. */
  reservoir: number;
}

export type MetricSnapshot =
  | { type: 'counter'; name: string; help: string; series: CounterSeries[] }
  | { type: 'gauge'; name: string; help: string; series: GaugeSeries[] }
  | { type: 'summary'; name: string; help: string; series: SummarySeries[] };

export interface MetricsSnapshot {
  /** Wall-clock milliseconds when the snapshot was taken. */
  takenAt: number;
  rateWindowMs: number;
  metrics: MetricSnapshot[];
}

export interface MetricsRegistry {
  /** Creates a counter, or returns the one already registered under `name` (same type and labels). */
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge;
  /** A summary keeping the last `reservoir` observations per series for its quantiles. */
  summary(
    name: string,
    help: string,
    labelNames?: readonly string[],
    options?: { reservoir?: number; quantiles?: readonly number[] },
  ): Summary;
  snapshot(): MetricsSnapshot;
}

export interface MetricsOptions {
  clock?: Clock;
  /** Window of the `perSecond` figure in snapshots. Default 60 s. */
  rateWindowMs?: number;
  /** Longest window `rate()` can answer for (bounded memory: one slot per second). Default 300 s. */
  maxRateWindowMs?: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DEFAULT_QUANTILES = [0.5, 0.9, 0.99] as const;

interface Family<S> {
  type: MetricSnapshot['type'];
  name: string;
  help: string;
  labelNames: readonly string[];
  series: Map<string, S & { labels: Labels }>;
}

/**
 * Creates a metrics registry.
 *
 * @example
 * const metrics = createMetrics({ clock: common.clock });
 * const calls = metrics.counter('firebreak_blocks_total', 'Blocks processed', ['chain']);
 * calls.inc({ chain: '1' });
 * toPrometheus(metrics.snapshot()); // '# HELP firebreak_blocks_total Blocks processed\n…'
 */
export function createMetrics(options: MetricsOptions = {}): MetricsRegistry {
  const clock = options.clock ?? systemClock;
  const rateWindowMs = options.rateWindowMs ?? 60_000;
  const slots = Math.max(2, Math.ceil((options.maxRateWindowMs ?? 300_000) / 1_000) + 1);
  const families = new Map<string, Family<unknown>>();

  const family = <S>(
    type: MetricSnapshot['type'],
    name: string,
    help: string,
    labelNames: readonly string[],
  ): Family<S> => {
    const existing = families.get(name);
    if (existing) {
      if (existing.type !== type || existing.labelNames.join(',') !== labelNames.join(',')) {
        throw new Error(
          `metric "${name}" is already registered as a ${existing.type} with labels [${existing.labelNames.join(', ')}]`,
        );
      }
      return existing as Family<S>;
    }
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name "${name}"`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l === 'quantile') throw new Error(`invalid label name "${l}" on "${name}"`);
    }
    const created: Family<S> = { type, name, help, labelNames, series: new Map() };
    families.set(name, created as Family<unknown>);
    return created;
  };

  /** Finds or creates the series for `labels`; label values are redacted once, at creation. */
  const seriesOf = <S extends object>(
    f: Family<S>,
    labels: Labels,
    create: () => S,
  ): S & { labels: Labels } => {
    const key = keyOf(f.labelNames, labels);
    const found = f.series.get(key);
    if (found) return found;
    for (const k of Object.keys(labels)) {
      if (!f.labelNames.includes(k)) throw new Error(`metric "${f.name}" has no label "${k}"`);
    }
    const clean: Record<string, string> = {};
    for (const n of f.labelNames) clean[n] = redact(labels[n] ?? '');
    const created: S & { labels: Labels } = Object.assign(create(), { labels: clean });
    f.series.set(key, created);
    return created;
  };

  interface CounterState {
    value: number;
    /** Per-second slots: the second each slot holds, and its increments. */
    seconds: Float64Array;
    counts: Float64Array;
  }
  const startSecond = Math.floor(clock.monotonic() / 1_000);
  const newCounter = (): CounterState => ({
    value: 0,
    seconds: new Float64Array(slots).fill(-1),
    counts: new Float64Array(slots),
  });
  /**
   * Increments per second over the last `windowMs`, counted in whole seconds that have ended (the
   * current second is still filling). A registry younger than the window averages over its own age;
   * in its first second, the increments so far count as one second's worth.
   */
  const rateOf = (s: CounterState | undefined, windowMs: number): number => {
    if (!s) return 0;
    const nowSecond = Math.floor(clock.monotonic() / 1_000);
    const wanted = Math.min(slots - 1, Math.max(1, Math.ceil(windowMs / 1_000)));
    const window = Math.min(wanted, nowSecond - startSecond);
    const from = window === 0 ? nowSecond : nowSecond - window;
    const to = window === 0 ? nowSecond : nowSecond - 1;
    let total = 0;
    for (let i = 0; i < slots; i++) {
      const second = s.seconds[i]!;
      if (second >= from && second <= to) total += s.counts[i]!;
    }
    return total / Math.max(1, window);
  };

  interface SummaryState {
    count: number;
    sum: number;
    ring: Float64Array;
    filled: number;
    next: number;
  }
  const quantileOf = (s: SummaryState | undefined, q: number): number | undefined => {
    if (!s || s.filled === 0) return undefined;
    const sorted = Array.from(s.ring.subarray(0, s.filled)).sort((a, b) => a - b);
    return quantileSorted(sorted, q);
  };

  const summaryOptions = new Map<string, { reservoir: number; quantiles: readonly number[] }>();

  return {
    counter(name, help, labelNames = []) {
      const f = family<CounterState>('counter', name, help, labelNames);
      return {
        inc(labels = {}, by = 1) {
          if (!(by >= 0)) throw new Error(`counter "${name}" can only go up (got ${by})`);
          const s = seriesOf(f, labels, newCounter);
          s.value += by;
          const second = Math.floor(clock.monotonic() / 1_000);
          const slot = second % slots;
          if (s.seconds[slot] !== second) {
            s.seconds[slot] = second;
            s.counts[slot] = 0;
          }
          s.counts[slot]! += by;
        },
        value: (labels = {}) => f.series.get(keyOf(f.labelNames, labels))?.value ?? 0,
        rate: (labels = {}, windowMs = rateWindowMs) =>
          rateOf(f.series.get(keyOf(f.labelNames, labels)), windowMs),
      };
    },
    gauge(name, help, labelNames = []) {
      const f = family<{ value: number }>('gauge', name, help, labelNames);
      return {
        set(labels, value) {
          seriesOf(f, labels, () => ({ value: 0 })).value = value;
        },
        value: (labels = {}) => f.series.get(keyOf(f.labelNames, labels))?.value,
      };
    },
    summary(name, help, labelNames = [], opts = {}) {
      const f = family<SummaryState>('summary', name, help, labelNames);
      const reservoir = Math.max(1, opts.reservoir ?? 512);
      if (!summaryOptions.has(name)) {
        summaryOptions.set(name, { reservoir, quantiles: opts.quantiles ?? DEFAULT_QUANTILES });
      }
      const size = summaryOptions.get(name)!.reservoir;
      return {
        observe(labels, value) {
          const s = seriesOf(f, labels, () => ({
            count: 0,
            sum: 0,
            ring: new Float64Array(size),
            filled: 0,
            next: 0,
          }));
          s.count++;
          s.sum += value;
          s.ring[s.next] = value;
          s.next = (s.next + 1) % size;
          s.filled = Math.min(size, s.filled + 1);
        },
        quantile: (labels, q) => quantileOf(f.series.get(keyOf(f.labelNames, labels)), q),
      };
    },
    snapshot() {
      const metrics: MetricSnapshot[] = [];
      for (const f of families.values()) {
        if (f.type === 'counter') {
          const series = [...(f as Family<CounterState>).series.values()].map((s) => ({
            labels: { ...s.labels },
            value: s.value,
            perSecond: rateOf(s, rateWindowMs),
          }));
          metrics.push({ type: 'counter', name: f.name, help: f.help, series });
        } else if (f.type === 'gauge') {
          const series = [...(f as Family<{ value: number }>).series.values()].map((s) => ({
            labels: { ...s.labels },
            value: s.value,
          }));
          metrics.push({ type: 'gauge', name: f.name, help: f.help, series });
        } else {
          const qs = summaryOptions.get(f.name)?.quantiles ?? DEFAULT_QUANTILES;
          const series = [...(f as Family<SummaryState>).series.values()].map((s) => {
            const sorted = Array.from(s.ring.subarray(0, s.filled)).sort((a, b) => a - b);
            const quantiles: Record<string, number | null> = {};
            for (const q of qs) quantiles[String(q)] = quantileSorted(sorted, q) ?? null;
            return { labels: { ...s.labels }, count: s.count, sum: s.sum, quantiles, reservoir: s.filled };
          });
          metrics.push({ type: 'summary', name: f.name, help: f.help, series });
        }
      }
      return { takenAt: clock.now(), rateWindowMs, metrics };
    },
  };
}

function keyOf(labelNames: readonly string[], labels: Labels): string {
  return labelNames.map((n) => labels[n] ?? '').join('\u0000');
}

/** Nearest-rank quantile of sorted values. */
export function quantileSorted(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil(Math.min(1, Math.max(0, q)) * sorted.length);
  return sorted[Math.max(0, rank - 1)];
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const formatNumber = (v: number | null): string => {
  if (v === null || Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
};
const formatLabels = (labels: Labels, extra?: [string, string]): string => {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  return pairs.length === 0 ? '' : `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
};

/**
 * Renders a snapshot in the Prometheus text exposition format (version 0.0.4). Counter rates are
 * left out: Prometheus derives them from the counters (`rate(x[1m])`).
 */
export function toPrometheus(snapshot: MetricsSnapshot): string {
  const lines: string[] = [];
  for (const m of snapshot.metrics) {
    lines.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`);
    if (m.type === 'summary') {
      for (const s of m.series) {
        for (const [q, v] of Object.entries(s.quantiles)) {
          lines.push(`${m.name}${formatLabels(s.labels, ['quantile', q])} ${formatNumber(v)}`);
        }
        lines.push(`${m.name}_sum${formatLabels(s.labels)} ${formatNumber(s.sum)}`);
        lines.push(`${m.name}_count${formatLabels(s.labels)} ${formatNumber(s.count)}`);
      }
    } else {
      for (const s of m.series) lines.push(`${m.name}${formatLabels(s.labels)} ${formatNumber(s.value)}`);
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

// ── RPC metrics ────────────────────────────────────────────────────────────────────────────────

/** Why an RPC attempt failed, as counted in `firebreak_rpc_errors_total{kind}`. */
export const RPC_ERROR_KINDS = [
  'timeout',
  'http-429',
  'http-5xx',
  'network',
  'bad-response',
  'rpc-error',
  'disagreement',
] as const;
export type RpcErrorKind = (typeof RPC_ERROR_KINDS)[number];

export interface RpcMetrics {
  /** One HTTP request sent to an endpoint, answered or not, and how long it took. */
  call(endpoint: string, latencyMs: number): void;
  error(endpoint: string, kind: RpcErrorKind): void;
  /** The endpoint's health as the pool sees it. */
  endpointState(endpoint: string, state: { score: number; up: boolean; demoted: boolean }): void;
  quorum(outcome: 'met' | 'not-met'): void;
  /** Calls per second over `windowMs`, for one endpoint or (no endpoint) the whole chain. */
  callsPerSecond(endpoint?: string, windowMs?: number): number;
  errorsPerSecond(endpoint: string, kind: RpcErrorKind, windowMs?: number): number;
}

/**
 * The RPC metrics of one chain. The registry redacts label values, so even a caller that passes a
 * raw URL as the endpoint gets `https://host/…` as the label.
 *
 * Metrics: `firebreak_rpc_requests_total{chain,endpoint}`, `firebreak_rpc_errors_total{chain,
 * endpoint,kind}`, `firebreak_rpc_request_duration_seconds{chain,endpoint}` (summary),
 * `firebreak_rpc_endpoint_score`, `firebreak_rpc_endpoint_up`, `firebreak_rpc_endpoint_demoted`
 * (gauges), `firebreak_rpc_quorum_reads_total{chain,outcome}`.
 */
export function rpcMetrics(registry: MetricsRegistry, chainId: number): RpcMetrics {
  const chain = String(chainId);
  const requests = registry.counter('firebreak_rpc_requests_total', 'RPC requests sent, by endpoint', [
    'chain',
    'endpoint',
  ]);
  const chainRequests = registry.counter(
    'firebreak_rpc_chain_requests_total',
    'RPC requests sent, by chain',
    ['chain'],
  );
  const errors = registry.counter('firebreak_rpc_errors_total', 'RPC errors, by endpoint and kind', [
    'chain',
    'endpoint',
    'kind',
  ]);
  const duration = registry.summary(
    'firebreak_rpc_request_duration_seconds',
    'RPC request latency (recent requests), by endpoint',
    ['chain', 'endpoint'],
    { reservoir: 1024 },
  );
  const score = registry.gauge('firebreak_rpc_endpoint_score', 'Endpoint health score (0..1)', [
    'chain',
    'endpoint',
  ]);
  const up = registry.gauge('firebreak_rpc_endpoint_up', '1 when the endpoint is not in cooldown', [
    'chain',
    'endpoint',
  ]);
  const demoted = registry.gauge(
    'firebreak_rpc_endpoint_demoted',
    '1 when the endpoint disagreed with a quorum and is demoted',
    ['chain', 'endpoint'],
  );
  const quorum = registry.counter('firebreak_rpc_quorum_reads_total', 'Quorum reads, by outcome', [
    'chain',
    'outcome',
  ]);
  const ep = (endpoint: string) => ({ chain, endpoint });
  return {
    call(endpoint, latencyMs) {
      requests.inc(ep(endpoint));
      chainRequests.inc({ chain });
      duration.observe(ep(endpoint), latencyMs / 1_000);
    },
    error: (endpoint, kind) => errors.inc({ ...ep(endpoint), kind }),
    endpointState(endpoint, state) {
      score.set(ep(endpoint), state.score);
      up.set(ep(endpoint), state.up ? 1 : 0);
      demoted.set(ep(endpoint), state.demoted ? 1 : 0);
    },
    quorum: (outcome) => quorum.inc({ chain, outcome }),
    callsPerSecond: (endpoint, windowMs) =>
      endpoint === undefined
        ? chainRequests.rate({ chain }, windowMs)
        : requests.rate(ep(endpoint), windowMs),
    errorsPerSecond: (endpoint, kind, windowMs) => errors.rate({ ...ep(endpoint), kind }, windowMs),
  };
}
