import { type Hex, toHex } from 'viem';
import { describe, expect, it } from 'vitest';
import { createReadAhead } from './read-ahead';

const hashOf = (n: number) => `0x${n.toString(16).padStart(64, 'a')}` as Hex;
const block = (n: number) => ({ number: BigInt(n), hash: hashOf(n) });

/** A node that answers every read with its method and params, and counts what it was sent. */
function node() {
  const sent: string[] = [];
  let failing = false;
  return {
    sent,
    failNext: () => {
      failing = true;
    },
    request: async (method: string, params: readonly unknown[]) => {
      const key = `${method}:${JSON.stringify(params)}`;
      sent.push(key);
      if (failing) {
        failing = false;
        throw new Error(`node failed ${key}`);
      }
      return key;
    },
  };
}

const call = (to: string, data: string, n: number) => ['eth_call', [{ to, data }, toHex(n)]] as const;

describe('read-ahead', () => {
  it("sends the previous block's reads for the next block, and hands them to whoever asks", async () => {
    const n = node();
    const ahead = createReadAhead(n.request);
    ahead.begin(block(10));
    await ahead.request(...call('0x01', '0xaaaa', 10));
    await ahead.request('eth_getLogs', [{ blockHash: hashOf(10) }]);
    expect(n.sent).toHaveLength(2);

    ahead.begin(block(11));
    // Sent at `begin`, before anyone asked: the block number and hash replaced, calldata kept.
    expect(n.sent.slice(2).sort()).toEqual(
      [
        `eth_call:${JSON.stringify([{ to: '0x01', data: '0xaaaa' }, toHex(11)])}`,
        `eth_getLogs:${JSON.stringify([{ blockHash: hashOf(11) }])}`,
      ].sort(),
    );
    // Asked for: answered from what is in flight, nothing sent again; the answer is block 11's.
    expect(await ahead.request(...call('0x01', '0xaaaa', 11))).toContain(toHex(11));
    expect(await ahead.request('eth_getLogs', [{ blockHash: hashOf(11) }])).toContain(hashOf(11));
    expect(n.sent).toHaveLength(4);
    expect(ahead.stats()).toMatchObject({ sentAhead: 2, used: 2 });
  });

  it('never answers a read of another block, another call or a write from what it sent ahead', async () => {
    const n = node();
    const ahead = createReadAhead(n.request);
    ahead.begin(block(10));
    await ahead.request(...call('0x01', '0xaaaa', 10));
    await ahead.request(...call('0x01', '0xbbbb', 9)); // history: not learned
    await ahead.request('eth_call', [{ to: '0x01', data: '0xcccc' }, 'latest']); // a tag: not learned
    await ahead.request('eth_sendRawTransaction', [toHex(10)]); // not a read
    ahead.begin(block(11));
    expect(ahead.stats().sentAhead).toBe(1);
    // A different block than the one begun: sent to the node, not taken from the read-ahead.
    const before = n.sent.length;
    expect(await ahead.request(...call('0x01', '0xaaaa', 12))).toContain(toHex(12));
    expect(n.sent).toHaveLength(before + 1);
  });

  it('forgets a read nobody asked for again', async () => {
    const n = node();
    const ahead = createReadAhead(n.request);
    ahead.begin(block(10));
    await ahead.request(...call('0x01', '0xaaaa', 10));
    ahead.begin(block(11)); // sent ahead, never asked for
    ahead.begin(block(12));
    expect(ahead.stats()).toMatchObject({ sentAhead: 1, used: 0, templates: 0 });
  });

  it("hands a failed read's error to whoever asks for it, and drops one nobody asks for", async () => {
    const n = node();
    const ahead = createReadAhead(n.request);
    ahead.begin(block(10));
    await ahead.request(...call('0x01', '0xaaaa', 10));
    await ahead.request(...call('0x02', '0xaaaa', 10));
    n.failNext(); // the first read sent ahead fails
    ahead.begin(block(11));
    await expect(ahead.request(...call('0x01', '0xaaaa', 11))).rejects.toThrow(/node failed/);
    ahead.begin(block(12)); // block 11's second read was never asked for: no unhandled rejection
    n.failNext();
    ahead.begin(block(13));
    await new Promise((r) => setTimeout(r, 10));
  });

  it('learns a reorged block by its hash: the replacement at the same height is read afresh', async () => {
    const n = node();
    const ahead = createReadAhead(n.request);
    ahead.begin(block(10));
    await ahead.request('eth_getLogs', [{ blockHash: hashOf(10) }]);
    const replacement = { number: 10n, hash: `0x${'b'.repeat(64)}` as Hex };
    ahead.begin(replacement);
    expect(await ahead.request('eth_getLogs', [{ blockHash: replacement.hash }])).toContain(replacement.hash);
    expect(ahead.stats().used).toBe(1);
  });

  it('asks the node once for a read repeated within the block, and again after a failure or a new block', async () => {
    const n = node();
    const ahead = createReadAhead(n.request);
    ahead.begin(block(10));
    const [a, b] = await Promise.all([
      ahead.request(...call('0x01', '0xaaaa', 10)),
      ahead.request(...call('0x01', '0xaaaa', 10)),
    ]);
    expect(a).toBe(b);
    expect(await ahead.request(...call('0x01', '0xaaaa', 10))).toBe(a);
    expect(n.sent).toHaveLength(1);
    // Not the block's: every ask goes to the node.
    await ahead.request('eth_call', [{ to: '0x01', data: '0xaaaa' }, 'latest']);
    await ahead.request('eth_call', [{ to: '0x01', data: '0xaaaa' }, 'latest']);
    expect(n.sent).toHaveLength(3);
    // A failure is handed to the one who asked, and not kept: the next ask is sent again.
    n.failNext();
    await expect(ahead.request(...call('0x02', '0xaaaa', 10))).rejects.toThrow(/node failed/);
    expect(await ahead.request(...call('0x02', '0xaaaa', 10))).toContain('0x02');
    expect(n.sent).toHaveLength(5);
    // Taken from what was sent ahead, then repeated: still one request for block 11.
    ahead.begin(block(11));
    const sentAtBegin = n.sent.length;
    await ahead.request(...call('0x01', '0xaaaa', 11));
    await ahead.request(...call('0x01', '0xaaaa', 11));
    expect(n.sent).toHaveLength(sentAtBegin);
    expect(ahead.stats()).toMatchObject({ used: 1, repeated: 3 });
  });
});
