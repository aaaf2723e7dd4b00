/**
 * Test support — small detectors that fire on something a test controls, so that ingestion tests
 * see findings on exactly the blocks they choose (passed to the engine as `extraDetectors`).
 */
import type { Client, Hex } from 'viem';
import { getBlock } from 'viem/actions';
import { makeFinding } from '../../src/detectors/finding';
import type { DetectorDefinition } from '../../src/detectors/types';

/** Fires on every block that holds a transaction to `marker` (read through `client`, by block hash). */
export const markerTx: DetectorDefinition<{ client: Client; marker: Hex }> = {
  type: 'marker-tx',
  description: 'a transaction to the marker address',
  async detect(event, ctx) {
    const marker = ctx.params.marker.toLowerCase();
    const block = await getBlock(ctx.params.client, {
      blockHash: event.block.hash,
      includeTransactions: true,
    });
    const hits = block.transactions.filter((tx) => tx.to?.toLowerCase() === marker);
    if (hits.length === 0) return [];
    return [
      makeFinding({
        detector: 'marker-tx',
        detectorInstance: ctx.instanceId,
        severity: 'high',
        kind: 'anomaly',
        subject: { chainId: event.chainId, protocol: 'test', market: ctx.params.marker },
        dedupeKey: `marker:${marker}`,
        confidence: 1,
        title: `transaction to the marker in block ${event.block.number}`,
        evidence: { txs: hits.length, first: hits[0]!.hash },
        block: event.block,
      }),
    ];
  },
};

/** Fires on every block whose number is a multiple of `every`: no reads at all. */
export const everyNthBlock: DetectorDefinition<{ every: bigint }> = {
  type: 'every-nth-block',
  description: 'block number is a multiple of `every`',
  async detect(event, ctx) {
    if (event.block.number % ctx.params.every !== 0n) return [];
    return [
      makeFinding({
        detector: 'every-nth-block',
        detectorInstance: ctx.instanceId,
        severity: 'low',
        kind: 'anomaly',
        subject: { chainId: event.chainId, protocol: 'test' },
        dedupeKey: `nth:${ctx.params.every}`,
        confidence: 1,
        title: `block ${event.block.number} is a multiple of ${ctx.params.every}`,
        evidence: { number: event.block.number.toString() },
        block: event.block,
      }),
    ];
  },
};
