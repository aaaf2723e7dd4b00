/**
 * Detect — running a block's detectors: all of them concurrently, each isolated, so that one that
 * throws or hangs becomes a `degraded` finding and never silences the others.
 */
import type { Logger } from '../common/logger';
import { makeFinding } from './finding';
import { createBlockLogs } from './logs';
import type { BlockEvent, DetectorInstance, DetectorState, Finding } from './types';
import type { BlockView } from './view';

export interface RunDetectorsOptions {
  timeoutMs: number;
  logger: Logger;
  stateOf(detectorId: string): DetectorState;
  /** Called with each detector's wall time on the block (failures and timeouts included), in ms. */
  onTimed?(detectorId: string, ms: number): void;
}

export async function runDetectors(
  detectors: readonly DetectorInstance[],
  event: BlockEvent,
  view: BlockView,
  options: RunDetectorsOptions,
): Promise<Finding[]> {
  // One log index per block, shared: a topic is dispatched once, an event decoded once.
  const logs = createBlockLogs(event, view);
  const results = await Promise.all(
    detectors.map(async (d) => {
      let timer: NodeJS.Timeout | undefined;
      const started = performance.now();
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`timed out after ${options.timeoutMs} ms`)),
            options.timeoutMs,
          );
        });
        return await Promise.race([d.run(event, view, options.stateOf(d.id), logs), timeout]);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        options.logger.warn(
          { detector: d.id, block: event.block.number.toString(), err: message },
          'detector failed',
        );
        return [
          makeFinding({
            detector: d.type,
            detectorInstance: d.id,
            severity: 'medium',
            kind: 'degraded',
            subject: { chainId: event.chainId },
            dedupeKey: `degraded:${d.id}`,
            confidence: 1,
            title: `detector ${d.id} failed on block ${event.block.number}: ${message}`,
            evidence: { error: message, detectorType: d.type },
            block: event.block,
          }),
        ];
      } finally {
        if (timer) clearTimeout(timer);
        options.onTimed?.(d.id, performance.now() - started);
      }
    }),
  );
  return results.flat();
}

/** Detector state kept in memory (the store persists it between runs where configured). */
export function memoryDetectorState(): (detectorId: string) => DetectorState {
  const all = new Map<string, Map<string, unknown>>();
  return (id) => {
    let mine = all.get(id);
    if (!mine) {
      mine = new Map();
      all.set(id, mine);
    }
    const state = mine;
    return {
      get: <T>(key: string) => state.get(key) as T | undefined,
      set: (key, value) => void state.set(key, value),
    };
  };
}
