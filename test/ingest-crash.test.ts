// Exactly once across crashes: a real Firebreak process (test/support/ingest-child.ts: the engine
// over a PGlite store folder, following the embedded chain through its HTTP JSON-RPC server) ingests
// 1,000 blocks and is killed with SIGKILL at 20 random points (random delays after it starts
// processing: mid-transaction, mid-read, between blocks), restarted each time, and finally stopped
// once it reaches the head. Then every canonical block from the start block to the head must have
// been processed exactly once (`processed_blocks.times_processed = 1`), with no block missing, and
// each finding (every 7th block) stored exactly once. The first 15 kills land during catch-up; the
// last 5 after the process caught up, while blocks are mined every few milliseconds and followed
// live. The kill points come from a seeded generator
// (the seed is in the test name): a failure replays.
//
// Time: the 21 process starts dominate. Under `node --import tsx/esm` a start (to the first block)
// costs ~3.5 s here: tsx's loader hooks make the imports take ~1.8 s. So the child is bundled first
// with esbuild (tsx's own dependency) and runs on plain node: ~2 s a start (imports ~0.4 s, opening
// the PGlite folder ~0.5 s, the rest connecting and the first blocks). Without esbuild the test
// falls back to tsx and takes ~30 s longer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain, type ServedChain } from '../src/chain/embedded';
import { getCheckpoint, listProcessedBlocks } from '../src/store/ingestion';
import { openStore } from '../src/store/store';
import { type Child, childCommand, processedBlocks, spawnChild } from './support/child';
import { sleep } from './support/wait';

const BLOCKS = 1_000;
const KILLS = 20;
const SEED = 0x5eed_2026;
const CHILD = join(import.meta.dirname, 'support', 'ingest-child.ts');

/** mulberry32: a small seeded generator, so kill points are random but replayable. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('ingestion survives being killed: every block processed exactly once', () => {
  let chain: EmbeddedChain;
  let served: ServedChain;
  let dir: string;
  let running: Child | undefined;
  let command: string[];

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 1 });
    served = await chain.serve();
    dir = mkdtempSync(join(tmpdir(), 'firebreak-crash-'));
    command = await childCommand(CHILD, 'ingest-child');
  });

  afterAll(async () => {
    running?.process.kill('SIGKILL');
    if (command?.[0]?.endsWith('.mjs')) rmSync(command[0], { force: true });
    await served?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`${BLOCKS} blocks, ${KILLS} SIGKILLs at random points (seed ${SEED.toString(16)})`, async () => {
    const started = performance.now();
    // One block at a time: hardhat_mine's reserved blocks do not link by parentHash (checked), and a
    // reorg-safe ingestor would rightly refuse them.
    const mine = async (n: number) => {
      for (let i = 0; i < n; i++) await chain.provider.request({ method: 'evm_mine', params: [] } as never);
    };
    const startBlock = (await chain.client.getBlockNumber()) + 1n;
    await mine(BLOCKS);
    const minedMs = performance.now() - started;

    const dataDir = join(dir, 'store');
    const args = [dataDir, served.url, String(chain.chainId), String(startBlock)];
    const next = random(SEED);
    const killedAt: { after: number; delayMs: number }[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      running = spawnChild(command, args);
      const child = running;
      // Always leave it a new block to process: a child that caught up before the last kill would
      // otherwise wait for a block that never comes.
      await mine(1);
      // Kill only once it is ingesting: after its first processed block, plus a random delay.
      await child.waitFor('its first processed block', (l) => processedBlocks(l).length > 0, 60_000);
      const delayMs = Math.floor(next() * 400);
      if (kill < KILLS - 5) {
        // Catching up.
        await mine(3);
        await sleep(delayMs);
      } else {
        // Live: caught up to the head, then following blocks mined every few milliseconds.
        const head = await chain.client.getBlockNumber();
        await child.waitFor(`block ${head}`, (l) => processedBlocks(l).includes(head), 30_000);
        const until = performance.now() + delayMs / 2;
        while (performance.now() < until) {
          await mine(1);
          await sleep(5);
        }
      }
      child.process.kill('SIGKILL');
      expect(await child.exited).toBe('SIGKILL');
      killedAt.push({ after: processedBlocks(child.lines).length, delayMs });
    }

    // The last run: to the head, then a clean stop.
    const head = await chain.client.getBlockNumber();
    running = spawnChild(command, args);
    const last = running;
    // What is left for it depends on how far the killed runs got, which depends on the machine's
    // load: it has as long as it needs while it keeps processing blocks.
    await last.waitFor(`block ${head}`, (l) => processedBlocks(l).includes(head), 60_000, { idle: true });
    last.process.kill('SIGTERM');
    expect(await last.exited).toBe(0);
    running = undefined;
    const totalMs = performance.now() - started;

    const store = await openStore({ dataDir });
    try {
      const rows = await listProcessedBlocks(store.db, chain.chainId);
      const expected = Array.from(
        { length: Number(head - startBlock + 1n) },
        (_, i) => startBlock + BigInt(i),
      );
      expect(rows.map((r) => r.block.number)).toEqual(expected);
      const repeated = rows.filter((r) => r.timesProcessed !== 1);
      expect(repeated.map((r) => `${r.block.number}×${r.timesProcessed}`)).toEqual([]);
      expect(rows.every((r) => r.orphanedAt === null)).toBe(true);
      for (const n of [startBlock, startBlock + 499n, head]) {
        const canonical = await chain.client.getBlock({ blockNumber: n });
        expect(rows[Number(n - startBlock)]!.block.hash).toBe(canonical.hash);
      }
      expect((await getCheckpoint(store.db, chain.chainId))?.block.number).toBe(head);

      const findings = await store.db.selectFrom('findings').select(['block_number']).execute();
      expect(findings.map((f) => f.block_number).sort((a, b) => (a < b ? -1 : 1))).toEqual(
        expected.filter((n) => n % 7n === 0n),
      );

      // Kills that landed while blocks were still coming (not all after the head was reached).
      const processedPerRun = killedAt.map((k) => k.after);
      process.stdout.write(
        `crash test: ${expected.length} blocks, ${KILLS} kills (blocks per run before the kill: ${processedPerRun.join(', ')}); mining ${Math.round(minedMs)} ms, total ${Math.round(totalMs)} ms\n`,
      );
      expect(processedPerRun.filter((n) => n > 0).length).toBe(KILLS);
    } finally {
      await store.close();
    }
  }, 200_000);
});
