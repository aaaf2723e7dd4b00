/**
 * Chain — a recording as a block source, streamed: the blocks of a `firebreak record` file come out
 * as `block` events with their logs attached (as the ingestor attaches them with `logs: true`), in
 * order, each once, and a client answers the detectors' `eth_call`s from the same file. The logs
 * stay packed until read (`packed-logs.ts`): `event.logs` makes them all on first read, and the
 * detectors' log index (`packedLogsOf`) makes only those of the topics a detector asks for.
 *
 * Unlike `createRecordedProvider` (random access: the whole file in memory), this reads the file
 * once, in constant memory, without emulating JSON-RPC for blocks and logs: it is how a large
 * recording is replayed (`replayRecording`, the `ingest` benchmark's 10,000 blocks × 200 logs).
 * Reads are answered for the blocks streamed so far (a window of recent blocks) and for the setup
 * reads the recorder made at the range's last block (`latest`), which the file holds up front.
 * Reads the recorder could only write after the last block (a detector that timed out while
 * recording) are not seen by a stream: replay those files with `createRecordedProvider`.
 */
import { type Client, createClient, custom, type Hex, toHex } from 'viem';
import type { Common } from '../common/common';
import type { BlockEvent } from './events';
import { LAZY_LOGS, lazyBlockLogs } from './packed-logs';
import {
  callKey,
  indexCalls,
  type RecordedCall,
  type RecordingHeader,
  type RecordingLine,
  readRecording,
} from './recording';

export interface RecordedSource {
  readonly header: RecordingHeader;
  readonly from: bigint;
  readonly to: bigint;
  /** The recorded blocks as `block` events, logs attached; iterate once. */
  readonly events: AsyncIterable<BlockEvent>;
  /** Answers `eth_chainId`, `eth_blockNumber` (the last block) and recorded `eth_call`s. */
  readonly client: Client;
}

/** Blocks whose reads stay answerable behind the newest streamed block. */
const CALL_WINDOW = 256;

function rpcError(code: number, message: string, data?: Hex): Error & { code: number } {
  return Object.assign(new Error(message), data === undefined ? { code } : { code, data });
}

/**
 * Opens a recording for streaming. Resolves once the header (and the setup reads) are read.
 *
 * @example
 * const source = await openRecordedSource('range.rec.gz', common);
 * for await (const event of source.events) handle(event); // detectors read through source.client
 */
export async function openRecordedSource(
  path: string,
  common: Pick<Common, 'clock' | 'signal'>,
): Promise<RecordedSource> {
  const lines = readRecording(path)[Symbol.asyncIterator]();
  const first = await lines.next();
  const header = first.value as RecordingHeader;
  const from = BigInt(header.from);
  const to = BigInt(header.to);
  const range = `blocks ${from}–${to} of chain ${header.chainId}`;

  const calls = new Map<bigint, Map<string, RecordedCall>>();
  const addCalls = (n: bigint, list: readonly RecordedCall[]) => indexCalls(calls, n, list);

  // The lines before the first block: the setup reads (pinned to `to`).
  let pending: RecordingLine | undefined;
  for (;;) {
    const next = await lines.next();
    if (next.done) break;
    if (next.value.t === 'calls') addCalls(BigInt(next.value.number), next.value.calls);
    else {
      pending = next.value;
      break;
    }
  }

  async function* events(): AsyncGenerator<BlockEvent> {
    let line = pending;
    pending = undefined;
    while (line !== undefined && !common.signal.aborted) {
      if (line.t === 'block') {
        const { block } = line;
        const number = BigInt(block.number!);
        addCalls(number, line.calls);
        calls.delete(number - BigInt(CALL_WINDOW));
        const hash = block.hash!;
        // The logs stay packed: a viem log object is made only for a log something reads
        // (`logs` makes them all; the detectors' index asks by topic0 through LAZY_LOGS).
        const logs = lazyBlockLogs(line.logs, {
          number,
          hash,
          transactions: block.transactions as readonly Hex[],
        });
        const event: BlockEvent & { [LAZY_LOGS]: typeof logs } = {
          type: 'block',
          chainId: header.chainId,
          block: {
            number,
            hash,
            parentHash: block.parentHash,
            timestamp: BigInt(block.timestamp),
            baseFeePerGas: block.baseFeePerGas ? BigInt(block.baseFeePerGas) : null,
          },
          get logs() {
            return logs.all();
          },
          [LAZY_LOGS]: logs,
          receivedAt: common.clock.monotonic(),
          ...(number < to ? { backlog: true } : {}),
        };
        yield event;
      } else if (line.t === 'calls') addCalls(BigInt(line.number), line.calls);
      const next = await lines.next();
      line = next.done ? undefined : next.value;
    }
    if (common.signal.aborted) await lines.return?.(undefined);
  }

  const blockOf = (param: unknown): bigint => {
    if (param === undefined || param === 'latest' || param === 'safe' || param === 'finalized') return to;
    if (typeof param === 'string' && param.startsWith('0x')) return BigInt(param);
    throw rpcError(-32602, `unsupported block parameter ${JSON.stringify(param)} in a replay`);
  };
  const request = async ({ method, params }: { method: string; params?: unknown }) => {
    const args = (params ?? []) as unknown[];
    switch (method) {
      case 'eth_chainId':
        return toHex(header.chainId);
      case 'eth_blockNumber':
        return toHex(to);
      case 'eth_call': {
        const tx = (args[0] ?? {}) as { to?: Hex; data?: Hex; input?: Hex };
        const n = blockOf(args[1]);
        const payload = tx.data ?? tx.input ?? '0x';
        const hit = calls.get(n)?.get(callKey(tx.to ?? '0x', payload));
        if (!hit)
          throw rpcError(
            -32001,
            `eth_call not in the recording (or not streamed yet): block ${n}, to ${tx.to ?? '(none)'}, selector ${payload.slice(0, 10)} (${range})`,
          );
        if ('error' in hit) throw rpcError(hit.error.code, hit.error.message, hit.error.data);
        return hit.result;
      }
      default:
        throw rpcError(4200, `${method} is not answered while streaming a recording (${range})`);
    }
  };
  return {
    header,
    from,
    to,
    events: { [Symbol.asyncIterator]: events },
    client: createClient({ transport: custom({ request }, { retryCount: 0 }) }),
  };
}
