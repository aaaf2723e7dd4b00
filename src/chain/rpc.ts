/**
 * Chain — clients for configured RPC endpoints: secrets resolved, credentials kept out of every
 * message, reachability and chain id checked before the engine starts.
 */
import type { Client } from 'viem';
import { type Common, createCommon } from '../common/common';
import { describeError, FirebreakError, isFirebreakError } from '../common/errors';
import { resolveSecret, type SecretSource } from '../config/load';
import type { ChainConfig } from '../config/schema';
import { type HeadSignal, wsHeads } from './heads';
import type { MetricsRegistry } from './metrics';
import { createRpcPool, type RpcPool } from './rpc-pool';
import { connectWebSocket, type WebSocketProvider } from './ws';

export interface ConnectedChain {
  config: ChainConfig;
  /** Reads and sends through the pool: fallback, backoff and health across the chain's endpoints. */
  client: Client;
  pool: RpcPool;
  /** With a `ws` endpoint configured: pushed heads, falling back to polling while the socket is down. */
  heads?: HeadSignal;
  /**
   * With `mempool: true` and a `ws` endpoint: a socket of its own to subscribe to pending
   * transactions on (absent when it could not be opened: the pending-transaction filter over `rpc`
   * is used instead).
   */
  mempool?: WebSocketProvider;
  /**
   * With `mempool: true` and a `ws` endpoint: opens another such socket, for the mempool source to
   * subscribe on again after `mempool` dropped (or could not be opened).
   */
  reopenMempool?: () => Promise<WebSocketProvider>;
  /** Closes the pool and the sockets. */
  close(): void;
}

/** Resolves each endpoint (plain URL or `{ env }`) to a URL. */
export function endpointUrls(chain: ChainConfig, env?: SecretSource): string[] {
  return chain.rpc.map((endpoint, i) =>
    typeof endpoint === 'string' ? endpoint : resolveSecret(endpoint, `chains[${chain.name}].rpc[${i}]`, env),
  );
}

/**
 * Connects to a chain's endpoints as one pool and checks, by asking every endpoint, that at least
 * one answers and that none serves another chain id, within `timeoutMs`; with a `ws` endpoint,
 * subscribes to its heads.
 */
export async function connectChain(
  chain: ChainConfig,
  env?: SecretSource,
  timeoutMs = 5_000,
  common: Common = createCommon(),
  metrics?: MetricsRegistry,
): Promise<ConnectedChain> {
  const urls = endpointUrls(chain, env);
  const pool = createRpcPool({
    chainId: chain.id,
    endpoints: urls.map((url) => ({ url })),
    common,
    timeoutMs,
    maxRetries: 1,
    pollingIntervalMs: chain.pollIntervalMs,
    ...(metrics ? { metrics } : {}),
  });
  let answers: { label: string; value: unknown }[];
  try {
    const result = await pool.quorumRead({ method: 'eth_chainId', params: [], k: 1, timeoutMs });
    answers = [...result.agreeing.map((label) => ({ label, value: result.value })), ...result.disagreeing];
  } catch (error) {
    pool.close();
    const reason = isFirebreakError(error) ? error.message.split('\n')[0] : 'no answer';
    throw new FirebreakError(
      'ERR_RPC_UNREACHABLE',
      `cannot reach the RPC endpoint(s) of chain "${chain.name}" (${pool.labels.join(', ')}): ${reason}\n    fix: check the URL, the network, and that the node is running`,
      { retryable: true, details: { chain: chain.name } },
    );
  }
  const wrong = answers.filter((a) => Number(a.value) !== chain.id);
  if (wrong.length > 0) {
    pool.close();
    const which = wrong.map((w) => `${w.label} serves chain id ${Number(w.value)}`).join('; ');
    throw new FirebreakError(
      'ERR_RPC_WRONG_CHAIN',
      `an RPC endpoint of chain "${chain.name}" is on another chain: ${which}, but the config says ${chain.id}\n    fix: correct chains[].id or the URL`,
    );
  }
  let heads: HeadSignal | undefined;
  if (chain.ws !== undefined) {
    const url =
      typeof chain.ws === 'string' ? chain.ws : resolveSecret(chain.ws, `chains[${chain.name}].ws`, env);
    heads = wsHeads({
      url,
      fallbackPollMs: chain.pollIntervalMs,
      common: { ...common, logger: common.logger.child({ chain: chain.name }) },
    });
  }
  let mempool: WebSocketProvider | undefined;
  let reopenMempool: (() => Promise<WebSocketProvider>) | undefined;
  if (chain.ws !== undefined && chain.mempool) {
    const url =
      typeof chain.ws === 'string' ? chain.ws : resolveSecret(chain.ws, `chains[${chain.name}].ws`, env);
    reopenMempool = () => connectWebSocket(url);
    try {
      mempool = await reopenMempool();
    } catch (error) {
      common.logger.warn(
        { chain: chain.name, err: describeError(error) },
        'mempool: cannot open the WebSocket for pending transactions; polling a pending-transaction filter over rpc',
      );
    }
  }
  return {
    config: chain,
    client: pool.client,
    pool,
    ...(heads ? { heads } : {}),
    ...(mempool ? { mempool } : {}),
    ...(reopenMempool ? { reopenMempool } : {}),
    close: () => {
      heads?.close();
      mempool?.close();
      pool.close();
    },
  };
}
