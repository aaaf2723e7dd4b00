import fc from 'fast-check';
import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  LAZY_LOGS,
  type LogFields,
  lazyBlockLogs,
  logCountOf,
  PackedLogsError,
  packedLogsOf,
  packLogs,
  readPackedLogs,
} from './packed-logs';

const hexOf = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString('hex')}` as Hex;

// Small pools, so that addresses and topics repeat inside a block (what the tables intern).
const address = fc.constantFrom(...[1, 2, 3].map((i) => hexOf(new Uint8Array(20).fill(i))));
const word = fc.oneof(
  fc.constantFrom(...[7, 8, 9].map((i) => hexOf(new Uint8Array(32).fill(i)))),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map(hexOf),
);
const log: fc.Arbitrary<LogFields> = fc.record({
  address,
  topics: fc.array(word, { maxLength: 4 }),
  data: fc.uint8Array({ maxLength: 100 }).map(hexOf),
  transactionIndex: fc.nat({ max: 5 }),
  logIndex: fc.nat({ max: 1_000 }),
});

describe('packed logs', () => {
  it('give back every field of every log, and by topic0 exactly the logs that have it', () => {
    fc.assert(
      fc.property(fc.array(log, { maxLength: 40 }), (logs) => {
        const packed = readPackedLogs(packLogs(logs));
        expect(packed.count).toBe(logs.length);
        logs.forEach((l, i) => {
          expect(packed.fields(i)).toEqual({
            address: l.address,
            topics: l.topics,
            data: l.data,
            transactionIndex: l.transactionIndex,
            logIndex: l.logIndex,
          });
        });
        for (const t of new Set(logs.map((l) => l.topics[0]).filter((t) => t !== undefined)))
          expect(packed.withTopic0(t.toUpperCase().replace('0X', '0x'))).toEqual(
            logs.flatMap((l, i) => (l.topics[0] === t ? [i] : [])),
          );
        expect(packed.withTopic0(hexOf(new Uint8Array(32).fill(0xee)))).toEqual([]);
      }),
    );
  });

  it('refuse a section that is cut short or points outside itself', () => {
    const logs = [
      {
        address: hexOf(new Uint8Array(20).fill(1)),
        topics: [hexOf(new Uint8Array(32).fill(7))],
        data: '0x01',
        transactionIndex: 0,
        logIndex: 0,
      },
    ];
    const bytes = packLogs(logs);
    for (let cut = 0; cut < bytes.length - 1; cut++)
      expect(() => readPackedLogs(bytes.subarray(0, cut)), `cut at ${cut}`).toThrow(PackedLogsError);
    const badAddress = Buffer.from(bytes);
    // N, T = 1, W = 0, A = 1 | one topic0 | one address | counts, padded to 4 | address index of log 0:
    badAddress.writeUInt32LE(5, 16 + 32 + 20 + 4);
    expect(() => readPackedLogs(badAddress)).toThrow(/address index out of range/);
    expect(() => packLogs([{ ...logs[0]!, data: '0x1' }])).toThrow(/not even-length/);
    expect(() => packLogs([{ ...logs[0]!, address: '0x01' }])).toThrow(/not 20 bytes/);
  });

  it('make a viem log only when it is read, once, and the same object for every reader', () => {
    const t0 = hexOf(new Uint8Array(32).fill(7));
    const other = hexOf(new Uint8Array(32).fill(8));
    const a = hexOf(new Uint8Array(20).fill(1));
    const logs = [0, 1, 2].map((i) => ({
      address: a,
      topics: [i === 1 ? other : t0],
      data: '0x',
      transactionIndex: 1,
      logIndex: i,
    }));
    const txs = ['0xaa', '0xbb'] as Hex[];
    const lazy = lazyBlockLogs(readPackedLogs(packLogs(logs)), {
      number: 5n,
      hash: '0x05',
      transactions: txs,
    });
    const picked = lazy.withTopic0(t0);
    expect(picked.map((l) => l.logIndex)).toEqual([0, 2]);
    expect(picked[0]).toEqual({
      address: a,
      topics: [t0],
      data: '0x',
      blockHash: '0x05',
      blockNumber: 5n,
      transactionHash: '0xbb',
      transactionIndex: 1,
      logIndex: 0,
      removed: false,
    });
    const all = lazy.all();
    expect(all[0]).toBe(picked[0]);
    expect(all[2]).toBe(picked[1]);
    const event = {
      [LAZY_LOGS]: lazy,
      get logs() {
        return lazy.all();
      },
    };
    expect(packedLogsOf(event)).toBe(lazy);
    expect(logCountOf(event)).toBe(3);
    expect(logCountOf({ logs: [1, 2] })).toBe(2);
    expect(packedLogsOf({ logs: [] })).toBeUndefined();
  });
});
