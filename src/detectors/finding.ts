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
