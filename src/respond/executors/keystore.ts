/**
 * Respond / executors — opening an encrypted JSON keystore (Web3 Secret Storage, version 3: the
 * format geth, Foundry's `cast wallet` and most wallets write): derive the key from the password
 * (scrypt or PBKDF2-HMAC-SHA256), check the MAC, decrypt the private key (AES-128-CTR).
 *
 * The password and the key never reach an error message; a wrong password is told apart from a
 * damaged file by the MAC.
 */
import { createDecipheriv, pbkdf2Sync, scryptSync } from 'node:crypto';
import { bytesToHex, type Hex, hexToBytes, keccak256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { scrypt } from './scrypt';

/** Why a keystore could not be opened, without anything secret in it. */
export class KeystoreError extends Error {
  constructor(
    readonly problem: 'malformed' | 'unsupported' | 'wrong-password',
    message: string,
  ) {
    super(message);
    this.name = 'KeystoreError';
  }
}

/** The largest KDF work accepted (geth's "standard" scrypt is n = 2^18, r = 8: 256 MiB). */
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;
const MAX_PBKDF2_ROUNDS = 10_000_000;

/**
 * Decrypts a version-3 keystore with its password; returns the 0x-prefixed private key.
 *
 * @example
 * const key = openKeystore(JSON.parse(readFileSync('agent.json', 'utf8')), password);
 */
export function openKeystore(json: unknown, password: string): Hex {
  const file = json as Record<string, unknown> | null;
  if (!file || typeof file !== 'object') throw malformed('not a JSON object');
  if (file.version !== 3)
    throw new KeystoreError('unsupported', `version ${String(file.version)} (only 3 is read)`);
  // geth writes `crypto`; some older tools `Crypto`.
  const crypto = (file.crypto ?? file.Crypto) as Record<string, unknown> | undefined;
  if (!crypto || typeof crypto !== 'object') throw malformed('no "crypto" section');
  if (crypto.cipher !== 'aes-128-ctr')
    throw new KeystoreError('unsupported', `cipher ${String(crypto.cipher)} (only aes-128-ctr is read)`);
  const ciphertext = bytes(crypto.ciphertext, 'crypto.ciphertext');
  const iv = bytes(
    (crypto.cipherparams as Record<string, unknown> | undefined)?.iv,
    'crypto.cipherparams.iv',
  );
  const mac = bytes(crypto.mac, 'crypto.mac');
  const params = crypto.kdfparams as Record<string, unknown> | undefined;
  if (!params || typeof params !== 'object') throw malformed('no "crypto.kdfparams"');
  const salt = bytes(params.salt, 'crypto.kdfparams.salt');
  const dklen = whole(params.dklen, 'crypto.kdfparams.dklen');
  if (dklen < 32) throw malformed('crypto.kdfparams.dklen is below 32');

  let derived: Uint8Array;
  if (crypto.kdf === 'scrypt') {
    const n = whole(params.n, 'crypto.kdfparams.n');
    const r = whole(params.r, 'crypto.kdfparams.r');
    const p = whole(params.p, 'crypto.kdfparams.p');
    if ((n & (n - 1)) !== 0 || n < 2) throw malformed('crypto.kdfparams.n is not a power of 2');
    const memory = 128 * n * r;
    if (memory > MAX_SCRYPT_MEMORY) throw new KeystoreError('unsupported', `scrypt needs ${memory} bytes`);
    const secret = password.normalize('NFKC');
    // OpenSSL (native, faster) enforces N < 2^(16·r); r = 1 keystores need the TypeScript scrypt.
    derived =
      Math.log2(n) < 16 * r
        ? scryptSync(secret, salt, dklen, { N: n, r, p, maxmem: 2 * memory + 1024 * 1024 })
        : scrypt(secret, salt, { n, r, p, dkLen: dklen });
  } else if (crypto.kdf === 'pbkdf2') {
    if (params.prf !== 'hmac-sha256')
      throw new KeystoreError('unsupported', `pbkdf2 prf ${String(params.prf)} (only hmac-sha256 is read)`);
    const c = whole(params.c, 'crypto.kdfparams.c');
    if (c > MAX_PBKDF2_ROUNDS) throw new KeystoreError('unsupported', `pbkdf2 with ${c} rounds`);
    derived = pbkdf2Sync(password.normalize('NFKC'), salt, c, dklen, 'sha256');
  } else {
    throw new KeystoreError('unsupported', `kdf ${String(crypto.kdf)} (scrypt and pbkdf2 are read)`);
  }

  const expected = hexToBytes(keccak256(concat(derived.subarray(16, 32), ciphertext)));
  if (!equal(expected, mac))
    throw new KeystoreError('wrong-password', 'the MAC does not match: wrong password (or a damaged file)');
  const decipher = createDecipheriv('aes-128-ctr', derived.subarray(0, 16), iv);
  const key = concat(decipher.update(ciphertext), decipher.final());
  if (key.length !== 32) throw malformed(`the decrypted key is ${key.length} bytes, not 32`);
  const privateKey = bytesToHex(key);
  // The optional address field must be the key's address: a mismatch is a damaged or edited file.
  if (typeof file.address === 'string') {
    const address = privateKeyToAccount(privateKey).address.slice(2).toLowerCase();
    if (file.address.replace(/^0x/, '').toLowerCase() !== address)
      throw malformed('the "address" field is not the address of the decrypted key');
  }
  return privateKey;
}

function malformed(what: string): KeystoreError {
  return new KeystoreError('malformed', what);
}

function bytes(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || !/^(0x)?([0-9a-fA-F]{2})+$/.test(value))
    throw malformed(`${field} is not hex`);
  return hexToBytes(value.startsWith('0x') ? (value as Hex) : `0x${value}`);
}

function whole(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw malformed(`${field} is not a positive integer`);
  return value;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
