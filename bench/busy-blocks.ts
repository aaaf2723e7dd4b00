/**
 * Bench — a recording of many busy blocks for the `ingest` replay figure: the Inverse Finance drill
 * market deployed on anvil (chain/anvil.ts: EDR needs 70–120 ms to mine a block of 200 token
 * transfers, anvil ~7 ms), then `BLOCKS` blocks each holding one transaction of `ActivityGenerator`
 * that makes `TRANSFERS` real ERC-20 transfers of the market's tokens (so every block carries
 * `TRANSFERS` real `Transfer` logs emitted by the tokens), recorded with `recordChain` and the
 * drill's detectors (their reads are in the file), 50 blocks at a time while anvil still holds
 * their state, the pieces joined into one file.
 *
 * Generating and recording takes minutes, so the file is cached under .firebreak/cache/bench/,
 * keyed by everything that shapes it (scenario file, generator bytecode, sizes, recording format
 * version): a new format makes a new file, and the stale ones are removed then.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { encodeFunctionData, type Hex, keccak256, toHex } from 'viem';
import { deployArtifact, firebreakArtifact } from '../src/chain/artifacts';
import { joinRecordings, RECORDING_VERSION } from '../src/chain/recording';
import { createCommon } from '../src/common/common';
import { silentLogger } from '../src/common/logger';
import { mintDrillToken } from '../src/drills/market';
import { drillEngineConfig, prepareDrill } from '../src/drills/runner';
import type { Scenario } from '../src/drills/scenario';
import { recordChain } from '../src/engine/record';
import { defaultCacheDir } from '../src/store/pglite-template';

export const BLOCKS = 10_000;
export const TRANSFERS = 200;
/** Blocks made, then recorded, at a time. */
const PIECE = 50;

export async function busyBlocksRecording(
  scenario: Scenario,
  scenarioFile: string,
  log: (m: string) => void,
): Promise<{ path: string; blocks: number }> {
  const generator = firebreakArtifact('ActivityGenerator');
  const key = createHash('sha256')
    .update(readFileSync(scenarioFile))
    .update(generator.bytecode)
    .update(`${BLOCKS}/${TRANSFERS}/v${RECORDING_VERSION}`)
    .digest('hex')
    .slice(0, 16);
  const dir = join(defaultCacheDir(), 'bench');
  const name = `busy-blocks-${key}.rec.gz`;
  const path = join(dir, name);
  if (existsSync(path)) {
    log(`replay: using the cached recording ${path}`);
    return { path, blocks: BLOCKS };
  }
  mkdirSync(dir, { recursive: true });
  // Recordings of other keys (an older format, other sizes) would only fill the disk.
  for (const stale of readdirSync(dir))
    if (stale.startsWith('busy-blocks-') && stale !== name) rmSync(join(dir, stale), { force: true });
  log(`replay: generating ${BLOCKS} blocks × ${TRANSFERS} transfers on anvil (once; cached)`);
  const prepared = await prepareDrill(scenario, () => {}, { evm: 'anvil' });
  const { chain, market } = prepared;
  try {
    const deployer = chain.accounts[0]!;
    await chain.setAutomine(true);
    const activity = await deployArtifact(chain.client, generator, { account: deployer.account });
    const tokens = [...market.tokens.values()].map((t) => t.address);
    for (const token of tokens) await mintDrillToken(chain, deployer, token, activity, 10n ** 40n);
    await chain.setAutomine(false);
    const recipients = Array.from(
      { length: TRANSFERS },
      (_, i) => `0x${keccak256(toHex(`recipient/${i}`)).slice(26)}` as Hex,
    );
    const data = encodeFunctionData({
      abi: generator.abi,
      functionName: 'spray',
      args: [tokens, recipients, 1n],
    });
    let nonce = await chain.client.getTransactionCount({ address: deployer.address });
    const config = drillEngineConfig(scenario, market, chain.chainId);
    const pieces: string[] = [];
    const started = performance.now();
    let next = (await chain.mine()) + 1n;
    // Anvil keeps the last 64 states: each piece is recorded (detectors' reads included) while recent.
    for (let made = 0; made < BLOCKS; made += PIECE) {
      const from = next;
      for (let i = 0; i < PIECE; i++) {
        const raw = await deployer.account.signTransaction!({
          chainId: chain.chainId,
          type: 'eip1559',
          to: activity,
          data,
          nonce: nonce++,
          gas: 12_000_000n,
          maxFeePerGas: 100n * 10n ** 9n,
          maxPriorityFeePerGas: 10n ** 9n,
        });
        await chain.client.sendRawTransaction({ serializedTransaction: raw });
        next = (await chain.mine()) + 1n;
      }
      const piece = `${path}.piece-${pieces.length}`;
      const recorded = await recordChain({
        config,
        chain: 'embedded',
        client: chain.client,
        from,
        to: next - 1n,
        out: piece,
        common: createCommon({ logger: silentLogger() }),
      });
      if (recorded.detectorFailures.length > 0)
        throw new Error(`recording: ${recorded.detectorFailures.length} detector run(s) failed`);
      pieces.push(piece);
      if ((made + PIECE) % 1_000 === 0)
        log(
          `replay: ${made + PIECE} blocks made and recorded in ${((performance.now() - started) / 1000).toFixed(0)} s`,
        );
    }
    const summary = await joinRecordings(pieces, path);
    for (const piece of pieces) rmSync(piece, { force: true });
    if (summary.logs < BLOCKS * TRANSFERS)
      throw new Error(`recording: ${summary.logs} logs, expected at least ${BLOCKS * TRANSFERS}`);
    log(
      `replay: ${summary.blocks} blocks, ${summary.logs} logs, ${summary.calls} calls, ${(summary.bytes / 1e6).toFixed(0)} MB made and recorded in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
    return { path, blocks: summary.blocks };
  } finally {
    await chain.close();
  }
}
