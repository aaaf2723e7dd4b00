// Record and replay on the Inverse Finance drill market: the counterfactual run (the attack, with
// nobody responding) makes the activity; 50 blocks are recorded over the served chain's HTTP URL
// with the reads the configured oracle-deviation detector makes; then, with the server gone, the
// file alone is replayed through the same detectors via `createRecordedProvider` + a viem client,
// and the findings must equal those computed against the live chain for the same blocks (same ids).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Client, createClient, custom } from 'viem';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import type { ServedChain } from '../src/chain/embedded';
import { createRecordedProvider, loadRecording } from '../src/chain/recording';
import { replayRange } from '../src/chain/replay';
import { connectChain } from '../src/chain/rpc';
import { main } from '../src/cli/main';
import { createCommon } from '../src/common/common';
import { silentLogger } from '../src/common/logger';
import type { FirebreakConfig } from '../src/config/schema';
import { memoryDetectorState, runDetectors } from '../src/detectors/run';
import type { Finding } from '../src/detectors/types';
import { createBlockView } from '../src/detectors/view';
import { type PreparedDrill, prepareDrill, runScenario } from '../src/drills/runner';
import { loadScenario } from '../src/drills/scenario';
import { buildDetectors } from '../src/engine/detectors';
import { recordChain } from '../src/engine/record';
import { replayRecording } from '../src/engine/replay';
import { oracleDeviationConfig } from './support/drill-config';

const BLOCKS = 50n;
const run = promisify(execFile);

