/**
 * Engine — replaying a recording (`firebreak record`) through the whole engine with no node: the
 * recorded provider answers every read, the engine ingests the range exactly as it would live, and
 * what it found is returned. Nothing is sent: replay always runs with the kill-switch on, so any
 * decision is recorded and refused.
 */
import { createClient, custom } from 'viem';
import { createRecordedProvider } from '../chain/recording';
import type { Common } from '../common/common';
import { FirebreakError } from '../common/errors';
import type { FirebreakConfig } from '../config/schema';
import type { Finding } from '../detectors/types';
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
  seconds: number;
}

export async function replayRecording(options: {
  config: FirebreakConfig;
  file: string;
  common: Common;
  /** Keep the replay's store here (replaced); in memory when omitted. */
  dataDir?: string;
  onBlock?: (number: bigint) => void;
}): Promise<ReplayResult> {
  const provider = await createRecordedProvider(options.file);
  const { header, from, to } = provider.recording;
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
  const client = createClient({ transport: custom(provider, { retryCount: 0 }) });
  const store = await openStore(
    options.dataDir ? { dataDir: options.dataDir } : { memory: true },
    options.common,
  );
  const findings: Finding[] = [];
  let blocks = 0;
  const started = performance.now();
  try {
    const engine = await createEngine({
      config,
      chains: new Map([[chain.name, { client }]]),
      store,
      common: options.common,
      killSwitch: true,
      hooks: {
        onBlockProcessed: ({ event, findings: found }) => {
          blocks++;
          findings.push(...found);
          options.onBlock?.(event.block.number);
        },
      },
    });
    engine.start(new Map([[chain.name, from]]), new Map([[chain.name, to]]));
    await engine.done();
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
    };
  } finally {
    await store.close();
  }
}
