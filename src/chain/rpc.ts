/**
 * Chain — clients for configured RPC endpoints: secrets resolved, credentials kept out of every
 * message, reachability and chain id checked before the engine starts.
 */
import { type Client, createClient, fallback, http, webSocket } from 'viem';
import { getChainId } from 'viem/actions';
import { FirebreakError, redact } from '../common/errors';
import { resolveSecret, type SecretSource } from '../config/load';
import type { ChainConfig } from '../config/schema';

export interface ConnectedChain {
  config: ChainConfig;
  client: Client;
}

/** Resolves each endpoint (plain URL or `{ env }`) to a URL. */
export function endpointUrls(chain: ChainConfig, env?: SecretSource): string[] {
  return chain.rpc.map((endpoint, i) =>
    typeof endpoint === 'string' ? endpoint : resolveSecret(endpoint, `chains[${chain.name}].rpc[${i}]`, env),
  );
}

/**
 * Connects to a chain's endpoints (fallback in order) and checks that they answer with the
 * configured chain id within `timeoutMs`.
 */
export async function connectChain(
  chain: ChainConfig,
  env?: SecretSource,
  timeoutMs = 5_000,
): Promise<ConnectedChain> {
  const urls = endpointUrls(chain, env);
  const transports = urls.map((url) =>
    url.startsWith('ws')
      ? webSocket(url, { retryCount: 1, timeout: timeoutMs })
      : http(url, { retryCount: 1, timeout: timeoutMs }),
  );
  const client = createClient({
    transport: transports.length === 1 ? transports[0]! : fallback(transports),
    pollingInterval: chain.pollIntervalMs,
  });
  let id: number;
  try {
    id = await getChainId(client);
  } catch (error) {
    const where = urls.map((u) => redact(u)).join(', ');
    const reason =
      error instanceof Error
        ? ((error as { shortMessage?: string }).shortMessage ?? error.message)
        : String(error);
    throw new FirebreakError(
      'ERR_RPC_UNREACHABLE',
      `cannot reach the RPC endpoint(s) of chain "${chain.name}" (${where}): ${redact(reason.split('\n')[0] ?? reason)}\n    fix: check the URL, the network, and that the node is running`,
      // No `cause`: viem's error text carries the full URL, key-bearing path included.
      { retryable: true, details: { chain: chain.name } },
    );
  }
  if (id !== chain.id) {
    throw new FirebreakError(
      'ERR_RPC_WRONG_CHAIN',
      `the RPC endpoint of chain "${chain.name}" serves chain id ${id}, but the config says ${chain.id}\n    fix: correct chains[].id or the URL`,
    );
  }
  return { config: chain, client };
}
