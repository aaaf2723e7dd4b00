// The embedded chain's steady clock (`clock: 'steady'`): every block one second after the one
// before, however many mining requests arrive at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain } from './embedded';

describe('embedded chain: the steady clock', () => {
  let chain: EmbeddedChain;
  beforeAll(async () => {
    chain = await createEmbeddedChain({ clock: 'steady', accounts: 4 });
  }, 60_000);
  afterAll(() => chain?.close());

  it('mines requests that arrive together one after the other, each block one second on', async () => {
    const from = await chain.client.getBlock();
    // Mining requests and automined transactions at once, as a test's `mine` and a transaction
    // sent through the HTTP server can be: none may be refused for reusing the last timestamp.
    const requests = [
      ...Array.from({ length: 4 }, () => chain.provider.request({ method: 'evm_mine' } as never)),
      ...chain.accounts.map((account) =>
        chain.client.sendTransaction({
          account: account.account,
          to: account.address,
          value: 0n,
          chain: chain.client.chain,
        }),
      ),
    ];
    await Promise.all(requests);
    const head = await chain.client.getBlock();
    expect(head.number).toBe(from.number + 8n);
    for (let n = from.number + 1n; n <= head.number; n++) {
      const block = await chain.client.getBlock({ blockNumber: n });
      expect(block.timestamp).toBe(from.timestamp + (n - from.number));
    }
  });
});
