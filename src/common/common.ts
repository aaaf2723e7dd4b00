/**
 * The `common` bag — what every stage needs and nobody should import as a global: a logger, a
 * clock, and the shutdown signal. Passed down from the one place that wires the engine.
 */
import { setMaxListeners } from 'node:events';
import { type Logger, silentLogger } from './logger';

export interface Clock {
  /** Wall-clock milliseconds since the epoch. */
  now(): number;
  /** Monotonic milliseconds with sub-millisecond precision, for latency measurement. */
  monotonic(): number;
}

export interface Common {
  logger: Logger;
  clock: Clock;
  /** Aborted when the process is asked to stop; long loops check it. */
  signal: AbortSignal;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

export function createCommon(overrides: Partial<Common> = {}): Common {
  const signal = overrides.signal ?? new AbortController().signal;
  // Every chain's source, pool and head signal listens for shutdown: more than Node's default 10 is
  // expected, not a leak (each listener is removed when its wait ends).
  setMaxListeners(200, signal);
  return {
    logger: overrides.logger ?? silentLogger(),
    clock: overrides.clock ?? systemClock,
    signal,
  };
}

/**
 * A signal that aborts when any of `signals` does, with the same listener allowance as a common
 * bag's (reads and waits in flight each listen for shutdown).
 */
export function anySignal(signals: AbortSignal[]): AbortSignal {
  const signal = AbortSignal.any(signals);
  setMaxListeners(200, signal);
  return signal;
}
