// Secrets stay secret, checked the way an auditor would: run the real `firebreak` binary against
// a chain served over HTTP, with the guardian key in the environment and credentials in the RPC
// URLs (basic-auth user and password, an API key in the path; one endpoint unreachable so that
// its failures are logged), make it detect and contain the Inverse Finance-shaped attack at debug
// log level, then also make it fail (only the unreachable endpoint) and check a config. Afterwards
// scan everything it left behind — stdout and stderr of every command, every byte of the data
// folder, and every row of every table of the store read back — for the key (with and without
// 0x, any case) and for each credential. A control scan of a buffer holding them proves the
// scanner finds them.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { waitForTransactionReceipt, writeContract } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ServedChain } from '../src/chain/embedded';
import { type PreparedDrill, prepareDrill } from '../src/drills/runner';
import { loadScenario, type Scenario } from '../src/drills/scenario';
import { readReserveConfiguration } from '../src/protocols/aave-v3/reader';
import { swapExactIn } from '../src/protocols/uniswap-v2/pool';
import { openStore } from '../src/store/store';
import { oracleDeviationConfig } from './support/drill-config';
import { sleep, waitFor } from './support/wait';

const twapAbi = [
  { type: 'function', name: 'update', stateMutability: 'nonpayable', inputs: [], outputs: [] },
] as const;

const USER = 'fbuser';
const PASSWORD = 'pw-7f3c1e9a5d';
const API_KEY = 'k-2b8e4d6f0a1c3e5b';
const OTHER_KEY = 'k-9d1f3b5a7c2e4f6a';

/** Every form a secret could be written in: as given, lower and upper case, hex without 0x. */
function needles(secrets: string[]): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    const bare = s.startsWith('0x') ? s.slice(2) : s;
    for (const form of [s, bare, bare.toLowerCase(), bare.toUpperCase()]) out.add(form);
  }
  return [...out];
}

