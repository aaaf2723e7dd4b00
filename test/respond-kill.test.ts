// Exactly once under kills (issue 6): a real Firebreak process (test/support/respond-child.ts: the
// engine over a PGlite store folder, following the embedded chain through its HTTP JSON-RPC server,
// with a real Aave v3 market and an eoa guardian) responds to an exploit finding by pausing the
// reserve. Each of 5 executions starts from the unpaused market and a fresh store folder; the child
// sees the exploit block and is killed with SIGKILL at a random point of the execution (a seeded
// delay after the exploit block is mined: detection, planning, simulation, journaling, broadcast,
// the record, the receipt wait, verification); a restart on the same store is killed again at a
// random point after its first processed block (where it picks the response up); a last restart
// runs until the reserve is paused and 8 more blocks (each still reporting the exploit) have gone
// by. 10 kills in all, 2 per execution: 10 executions × 1 kill would take 20 process starts, too
// slow for the time budget on a loaded 2-core machine. The pause must have landed exactly once: one
// transaction from the guardian on chain (the pause), one action record, one journaled
// transaction, mined.
//
// Blocks are mined by the test every 40 ms (automine off), so a transaction waits in the pool for
// a while after its broadcast: kills land before, during and after it. The child runs as an
// esbuild bundle on plain node, as in ingest-crash.test.ts (~2 s a start on an idle machine).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Hex, toFunctionSelector } from 'viem';
import { getBlock, getTransactionCount } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain, type ServedChain } from '../src/chain/embedded';
import { createRng } from '../src/common/random';
import { readReserveConfiguration } from '../src/protocols/aave-v3/reader';
import { type Child, childCommand, processedBlocks, spawnChild } from './support/child';
import { deploySendingMarket, type SendingMarket } from './support/sending-market';
import { sleep } from './support/wait';

/** Executions, each killed twice: 10 kills in all. */
const ROUNDS = 5;
const KILLS_PER_ROUND = 2;
const SEED = 0x6b11_2026;
/** Kill delays are drawn from [0, MAX_KILL_MS) after the exploit block is mined. */
const MAX_KILL_MS = 300;
const BLOCK_MS = 40;
const CHILD = join(import.meta.dirname, 'support', 'respond-child.ts');
const PAUSE_SELECTOR = toFunctionSelector('setReservePause(address,bool)');

