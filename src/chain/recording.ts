/**
 * Chain — recordings: a block range captured from a node with everything the detectors read, so
 * the same engine and detectors run on it later with no node (replay of a file, drills' evidence,
 * the `ingest` benchmark).
 *
 * File format (version 3): a blocked gzip file (`bgzip.ts`: any gzip reader reads it; ours inflates
 * several members at once) whose content is the magic `FBREC` then frames, each a kind byte, a u32
 * (little endian) length and the payload; a frame never straddles two gzip members:
 *
 *   H  {"t":"header","version":3,"chainId":1,"from":100,"to":149,"createdAt":"2026-…Z"}
 *   C  {"t":"calls","number":149,"calls":[…]}     (the setup reads, made at `latest` = the last block)
 *   B  u32 n | n bytes of JSON {"block":{…eth_getBlockByNumber(n,false)…},"calls":[{"to","data","result"} |
 *      {"to","data","error":{"code","message","data"?}}]} | the block's logs, packed (`packed-logs.ts`)
 *   C  {"t":"calls","number":123,"calls":[…]}     (calls made at a block after its frame was written)
 *   E  {"t":"end","blocks":50,"logs":812,"calls":300}
 *
 * Blocks are stored as the node returned them (JSON-RPC hex). A block's logs are stored as raw bytes
 * in columns (addresses and topics interned per block), without what the block says (block number
 * and hash, transaction hashes: `block.transactions[transactionIndex]`): a log of a busy block is
 * ~60 bytes instead of ~350 of hex JSON, and is decoded only when something asks for it. Versions 1
 * and 2 (gzip'd JSON lines) are refused with the fix: record the range again. `eth_getLogs` answers
 * from a recording are `eth_getLogs` objects again. An `eth_call` is keyed by (block, to, data);
 * reads made at `latest` while recording are pinned to the range's last block, which is also
 * `latest` on replay. A file without its end frame was not finished and is refused.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import {
  type Client,
  createClient,
  custom,
  type EIP1193Provider,
  formatBlock,
  type Hex,
  type RpcBlock,
  type RpcLog,
  toHex,
} from 'viem';
import type { Common } from '../common/common';
import { describeError, FirebreakError } from '../common/errors';
import { createBlockedGzipWriter, readGzipChunks } from './bgzip';
import { type BlockRef, toBlockRef } from './events';
import { type PackedLogs, PackedLogsError, packLogs, readPackedLogs, rpcLogsOf } from './packed-logs';

export const RECORDING_VERSION = 3;

/** The first bytes of a recording's content (after inflating). */
const MAGIC = Buffer.from('FBREC', 'latin1');
/** Frame kinds. */
const FRAME = { header: 0x48, calls: 0x43, block: 0x42, end: 0x45 } as const;

export interface RecordingHeader {
  t: 'header';
  version: typeof RECORDING_VERSION;
  chainId: number;
  from: number;
  to: number;
  createdAt: string;
}

export type RecordedCall =
  | { to: Hex; data: Hex; result: Hex }
  | { to: Hex; data: Hex; error: { code: number; message: string; data?: Hex } };

export type RecordingLine =
  | RecordingHeader
  | { t: 'block'; block: RpcBlock; logs: PackedLogs; calls: RecordedCall[] }
  | { t: 'calls'; number: number; calls: RecordedCall[] }
  | { t: 'end'; blocks: number; logs: number; calls: number };

export const callKey = (to: string, data: string) => `${to.toLowerCase()}:${data.toLowerCase()}`;

/** Adds a block's recorded calls to an index by block, then by `to:data` (a later one wins). */
export function indexCalls(
  index: Map<bigint, Map<string, RecordedCall>>,
  block: bigint,
  calls: readonly RecordedCall[],
): void {
  let at = index.get(block);
  if (!at) {
    at = new Map();
    index.set(block, at);
  }
  for (const c of calls) at.set(callKey(c.to, c.data), c);
}

