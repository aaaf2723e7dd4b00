// anvil behind the EmbeddedChain interface (src/chain/anvil.ts): a real anvil process from npm.
import { getBalance, getBlockNumber, sendTransaction, waitForTransactionReceipt } from 'viem/actions';
import { describe, expect, it } from 'vitest';
import { createAnvilChain } from '../src/chain/anvil';
import { deriveKeys } from '../src/chain/embedded';

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
});
