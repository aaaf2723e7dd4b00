// A viem client over a provider that keeps every request it passes on, in order: for tests that
// assert what was (or was not) asked of the node.
import { type Chain, type Client, createClient, custom, type EIP1193Provider } from 'viem';

export interface AskedRequest {
  method: string;
  params: unknown[];
}

export function countingClient(
  provider: EIP1193Provider,
  chain: Chain | undefined,
): { client: Client; asked: AskedRequest[] } {
  const asked: AskedRequest[] = [];
  const client = createClient({
    ...(chain ? { chain } : {}),
    transport: custom({
      request: ({ method, params }: { method: string; params?: unknown }) => {
        asked.push({ method, params: (params as unknown[] | undefined) ?? [] });
        return provider.request({ method, params } as never);
      },
    }),
  });
  return { client, asked };
}