describe('respond: the containing action lands exactly once however the process is killed', () => {
  let chain: EmbeddedChain;
  let served: ServedChain;
  let m: SendingMarket;
  let dir: string;
  let command: string[];
  let running: Child | undefined;
  let snapshot: Hex;
  let mining: ReturnType<typeof setInterval> | undefined;

  const guardian = () => chain.accounts[1]!;
  const isPaused = async () => (await readReserveConfiguration(chain.client, m.market.pool, m.usdc)).isPaused;
  const startMining = () => {
    mining = setInterval(() => void chain.mine().catch(() => undefined), BLOCK_MS);
  };
  const stopMining = () => {
    if (mining) clearInterval(mining);
    mining = undefined;
  };

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 3 });
    m = await deploySendingMarket(chain.client, chain.accounts[0]!.account, guardian().address);
    served = await chain.serve();
    dir = mkdtempSync(join(tmpdir(), 'firebreak-respond-kill-'));
    command = await childCommand(CHILD, 'respond-child');
    await chain.setAutomine(false);
    snapshot = await chain.snapshot();
  }, 120_000);

  afterAll(async () => {
    stopMining();
    running?.process.kill('SIGKILL');
    if (command?.[0]?.endsWith('.mjs')) rmSync(command[0], { force: true });
    await served?.close();
    await chain?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`${ROUNDS} executions × ${KILLS_PER_ROUND} SIGKILLs at random points (seed ${SEED.toString(16)})`, async () => {
    const started = performance.now();
    const next = createRng(SEED);
    const rounds: { kills: string[]; status: string }[] = [];
    const stage = (c: Child) =>
      c.lines.filter((l) => l.startsWith('sent') || l.startsWith('verified')).join(' ') || '-';
    for (let round = 0; round < ROUNDS; round++) {
      stopMining();
      await chain.revert(snapshot);
      snapshot = await chain.snapshot();
      const head = await chain.client.getBlockNumber();
      const trigger = head + 2n;
      const nonceBefore = await getTransactionCount(chain.client, { address: guardian().address });
      const args = [
        join(dir, `store-${round}`),
        served.url,
        String(chain.chainId),
        String(head),
        m.market.addressesProvider,
        m.usdc,
        String(trigger),
      ];
      const kills: string[] = [];

      // First run: killed at a random point after the exploit block is mined.
      running = spawnChild(command, args, { FIREBREAK_GUARDIAN_KEY: guardian().privateKey });
      const first = running;
      await first.waitFor(`block ${head}`, (l) => processedBlocks(l).includes(head), 60_000);
      await chain.mine(); // trigger - 1
      await first.waitFor(`block ${trigger - 1n}`, (l) => processedBlocks(l).includes(trigger - 1n), 30_000);
      await chain.mine(); // the exploit block: the execution starts
      startMining();
      const firstKillMs = Math.floor(next() * MAX_KILL_MS);
      await sleep(firstKillMs);
      first.process.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      kills.push(`${firstKillMs} ms after the exploit block (${stage(first)})`);

      // Second run: picks the execution up where the kill left it, and is killed again at a random
      // point after its first processed block (where it resumes the response).
      running = spawnChild(command, args, { FIREBREAK_GUARDIAN_KEY: guardian().privateKey });
      const second = running;
      await second.waitFor('its first block', (l) => processedBlocks(l).length > 0, 60_000);
      const secondKillMs = Math.floor(next() * MAX_KILL_MS);
      await sleep(secondKillMs);
      second.process.kill('SIGKILL');
      expect(await second.exited).toBe('SIGKILL');
      kills.push(`${secondKillMs} ms after the restart's first block (${stage(second)})`);

      // Last run: until the pause landed and 8 more blocks (each still reporting the exploit) went by.
      running = spawnChild(command, args, { FIREBREAK_GUARDIAN_KEY: guardian().privateKey });
      const last = running;
      const deadline = performance.now() + 60_000;
      while (performance.now() < deadline && !(await isPaused())) await sleep(10);
      if (!(await isPaused())) {
        throw new Error(
          `round ${round} (${kills.join('; ')}): the reserve is not paused 60 s after the last restart\n${[first, second, last].map((c) => `${c.lines.join(' | ')}\n${c.stderr.join('')}`).join('\n')}`,
        );
      }
      const pausedAt = await chain.client.getBlockNumber();
      await last.waitFor(
        `block ${pausedAt + 8n}`,
        (l) => processedBlocks(l).some((n) => n >= pausedAt + 8n),
        60_000,
      );
      stopMining();
      last.process.kill('SIGTERM');
      expect(await last.exited).toBe(0);
      running = undefined;

      // On chain: one pause transaction from the guardian, and nothing else from it.
      const end = await chain.client.getBlockNumber();
      const guardianTxs: string[] = [];
      for (let n = head + 1n; n <= end; n++) {
        const block = await getBlock(chain.client, { blockNumber: n, includeTransactions: true });
        for (const tx of block.transactions)
          if (tx.from.toLowerCase() === guardian().address.toLowerCase())
            guardianTxs.push(tx.input.slice(0, 10));
      }
      expect(guardianTxs, `round ${round}: ${kills.join('; ')}`).toEqual([PAUSE_SELECTOR]);
      expect(await getTransactionCount(chain.client, { address: guardian().address })).toBe(nonceBefore + 1);

      // In the store (as the last run printed it): one action, one journaled transaction, mined.
      const line = last.lines.find((l) => l.startsWith('store '));
      const stored = JSON.parse(line!.slice(6)) as {
        actions: { action: string; status: string; tx_hashes: Hex[] }[];
        txs: { nonce: number; status: string; hashes: Hex[] }[];
      };
      // Nothing forgotten either: the record ends verified, whatever stage the kills interrupted.
      expect(stored.actions.map((a) => [a.action, a.status])).toEqual([
        ['aave-v3.pause-reserve', 'verified'],
      ]);
      expect(stored.txs.map((t) => [t.nonce, t.status])).toEqual([[nonceBefore, 'mined']]);
      if (stored.actions[0]!.tx_hashes.length > 0)
        expect(stored.actions[0]!.tx_hashes).toEqual(stored.txs[0]!.hashes);
      rounds.push({ kills, status: stored.actions[0]!.status });
    }
    const totalMs = performance.now() - started;
    process.stdout.write(
      `respond kill test: ${ROUNDS} executions, ${ROUNDS * KILLS_PER_ROUND} kills, ${Math.round(totalMs)} ms\n${rounds
        .map((r, i) => `  execution ${i}: killed ${r.kills.join(', then ')}; record ${r.status}`)
        .join('\n')}\n`,
    );
    // The kills landed at different stages: before anything was sent, and after.
    const all = rounds.flatMap((r) => r.kills);
    expect(all.some((k) => k.endsWith('(-)'))).toBe(true);
    expect(all.some((k) => k.includes('(sent'))).toBe(true);
  }, 240_000);
});
