import { describe, expect, it } from 'vitest';
import { KeystoreError, openKeystore } from './keystore';

// The Web3 Secret Storage definition's own test vectors (password "testpassword"), as geth and
// other wallets read them: one per KDF.
const SECRET = '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d';
const PBKDF2 = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: {
      c: 262144,
      dklen: 32,
      prf: 'hmac-sha256',
      salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd',
    },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
};
const SCRYPT = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
    ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
    kdf: 'scrypt',
    kdfparams: {
      dklen: 32,
      n: 262144,
      p: 8,
      r: 1,
      salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19',
    },
    mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
};

const problem = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    if (error instanceof KeystoreError) return `${error.problem}: ${error.message}`;
    throw error;
  }
  return 'opened';
};

describe('openKeystore', () => {
  it("decrypts the definition's PBKDF2 and scrypt vectors to their secret (scrypt with r = 1, which OpenSSL refuses)", () => {
    expect(openKeystore(PBKDF2, 'testpassword')).toBe(SECRET);
    expect(openKeystore(SCRYPT, 'testpassword')).toBe(SECRET);
  }, 30_000);

  it('checks the address field against the decrypted key', () => {
    expect(
      openKeystore({ ...PBKDF2, address: '008aeeda4d805471df9b2a5b0f38a0c3bcba786b' }, 'testpassword'),
    ).toBe(SECRET);
    expect(
      problem(() =>
        openKeystore({ ...PBKDF2, address: '0000000000000000000000000000000000000001' }, 'testpassword'),
      ),
    ).toBe('malformed: the "address" field is not the address of the decrypted key');
  }, 30_000);

  it('tells a wrong password by the MAC, and says nothing secret', () => {
    const message = problem(() => openKeystore(PBKDF2, 'not-the-password'));
    expect(message).toBe('wrong-password: the MAC does not match: wrong password (or a damaged file)');
    expect(message).not.toContain('not-the-password');
  }, 30_000);

  it('refuses what it cannot read, naming the field', () => {
    expect(problem(() => openKeystore(null, 'x'))).toBe('malformed: not a JSON object');
    expect(problem(() => openKeystore({ ...PBKDF2, version: 1 }, 'x'))).toBe(
      'unsupported: version 1 (only 3 is read)',
    );
    expect(problem(() => openKeystore({ ...PBKDF2, crypto: { ...PBKDF2.crypto, kdf: 'argon2' } }, 'x'))).toBe(
      'unsupported: kdf argon2 (scrypt and pbkdf2 are read)',
    );
    expect(
      problem(() => openKeystore({ ...PBKDF2, crypto: { ...PBKDF2.crypto, cipher: 'aes-128-cbc' } }, 'x')),
    ).toBe('unsupported: cipher aes-128-cbc (only aes-128-ctr is read)');
    expect(
      problem(() => openKeystore({ ...PBKDF2, crypto: { ...PBKDF2.crypto, ciphertext: 'zz' } }, 'x')),
    ).toBe('malformed: crypto.ciphertext is not hex');
    expect(
      problem(() =>
        openKeystore(
          {
            ...SCRYPT,
            crypto: { ...SCRYPT.crypto, kdfparams: { ...SCRYPT.crypto.kdfparams, n: 2 ** 24, r: 8 } },
          },
          'x',
        ),
      ),
    ).toBe(`unsupported: scrypt needs ${128 * 2 ** 24 * 8} bytes`);
    expect(
      problem(() =>
        openKeystore(
          { ...SCRYPT, crypto: { ...SCRYPT.crypto, kdfparams: { ...SCRYPT.crypto.kdfparams, n: 1000 } } },
          'x',
        ),
      ),
    ).toBe('malformed: crypto.kdfparams.n is not a power of 2');
  });
});