/** Runs `firebreak …` without blocking this process (which serves the chain the command reads). */
async function firebreak(...args: string[]) {
  try {
    const r = await run(process.execPath, ['bin/firebreak.mjs', ...args], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** What the engine does per block, minus incidents and responses: the detectors over a block view. */
async function detectRange(config: FirebreakConfig, client: Client, from: bigint, to: bigint) {
  const chainId = config.chains[0]!.id;
  const { byChain } = await buildDetectors(config, () => client);
  const detectors = byChain.get('embedded') ?? [];
  const stateOf = memoryDetectorState();
  const findings: Finding[] = [];
  for await (const event of replayRange({ client, chainId, from, to, common: createCommon() })) {
    const view = createBlockView(client, chainId, event.block.number);
    findings.push(
      ...(await runDetectors(detectors, event, view, { timeoutMs: 10_000, logger: silentLogger(), stateOf })),
    );
  }
  return { detectors: detectors.map((d) => d.id), findings };
}

describe('record and replay of the Inverse Finance drill market', () => {
  let drill: PreparedDrill;
  let served: ServedChain | undefined;
  let dir: string;
  let config: FirebreakConfig;
  let from: bigint;
  let to: bigint;

  beforeAll(async () => {
    const scenario = loadScenario('scenarios/inverse-finance-2022.yaml');
    drill = await prepareDrill(scenario);
    from = (await drill.chain.client.getBlockNumber()) + 1n;
    await runScenario('counterfactual', drill, scenario, { budget: 50, common: createCommon() });
    to = from + BLOCKS - 1n;
    while ((await drill.chain.client.getBlockNumber()) < to) await drill.chain.mine();
    served = await drill.chain.serve();
    dir = mkdtempSync(join(tmpdir(), 'firebreak-record-'));
    const base = oracleDeviationConfig(scenario, drill.market, drill.chain.chainId);
    // What a user's config for this market would say: the chain by URL, the detector; no responder.
    config = {
      ...base,
      chains: base.chains.map((c) => ({ ...c, rpc: [served!.url] })),
      executors: [],
      playbooks: [],
    };
  }, 180_000);

  afterAll(async () => {
    await served?.close();
    await drill?.chain.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("`firebreak record` writes the range with the detectors' reads; bad input exits 2", async () => {
    const configFile = join(dir, 'firebreak.config.yaml');
    writeFileSync(configFile, stringify(config));
    const out = join(dir, 'cli.rec.gz');
    const ok = await firebreak(
      'record',
      '--config',
      configFile,
      '--from',
      String(from),
      '--to',
      String(to),
      '--out',
      out,
      '--progress-every',
      '20',
    );
    expect(ok.stderr).not.toMatch(/\n\s+at /);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`recorded 50 blocks (${from}–${to}) of chain embedded`);
    expect(ok.stderr.match(/\d+\/50 blocks/g)).toEqual(['20/50 blocks', '40/50 blocks', '50/50 blocks']);
    const recording = await loadRecording(out);
    expect([recording.from, recording.to, recording.blocks.size]).toEqual([from, to, 50]);
    expect(recording.calls.size).toBeGreaterThanOrEqual(50);

    // Bad input, through the same entry point in-process (no need to pay a process start per case).
    const bad = async (expected: RegExp, ...args: string[]) => {
      const errors: string[] = [];
      const spy = vi
        .spyOn(console, 'error')
        .mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
      try {
        const code = await main([
          'record',
          '--config',
          configFile,
          '--out',
          join(dir, 'bad.rec.gz'),
          ...args,
        ]);
        expect(errors.join('\n')).toMatch(expected);
        expect(code).toBe(2);
      } finally {
        spy.mockRestore();
      }
    };
    await bad(/--from 10 is after --to 5/, '--from', '10', '--to', '5');
    await bad(/--to 999999 is beyond the chain's head \d+/, '--from', '1', '--to', '999999');
    await bad(/--from must be a block number/, '--from', 'ten', '--to', '20');
    await bad(
      /unknown chain "mainnet"[\s\S]*fix: use one of "embedded"/,
      '--chain',
      'mainnet',
      '--from',
      '1',
      '--to',
      '2',
    );
    await bad(/record needs --out <file>/, '--from', '1', '--to', '2', '--out', '');
    await bad(
      /--progress-every must be a positive whole number/,
      '--from',
      '1',
      '--to',
      '2',
      '--progress-every',
      '0',
    );
  }, 120_000);

  it('replays 50 recorded blocks with no node and finds exactly what the live chain gave', async () => {
    const out = join(dir, 'inverse.rec.gz');
    const { client } = await connectChain(config.chains[0]!);
    const summary = await recordChain({
      config,
      chain: 'embedded',
      client,
      from,
      to,
      out,
      common: createCommon(),
    });
    expect(summary).toMatchObject({ blocks: 50, detectors: ['oracle-deviation'], detectorFailures: [] });
    expect(summary.logs).toBeGreaterThan(0); // the attack's swaps, supplies and borrows
    expect(summary.calls).toBeGreaterThan(50);

    const live = await detectRange(config, client, from, to);
    expect(live.findings.some((f) => f.severity === 'critical' && f.kind === 'manipulation')).toBe(true);

    // No node from here on: the server is closed; the file answers everything.
    await served!.close();
    served = undefined;
    const provider = await createRecordedProvider(out);
    const replayClient = createClient({ transport: custom(provider, { retryCount: 0 }) });
    const replayed = await detectRange(config, replayClient, from, to);

    expect(replayed.detectors).toEqual(live.detectors);
    expect(replayed.findings.map((f) => f.id)).toEqual(live.findings.map((f) => f.id));
    expect(replayed.findings).toEqual(live.findings);
    expect(replayed.findings.filter((f) => f.kind === 'degraded')).toEqual([]);

    // The whole engine on the file: the same findings, an incident, and nothing sent.
    const engineReplay = await replayRecording({ config, file: out, common: createCommon() });
    expect(engineReplay.blocks).toBe(50);
    expect(engineReplay.findings.map((f) => f.id)).toEqual(live.findings.map((f) => f.id));
    expect(engineReplay.incidents.length).toBeGreaterThan(0);

    // A read the recording does not hold is an error naming block, target and selector.
    const oracle = (await buildDetectors(config, () => replayClient)).markets.get('drill-market')!.oracle;
    await expect(
      provider.request({
        method: 'eth_call',
        params: [{ to: oracle, data: '0xb3596f07' }, `0x${from.toString(16)}`],
      } as never),
    ).rejects.toThrow(`eth_call not in the recording: block ${from}, to ${oracle}, selector 0xb3596f07`);
  }, 120_000);
});
