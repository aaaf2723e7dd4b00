/**
 * Chain — a block's logs packed in columns of raw bytes (the log section of a recording, format
 * version 3, `recording.ts`), and a lazy view of them for a replayed block event.
 *
 * Why: a busy block holds hundreds of logs, and as hex text in JSON each costs ~350 bytes to
 * inflate and parse and five strings to collect; most are never looked at (a detector asks for
 * the few events it subscribes to, by topic0). Packed, a log is ~60 bytes, nothing is parsed, and
 * a log becomes a viem object only when something asks for it (`packedLogsOf`, `detectors/logs.ts`).
 *
 * Section layout (little endian; every count and index a u32, the topic count a u8):
 *
 *   N | T | W | A | T × 32 bytes (distinct topic0s) | W × 32 bytes (distinct other topics)
 *     | A × 20 bytes (distinct addresses) | topic count × N (u8) | zero padding to a multiple of 4
 *     | address index × N | transactionIndex × N | logIndex × N | topic0 index × N (0xffffffff: none)
 *     | data end offset × N | other topics' word indices (Σ max(count − 1, 0)) | data bytes
 *
 * The u32 columns are contiguous, so a reader copies them once into a `Uint32Array`.
 *
 * Addresses and topics come back as lowercase hex (nodes answer `eth_getLogs` in lowercase).
 */
import { endianness } from 'node:os';
import type { Hex, Log, RpcBlock, RpcLog } from 'viem';

/** A mined log as viem gives it (the shape `BlockEvent.logs` holds). */
export type ReplayLog = Log<bigint, number, false>;

/** What a log must say to be packed (an `eth_getLogs` object, or viem's). */
export interface LogFields {
  address: string;
  topics: readonly string[];
  data: string;
  transactionIndex: number | string | null;
  logIndex: number | string | null;
}

const NO_TOPIC = 0xffffffff;
const LITTLE_ENDIAN = endianness() === 'LE';

export class PackedLogsError extends Error {}

const bytesOfHex = (hex: string, what: string): Buffer => {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(hex)) throw new PackedLogsError(`${what} is not even-length 0x-hex`);
  return Buffer.from(hex.slice(2), 'hex');
};

/** Interns fixed-size values (as lowercase hex) into a table; returns each one's index. */
function table(size: number, what: string) {
  const index = new Map<string, number>();
  const parts: Buffer[] = [];
  return {
    add(hex: string): number {
      const key = hex.toLowerCase();
      let i = index.get(key);
      if (i === undefined) {
        const bytes = bytesOfHex(key, what);
        if (bytes.length !== size) throw new PackedLogsError(`${what} ${hex} is not ${size} bytes`);
        i = parts.length;
        parts.push(bytes);
        index.set(key, i);
      }
      return i;
    },
    get count() {
      return parts.length;
    },
    bytes: () => Buffer.concat(parts),
  };
}

const u32s = (values: readonly number[]): Buffer => {
  const out = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeUInt32LE(values[i]!, i * 4);
  return out;
};

/**
 * Packs a block's logs (in the order given: log-index order) into a section.
 *
 * @example
 * const section = packLogs(await getLogs(client, { blockHash }));
 */
export function packLogs(logs: readonly LogFields[]): Buffer {
  const topic0s = table(32, 'topic');
  const words = table(32, 'topic');
  const addresses = table(20, 'address');
  const addressIdx: number[] = [];
  const txIndex: number[] = [];
  const logIndex: number[] = [];
  const counts = Buffer.allocUnsafe(logs.length);
  const topic0Idx: number[] = [];
  const wordIdx: number[] = [];
  const dataEnd: number[] = [];
  const data: Buffer[] = [];
  let dataLength = 0;
  for (const [i, log] of logs.entries()) {
    addressIdx.push(addresses.add(log.address));
    txIndex.push(Number(log.transactionIndex ?? 0));
    logIndex.push(Number(log.logIndex ?? i));
    if (log.topics.length > 4) throw new PackedLogsError(`a log has ${log.topics.length} topics (at most 4)`);
    counts[i] = log.topics.length;
    topic0Idx.push(log.topics[0] === undefined ? NO_TOPIC : topic0s.add(log.topics[0]));
    for (let t = 1; t < log.topics.length; t++) wordIdx.push(words.add(log.topics[t]!));
    const bytes = bytesOfHex(log.data, 'log data');
    data.push(bytes);
    dataLength += bytes.length;
    dataEnd.push(dataLength);
  }
  const counts4 = Buffer.alloc((logs.length + 3) & ~3);
  counts.copy(counts4);
  return Buffer.concat([
    u32s([logs.length, topic0s.count, words.count, addresses.count]),
    topic0s.bytes(),
    words.bytes(),
    addresses.bytes(),
    counts4,
    u32s(addressIdx),
    u32s(txIndex),
    u32s(logIndex),
    u32s(topic0Idx),
    u32s(dataEnd),
    u32s(wordIdx),
    ...data,
  ]);
}

