/**
 * Engine — one chain's health for operators: head lag in blocks and seconds, blocks/s, and RPC
 * calls/s and errors by endpoint (labels redacted), from the engine and the metrics registry.
 */
import type { MetricsRegistry } from '../chain/metrics';
import type { RpcPool } from '../chain/rpc-pool';
import type { Engine } from './engine';

/** One chain's health in a log line: head lag in blocks and seconds, blocks/s, RPC calls/s and errors by endpoint. */
export function chainStatus(
  chain: string,
  engine: Engine,
  metrics: MetricsRegistry,
  pool: RpcPool | undefined,
  head: unknown,
): Record<string, unknown> {
  const last = engine.lastProcessed.get(chain);
  const snapshot = metrics.snapshot();
  const perSecond = (name: string, filter: (labels: Record<string, string>) => boolean): number => {
    const metric = snapshot.metrics.find((m) => m.name === name);
    if (metric?.type !== 'counter') return 0;
    return metric.series.filter((s) => filter(s.labels)).reduce((sum, s) => sum + s.perSecond, 0);
  };
  const endpoints = (pool?.health() ?? []).map((h) => ({
    endpoint: h.label,
    status: h.status,
    demoted: h.demoted,
    callsPerSecond: Number(
      perSecond('firebreak_rpc_requests_total', (l) => l.endpoint === h.label).toFixed(2),
    ),
    errorsPerSecond: Number(
      perSecond('firebreak_rpc_errors_total', (l) => l.endpoint === h.label).toFixed(2),
    ),
  }));
  return {
    chain,
    lastBlock: last?.number.toString() ?? null,
    headLagBlocks: typeof head === 'string' && last ? Number(BigInt(head) - last.number) : null,
    headLagSeconds: last ? Math.max(0, Math.round(Date.now() / 1000 - Number(last.timestamp))) : null,
    blocksPerSecond: Number(
      perSecond('firebreak_chain_blocks_processed_total', (l) => l.chain === chain).toFixed(2),
    ),
    endpoints,
  };
}
