import { type Abi, createClient, custom, encodeAbiParameters, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { fastRead } from './read';

const abi = [
  {
    type: 'function',
    name: 'pair',
    stateMutability: 'view',
    inputs: [],
    outputs: [{ type: 'uint256' }, { type: 'uint256' }],
  },
] as const satisfies Abi;

/** A client whose `eth_call` answers whatever `answer` holds now (a unit test of pure logic). */
function client() {
  const state = {
    answer: encodeAbiParameters([{ type: 'uint256' }, { type: 'uint256' }], [1n, 2n]),
    calls: 0,
  };
  const c = createClient({
    transport: custom({
      request: async ({ method }: { method: string }) => {
        if (method !== 'eth_call') throw new Error(method);
        state.calls++;
        return state.answer;
      },
    }),
  });
  return { c, state };
}

describe('fastRead', () => {
  it('decodes a new result, returns the previous value for the same bytes, frozen', async () => {
    const { c, state } = client();
    const read = (blockNumber: bigint) =>
      fastRead(c, { address: `0x${'1'.repeat(40)}`, abi, functionName: 'pair', blockNumber });
    const first = await read(1n);
    expect(first).toEqual([1n, 2n]);
    expect(Object.isFrozen(first)).toBe(true);
    expect(await read(2n)).toBe(first); // same bytes at the next block: not decoded again
    state.answer = encodeAbiParameters([{ type: 'uint256' }, { type: 'uint256' }], [3n, 4n]) as Hex;
    expect(await read(3n)).toEqual([3n, 4n]); // new bytes: decoded
    expect(state.calls).toBe(3); // every block is still read
  });

  it('keeps the last value per target: the same call at another contract is its own', async () => {
    const { c, state } = client();
    const at = (address: Hex) => fastRead(c, { address, abi, functionName: 'pair', blockNumber: 1n });
    const first = await at(`0x${'2'.repeat(40)}`);
    expect(first).toEqual([1n, 2n]);
    state.answer = encodeAbiParameters([{ type: 'uint256' }, { type: 'uint256' }], [5n, 6n]) as Hex;
    expect(await at(`0x${'3'.repeat(40)}`)).toEqual([5n, 6n]);
    state.answer = encodeAbiParameters([{ type: 'uint256' }, { type: 'uint256' }], [1n, 2n]) as Hex;
    expect(await at(`0x${'2'.repeat(40)}`)).toBe(first); // not pushed out by the other target's value
  });
});