/** A block's packed logs, read in place: nothing is decoded until asked. */
export interface PackedLogs {
  readonly count: number;
  /** The section's bytes (copied as they are when recordings are joined). */
  readonly bytes: Buffer;
  /** The indices of the logs whose topic0 is `topic0` (any case), in order. */
  withTopic0(topic0: string): readonly number[];
  /** Log `i`'s fields as hex; `topics` may be empty. */
  fields(i: number): { address: Hex; topics: Hex[]; data: Hex; transactionIndex: number; logIndex: number };
}

/**
 * Reads a section, checking its structure (every table, index and offset in bounds) up front, so a
 * damaged file fails here rather than as a wrong log later. Throws `PackedLogsError`.
 */
export function readPackedLogs(bytes: Buffer): PackedLogs {
  if (bytes.length < 16) throw new PackedLogsError('the log section ends inside its counts');
  const n = bytes.readUInt32LE(0);
  const t0Count = bytes.readUInt32LE(4);
  const wordCount = bytes.readUInt32LE(8);
  const addressCount = bytes.readUInt32LE(12);
  let at = 16;
  const need = (length: number, what: string) => {
    if (length > bytes.length - at) throw new PackedLogsError(`the log section ends inside ${what}`);
    const start = at;
    at += length;
    return start;
  };
  const t0At = need(t0Count * 32, 'the topic0 table');
  const wordsAt = need(wordCount * 32, 'the topic table');
  const addressesAt = need(addressCount * 20, 'the address table');
  const countAt = need((n + 3) & ~3, 'the topic-count column');
  let others = 0;
  for (let i = 0; i < n; i++) {
    const c = bytes[countAt + i]!;
    if (c > 4) throw new PackedLogsError(`log ${i} has ${c} topics`);
    if (c > 0) others += c - 1;
  }
  const columnsAt = need((5 * n + others) * 4, 'the index columns');
  const dataAt = at;
  const dataLength = bytes.length - dataAt;
  // One copy of the u32 columns, aligned: typed-array reads from here on.
  const columns = new Uint32Array(5 * n + others);
  if (LITTLE_ENDIAN)
    new Uint8Array(columns.buffer).set(bytes.subarray(columnsAt, columnsAt + columns.length * 4));
  else for (let k = 0; k < columns.length; k++) columns[k] = bytes.readUInt32LE(columnsAt + k * 4);
  const ADDRESS = 0;
  const TX = n;
  const LOG_INDEX = 2 * n;
  const TOPIC0 = 3 * n;
  const DATA_END = 4 * n;
  const WORDS = 5 * n;
  // Where each log's other topics start in the word column (filled by the checks).
  const firstWord = new Uint32Array(n);
  for (let i = 0, w = 0, prevEnd = 0; i < n; i++) {
    if (columns[ADDRESS + i]! >= addressCount)
      throw new PackedLogsError(`log ${i}: address index out of range`);
    const c = bytes[countAt + i]!;
    const t = columns[TOPIC0 + i]!;
    if (c === 0 ? t !== NO_TOPIC : t >= t0Count)
      throw new PackedLogsError(`log ${i}: topic0 index out of range`);
    firstWord[i] = w;
    for (let k = 1; k < c; k++, w++)
      if (columns[WORDS + w]! >= wordCount) throw new PackedLogsError(`log ${i}: topic index out of range`);
    const end = columns[DATA_END + i]!;
    if (end < prevEnd || end > dataLength) throw new PackedLogsError(`log ${i}: data offset out of range`);
    prevEnd = end;
  }

  // Hex strings made once per distinct value.
  let hexCache: Map<number, Hex> | undefined;
  const hexAt = (offset: number, size: number): Hex => {
    hexCache ??= new Map();
    let hex = hexCache.get(offset);
    if (hex === undefined) {
      hex = `0x${bytes.toString('hex', offset, offset + size)}` as Hex;
      hexCache.set(offset, hex);
    }
    return hex;
  };
  let byTopic0: Map<string, number[]> | undefined;
  return {
    count: n,
    bytes,
    withTopic0(topic0) {
      if (!byTopic0) {
        const byIndex = new Map<number, number[]>();
        for (let i = 0; i < n; i++) {
          const t = columns[TOPIC0 + i]!;
          if (t === NO_TOPIC) continue;
          const list = byIndex.get(t);
          if (list) list.push(i);
          else byIndex.set(t, [i]);
        }
        byTopic0 = new Map();
        for (const [t, list] of byIndex) byTopic0.set(hexAt(t0At + t * 32, 32), list);
      }
      return byTopic0.get(topic0.toLowerCase()) ?? [];
    },
    fields(i) {
      if (!(i >= 0 && i < n)) throw new RangeError(`log ${i} of ${n}`);
      const c = bytes[countAt + i]!;
      const topics: Hex[] = [];
      if (c > 0) topics.push(hexAt(t0At + columns[TOPIC0 + i]! * 32, 32));
      for (let k = 1, w = firstWord[i]!; k < c; k++, w++)
        topics.push(hexAt(wordsAt + columns[WORDS + w]! * 32, 32));
      const start = i === 0 ? 0 : columns[DATA_END + i - 1]!;
      return {
        address: hexAt(addressesAt + columns[ADDRESS + i]! * 20, 20),
        topics,
        data: `0x${bytes.toString('hex', dataAt + start, dataAt + columns[DATA_END + i]!)}` as Hex,
        transactionIndex: columns[TX + i]!,
        logIndex: columns[LOG_INDEX + i]!,
      };
    },
  };
}

