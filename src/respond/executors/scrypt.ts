/**
 * Respond / executors — scrypt (RFC 7914) in TypeScript, for keystores whose parameters Node's
 * OpenSSL refuses: OpenSSL enforces the RFC's N < 2^(16·r), so the Web3 Secret Storage test vector
 * and every keystore written with r = 1 and N = 2^18 (viem/ox's defaults) cannot be opened with
 * `crypto.scryptSync`. Written from the RFC; checked against `crypto.scryptSync` where both apply
 * and against the keystore definition's vector (scrypt.test.ts).
 */
import { pbkdf2Sync } from 'node:crypto';

/** scrypt(password, salt, N, r, p, dkLen). Memory: 128·r·N bytes. */
export function scrypt(
  password: Uint8Array | string,
  salt: Uint8Array,
  params: { n: number; r: number; p: number; dkLen: number },
): Uint8Array {
  const { n, r, p, dkLen } = params;
  if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0 || n > 2 ** 30)
    throw new RangeError('scrypt: N must be a power of 2 between 2 and 2^30');
  if (!Number.isInteger(r) || r < 1 || !Number.isInteger(p) || p < 1 || r * p >= 2 ** 30)
    throw new RangeError('scrypt: r and p must be positive integers with r·p < 2^30');
  const blockWords = 32 * r; // one 128·r-byte block
  const b = pbkdf2Sync(password, salt, 1, p * 128 * r, 'sha256');
  const words = new Int32Array(p * blockWords);
  for (let i = 0; i < words.length; i++) words[i] = b.readInt32LE(i * 4);
  const v = new Int32Array(n * blockWords);
  const x = new Int32Array(blockWords);
  const y = new Int32Array(blockWords);
  const t = new Int32Array(16);
  for (let i = 0; i < p; i++) {
    const block = words.subarray(i * blockWords, (i + 1) * blockWords);
    // ROMix
    x.set(block);
    for (let j = 0; j < n; j++) {
      v.set(x, j * blockWords);
      blockMix(x, y, t, r);
    }
    for (let j = 0; j < n; j++) {
      const k = (x[blockWords - 16]! & (n - 1)) * blockWords; // Integerify mod N
      for (let w = 0; w < blockWords; w++) x[w]! ^= v[k + w]!;
      blockMix(x, y, t, r);
    }
    block.set(x);
  }
  const mixed = Buffer.alloc(words.length * 4);
  for (let i = 0; i < words.length; i++) mixed.writeInt32LE(words[i]!, i * 4);
  return new Uint8Array(pbkdf2Sync(password, mixed, 1, dkLen, 'sha256'));
}

/** BlockMix_salsa20/8 of `b` (2·r 64-byte blocks) in place; `y` and `t` are scratch. */
function blockMix(b: Int32Array, y: Int32Array, t: Int32Array, r: number): void {
  t.set(b.subarray((2 * r - 1) * 16, 2 * r * 16));
  for (let i = 0; i < 2 * r; i++) {
    for (let w = 0; w < 16; w++) t[w]! ^= b[i * 16 + w]!;
    salsa208(t);
    // Even blocks go to the first half, odd blocks to the second.
    y.set(t, ((i & 1) * r + (i >> 1)) * 16);
  }
  b.set(y);
}

const rotl = (a: number, s: number) => (a << s) | (a >>> (32 - s));

/** The Salsa20/8 core, in place on 16 words. */
function salsa208(b: Int32Array): void {
  let x0 = b[0]! | 0,
    x1 = b[1]! | 0,
    x2 = b[2]! | 0,
    x3 = b[3]! | 0,
    x4 = b[4]! | 0,
    x5 = b[5]! | 0,
    x6 = b[6]! | 0,
    x7 = b[7]! | 0;
  let x8 = b[8]! | 0,
    x9 = b[9]! | 0,
    x10 = b[10]! | 0,
    x11 = b[11]! | 0,
    x12 = b[12]! | 0,
    x13 = b[13]! | 0,
    x14 = b[14]! | 0,
    x15 = b[15]! | 0;
  for (let i = 0; i < 8; i += 2) {
    // columns
    x4 ^= rotl((x0 + x12) | 0, 7);
    x8 ^= rotl((x4 + x0) | 0, 9);
    x12 ^= rotl((x8 + x4) | 0, 13);
    x0 ^= rotl((x12 + x8) | 0, 18);
    x9 ^= rotl((x5 + x1) | 0, 7);
    x13 ^= rotl((x9 + x5) | 0, 9);
    x1 ^= rotl((x13 + x9) | 0, 13);
    x5 ^= rotl((x1 + x13) | 0, 18);
    x14 ^= rotl((x10 + x6) | 0, 7);
    x2 ^= rotl((x14 + x10) | 0, 9);
    x6 ^= rotl((x2 + x14) | 0, 13);
    x10 ^= rotl((x6 + x2) | 0, 18);
    x3 ^= rotl((x15 + x11) | 0, 7);
    x7 ^= rotl((x3 + x15) | 0, 9);
    x11 ^= rotl((x7 + x3) | 0, 13);
    x15 ^= rotl((x11 + x7) | 0, 18);
    // rows
    x1 ^= rotl((x0 + x3) | 0, 7);
    x2 ^= rotl((x1 + x0) | 0, 9);
    x3 ^= rotl((x2 + x1) | 0, 13);
    x0 ^= rotl((x3 + x2) | 0, 18);
    x6 ^= rotl((x5 + x4) | 0, 7);
    x7 ^= rotl((x6 + x5) | 0, 9);
    x4 ^= rotl((x7 + x6) | 0, 13);
    x5 ^= rotl((x4 + x7) | 0, 18);
    x11 ^= rotl((x10 + x9) | 0, 7);
    x8 ^= rotl((x11 + x10) | 0, 9);
    x9 ^= rotl((x8 + x11) | 0, 13);
    x10 ^= rotl((x9 + x8) | 0, 18);
    x12 ^= rotl((x15 + x14) | 0, 7);
    x13 ^= rotl((x12 + x15) | 0, 9);
    x14 ^= rotl((x13 + x12) | 0, 13);
    x15 ^= rotl((x14 + x13) | 0, 18);
  }
  b[0]! += x0;
  b[1]! += x1;
  b[2]! += x2;
  b[3]! += x3;
  b[4]! += x4;
  b[5]! += x5;
  b[6]! += x6;
  b[7]! += x7;
  b[8]! += x8;
  b[9]! += x9;
  b[10]! += x10;
  b[11]! += x11;
  b[12]! += x12;
  b[13]! += x13;
  b[14]! += x14;
  b[15]! += x15;
}
