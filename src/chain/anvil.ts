/**
 * Chain — anvil as a second local EVM behind the same `EmbeddedChain` interface as Hardhat's EDR.
 *
 * Anvil (Foundry's node, `@foundry-rs/anvil` from npm) runs as a child process on a loopback port.
 * It mines blocks full of logs an order of magnitude faster than EDR in-process (a block of 200
 * ERC-20 transfers: ~7 ms against ~70–120 ms measured here), so work that must fill thousands of
 * busy blocks (the `ingest` benchmark's replay range) uses it; drills and tests stay on EDR.
 *
 * The funded accounts derive from the same seed as the embedded chain's, and are funded with
 * `anvil_setBalance`, so a scenario gets the same addresses on either EVM. Anvil keeps only recent
 * states, in memory (`--prune-history 64`; STACK.md: otherwise it writes every block's state under
 * ~/.foundry forever): a read at a block more than 64 behind the head fails, so read (record) a
 * busy range while it is recent.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  createClient,
  custom,
  defineChain,
  type EIP1193Provider,
  http,
  publicActions,
  testActions,
  toHex,
  walletActions,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { FirebreakError } from '../common/errors';
import {
  deriveKeys,
  devNodeControls,
  type EmbeddedChain,
  type EmbeddedChainOptions,
  type EmbeddedClient,
} from './embedded';

const require = createRequire(import.meta.url);

/** The anvil binary shipped in the platform package `@foundry-rs/anvil-<os>-<arch>`. */
export function anvilBinary(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', 'anvil');
  } catch {
    throw new FirebreakError(
      'ERR_USAGE',
      `anvil is not installed for this platform (${pkg} not found)\n    fix: run \`npm ci\` (anvil is a dev dependency; it ships for linux and macOS)`,
    );
  }
}

/** Starts anvil on a free loopback port; resolves once it listens. */
export async function createAnvilChain(options: EmbeddedChainOptions = {}): Promise<EmbeddedChain> {
  const chainId = options.chainId ?? 31337;
  const keys = deriveKeys(options.accountSeed ?? 'firebreak', options.accounts ?? 20);
  const balance = (options.balanceEth ?? 1_000_000n) * 10n ** 18n;
  const args = [
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--chain-id',
    String(chainId),
    '--accounts',
    '0',
    '--hardfork',
    'cancun',
    '--gas-limit',
    String(options.blockGasLimit ?? 60_000_000n),
    '--base-fee',
    String((options.initialBaseFeeGwei ?? 1n) * 10n ** 9n),
    '--disable-code-size-limit',
    '--timestamp',
    String(Math.floor((options.initialDate ?? new Date('2022-04-02T09:00:00Z')).getTime() / 1000)),
    '--prune-history',
    '64',
    '--order',
    'fees',
  ];
  const child: ChildProcess = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error('anvil did not start listening within 15 s')), 15_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(
        new FirebreakError('ERR_USAGE', `starting anvil failed: ${error.message}\n${output.slice(-2_000)}`),
      );
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Listening on (\S+):(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        // Keep draining its output so a full pipe never blocks it.
        child.stdout?.resume();
        resolve(`http://${match[1]}:${match[2]}`);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`anvil exited with code ${code}`)));
  });
  child.removeAllListeners('exit');
  child.removeAllListeners('error');
  child.on('error', () => {});

  const chain = defineChain({
    id: chainId,
    name: 'Firebreak anvil chain',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [url] } },
  });
  const transport = http(url, { retryCount: 0, timeout: 60_000 })({ chain });
  const provider = { request: transport.request, on: () => provider, removeListener: () => provider };
  const client = createClient({ chain, transport: custom(provider, { retryCount: 0 }), pollingInterval: 5 })
    .extend(publicActions)
    .extend(walletActions)
    .extend(testActions({ mode: 'anvil' })) as unknown as EmbeddedClient;
  const request = (method: string, params: unknown[] = []) =>
    transport.request({ method, params } as never) as Promise<unknown>;

  const accounts = keys.map((privateKey) => {
    const account = privateKeyToAccount(privateKey);
    return { address: account.address, privateKey, account };
  });
  for (const a of accounts) await request('anvil_setBalance', [a.address, toHex(balance)]);
  // As EDR does for its genesis accounts, the node signs `eth_sendTransaction` for any sender.
  await request('anvil_autoImpersonateAccount', [true]);
  if (options.automine === false) await request('evm_setAutomine', [false]);

  let closed = false;
  return {
    chainId,
    chain,
    provider: provider as unknown as EIP1193Provider,
    client,
    accounts,
    ...devNodeControls(request, 'anvil_setBalance'),
    // Anvil is a node already: serving it is handing out its URL.
    serve: async () => ({ url, wsUrl: url.replace(/^http/, 'ws'), close: async () => {} }),
    close: async () => {
      if (closed) return;
      closed = true;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
