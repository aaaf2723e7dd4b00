/**
 * Engine — replaying a recording (`firebreak record`) through the whole engine with no node: the
 * recorded provider answers every read, the engine ingests the range exactly as it would live, and
 * what it found is returned. Nothing is sent: replay always runs with the kill-switch on, so any
 * decision is recorded and refused.
 */
import { openRecordedSource } from '../chain/recorded-source';
import type { Common } from '../common/common';
import { FirebreakError } from '../common/errors';
import type { SecretSource } from '../config/load';
import type { FirebreakConfig } from '../config/schema';
import type { BlockEvent, Finding } from '../detectors/types';
import type { Incident } from '../incidents/types';
import { openStore } from '../store/store';
import { createEngine } from './engine';

export interface ReplayResult {
  chain: string;
  from: bigint;
  to: bigint;
  blocks: number;
  findings: Finding[];
  incidents: Incident[];
  /** From opening the file to the end, store and engine setup included. */
  seconds: number;
  /** From the engine's start to its last block committed: the replay itself. */
  processingSeconds: number;
}

export async function replayRecording(options: {
  config: FirebreakConfig;
  file: string;
  common: Common;
  /** Keep the replay's store here (replaced); in memory when omitted. */
  dataDir?: string;
  /** Where the executors' key references are resolved (process.env by default); nothing is sent. */
  secrets?: SecretSource;
  /** Each block once its bookkeeping is committed (in batches during a replay). */
  onBlock?: (number: bigint, event: BlockEvent) => void;
}): Promise<ReplayResult> {
  const started = performance.now();
  // Streamed: constant memory whatever the file's size (chain/recorded-source.ts).
  const source = await openRecordedSource(options.file, options.common);
  const { header, from, to } = source;
  const chain = options.config.chains.find((c) => c.id === header.chainId);
  if (!chain) {
    throw new FirebreakError(
      'ERR_RECORDING_INVALID',
      `recording ${options.file} is of chain id ${header.chainId}, which the config does not define\n    fix: replay it with the config it was recorded with`,
    );
  }
  // The recording is final: no reorg can happen inside it.
  const config: FirebreakConfig = {
    ...options.config,
    chains: [{ ...chain, confirmations: 0, pollIntervalMs: 1 }],
  };
  const store = await openStore(
    options.dataDir ? { dataDir: options.dataDir } : { memory: true },
    options.common,
  );
  const findings: Finding[] = [];
  let blocks = 0;
  try {
    const engine = await createEngine({
      config,
      chains: new Map([[chain.name, { client: source.client, source: source.events }]]),
      store,
      common: options.common,
      killSwitch: true,
      ...(options.secrets ? { secrets: options.secrets } : {}),
      hooks: {
        onBlockProcessed: ({ event, findings: found }) => {
          blocks++;
          findings.push(...found);
          options.onBlock?.(event.block.number, event);
        },
      },
    });
    const processingStarted = performance.now();
    engine.start(new Map([[chain.name, from]]), new Map([[chain.name, to]]));
    await engine.done();
    const processingSeconds = (performance.now() - processingStarted) / 1000;
    await engine.stop();
    const incidents = await store.listIncidents();
    return {
      chain: chain.name,
      from,
      to,
      blocks,
      findings,
      incidents,
      seconds: (performance.now() - started) / 1000,
      processingSeconds,
    };
  } finally {
    await store.close();
  }
}