/** The `eth_getLogs` objects of a recorded block. */
export function rpcLogsOf(block: RpcBlock, packed: PackedLogs): RpcLog[] {
  const txs = block.transactions as readonly Hex[];
  const out: RpcLog[] = [];
  for (let i = 0; i < packed.count; i++) {
    const f = packed.fields(i);
    out.push({
      address: f.address,
      data: f.data,
      topics: f.topics as [Hex, ...Hex[]],
      blockHash: block.hash,
      blockNumber: block.number,
      transactionHash: txs[f.transactionIndex] ?? null,
      transactionIndex: `0x${f.transactionIndex.toString(16)}`,
      logIndex: `0x${f.logIndex.toString(16)}`,
      removed: false,
    } as RpcLog);
  }
  return out;
}

/**
 * A replayed block's logs as viem objects, each made on first use and kept (so every consumer of
 * the block sees the same objects).
 */
export interface LazyBlockLogs {
  readonly count: number;
  /** Every log, in order (all made now). */
  all(): readonly ReplayLog[];
  /** The logs whose topic0 is `topic0`: only those are made. */
  withTopic0(topic0: string): readonly ReplayLog[];
}

export function lazyBlockLogs(
  packed: PackedLogs,
  block: { number: bigint; hash: Hex; transactions: readonly Hex[] },
): LazyBlockLogs {
  let made: (ReplayLog | undefined)[] | undefined;
  let all: ReplayLog[] | undefined;
  const make = (i: number): ReplayLog => {
    made ??= new Array<ReplayLog | undefined>(packed.count);
    let log = made[i];
    if (log === undefined) {
      const f = packed.fields(i);
      log = {
        address: f.address,
        data: f.data,
        topics: f.topics as [Hex, ...Hex[]],
        blockHash: block.hash,
        blockNumber: block.number,
        transactionHash: block.transactions[f.transactionIndex] ?? ('0x' as Hex),
        transactionIndex: f.transactionIndex,
        logIndex: f.logIndex,
        removed: false,
      };
      made[i] = log;
    }
    return log;
  };
  return {
    count: packed.count,
    all() {
      if (!all) {
        all = new Array<ReplayLog>(packed.count);
        for (let i = 0; i < packed.count; i++) all[i] = make(i);
      }
      return all;
    },
    withTopic0: (topic0) => packed.withTopic0(topic0).map(make),
  };
}

/**
 * The key under which a replayed block event carries its `LazyBlockLogs` (beside a `logs` getter
 * that makes them all): `packedLogsOf` reads it.
 */
export const LAZY_LOGS: unique symbol = Symbol.for('firebreak.lazyBlockLogs');

/** The lazy logs of a replayed block event, when it has them. */
export function packedLogsOf(event: object): LazyBlockLogs | undefined {
  return (event as { [LAZY_LOGS]?: LazyBlockLogs })[LAZY_LOGS];
}

/** How many logs a block event carries, without making them. */
export const logCountOf = (event: { logs?: readonly unknown[] }): number =>
  packedLogsOf(event)?.count ?? event.logs?.length ?? 0;
