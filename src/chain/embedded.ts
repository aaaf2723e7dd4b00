/**
 * Chain — the embedded chain: Hardhat's EDR run in-process, driven through viem.
 *
 * Drills, tests, benchmarks and the demo run on it: no network, no node to install. It offers
 * snapshot/revert, mining and time control, and errors whose revert data viem can decode (EDR's
 * in-process errors carry `.data` but no `.code`; the wrapper adds `code: 3` to reverts).
 *
 * The EDR provider is built through Hardhat's internal `createHardhatNetworkProvider`: that path is
 * internal, so `hardhat` is pinned to an exact version in package.json.
 */
import { createRequire } from 'node:module';
import {
  type Account,
  type Chain,
  type Client,
  createClient,
  custom,
  defineChain,
  type EIP1193Provider,
  type Hex,
  type PublicActions,
  publicActions,
  type TestActions,
  type Transport,
  testActions,
  type WalletActions,
  walletActions,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { keccak256, toHex } from 'viem/utils';

const require = createRequire(import.meta.url);

export interface EmbeddedChainOptions {
  chainId?: number;
  /** How many funded accounts to create. Keys derive from `accountSeed`, so runs are repeatable. */
  accounts?: number;
  accountSeed?: string;
  /** Ether given to every account at genesis. */
  balanceEth?: bigint;
  /** Genesis timestamp. */
  initialDate?: Date;
  /** Mine a block per transaction (handy for deployment); drills turn it off to build blocks. */
  automine?: boolean;
  initialBaseFeeGwei?: bigint;
  blockGasLimit?: bigint;
  /**
   * `wall` (default): a block's timestamp follows the wall clock, as on Hardhat. `steady`: a block
   * mined without an explicit timestamp is one second after the one before it (plus any
   * `evm_increaseTime`), so the same transactions give the same chain however fast the machine
   * is: what makes a drill's score repeatable.
   */
  clock?: 'wall' | 'steady';
}

export interface FundedAccount {
  address: Hex;
  privateKey: Hex;
  account: Account;
}

export type EmbeddedClient = Client<Transport, Chain, Account | undefined> &
  PublicActions<Transport, Chain> &
  WalletActions<Chain, Account | undefined> &
  TestActions;

export interface EmbeddedChain {
  readonly chainId: number;
  readonly chain: Chain;
  /** The raw EIP-1193 provider (in-process). Anything that takes a provider can take this. */
  readonly provider: EIP1193Provider;
  /** A viem client with public, wallet and test actions bound to the provider. */
  readonly client: EmbeddedClient;
  readonly accounts: readonly FundedAccount[];
  snapshot(): Promise<Hex>;
  /** Revert to a snapshot. The snapshot is consumed, as in Hardhat; take another to revert again. */
  revert(id: Hex): Promise<void>;
  setAutomine(enabled: boolean): Promise<void>;
  /** Mine one block, optionally at a given timestamp (seconds). Returns its number. */
  mine(options?: { timestamp?: bigint }): Promise<bigint>;
  setBalance(address: Hex, wei: bigint): Promise<void>;
  /**
   * Serves the chain as a JSON-RPC node over HTTP and WebSocket (same port), through Hardhat's
   * internal `JsonRpcServer` on the raw EDR provider, for whatever needs a URL (`firebreak run`,
   * another process). Loopback only: the node signs for its funded accounts. Port 0 (the default)
   * takes a free port; the URLs carry the bound one. `close()` ends the server, not the chain.
   *
   * @example
   * const server = await chain.serve();
   * // server.url === 'http://127.0.0.1:41234', server.wsUrl === 'ws://127.0.0.1:41234'
   * await server.close();
   */
  serve(options?: { hostname?: string; port?: number }): Promise<ServedChain>;
  close(): Promise<void>;
}

export interface ServedChain {
  /** `http://host:port` */
  url: string;
  /** `ws://host:port` (the same server) */
  wsUrl: string;
  close(): Promise<void>;
}

interface JsonRpcServerLike {
  listen(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

type JsonRpcServerConstructor = new (config: {
  hostname: string;
  port: number;
  provider: unknown;
}) => JsonRpcServerLike;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

interface EdrProviderLike {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
}

type CreateHardhatNetworkProvider = (
  config: Record<string, unknown>,
  logger: { enabled: boolean },
  artifacts: undefined,
) => Promise<EdrProviderLike>;

/**
 * The test-node methods both local EVMs answer alike (EDR here, anvil in anvil.ts): snapshots,
 * automine, mining, balances.
 */
export function devNodeControls(
  request: (method: string, params?: unknown[]) => Promise<unknown>,
  setBalanceMethod: 'hardhat_setBalance' | 'anvil_setBalance',
): Pick<EmbeddedChain, 'snapshot' | 'revert' | 'setAutomine' | 'mine' | 'setBalance'> {
  return {
    snapshot: async () => (await request('evm_snapshot')) as Hex,
    revert: async (id) => {
      const ok = await request('evm_revert', [id]);
      if (ok !== true) throw new Error(`evm_revert(${id}) failed: unknown or already used snapshot`);
    },
    setAutomine: async (enabled) => {
      await request('evm_setAutomine', [enabled]);
    },
    mine: async (opts = {}) => {
      await request('evm_mine', opts.timestamp === undefined ? [] : [Number(opts.timestamp)]);
      return BigInt((await request('eth_blockNumber')) as string);
    },
    setBalance: async (address, wei) => {
      await request(setBalanceMethod, [address, toHex(wei)]);
    },
  };
}

/** Deterministic private keys: keccak(seed, index). */
export function deriveKeys(seed: string, count: number): Hex[] {
  return Array.from({ length: count }, (_, i) => keccak256(toHex(`${seed}/${i}`)));
}

/**
 * Starts an in-process chain.
 *
 * @example
 * const chain = await createEmbeddedChain({ accounts: 10 });
 * const id = await chain.snapshot();
 * // ... run something ...
 * await chain.revert(id);
 */
export async function createEmbeddedChain(options: EmbeddedChainOptions = {}): Promise<EmbeddedChain> {
  const chainId = options.chainId ?? 31337;
  const keys = deriveKeys(options.accountSeed ?? 'firebreak', options.accounts ?? 20);
  const balance = (options.balanceEth ?? 1_000_000n) * 10n ** 18n;
  const { createHardhatNetworkProvider } = require('hardhat/internal/hardhat-network/provider/provider') as {
    createHardhatNetworkProvider: CreateHardhatNetworkProvider;
  };
  const edr = await createHardhatNetworkProvider(
    {
      chainId,
      networkId: chainId,
      hardfork: 'cancun',
      blockGasLimit: Number(options.blockGasLimit ?? 60_000_000n),
      initialBaseFeePerGas: Number((options.initialBaseFeeGwei ?? 1n) * 10n ** 9n),
      minGasPrice: 0n,
      throwOnTransactionFailures: true,
      throwOnCallFailures: true,
      automine: options.automine ?? true,
      intervalMining: 0,
      mempoolOrder: 'priority',
      chains: new Map(),
      genesisAccounts: keys.map((privateKey) => ({ privateKey, balance: balance.toString() })),
      allowUnlimitedContractSize: true,
      allowBlocksWithSameTimestamp: false,
      initialDate: options.initialDate ?? new Date('2022-04-02T09:00:00Z'),
      enableTransientStorage: true,
      enableRip7212: false,
    },
    { enabled: false },
    undefined,
  );

  const provider = wrapProvider(edr, options.clock === 'steady', options.automine ?? true);
  const chain = defineChain({
    id: chainId,
    name: 'Firebreak embedded chain',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [] } },
  });
  const client = createClient({ chain, transport: custom(provider, { retryCount: 0 }), pollingInterval: 5 })
    .extend(publicActions)
    .extend(walletActions)
    .extend(testActions({ mode: 'hardhat' })) as unknown as EmbeddedClient;

  // Through the wrapper, so the steady clock sees the node controls (mining, automine, snapshots).
  const request = (method: string, params: unknown[] = []) =>
    (provider as unknown as { request(a: { method: string; params: unknown[] }): Promise<unknown> }).request({
      method,
      params,
    });

  return {
    chainId,
    chain,
    provider,
    client,
    accounts: keys.map((privateKey) => {
      const account = privateKeyToAccount(privateKey);
      return { address: account.address, privateKey, account };
    }),
    ...devNodeControls(request, 'hardhat_setBalance'),
    serve: async ({ hostname = '127.0.0.1', port = 0 } = {}) => {
      if (!LOOPBACK_HOSTS.has(hostname)) {
        throw new Error(
          `serve: hostname must be a loopback address (127.0.0.1, localhost, ::1), got "${hostname}"`,
        );
      }
      const { JsonRpcServer } = require('hardhat/internal/hardhat-network/jsonrpc/server') as {
        JsonRpcServer: JsonRpcServerConstructor;
      };
      const server = new JsonRpcServer({ hostname, port, provider: edr });
      const bound = await server.listen();
      const host = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
      let closing: Promise<void> | undefined;
      return {
        url: `http://${host}:${bound.port}`,
        wsUrl: `ws://${host}:${bound.port}`,
        close: () => {
          closing ??= server.close();
          return closing;
        },
      };
    },
    close: async () => {
      // EDR holds no sockets or timers once interval mining is off; dropping it is enough.
    },
  };
}

/**
 * Wraps EDR's provider so that errors look like JSON-RPC errors to viem: a revert becomes
 * `{ code: 3, message, data }`, anything else keeps its message with code -32603.
 *
 * An account's `pending` transaction count is answered from the pool, as geth and anvil answer it
 * (the latest count, plus the account's transactions waiting in the pool with the nonces right
 * after it). EDR answers it by building the pending block, executing every transaction in the
 * mempool: milliseconds when an exploit's transactions wait there, which is when a guardian's
 * sender asks.
 */
function wrapProvider(edr: EdrProviderLike, steady = false, automine = true): EIP1193Provider {
  const call = async (method: string, params: unknown[]) => {
    try {
      return await edr.request({ method, params });
    } catch (error) {
      throw toRpcError(error);
    }
  };
  const pendingCount = async (address: string): Promise<Hex> => {
    // Both asked in one turn, the pool first. EDR answers one request at a time, in the order they
    // came in every trace measured, so no other request of this process (the HTTP server's too)
    // comes between. Were a block mined between them, the walk below would start past the
    // transactions it moved; the other way round, they would be in neither and the answer too low.
    // Asked one after the other, the count would wait behind a simulation queued meanwhile.
    const [pool, latest] = await Promise.all([
      call('eth_pendingTransactions', []) as Promise<{ from: string; nonce: Hex }[]>,
      call('eth_getTransactionCount', [address, 'latest']) as Promise<Hex>,
    ]);
    const mine = new Set(
      pool.filter((tx) => tx.from.toLowerCase() === address.toLowerCase()).map((tx) => BigInt(tx.nonce)),
    );
    let next = BigInt(latest);
    while (mine.has(next)) next++;
    return toHex(next);
  };
  // The steady clock: whether the caller chose the next block's timestamp, and time it added.
  let explicitNext = false;
  let increase = 0n;
  let mining: Promise<unknown> = Promise.resolve();
  // A request that mines a block whose timestamp nobody chose (`hardhat_mine`: the first of its blocks).
  const mines = (method: string, params: unknown[]) =>
    (method === 'evm_mine' && params.length === 0) ||
    method === 'hardhat_mine' ||
    (automine && (method === 'eth_sendRawTransaction' || method === 'eth_sendTransaction'));
  const wrapped = {
    async request(args: { method: string; params?: unknown }) {
      const params = (args.params as unknown[] | undefined) ?? [];
      if (args.method === 'eth_getTransactionCount' && params[1] === 'pending')
        return pendingCount(params[0] as string);
      if (!steady) return call(args.method, params);
      switch (args.method) {
        case 'evm_setAutomine':
          automine = params[0] === true;
          break;
        case 'evm_setNextBlockTimestamp':
          explicitNext = true;
          break;
        case 'evm_increaseTime':
          increase += BigInt(params[0] as number | string);
          return call('evm_increaseTime', [0]).then(() => `0x${increase.toString(16)}`);
        case 'evm_revert':
          explicitNext = false;
          increase = 0n;
          break;
      }
      if (!mines(args.method, params)) return call(args.method, params);
      // One mining request at a time: reading the latest timestamp, setting the next and mining are
      // one step, or two requests at once (a test's mine, a transaction automined through the HTTP
      // server) would both set the same timestamp and the second block would be refused.
      const mined = mining.then(async () => {
        try {
          if (!explicitNext) {
            const latest = (await call('eth_getBlockByNumber', ['latest', false])) as { timestamp: Hex };
            const next = BigInt(latest.timestamp) + 1n + increase;
            await call('evm_setNextBlockTimestamp', [`0x${next.toString(16)}`]);
          }
          return await call(args.method, params);
        } finally {
          explicitNext = false;
          increase = 0n;
        }
      });
      mining = mined.catch(() => undefined);
      return mined;
    },
    on: (event: string, listener: (...a: unknown[]) => void) => {
      edr.on(event, listener);
      return wrapped;
    },
    removeListener: (event: string, listener: (...a: unknown[]) => void) => {
      edr.removeListener(event, listener);
      return wrapped;
    },
  };
  return wrapped as unknown as EIP1193Provider;
}

function toRpcError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const raw = error as Error & { code?: number; data?: unknown };
  const data = typeof raw.data === 'string' ? raw.data : (raw.data as { data?: unknown } | undefined)?.data;
  if (typeof data === 'string' && data.startsWith('0x')) {
    return Object.assign(new Error(raw.message), { code: 3, data });
  }
  if (/revert/i.test(raw.message)) return Object.assign(new Error(raw.message), { code: 3, data: '0x' });
  return Object.assign(new Error(raw.message), { code: raw.code ?? -32603 });
}
