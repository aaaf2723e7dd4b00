/**
 * Risk — a Monte Carlo worker thread: runs `simulatePaths` on the job in `workerData` and posts the
 * per-path figures back (started through `montecarlo-worker.mjs`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type PathJob, simulatePaths } from './montecarlo';

try {
  const result = simulatePaths(workerData as PathJob);
  parentPort?.postMessage(result, [
    result.insolvent.buffer as ArrayBuffer,
    result.liquidated.buffer as ArrayBuffer,
  ]);
} catch (error) {
  parentPort?.postMessage({ error: error instanceof Error ? error.message : String(error) });
}
