/**
 * Engine — recording a chain's block range with the state reads its configured detectors make, so
 * that replaying the file through the same detectors needs no node (`firebreak record`).
 *
 * The detectors are built as the engine builds them and run on every block through a recording
 * client: whatever they read is what the file holds. Their findings are discarded here.
 */
import type { Client } from 'viem';
import { type RecordRangeProgress, type RecordSummary, recordRange } from '../chain/recording';
import type { Common } from '../common/common';
import { FirebreakError } from '../common/errors';
import type { FirebreakConfig } from '../config/schema';
import { memoryDetectorState, runDetectors } from '../detectors/run';
import type { DetectorInstance } from '../detectors/types';
import { createBlockView } from '../detectors/view';
import { buildDetectors } from './detectors';

export interface RecordChainOptions {
  config: FirebreakConfig;
  /** Chain name in the config. */
  chain: string;
  /** A connected client for that chain. */
  client: Client;
  from: bigint;
  to: bigint;
  out: string;
  common: Common;
  /** Time a detector gets per block while recording (a slow node is not a reason to lose a read). */
  detectorTimeoutMs?: number;
  onProgress?: (progress: RecordRangeProgress) => void;
}

export interface RecordChainSummary extends RecordSummary {
  detectors: string[];
  /** Detector runs that failed while recording (their reads may be missing from the file). */
  detectorFailures: { block: bigint; detector: string; error: string }[];
}

/**
 * Records `from..to` of a configured chain with its detectors' reads.
 *
 * @example
 * const summary = await recordChain({ config, chain: 'mainnet', client, from, to, out: 'r.rec.gz', common });
 */
export async function recordChain(options: RecordChainOptions): Promise<RecordChainSummary> {
  const { config, common } = options;
  const chain = config.chains.find((c) => c.name === options.chain);
  if (!chain)
    throw new FirebreakError(
      'ERR_USAGE',
      `unknown chain "${options.chain}"\n    fix: use a chain name from the config: ${config.chains.map((c) => `"${c.name}"`).join(', ')}`,
    );
  let detectors: DetectorInstance[] = [];
  const stateOf = memoryDetectorState();
  const detectorFailures: RecordChainSummary['detectorFailures'] = [];
  const summary = await recordRange({
    client: options.client,
    chainId: chain.id,
    from: options.from,
    to: options.to,
    out: options.out,
    common,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    setup: async (client) => {
      const built = await buildDetectors(config, () => client, { chains: [chain.name] });
      detectors = built.byChain.get(chain.name) ?? [];
    },
    reads: async (blockNumber, { client, block }) => {
      if (detectors.length === 0) return;
      const event = {
        type: 'block' as const,
        chainId: chain.id,
        block,
        receivedAt: common.clock.monotonic(),
      };
      const findings = await runDetectors(detectors, event, createBlockView(client, chain.id, blockNumber), {
        timeoutMs: options.detectorTimeoutMs ?? 30_000,
        logger: common.logger,
        stateOf,
      });
      for (const f of findings) {
        // A detector that threw or timed out (not a degraded condition it reported on purpose).
        if (
          f.kind === 'degraded' &&
          typeof f.evidence.error === 'string' &&
          f.dedupeKey === `degraded:${f.detectorInstance}`
        )
          detectorFailures.push({
            block: blockNumber,
            detector: f.detectorInstance,
            error: f.evidence.error,
          });
      }
    },
  });
  return { ...summary, detectors: detectors.map((d) => d.id), detectorFailures };
}
