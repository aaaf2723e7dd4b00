import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scrypt } from './scrypt';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// The keystore definition's scrypt vector (N = 2^18, r = 1, which OpenSSL refuses) runs through
// this implementation in keystore.test.ts.
describe('scrypt', () => {
  it("agrees with Node's OpenSSL scrypt wherever OpenSSL accepts the parameters", () => {
    // The RFC 7914 parameter sets, then random passwords and salts over small N, r, p.
    const cases: [string, string, number, number, number, number][] = [
      ['', '', 16, 1, 1, 64],
      ['password', 'NaCl', 1024, 8, 16, 64],
    ];
    for (let i = 0; i < 12; i++) {
      const n = 2 ** (1 + (i % 10));
      cases.push([
        randomBytes(1 + i).toString('hex'),
        randomBytes(16).toString('hex'),
        n,
        1 + (i % 4),
        1 + (i % 3),
        32,
      ]);
    }
    for (const [password, salt, n, r, p, dkLen] of cases) {
      const ours = scrypt(password, Buffer.from(salt), { n, r, p, dkLen });
      const openssl = scryptSync(password, Buffer.from(salt), dkLen, {
        N: n,
        r,
        p,
        maxmem: 256 * 1024 * 1024,
      });
      expect(hex(ours), `N=${n} r=${r} p=${p}`).toBe(hex(openssl));
    }
  }, 30_000);

  it('refuses parameters outside the RFC', () => {
    expect(() => scrypt('', new Uint8Array(), { n: 1000, r: 1, p: 1, dkLen: 32 })).toThrow(/power of 2/);
    expect(() => scrypt('', new Uint8Array(), { n: 16, r: 0, p: 1, dkLen: 32 })).toThrow(/r and p/);
  });
});
