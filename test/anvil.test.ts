// anvil behind the EmbeddedChain interface (src/chain/anvil.ts): a real anvil process from npm.
import { parseGwei } from 'viem';
import { getBalance, getBlockNumber, sendTransaction, waitForTransactionReceipt } from 'viem/actions';
import { describe, expect, it } from 'vitest';
import { createAnvilChain } from '../src/chain/anvil';
import { deriveKeys } from '../src/chain/embedded';
import { createMempoolSource, type PendingTxEvent } from '../src/chain/mempool';
import { connectWebSocket } from '../src/chain/ws';
import { createCommon } from '../src/common/common';

describe('anvil chain', () => {
  it('funds the derived accounts, signs for them, mines, snapshots and reverts, and stops', async () => {
    const chain = await createAnvilChain({ accounts: 3, accountSeed: 'anvil-test', balanceEth: 5n });
    try {
      const [a, b] = chain.accounts;
      expect(chain.accounts.map((x) => x.privateKey)).toEqual(deriveKeys('anvil-test', 3));
      expect(await getBalance(chain.client, { address: a!.address })).toBe(5n * 10n ** 18n);
      const start = await getBlockNumber(chain.client, { cacheTime: 0 });
      const snapshot = await chain.snapshot();
      // The node signs eth_sendTransaction for any sender, as EDR does for its accounts.
      const hash = await sendTransaction(chain.client, {
        account: a!.address,
        to: b!.address,
        value: 1n,
        chain: chain.chain,
      });
      const receipt = await waitForTransactionReceipt(chain.client, { hash, pollingInterval: 5 });
      expect(receipt.status).toBe('success');
      await chain.setAutomine(false);
      expect(await chain.mine()).toBe(receipt.blockNumber + 1n);
      await chain.revert(snapshot);
      expect(await getBlockNumber(chain.client, { cacheTime: 0 })).toBe(start);
      expect(await getBalance(chain.client, { address: b!.address })).toBe(5n * 10n ** 18n);
    } finally {
      await chain.close();
    }
    await expect(getBlockNumber(chain.client, { cacheTime: 0 })).rejects.toThrow();
  }, 60_000);

  it('pushes whole pending transactions over its WebSocket: the mempool source fetches none by hash', async () => {
    const chain = await createAnvilChain({ accounts: 2, accountSeed: 'anvil-mempool', automine: false });
    const served = await chain.serve();
    const ws = await connectWebSocket(served.wsUrl);
    // The real socket, with its requests counted by method.
    const asked: string[] = [];
    const counted = {
      request: (args: { method: string; params?: unknown }) => {
        asked.push(args.method);
        return ws.request(args as never);
      },
      on: (event: never, listener: never) => ws.on(event, listener),
      removeListener: (event: 'message' | 'disconnect', listener: never) =>
        ws.removeListener(event, listener),
    };
    const source = createMempoolSource({ provider: counted, chainId: chain.chainId, common: createCommon() });
    try {
      await source.ready();
      expect(source.mode).toBe('subscription');
      const [a, b] = chain.accounts;
      const hashes = new Set<string>();
      for (let i = 0; i < 3; i++)
        hashes.add(
          await sendTransaction(chain.client, {
            account: a!.account,
            chain: chain.chain,
            to: b!.address,
            value: BigInt(i + 1),
            nonce: i,
            gas: 50_000n,
            maxFeePerGas: parseGwei('20'),
            maxPriorityFeePerGas: parseGwei('3'),
          }),
        );
      const events: PendingTxEvent[] = [];
      for await (const event of source) {
        events.push(event);
        if (events.length === 3) break;
      }
      expect(new Set(events.map((e) => e.hash))).toEqual(hashes);
      for (const e of events)
        expect(e).toMatchObject({ from: a!.address.toLowerCase(), maxPriorityFeePerGas: parseGwei('3') });
      expect(asked).toContain('eth_subscribe');
      expect(asked).not.toContain('eth_getTransactionByHash');
    } finally {
      source.stop();
      ws.close();
      await served.close();
      await chain.close();
    }
  }, 60_000);
});
