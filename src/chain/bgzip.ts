/**
 * Chain — blocked gzip: a gzip file written as a series of independent gzip members of about 1 MiB
 * each, every member's size in its header (an `FB` extra subfield, as BGZF does in genomics). Any
 * gzip reader reads it as one stream (`zcat` works); this reader inflates several members at once
 * on libuv's threads, so decompression overlaps a consumer on the main thread (replay,
 * `src/chain/recording.ts`). A member ends where a write ended: a write (a text line, a recording's
 * frame) is never split across members, so each member can be parsed on its own.
 *
 * Member layout (RFC 1952): 1f 8b 08 04 | mtime 0 | xfl 0 | os ff | xlen 8 | 'F' 'B' 4 0 | member
 * size (u32 LE) | raw deflate | crc32 (u32 LE) | input size (u32 LE).
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { promisify } from 'node:util';
import { crc32, createGunzip, deflateRaw, gunzip as zlibGunzip } from 'node:zlib';

const deflate = promisify(deflateRaw);
const gunzip = promisify(zlibGunzip);
const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

const HEADER = 20;
const TRAILER = 8;
/** Text per member: large enough to compress well, small enough to spread over threads. */
const MEMBER_TEXT = 1024 * 1024;
/** Members inflated ahead of the consumer. */
const AHEAD = 4;

function member(text: Buffer, compressed: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER + compressed.length + TRAILER);
  out.writeUInt32BE(0x1f8b0804, 0); // magic, deflate, FEXTRA
  out.writeUInt32LE(0, 4); // mtime
  out[8] = 0; // xfl
  out[9] = 0xff; // os: unknown
  out.writeUInt16LE(8, 10); // xlen
  out[12] = 0x46; // 'F'
  out[13] = 0x42; // 'B'
  out.writeUInt16LE(4, 14);
  out.writeUInt32LE(out.length, 16);
  compressed.copy(out, HEADER);
  out.writeUInt32LE(crc32(text), HEADER + compressed.length);
  out.writeUInt32LE(text.length, HEADER + compressed.length + 4);
  return out;
}

/** Member size from a header, or undefined when the bytes are not a blocked-gzip member header. */
function memberSize(header: Buffer): number | undefined {
  if (header.length < HEADER || header.readUInt32BE(0) !== 0x1f8b0804) return undefined;
  if (header.readUInt16LE(10) !== 8 || header[12] !== 0x46 || header[13] !== 0x42) return undefined;
  if (header.readUInt16LE(14) !== 4) return undefined;
  return header.readUInt32LE(16);
}

export interface BlockedGzipWriter {
  /** Appends text (UTF-8) or bytes; one write is never split across members. */
  write(data: string | Buffer): Promise<void>;
  /** Flushes the last member and closes the file; returns the bytes written. */
  end(): Promise<number>;
  destroy(): Promise<void>;
}

export function createBlockedGzipWriter(path: string, level = 6): BlockedGzipWriter {
  const file = createWriteStream(path);
  let failed: unknown;
  file.on('error', (error) => {
    failed = error;
  });
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let bytes = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const text = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingLength);
    pending = [];
    pendingLength = 0;
    const out = member(text, await deflate(text, { level }));
    bytes += out.length;
    if (!file.write(out)) await once(file, 'drain');
  };
  return {
    async write(data) {
      if (failed) throw failed;
      const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      pending.push(chunk);
      pendingLength += chunk.length;
      if (pendingLength >= MEMBER_TEXT) await flush();
    },
    async end() {
      await flush();
      if (failed) throw failed;
      file.end();
      await once(file, 'finish');
      return bytes;
    },
    async destroy() {
      file.destroy();
      await once(file, 'close').catch(() => {});
    },
  };
}

/**
 * The decompressed text of a gzip file, in order, in chunks (a chunk never ends inside a character).
 */
export async function* readGzipText(path: string): AsyncGenerator<string> {
  const utf8 = new StringDecoder('utf8');
  for await (const chunk of readGzipChunks(path)) yield utf8.write(chunk);
  const rest = utf8.end();
  if (rest.length > 0) yield rest;
}

/**
 * The decompressed bytes of a gzip file, in order, in chunks: one chunk per member of a
 * blocked-gzip file (several inflated at a time); any other gzip file is streamed through one
 * inflater, in chunks of any size.
 */
export async function* readGzipChunks(path: string): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  let offset = 0;
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(HEADER);
    await handle.read(head, 0, HEADER, 0);
    if (memberSize(head) === undefined) {
      await handle.close();
      yield* plainGunzip(path);
      return;
    }
    const readMember = async (at: number): Promise<{ text: Promise<Buffer>; next: number }> => {
      const header = Buffer.alloc(HEADER);
      const { bytesRead } = await handle.read(header, 0, HEADER, at);
      const length = memberSize(header);
      if (bytesRead < HEADER || length === undefined || at + length > size)
        throw new Error(`the file is cut short or damaged at byte ${at} (not a complete gzip member)`);
      const whole = Buffer.allocUnsafe(length);
      header.copy(whole, 0);
      await handle.read(whole, HEADER, length - HEADER, at + HEADER);
      const isize = whole.readUInt32LE(length - 4);
      // Inflated and CRC-checked on libuv's threads (gunzip checks the trailer), into one output
      // chunk of the known size: no concatenation of 16 KiB pieces afterwards.
      const text = gunzip(whole, { chunkSize: Math.max(64 * 1024, isize) }).then(
        (out) => {
          if (out.length !== isize) throw new Error(`gzip member at byte ${at} is damaged (length mismatch)`);
          return out;
        },
        (error: unknown) => {
          throw new Error(`gzip member at byte ${at} is damaged (${describe(error)})`);
        },
      );
      text.catch(() => {}); // observed in order below
      return { text, next: at + length };
    };
    const queue: Promise<Buffer>[] = [];
    while (offset < size || queue.length > 0) {
      while (queue.length < AHEAD && offset < size) {
        const { text, next } = await readMember(offset);
        queue.push(text);
        offset = next;
      }
      yield await queue.shift()!;
    }
  } finally {
    await handle.close().catch(() => {});
  }
}

async function* plainGunzip(path: string): AsyncGenerator<Buffer> {
  const gunzip = createGunzip();
  const source = createReadStream(path);
  source.on('error', (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } finally {
    source.destroy();
  }
}
