import { describe, expect, it } from 'vitest';
import { createCommon } from '../common/common';
import { createMempoolSource, type PushProvider } from './mempool';
import type { SubscriptionMessage } from './ws';

const hashOf = (i: number) => `0x${i.toString(16).padStart(64, '0')}` as const;

/** A hand-made push provider: answers from a table and lets the test push hashes. */
function fakeProvider() {
  const listeners = new Set<(m: SubscriptionMessage) => void>();
  const fetched: string[] = [];
  const provider = {
    async request({ method, params }: { method: string; params?: unknown }) {
      if (method === 'eth_subscribe') return '0xsub';
      if (method === 'eth_getBlockByNumber') return { transactions: [] };
      if (method === 'eth_getTransactionByHash') {
        const hash = (params as string[])[0]!;
        fetched.push(hash);
        return {
          hash,
          from: '0x00000000000000000000000000000000000000a1',
          to: null,
          input: '0x',
          nonce: '0x1',
          value: '0x0',
          gas: '0x5208',
          gasPrice: '0x1',
          type: '0x0',
          blockHash: null,
          blockNumber: null,
          transactionIndex: null,
          v: '0x1b',
          r: '0x1',
          s: '0x1',
        };
      }
      if (method === 'eth_unsubscribe') return true;
      throw new Error(`unexpected ${method}`);
    },
    on(event: string, listener: unknown) {
      if (event === 'message') listeners.add(listener as (m: SubscriptionMessage) => void);
      return provider;
    },
    removeListener(event: string, listener: unknown) {
      if (event === 'message') listeners.delete(listener as (m: SubscriptionMessage) => void);
      return provider;
    },
    push(hash: string) {
      for (const l of listeners)
        l({ type: 'eth_subscription', data: { subscription: '0xsub', result: hash } });
    },
  };
  return { provider: provider as typeof provider & PushProvider, fetched };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('mempool source', () => {
  it('emits each hash once, fetching it once, however often it is announced', async () => {
    const { provider, fetched } = fakeProvider();
    const source = createMempoolSource({ provider, chainId: 1, common: createCommon() });
    await source.ready();
    for (const i of [1, 2, 1, 1, 3, 2]) provider.push(hashOf(i));
    await settle();
    const seen: string[] = [];
    for await (const tx of source) {
      seen.push(tx.hash);
      if (seen.length === 3) break; // leaving the loop stops the source
    }
    expect(seen.sort()).toEqual([hashOf(1), hashOf(2), hashOf(3)]);
    expect(fetched.sort()).toEqual([hashOf(1), hashOf(2), hashOf(3)]);
    provider.push(hashOf(4));
    await settle();
    expect(fetched).not.toContain(hashOf(4)); // stopped
  });

  it('keeps at most maxQueue events for a slow consumer, dropping the oldest', async () => {
    const { provider } = fakeProvider();
    const source = createMempoolSource({
      provider,
      chainId: 1,
      common: createCommon(),
      maxQueue: 2,
      fetchConcurrency: 1,
    });
    await source.ready();
    for (let i = 1; i <= 5; i++) provider.push(hashOf(i));
    await settle();
    expect(source.dropped).toBe(3);
    source.stop();
    const left: string[] = [];
    for await (const tx of source) left.push(tx.hash);
    expect(left).toEqual([hashOf(4), hashOf(5)]);
  });

  it('forgets hashes beyond the dedupe window', async () => {
    const { provider, fetched } = fakeProvider();
    const source = createMempoolSource({ provider, chainId: 1, common: createCommon(), dedupeWindow: 2 });
    await source.ready();
    for (const i of [1, 2, 3, 1]) provider.push(hashOf(i));
    await settle();
    expect(fetched).toEqual([hashOf(1), hashOf(2), hashOf(3), hashOf(1)]);
    source.stop();
  });
});
