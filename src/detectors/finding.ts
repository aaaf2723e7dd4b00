/**
 * Detect — building findings with deterministic ids.
 */
import { keccak256, toHex } from 'viem';
import type { BlockRef, Finding } from './types';

/** A finding id is a hash of detector instance, dedupe key and block hash: replays give the same id. */
export function findingId(detector: string, dedupeKey: string, block: BlockRef): string {
  return keccak256(toHex(`${detector}|${dedupeKey}|${block.hash}`)).slice(0, 34);
}

export function makeFinding(input: Omit<Finding, 'id'>): Finding {
  return { ...input, id: findingId(input.detectorInstance, input.dedupeKey, input.block) };
}

/** What a detector says about one condition; `findingOf` adds the detector, instance, chain and block. */
export type FindingInput = Omit<Finding, 'id' | 'detector' | 'detectorInstance' | 'block' | 'subject'> & {
  subject: Omit<Finding['subject'], 'chainId'>;
};

/**
 * A finding of detector `type` raised by instance `instanceId` on the event's block.
 *
 * @example
 * findingOf('amm-manipulation', ctx.instanceId, event, { severity: 'high', kind: 'manipulation', ... });
 */
export function findingOf(
  type: string,
  instanceId: string,
  event: { chainId: number; block: Finding['block'] },
  input: FindingInput,
): Finding {
  return makeFinding({
    ...input,
    confidence: Math.max(0, Math.min(1, input.confidence)),
    detector: type,
    detectorInstance: instanceId,
    subject: { chainId: event.chainId, ...input.subject },
    block: event.block,
  });
}