/** Which needles occur in the text or bytes (as UTF-8 or as the raw bytes of a hex key). */
function findSecrets(haystack: string | Buffer, secrets: string[]): string[] {
  const buf = typeof haystack === 'string' ? Buffer.from(haystack) : haystack;
  const found: string[] = [];
  for (const needle of needles(secrets)) if (buf.includes(needle)) found.push(needle);
  for (const s of secrets) {
    if (/^0x[0-9a-fA-F]{64}$/.test(s) && buf.includes(Buffer.from(s.slice(2), 'hex')))
      found.push(`${s} (raw bytes)`);
  }
  return found;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Child {
  out: () => string;
  exited: Promise<number | null>;
  kill: (signal: NodeJS.Signals) => void;
}

function firebreak(args: string[], env: Record<string, string>): Child {
  let text = '';
  const child = spawn(process.execPath, ['bin/firebreak.mjs', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => {
    text += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { out: () => text, exited, kill: (signal) => child.kill(signal) };
}

describe('secrets: key material and credentialed RPC URLs never leave the process', () => {
  let scenario: Scenario;
  let drill: PreparedDrill;
  let served: ServedChain;
  let dir: string;

  beforeAll(async () => {
    scenario = loadScenario('scenarios/inverse-finance-2022.yaml');
    drill = await prepareDrill(scenario);
    await drill.chain.setAutomine(true);
    served = await drill.chain.serve();
    dir = mkdtempSync(join(tmpdir(), 'firebreak-secrets-'));
  }, 120_000);

  afterAll(async () => {
    await served?.close();
    await drill?.chain.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds them in a control buffer (the scanner works)', () => {
    const key = drill.market.guardian.privateKey;
    const leak = Buffer.concat([
      Buffer.from('x'),
      Buffer.from(key.slice(2), 'hex'),
      Buffer.from(`y ${API_KEY}`),
    ]);
    expect(findSecrets(leak, [key, API_KEY])).toEqual([API_KEY, `${key} (raw bytes)`]);
    expect(findSecrets(`key=${key.toUpperCase().replace('0X', '')}`, [key])).toContain(
      key.slice(2).toUpperCase(),
    );
  });

  it('a full run, a failing run and a config check leave no key and no credential anywhere', async () => {
    const { market, chain } = drill;
    const key = market.guardian.privateKey;
    const port = new URL(served.url).port;
    const goodUrl = `http://${USER}:${PASSWORD}@127.0.0.1:${port}/v2/${API_KEY}`;
    const deadUrl = `http://127.0.0.1:${await closedPort()}/v3/${OTHER_KEY}`;
    const secrets = [key, PASSWORD, API_KEY, OTHER_KEY];
    const dataDir = join(dir, 'data');
    const base = oracleDeviationConfig(scenario, market, chain.chainId);
    const write = (name: string, rpc: string[]) => {
      const file = join(dir, name);
      const config = {
        ...base,
        dataDir,
        chains: base.chains.map((c) => ({ ...c, rpc, pollIntervalMs: 20 })),
      };
      writeFileSync(file, stringify(config));
      return file;
    };
    const configFile = write('firebreak.yaml', [goodUrl, deadUrl]);
    const env = {
      FIREBREAK_GUARDIAN_KEY: key,
      FIREBREAK_LOG_LEVEL: 'debug',
      FIREBREAK_STATUS_EVERY_S: '1',
    };
    const outputs: string[] = [];

    // 1. A config check resolves every secret and prints the config's problems (none).
    const check = firebreak(['config', 'check', configFile], env);
    expect(await check.exited).toBe(0);
    outputs.push(check.out());

    // 2. The engine follows the chain, detects the manipulation and contains INV.
    const run = firebreak(['run', '--config', configFile], env);
    try {
      await waitFor('firebreak run to watch the chain', 60_000, async () =>
        run.out().includes('firebreak is watching') ? true : undefined,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; its output:\n${run.out()}`);
      });
      const client = chain.client;
      const attacker = market.accounts.get('attacker')!;
      const inv = market.tokens.get('INV')!.address;
      const update = async () => {
        const hash = await writeContract(client, {
          address: market.twaps.get('INV')!,
          abi: twapAbi,
          functionName: 'update',
          account: attacker.account,
          chain: client.chain,
        });
        await waitForTransactionReceipt(client, { hash, pollingInterval: 1 });
      };
      const later = async (seconds: number) => {
        await client.increaseTime({ seconds });
        await client.mine({ blocks: 1 });
        await sleep(100);
      };
      await later(61);
      await update();
      await swapExactIn(client, {
        pair: market.pools.get('INV-WETH')!,
        tokenIn: market.tokens.get('WETH')!.address,
        amountIn: 300n * 10n ** 18n,
        to: attacker.address,
        account: attacker.account,
      });
      await later(61);
      await update();
      // The guardian key signed: INV is frozen with LTV 0.
      await waitFor('INV contained by the guardian', 30_000, async () => {
        await chain.mine();
        await sleep(100);
        const r = await readReserveConfiguration(client, market.aave.pool, inv);
        return r.isFrozen && r.ltvBps === 0 ? true : undefined;
      }).catch((error: Error) => {
        throw new Error(`${error.message}; its output:\n${run.out().slice(-6_000)}`);
      });
      // Let the verification and a status line or two land in the log.
      await sleep(1_500);
    } finally {
      run.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    outputs.push(run.out());
    expect(run.out()).toContain('effect verified');

    // 3. A run that cannot reach its only endpoint fails, naming it without its credential.
    const failing = firebreak(['run', '--config', write('unreachable.yaml', [deadUrl])], env);
    expect(await failing.exited).not.toBe(0);
    outputs.push(failing.out());
    expect(failing.out()).toMatch(/127\.0\.0\.1/);

    // The scan: command output, the data folder's bytes, the store's rows.
    for (const text of outputs) expect(findSecrets(text, secrets)).toEqual([]);
    const files = filesUnder(dataDir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect([file, findSecrets(readFileSync(file), secrets)]).toEqual([file, []]);
    const store = await openStore({ dataDir });
    try {
      const tables = await sql<{ table_name: string }>`
        select table_name from information_schema.tables where table_schema = 'public'`.execute(store.db);
      expect(tables.rows.map((t) => t.table_name)).toContain('actions');
      let rows = 0;
      for (const { table_name } of tables.rows) {
        const all = await sql<Record<string, unknown>>`select * from ${sql.table(table_name)}`.execute(
          store.db,
        );
        rows += all.rows.length;
        const text = JSON.stringify(all.rows, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
        expect([table_name, findSecrets(text, secrets)]).toEqual([table_name, []]);
      }
      expect(rows).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  }, 180_000);
});