/** Throws if a log given for a block is not of that block (its hash, its transaction's hash). */
export function checkLogsOfBlock(block: RpcBlock, logs: readonly RpcLog[]): void {
  const txs = block.transactions as readonly unknown[];
  for (const log of logs) {
    const txHash = txs[Number(log.transactionIndex)];
    if (log.blockHash !== block.hash || (typeof txHash === 'string' && txHash !== log.transactionHash))
      throw new Error(
        `a log of block ${log.blockHash} / transaction ${log.transactionHash} given for block ${block.hash}`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/**
 * Writes a recording line by line to `<path>.partial`, renamed to `path` by `finish()`, so an
 * interrupted recording never looks like a finished one.
 */
export function createRecordingWriter(path: string, header: Omit<RecordingHeader, 't' | 'version'>) {
  const partial = `${path}.partial`;
  const file = createBlockedGzipWriter(partial);
  const frame = (kind: number, ...parts: Buffer[]) => {
    const length = parts.reduce((sum, p) => sum + p.length, 0);
    const head = Buffer.allocUnsafe(5);
    head[0] = kind;
    head.writeUInt32LE(length, 1);
    return file.write(Buffer.concat([head, ...parts], 5 + length));
  };
  const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
  const counts = { blocks: 0, logs: 0, calls: 0 };
  const ready = file
    .write(MAGIC)
    .then(() => frame(FRAME.header, json({ t: 'header', version: RECORDING_VERSION, ...header })));
  return {
    counts,
    /** A block with its `eth_getLogs` objects (checked to be this block's) and its reads. */
    block(block: RpcBlock, logs: RpcLog[], calls: RecordedCall[]) {
      checkLogsOfBlock(block, logs);
      return this.packedBlock(block, packLogs(logs), calls);
    },
    /** A block whose logs are packed already (copying from another recording). */
    async packedBlock(block: RpcBlock, logs: Buffer, calls: RecordedCall[]) {
      await ready;
      const meta = json({ block, calls });
      const metaLength = Buffer.allocUnsafe(4);
      metaLength.writeUInt32LE(meta.length, 0);
      counts.blocks++;
      counts.logs += logs.readUInt32LE(0);
      counts.calls += calls.length;
      await frame(FRAME.block, metaLength, meta, logs);
    },
    async calls(number: bigint, calls: RecordedCall[]) {
      await ready;
      counts.calls += calls.length;
      await frame(FRAME.calls, json({ t: 'calls', number: Number(number), calls }));
    },
    /** Writes the end frame, closes the file and moves it into place; returns its size in bytes. */
    async finish(): Promise<number> {
      await ready;
      await frame(FRAME.end, json({ t: 'end', ...counts }));
      await file.end();
      renameSync(partial, path);
      return statSync(path).size;
    },
    async abort() {
      await file.destroy();
      rmSync(partial, { force: true });
    },
  };
}

/** Whether an `eth_call` failure is the call's own outcome (a revert: record it) or the transport's (retry). */
function callOutcomeError(error: unknown): { code: number; message: string; data?: Hex } | undefined {
  let e: unknown = error;
  for (let depth = 0; e && depth < 8; depth++) {
    const { code, data, message, shortMessage, details } = e as {
      code?: unknown;
      data?: unknown;
      message?: string;
      shortMessage?: string;
      details?: string;
    };
    const text = `${details ?? ''} ${shortMessage ?? ''} ${message ?? ''}`;
    const hexData = typeof data === 'string' && data.startsWith('0x') ? (data as Hex) : undefined;
    if (code === 3 || (typeof code === 'number' && /revert|invalid opcode|out of gas/i.test(text))) {
      return {
        code: code as number,
        message: (details ?? message ?? 'execution reverted').split('\n')[0]!,
        ...(hexData ? { data: hexData } : {}),
      };
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

type BlockParam = string | { blockNumber?: string; blockHash?: string } | undefined;

/** A block parameter as a number: tags (`latest`, `safe`, `finalized`, `pending`) mean `head`. */
function blockOf(param: BlockParam, head: bigint, byHash?: (hash: string) => bigint | undefined): bigint {
  if (
    param === undefined ||
    param === 'latest' ||
    param === 'safe' ||
    param === 'finalized' ||
    param === 'pending'
  )
    return head;
  if (param === 'earliest') return 0n;
  if (typeof param === 'string') return BigInt(param);
  if (param.blockNumber !== undefined) return BigInt(param.blockNumber);
  if (param.blockHash !== undefined) {
    const n = byHash?.(param.blockHash.toLowerCase());
    if (n === undefined) throw rpcError(-32001, `block ${param.blockHash} is not in the recording`);
    return n;
  }
  throw rpcError(-32602, `unsupported block parameter ${JSON.stringify(param)}`);
}

function rpcError(code: number, message: string, data?: Hex): Error & { code: number } {
  return Object.assign(new Error(message), data === undefined ? { code } : { code, data });
}

export interface CallRecorder {
  /** A client over the original one: every `eth_call` through it is recorded; `latest` means `head`. */
  client: Client;
  /** Calls recorded at `block` since the last take (and forgets them). */
  take(block: bigint): RecordedCall[];
  /** Blocks with calls not taken yet. */
  remaining(): bigint[];
  /** Transport failures of calls at `block` since the last take (not recorded: the read must be retried). */
  failures(block: bigint): string[];
  /** Resolves when no recorded call is in flight. */
  idle(): Promise<void>;
}

/**
 * Wraps a client's transport so that every `eth_call` made through it is recorded, keyed by the
 * block it reads, and `latest` (or no block) is pinned to `head`; `eth_blockNumber` answers `head`.
 * Everything else passes through.
 */
export function createCallRecorder(client: Client, head: bigint): CallRecorder {
  const calls = new Map<bigint, Map<string, RecordedCall>>();
  const failed = new Map<bigint, string[]>();
  let inFlight = 0;
  const onIdle: (() => void)[] = [];
  const record = (block: bigint, call: RecordedCall) => {
    let at = calls.get(block);
    if (!at) {
      at = new Map();
      calls.set(block, at);
    }
    at.set(callKey(call.to, call.data), call);
  };
  const request = async ({ method, params }: { method: string; params?: unknown }) => {
    if (method === 'eth_blockNumber') return toHex(head);
    if (method !== 'eth_call') return client.request({ method, params } as never);
    const [tx, param, ...rest] = (params ?? []) as [
      { to?: Hex; data?: Hex; input?: Hex },
      BlockParam,
      ...unknown[],
    ];
    const block = blockOf(param, head);
    const to = (tx.to ?? '0x').toLowerCase() as Hex;
    const data = (tx.data ?? tx.input ?? '0x').toLowerCase() as Hex;
    inFlight++;
    try {
      const result = (await client.request({
        method: 'eth_call',
        params: [tx, toHex(block), ...rest],
      } as never)) as Hex;
      record(block, { to, data, result });
      return result;
    } catch (error) {
      const outcome = callOutcomeError(error);
      if (outcome) record(block, { to, data, error: outcome });
      else {
        const list = failed.get(block) ?? [];
        list.push(describeError(error).split('\n')[0] ?? 'unknown error');
        failed.set(block, list);
      }
      throw error;
    } finally {
      inFlight--;
      if (inFlight === 0) for (const resolve of onIdle.splice(0)) resolve();
    }
  };
  return {
    client: createClient({
      ...(client.chain ? { chain: client.chain } : {}),
      transport: custom({ request } as never, { retryCount: 0 }),
      pollingInterval: client.pollingInterval,
    }),
    take(block) {
      const at = calls.get(block);
      calls.delete(block);
      failed.delete(block);
      return at ? [...at.values()] : [];
    },
    remaining: () => [...calls.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    failures: (block) => failed.get(block) ?? [],
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise((resolve) => onIdle.push(resolve))),
  };
}

export interface RecordRangeProgress {
  blockNumber: bigint;
  recorded: number;
  total: number;
  logs: number;
  calls: number;
}

export interface RecordRangeOptions {
  client: Client;
  chainId: number;
  from: bigint;
  to: bigint;
  /** Output file (blocked gzip of binary frames; the examples name it `*.rec.gz`). */
  out: string;
  /**
   * Reads made once before the first block, through the recording client (resolving markets and
   * the like). They run at `latest`, pinned to `to`: replay answers them at its `latest`, `to`.
   */
  setup?: (client: Client) => Promise<void>;
  /** The state reads for one block, made through `ctx.client` (the recording client), in block order. */
  reads?: (blockNumber: bigint, ctx: { client: Client; block: BlockRef }) => Promise<void>;
  /** Blocks (with their logs) fetched ahead of the reads. */
  prefetch?: number;
  /** Attempts per block when a read fails in transport (not a revert) before the recording fails. */
  attempts?: number;
  common?: Pick<Common, 'signal' | 'logger'>;
  onProgress?: (progress: RecordRangeProgress) => void;
}

export interface RecordSummary {
  out: string;
  chainId: number;
  from: bigint;
  to: bigint;
  blocks: number;
  logs: number;
  calls: number;
  bytes: number;
  ms: number;
}

/**
 * Records blocks `from..to`: each block, its logs and every `eth_call` that `reads` makes for it.
 *
 * @example
 * await recordRange({
 *   client, chainId: 1, from: 100n, to: 149n, out: 'range.rec.gz',
 *   reads: (n, { client }) => readFeed(client, feed, n).then(() => {}),
 * });
 */
export async function recordRange(options: RecordRangeOptions): Promise<RecordSummary> {
  const { client, chainId, from, to, out } = options;
  if (from < 0n || to < from)
    throw new FirebreakError('ERR_USAGE', `bad block range ${from}–${to}: from must be ≤ to, both ≥ 0`);
  const started = performance.now();
  const recorder = createCallRecorder(client, to);
  const writer = createRecordingWriter(out, {
    chainId,
    from: Number(from),
    to: Number(to),
    createdAt: new Date().toISOString(),
  });
  const attempts = options.attempts ?? 3;
  const prefetch = Math.max(1, options.prefetch ?? 8);
  const signal = options.common?.signal;
  const total = Number(to - from + 1n);

  const fetchBlock = async (n: bigint) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const block = (await client.request({
          method: 'eth_getBlockByNumber',
          params: [toHex(n), false],
        } as never)) as RpcBlock | null;
        if (!block) throw new FirebreakError('ERR_USAGE', `block ${n} does not exist yet (beyond the head)`);
        const logs = (await client.request({
          method: 'eth_getLogs',
          params: [{ blockHash: block.hash }],
        } as never)) as RpcLog[];
        // A log of another block (an endpoint mid-reorg) is a failed read: read the block again.
        const txs = block.transactions as readonly unknown[];
        const foreign = logs.find(
          (l) =>
            l.blockHash !== block.hash ||
            (typeof txs[Number(l.transactionIndex)] === 'string' &&
              txs[Number(l.transactionIndex)] !== l.transactionHash),
        );
        if (foreign) throw new Error(`the node gave block ${block.hash} a log of ${foreign.blockHash}`);
        return { block, logs };
      } catch (error) {
        if (error instanceof FirebreakError || attempt >= attempts)
          throw error instanceof FirebreakError
            ? error
            : new FirebreakError(
                'ERR_RPC_UNREACHABLE',
                `reading block ${n} failed ${attempts} times: ${describeError(error).split('\n')[0]}`,
                { retryable: true, details: { block: n.toString() } },
              );
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  };

  try {
    if (options.setup) await options.setup(recorder.client);
    if (recorder.failures(to).length > 0)
      throw new FirebreakError('ERR_RPC_UNREACHABLE', `setup reads failed: ${recorder.failures(to)[0]}`, {
        retryable: true,
      });
    // Up front, so that a stream of the file can answer them before the first block.
    const setupCalls = recorder.take(to);
    if (setupCalls.length > 0) await writer.calls(to, setupCalls);
    const ahead: Promise<{ block: RpcBlock; logs: RpcLog[] }>[] = [];
    let nextFetch = from;
    const fill = () => {
      while (ahead.length < prefetch && nextFetch <= to) {
        const p = fetchBlock(nextFetch++);
        p.catch(() => {}); // observed when its turn comes
        ahead.push(p);
      }
    };
    let recorded = 0;
    for (let n = from; n <= to; n++) {
      if (signal?.aborted) throw new FirebreakError('ERR_USAGE', 'recording interrupted');
      fill();
      const { block, logs } = await ahead.shift()!;
      if (options.reads) {
        const ref = toBlockRef(formatBlock(block) as Parameters<typeof toBlockRef>[0]);
        for (let attempt = 1; ; attempt++) {
          await options.reads(n, { client: recorder.client, block: ref });
          const failures = recorder.failures(n);
          if (failures.length === 0) break;
          if (attempt >= attempts)
            throw new FirebreakError(
              'ERR_RPC_UNREACHABLE',
              `state reads at block ${n} failed ${attempts} times: ${failures[0]}`,
              { retryable: true, details: { block: n.toString() } },
            );
          options.common?.logger.warn(
            { block: n.toString(), attempt, err: failures[0] },
            'record: reads failed; retrying',
          );
          recorder.take(n); // keep nothing partial: the retry reads everything again
          await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
        }
      }
      await writer.block(block, logs, recorder.take(n));
      recorded++;
      options.onProgress?.({
        blockNumber: n,
        recorded,
        total,
        logs: writer.counts.logs,
        calls: writer.counts.calls,
      });
    }
    // Calls still in flight (a detector that timed out) or made at other blocks: keep them too.
    await recorder.idle();
    for (const n of recorder.remaining()) await writer.calls(n, recorder.take(n));
    const bytes = await writer.finish();
    return {
      out,
      chainId,
      from,
      to,
      ...writer.counts,
      bytes,
      ms: performance.now() - started,
    };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

const RERECORD = `re-record with \`firebreak record\` (it writes format version ${RECORDING_VERSION})`;

const invalid = (path: string, why: string, fix = RERECORD) =>
  new FirebreakError('ERR_RECORDING_INVALID', `recording ${path}: ${why}\n    fix: ${fix}`);

/** The version an old (JSON-lines) recording's first line names, if it is one. */
function jsonLinesVersion(content: Buffer): string | undefined {
  const end = content.indexOf(0x0a);
  try {
    const first = JSON.parse(content.toString('utf8', 0, end < 0 ? content.length : end)) as {
      t?: unknown;
      version?: unknown;
    };
    return first.t === 'header' ? String(first.version) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The lines of a recording, streamed (constant memory), header first; throws if the file is not a
 * finished recording of this version. A block's logs stay packed (`PackedLogs`: decoded on demand).
 */
export async function* readRecording(path: string): AsyncGenerator<RecordingLine> {
  if (!existsSync(path)) throw invalid(path, 'no such file', 'check the path');
  let frames = 0;
  let ended = false;
  const parseJson = <T>(payload: Buffer, what: string): T => {
    try {
      return JSON.parse(payload.toString('utf8')) as T;
    } catch {
      throw invalid(path, `frame ${frames} (${what}) is not JSON: the file is damaged`);
    }
  };
  const parse = (kind: number, payload: Buffer): RecordingLine => {
    frames++;
    if (ended) throw invalid(path, `frame ${frames} follows the end frame`);
    if (frames === 1) {
      if (kind !== FRAME.header) throw invalid(path, 'the first frame is not a recording header');
      const header = parseJson<RecordingHeader>(payload, 'header');
      if (header.version !== RECORDING_VERSION)
        throw invalid(
          path,
          `version ${String(header.version)} is not supported (this build reads version ${RECORDING_VERSION})`,
        );
      return header;
    }
    switch (kind) {
      case FRAME.block: {
        if (payload.length < 4) throw invalid(path, `block frame ${frames} is cut short`);
        const metaEnd = 4 + payload.readUInt32LE(0);
        if (metaEnd > payload.length) throw invalid(path, `block frame ${frames} is cut short`);
        const meta = parseJson<{ block: RpcBlock; calls: RecordedCall[] }>(
          payload.subarray(4, metaEnd),
          'block',
        );
        let logs: PackedLogs;
        try {
          logs = readPackedLogs(payload.subarray(metaEnd));
        } catch (error) {
          if (!(error instanceof PackedLogsError)) throw error;
          throw invalid(path, `block ${String(meta.block?.number)}: ${error.message}: the file is damaged`);
        }
        return { t: 'block', block: meta.block, logs, calls: meta.calls };
      }
      case FRAME.calls:
        return parseJson<RecordingLine>(payload, 'calls');
      case FRAME.end:
        ended = true;
        return parseJson<RecordingLine>(payload, 'end');
      default:
        throw invalid(path, `frame ${frames} has an unknown kind ${kind}: the file is damaged`);
    }
  };
  let carry: Buffer | undefined;
  let started = false;
  try {
    // A blocked-gzip member holds whole frames: frames are cut out of it in place; a frame split
    // across chunks (a file re-compressed by another tool) is joined first.
    for await (const chunk of readGzipChunks(path)) {
      const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
      carry = undefined;
      let at = 0;
      if (!started) {
        if (buf.length < MAGIC.length) {
          carry = buf;
          continue;
        }
        if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) {
          const old = jsonLinesVersion(buf);
          if (old !== undefined)
            throw invalid(
              path,
              `version ${old} (gzip'd JSON lines) is not supported (this build reads version ${RECORDING_VERSION})`,
            );
          throw invalid(path, 'is not a Firebreak recording (no FBREC mark after inflating)');
        }
        started = true;
        at = MAGIC.length;
      }
      while (buf.length - at >= 5) {
        const length = buf.readUInt32LE(at + 1);
        if (buf.length - at - 5 < length) break;
        const kind = buf[at]!;
        const payload = buf.subarray(at + 5, at + 5 + length);
        at += 5 + length;
        yield parse(kind, payload);
      }
      if (at < buf.length) carry = buf.subarray(at);
    }
  } catch (error) {
    if (error instanceof FirebreakError) throw error;
    throw invalid(path, `cannot be read as a gzip'd recording: ${describeError(error)}`);
  }
  if (!started) {
    if (carry === undefined || carry.length === 0) throw invalid(path, 'the file is empty');
    throw invalid(path, 'is not a Firebreak recording (no FBREC mark after inflating)');
  }
  if (carry !== undefined || !ended)
    throw invalid(path, 'the file is truncated (no end frame): the recording was not finished');
}

/**
 * Joins recordings of consecutive ranges of one chain into one file (a long range recorded in
 * pieces: a node that keeps only recent state must be read while the blocks are recent). Lines are
 * copied as they are, but the last piece's setup reads (made at its last block, the joined file's
 * `latest`) move up front, where a stream of the file needs them.
 *
 * @example
 * await joinRecordings(['a.rec.gz', 'b.rec.gz'], 'all.rec.gz'); // b must start where a ends
 */
export async function joinRecordings(pieces: readonly string[], out: string): Promise<RecordSummary> {
  const started = performance.now();
  const headers: RecordingHeader[] = [];
  for (const piece of pieces) {
    const lines = readRecording(piece)[Symbol.asyncIterator]();
    headers.push((await lines.next()).value as RecordingHeader);
    await lines.return(undefined);
  }
  const first = headers[0];
  if (first === undefined) throw new FirebreakError('ERR_USAGE', 'joinRecordings: no pieces given');
  for (let i = 1; i < headers.length; i++) {
    const [prev, next] = [headers[i - 1]!, headers[i]!];
    if (next.chainId !== first.chainId || next.from !== prev.to + 1)
      throw invalid(
        pieces[i]!,
        `does not continue ${pieces[i - 1]} (chain ${next.chainId} blocks ${next.from}–${next.to} after chain ${prev.chainId} blocks ${prev.from}–${prev.to})`,
        'join consecutive ranges of one chain, in order',
      );
  }
  const last = headers.at(-1)!;
  const writer = createRecordingWriter(out, {
    chainId: first.chainId,
    from: first.from,
    to: last.to,
    createdAt: new Date().toISOString(),
  });
  try {
    // The last piece's setup reads (at the joined range's last block) go first, as a recording's do.
    const lastPiece = pieces.length - 1;
    for await (const line of readRecording(pieces[lastPiece]!)) {
      if (line.t === 'block') break;
      if (line.t === 'calls') await writer.calls(BigInt(line.number), line.calls);
    }
    for (const [i, piece] of pieces.entries()) {
      let leading = true;
      for await (const line of readRecording(piece)) {
        if (line.t === 'block') {
          leading = false;
          await writer.packedBlock(line.block, line.logs.bytes, line.calls);
        } else if (line.t === 'calls' && !(leading && i === lastPiece))
          await writer.calls(BigInt(line.number), line.calls);
      }
    }
    const bytes = await writer.finish();
    return {
      out,
      chainId: first.chainId,
      from: BigInt(first.from),
      to: BigInt(last.to),
      ...writer.counts,
      bytes,
      ms: performance.now() - started,
    };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** A recording loaded for random access. */
export interface Recording {
  header: RecordingHeader;
  from: bigint;
  to: bigint;
  blocks: Map<bigint, { block: RpcBlock; logs: RpcLog[] }>;
  /** Block number by (lower-case) hash. */
  byHash: Map<string, bigint>;
  /** eth_call outcomes by block, then by `to:data`. */
  calls: Map<bigint, Map<string, RecordedCall>>;
}

export async function loadRecording(path: string): Promise<Recording> {
  let header: RecordingHeader | undefined;
  const blocks = new Map<bigint, { block: RpcBlock; logs: RpcLog[] }>();
  const byHash = new Map<string, bigint>();
  const calls = new Map<bigint, Map<string, RecordedCall>>();
  const addCalls = (n: bigint, list: readonly RecordedCall[]) => indexCalls(calls, n, list);
  for await (const line of readRecording(path)) {
    switch (line.t) {
      case 'header':
        header = line;
        break;
      case 'block': {
        const n = BigInt(line.block.number!);
        blocks.set(n, { block: line.block, logs: rpcLogsOf(line.block, line.logs) });
        byHash.set(line.block.hash!.toLowerCase(), n);
        addCalls(n, line.calls);
        break;
      }
      case 'calls':
        addCalls(BigInt(line.number), line.calls);
        break;
      case 'end':
        break;
    }
  }
  const h = header!;
  return { header: h, from: BigInt(h.from), to: BigInt(h.to), blocks, byHash, calls };
}

export type RecordedProvider = EIP1193Provider & { readonly recording: Recording };

const matchesTopics = (log: RpcLog, topics: (Hex | Hex[] | null)[] | undefined) =>
  !topics ||
  topics.every((want, i) => {
    if (want === null || want === undefined) return true;
    const have = log.topics[i]?.toLowerCase();
    if (have === undefined) return false;
    return Array.isArray(want) ? want.some((w) => w.toLowerCase() === have) : want.toLowerCase() === have;
  });

/**
 * An EIP-1193 provider that answers from a recording, so the same engine and detectors run with no
 * node: `eth_chainId`, `net_version`, `eth_blockNumber` (the recording's last block),
 * `eth_getBlockByNumber`/`ByHash` (transaction hashes only), `eth_getLogs` and `eth_call` (as
 * recorded; a call that was not recorded is an error naming the block, the target and the selector).
 *
 * @example
 * const provider = await createRecordedProvider('range.rec.gz');
 * const client = createClient({ transport: custom(provider) });
 * await getBlockNumber(client); // the recording's `to`
 */
export async function createRecordedProvider(source: string | Recording): Promise<RecordedProvider> {
  const recording = typeof source === 'string' ? await loadRecording(source) : source;
  const { from, to, blocks, byHash, calls, header } = recording;
  const range = `blocks ${from}–${to} of chain ${header.chainId}`;
  const numberOf = (param: BlockParam) => blockOf(param, to, (hash) => byHash.get(hash));
  const blockAt = (n: bigint, method: string) => {
    if (n > to) return undefined; // not mined yet, as far as the recording knows
    const entry = blocks.get(n);
    if (!entry) throw rpcError(-32001, `${method}: block ${n} is not in the recording (${range})`);
    return entry;
  };
  const noFullTransactions = (full: unknown, method: string) => {
    if (full === true)
      throw rpcError(
        -32602,
        `${method} with full transactions: the recording keeps transaction hashes only (${range})`,
      );
  };

  const handlers: Record<string, (params: unknown[]) => unknown> = {
    eth_chainId: () => toHex(header.chainId),
    net_version: () => String(header.chainId),
    eth_blockNumber: () => toHex(to),
    eth_getBlockByNumber: ([param, full]) => {
      noFullTransactions(full, 'eth_getBlockByNumber');
      return blockAt(numberOf(param as BlockParam), 'eth_getBlockByNumber')?.block ?? null;
    },
    eth_getBlockByHash: ([hash, full]) => {
      noFullTransactions(full, 'eth_getBlockByHash');
      const n = byHash.get(String(hash).toLowerCase());
      return n === undefined ? null : blocks.get(n)!.block;
    },
    eth_getLogs: ([filter]) => {
      const f = (filter ?? {}) as {
        fromBlock?: BlockParam;
        toBlock?: BlockParam;
        blockHash?: Hex;
        address?: Hex | Hex[];
        topics?: (Hex | Hex[] | null)[];
      };
      let lo: bigint;
      let hi: bigint;
      if (f.blockHash !== undefined) {
        const n = byHash.get(f.blockHash.toLowerCase());
        if (n === undefined)
          throw rpcError(-32001, `eth_getLogs: block ${f.blockHash} is not in the recording`);
        lo = n;
        hi = n;
      } else {
        lo = numberOf(f.fromBlock ?? 'latest');
        hi = numberOf(f.toBlock ?? 'latest');
        if (hi > to) hi = to;
        if (lo < from)
          throw rpcError(-32001, `eth_getLogs from block ${lo}: the recording starts at ${from} (${range})`);
      }
      const addresses =
        f.address === undefined
          ? undefined
          : new Set((Array.isArray(f.address) ? f.address : [f.address]).map((a) => a.toLowerCase()));
      const out: RpcLog[] = [];
      for (let n = lo; n <= hi; n++) {
        for (const log of blocks.get(n)?.logs ?? []) {
          if (addresses && !addresses.has(log.address.toLowerCase())) continue;
          if (matchesTopics(log, f.topics)) out.push(log);
        }
      }
      return out;
    },
    eth_call: ([tx, param]) => {
      const { to: target, data, input } = (tx ?? {}) as { to?: Hex; data?: Hex; input?: Hex };
      const n = numberOf(param as BlockParam);
      const payload = (data ?? input ?? '0x').toLowerCase();
      const hit = calls.get(n)?.get(callKey(target ?? '0x', payload));
      if (!hit) {
        throw rpcError(
          -32001,
          `eth_call not in the recording: block ${n}, to ${target ?? '(none)'}, selector ${payload.slice(0, 10)} (${range}); record with the detectors that make this read`,
        );
      }
      if ('error' in hit) throw rpcError(hit.error.code, hit.error.message, hit.error.data);
      return hit.result;
    },
  };

  const provider = {
    recording,
    async request({ method, params }: { method: string; params?: unknown }) {
      const handler = handlers[method];
      if (!handler)
        throw rpcError(
          4200,
          `${method} is not answered from a recording (it answers ${Object.keys(handlers).join(', ')})`,
        );
      return handler((params as unknown[] | undefined) ?? []);
    },
    on: () => provider,
    removeListener: () => provider,
  };
  return provider as unknown as RecordedProvider;
}
