import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Hex, RpcBlock, RpcLog } from 'viem';
import { afterAll, describe, expect, it } from 'vitest';
import { createBlockLogs } from '../detectors/logs';
import { packedLogsOf } from './packed-logs';
import { openRecordedSource } from './recorded-source';
import {
  createRecordedProvider,
  createRecordingWriter,
  joinRecordings,
  loadRecording,
  readRecording,
} from './recording';

const dir = mkdtempSync(join(tmpdir(), 'firebreak-recording-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hex = (n: number, bytes = 32) => `0x${n.toString(16).padStart(bytes * 2, '0')}` as Hex;
const A = hex(0xa, 20);
const B = hex(0xb, 20);
const TOPIC_X = hex(0x1111);
const TOPIC_Y = hex(0x2222);

const block = (n: number) =>
  ({
    number: `0x${n.toString(16)}`,
    hash: hex(1000 + n),
    parentHash: hex(999 + n),
    timestamp: `0x${(1_700_000_000 + n * 12).toString(16)}`,
    transactions: [hex(5000 + n)],
  }) as unknown as RpcBlock;
const log = (n: number, address: Hex, topics: Hex[], logIndex = 0) =>
  ({
    address,
    topics,
    blockNumber: `0x${n.toString(16)}`,
    blockHash: hex(1000 + n),
    transactionHash: hex(5000 + n),
    transactionIndex: '0x0',
    logIndex: `0x${logIndex.toString(16)}`,
    removed: false,
    data: '0x',
  }) as unknown as RpcLog;

/** Blocks 10..12; logs from A and B; one call recorded at 11, a revert at 12, a late call at 10. */
async function writeSample(path: string) {
  const w = createRecordingWriter(path, {
    chainId: 5,
    from: 10,
    to: 12,
    createdAt: '2026-01-01T00:00:00.000Z',
  });
  await w.block(block(10), [log(10, A, [TOPIC_X])], []);
  await w.block(
    block(11),
    [log(11, A, [TOPIC_X, TOPIC_Y]), log(11, B, [TOPIC_Y], 1)],
    [{ to: A, data: '0x12345678aa', result: '0x01' }],
  );
  await w.block(
    block(12),
    [],
    [{ to: B, data: '0xdeadbeef', error: { code: 3, message: 'execution reverted', data: '0x08c379a0' } }],
  );
  await w.calls(10n, [{ to: A, data: '0x12345678aa', result: '0x00' }]);
  return w.finish();
}

const request = (p: { request: (a: never) => Promise<unknown> }, method: string, params: unknown[] = []) =>
  p.request({ method, params } as never);

describe('recording files', () => {
  const file = join(dir, 'sample.rec.gz');

  it('round-trips header, blocks, logs and calls', async () => {
    const bytes = await writeSample(file);
    expect(bytes).toBeGreaterThan(0);
    const lines = [];
    for await (const line of readRecording(file)) lines.push(line.t);
    expect(lines).toEqual(['header', 'block', 'block', 'block', 'calls', 'end']);
    const r = await loadRecording(file);
    expect([r.from, r.to, r.header.chainId]).toEqual([10n, 12n, 5]);
    expect(r.blocks.size).toBe(3);
    expect(r.calls.get(10n)?.size).toBe(1); // the late call joined its block
    // Logs are stored without what the block line says, and come back as eth_getLogs gave them.
    expect(r.blocks.get(11n)?.logs).toEqual([log(11, A, [TOPIC_X, TOPIC_Y]), log(11, B, [TOPIC_Y], 1)]);
  });

  /** Raw recording content: the mark, then frames (kind, u32 LE length, payload). */
  const content = (...frames: [string, Buffer | object][]) =>
    Buffer.concat([
      Buffer.from('FBREC'),
      ...frames.map(([kind, payload]) => {
        const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
        const head = Buffer.alloc(5);
        head[0] = kind.charCodeAt(0);
        head.writeUInt32LE(body.length, 1);
        return Buffer.concat([head, body]);
      }),
    ]);
  const header = (version: number) => ({ t: 'header', version, chainId: 5, from: 1, to: 2, createdAt: '' });

  it('refuses a file that was not finished, damaged, of another version, or not gzip, naming the fix', async () => {
    const truncated = join(dir, 'truncated.rec.gz');
    writeFileSync(truncated, gzipSync(content(['H', header(3)])));
    await expect(loadRecording(truncated)).rejects.toThrow(/truncated \(no end frame\)/);
    const cut = join(dir, 'cut.rec.gz');
    writeFileSync(cut, gzipSync(content(['H', header(3)]).subarray(0, 20)));
    await expect(loadRecording(cut)).rejects.toThrow(/truncated/);
    const future = join(dir, 'future.rec.gz');
    writeFileSync(future, gzipSync(content(['H', header(99)])));
    await expect(loadRecording(future)).rejects.toThrow(/version 99 is not supported/);
    const damaged = join(dir, 'damaged.rec.gz');
    const meta = Buffer.from(JSON.stringify({ block: block(1), calls: [] }));
    const metaLength = Buffer.alloc(4);
    metaLength.writeUInt32LE(meta.length);
    const badLogs = Buffer.alloc(4);
    badLogs.writeUInt32LE(3); // three logs, and nothing else
    writeFileSync(
      damaged,
      gzipSync(content(['H', header(3)], ['B', Buffer.concat([metaLength, meta, badLogs])])),
    );
    await expect(loadRecording(damaged)).rejects.toThrow(/block 0x1: the log section ends inside .*damaged/);
    // The JSON-lines formats of earlier builds: refused with the fix, naming the file.
    for (const version of [1, 2]) {
      const older = join(dir, `v${version}.rec.gz`);
      writeFileSync(older, gzipSync(`${JSON.stringify(header(version))}\n`));
      await expect(loadRecording(older)).rejects.toThrow(
        new RegExp(
          `recording ${older}: version ${version} \\(gzip'd JSON lines\\) is not supported[\\s\\S]*fix: re-record with \`firebreak record\``,
        ),
      );
    }
    const other = join(dir, 'other.gz');
    writeFileSync(other, gzipSync('hello'));
    await expect(loadRecording(other)).rejects.toThrow(/not a Firebreak recording/);
    const plain = join(dir, 'plain.rec.gz');
    writeFileSync(plain, 'not gzip');
    await expect(loadRecording(plain)).rejects.toThrow(/cannot be read as a gzip'd recording/);
    await expect(loadRecording(join(dir, 'missing.rec.gz'))).rejects.toThrow(/no such file/);
  });

  it('reads a recording re-compressed by another gzip (frames across chunks) the same', async () => {
    await writeSample(file);
    const again = join(dir, 'recompressed.rec.gz');
    writeFileSync(again, gzipSync(gunzipSync(readFileSync(file)), { chunkSize: 64 }));
    expect(await loadRecording(again)).toEqual(await loadRecording(file));
  });

  it('joins consecutive recordings, logs copied as they are', async () => {
    const first = join(dir, 'first.rec.gz');
    const second = join(dir, 'second.rec.gz');
    const w1 = createRecordingWriter(first, { chainId: 5, from: 10, to: 11, createdAt: '' });
    await w1.block(block(10), [log(10, A, [TOPIC_X])], []);
    await w1.block(block(11), [log(11, A, [TOPIC_X, TOPIC_Y]), log(11, B, [TOPIC_Y], 1)], []);
    await w1.finish();
    const w2 = createRecordingWriter(second, { chainId: 5, from: 12, to: 12, createdAt: '' });
    await w2.calls(12n, [{ to: A, data: '0x01', result: '0x02' }]);
    await w2.block(block(12), [], []);
    await w2.finish();
    const joined = join(dir, 'joined.rec.gz');
    const summary = await joinRecordings([first, second], joined);
    expect(summary).toMatchObject({ blocks: 3, logs: 3, calls: 1 });
    const r = await loadRecording(joined);
    expect([r.from, r.to]).toEqual([10n, 12n]);
    expect(r.blocks.get(11n)?.logs).toEqual([log(11, A, [TOPIC_X, TOPIC_Y]), log(11, B, [TOPIC_Y], 1)]);
    await expect(joinRecordings([second, first], join(dir, 'bad.rec.gz'))).rejects.toThrow(
      /does not continue/,
    );
  });

  it('leaves no file behind when a recording is aborted', async () => {
    const path = join(dir, 'aborted.rec.gz');
    const w = createRecordingWriter(path, { chainId: 5, from: 1, to: 2, createdAt: '' });
    await w.block(block(1), [], []);
    await w.abort();
    await expect(loadRecording(path)).rejects.toThrow(/no such file/);
  });
});

describe('recorded provider', () => {
  const file = join(dir, 'provider.rec.gz');

  it('answers chain id, head and blocks as a node at the recording’s last block would', async () => {
    await writeSample(file);
    const p = await createRecordedProvider(file);
    expect(await request(p, 'eth_chainId')).toBe('0x5');
    expect(await request(p, 'eth_blockNumber')).toBe('0xc');
    expect(await request(p, 'eth_getBlockByNumber', ['0xb', false])).toMatchObject({ hash: hex(1011) });
    expect(await request(p, 'eth_getBlockByNumber', ['latest', false])).toMatchObject({ number: '0xc' });
    expect(await request(p, 'eth_getBlockByNumber', ['0xd', false])).toBeNull(); // not mined yet
    expect(await request(p, 'eth_getBlockByHash', [hex(1010), false])).toMatchObject({ number: '0xa' });
    expect(await request(p, 'eth_getBlockByHash', [hex(1), false])).toBeNull();
    await expect(request(p, 'eth_getBlockByNumber', ['0x9', false])).rejects.toThrow(
      /block 9 is not in the recording \(blocks 10–12 of chain 5\)/,
    );
    await expect(request(p, 'eth_getBlockByNumber', ['0xb', true])).rejects.toThrow(
      /transaction hashes only/,
    );
  });

  it('filters logs by range, block hash, address and topics', async () => {
    const p = await createRecordedProvider(file);
    const logs = async (filter: object) => ((await request(p, 'eth_getLogs', [filter])) as RpcLog[]).length;
    expect(await logs({ fromBlock: '0xa', toBlock: '0xc' })).toBe(3);
    expect(await logs({ fromBlock: '0xa', toBlock: '0xff' })).toBe(3); // the future holds nothing
    expect(await logs({ blockHash: hex(1011) })).toBe(2);
    expect(await logs({ fromBlock: '0xa', address: B })).toBe(1);
    expect(await logs({ fromBlock: '0xa', address: [A, B] })).toBe(3);
    expect(await logs({ fromBlock: '0xa', topics: [TOPIC_X] })).toBe(2);
    expect(await logs({ fromBlock: '0xa', topics: [null, TOPIC_Y] })).toBe(1);
    expect(await logs({ fromBlock: '0xa', topics: [[TOPIC_X, TOPIC_Y]] })).toBe(3);
    await expect(logs({ fromBlock: '0x1', toBlock: '0xc' })).rejects.toThrow(/the recording starts at 10/);
  });

  it('answers recorded calls, replays recorded reverts, and names what was not recorded', async () => {
    const p = await createRecordedProvider(file);
    expect(await request(p, 'eth_call', [{ to: A, data: '0x12345678AA' }, '0xb'])).toBe('0x01');
    expect(await request(p, 'eth_call', [{ to: A, data: '0x12345678aa' }, '0xa'])).toBe('0x00');
    await expect(request(p, 'eth_call', [{ to: B, data: '0xdeadbeef' }, 'latest'])).rejects.toMatchObject({
      code: 3,
      data: '0x08c379a0',
    });
    await expect(request(p, 'eth_call', [{ to: A, data: '0x12345678bb' }, '0xb'])).rejects.toThrow(
      `eth_call not in the recording: block 11, to ${A}, selector 0x12345678`,
    );
    await expect(request(p, 'eth_sendRawTransaction', ['0x00'])).rejects.toMatchObject({ code: 4200 });
  });
});

describe('recorded source (streamed)', () => {
  const file = join(dir, 'stream.rec.gz');
  const common = { clock: { monotonic: () => performance.now() }, signal: new AbortController().signal };

  it('streams every block once, in order, with its logs, and answers the reads streamed so far', async () => {
    await writeSample(file);
    const source = await openRecordedSource(file, common as never);
    expect([source.from, source.to, source.header.chainId]).toEqual([10n, 12n, 5]);
    const seen: { number: bigint; logs: number; backlog: boolean }[] = [];
    for await (const event of source.events) {
      seen.push({ number: event.block.number, logs: event.logs?.length ?? -1, backlog: !!event.backlog });
      if (event.block.number === 11n) {
        // Packed until read: the detectors' index asks by topic0 and gets only those logs.
        const lazy = packedLogsOf(event);
        expect(lazy?.count).toBe(2);
        const index = createBlockLogs(event, { logs: () => Promise.reject(new Error('no node')) });
        expect((await index.withTopic(TOPIC_Y)).map((l) => l.address)).toEqual([B]);
        expect((await index.withTopic(TOPIC_X, [A])).map((l) => l.logIndex)).toEqual([0]);
        expect(await index.withTopic(TOPIC_X, B)).toEqual([]);
        expect(event.logs?.[0]).toBe((await index.withTopic(TOPIC_X))[0]);
        expect(event.logs?.[1]).toEqual({
          address: B,
          topics: [TOPIC_Y],
          data: '0x',
          blockHash: hex(1011),
          blockNumber: 11n,
          transactionHash: hex(5011),
          transactionIndex: 0,
          logIndex: 1,
          removed: false,
        });
        expect(
          await source.client.request({
            method: 'eth_call',
            params: [{ to: A, data: '0x12345678aa' }, '0xb'],
          } as never),
        ).toBe('0x01');
        // Block 12's reads are not streamed yet; a late call line (after the last block) never is.
        await expect(
          source.client.request({
            method: 'eth_call',
            params: [{ to: B, data: '0xdeadbeef' }, '0xc'],
          } as never),
        ).rejects.toThrow(/not streamed yet/);
      }
    }
    expect(seen).toEqual([
      { number: 10n, logs: 1, backlog: true },
      { number: 11n, logs: 2, backlog: true },
      { number: 12n, logs: 0, backlog: false },
    ]);
  });
});

describe('blocked gzip container', () => {
  it('is one gzip stream to any reader, several members to ours, and refuses a cut file', async () => {
    const { createBlockedGzipWriter, readGzipText } = await import('./bgzip');
    const { gunzipSync } = await import('node:zlib');
    const { truncateSync } = await import('node:fs');
    const path = join(dir, 'blocked.gz');
    const w = createBlockedGzipWriter(path);
    const lines = Array.from({ length: 30_000 }, (_, i) => `{"i":${i},"pad":"${'x'.repeat(i % 97)}"}\n`);
    for (const l of lines) await w.write(l);
    await w.end();
    const expected = lines.join('');
    expect(gunzipSync(readFileSync(path)).toString('utf8')).toBe(expected); // plain gunzip reads it all
    let text = '';
    let chunks = 0;
    for await (const chunk of readGzipText(path)) {
      text += chunk;
      chunks++;
    }
    expect(text).toBe(expected);
    expect(chunks).toBeGreaterThan(1); // more than one member: inflated apart
    const damaged = join(dir, 'damaged.gz');
    const bytes = readFileSync(path);
    bytes[bytes.length - 12] = (bytes[bytes.length - 12]! + 1) & 0xff; // the last member's deflate stream
    writeFileSync(damaged, bytes);
    await expect(async () => {
      for await (const _ of readGzipText(damaged));
    }).rejects.toThrow(/gzip member at byte \d+ is damaged/);
    truncateSync(path, readFileSync(path).length - 100);
    await expect(async () => {
      for await (const _ of readGzipText(path));
    }).rejects.toThrow(/cut short or damaged/);
  });
});
