import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import { createCommon } from '../../common/common';
import { FirebreakError } from '../../common/errors';
import { parseConfig } from '../../config/load';
import { createExecutors } from './index';

const KEY_A = `0x${'11'.repeat(32)}` as const;
const KEY_B = `0x${'22'.repeat(32)}` as const;
const HUB = '0x459cc1bc61a6dcc6bc14de97a63795375148f681';

const config = parseConfig(
  {
    chains: [{ id: 1, name: 'mainnet', rpc: ['https://rpc.example.org'] }],
    executors: [
      { id: 'guardian', type: 'eoa', chain: 'mainnet', key: { env: 'GUARDIAN_KEY' } },
      { id: 'agent', type: 'guardian-hub', chain: 'mainnet', hub: HUB, key: { env: 'AGENT_KEY' } },
    ],
  },
  'firebreak.config.yaml',
);
// Building an executor reads nothing from the chain: a placeholder client is enough here.
const deps = (secrets: Record<string, string>) => ({
  clientOf: () => ({}) as Client,
  secrets,
  common: createCommon(),
});

function thrown(run: () => unknown): FirebreakError {
  try {
    run();
  } catch (error) {
    if (error instanceof FirebreakError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('createExecutors', () => {
  it('builds each configured executor by id, of its type, signing with its own key', () => {
    const executors = createExecutors(config, deps({ GUARDIAN_KEY: KEY_A, AGENT_KEY: KEY_B }));
    expect([...executors.values()].map((e) => [e.id, e.type, e.address, e.dryRun])).toEqual([
      ['guardian', 'eoa', privateKeyToAccount(KEY_A).address, false],
      ['agent', 'guardian-hub', privateKeyToAccount(KEY_B).address, false],
    ]);
  });

  it('names the variable, never its value, when a key is not a private key', () => {
    const error = thrown(() => createExecutors(config, deps({ GUARDIAN_KEY: KEY_A, AGENT_KEY: 'hunter2' })));
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toBe(
      'executors[agent].key: environment variable AGENT_KEY does not hold a private key\n    fix: set it to a 0x-prefixed 32-byte hex key',
    );
  });

  it('says which variable is missing', () => {
    const error = thrown(() => createExecutors(config, deps({ GUARDIAN_KEY: KEY_A })));
    expect(error.code).toBe('ERR_SECRET_MISSING');
    expect(error.message).toContain('executors[agent].key: environment variable AGENT_KEY is not set');
  });
});

describe('createExecutors with an encrypted keystore', () => {
  // The Web3 Secret Storage definition's PBKDF2 vector (password "testpassword"), as a file.
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-keystore-'));
  const file = join(dir, 'agent.json');
  writeFileSync(
    file,
    JSON.stringify({
      address: '008aeeda4d805471df9b2a5b0f38a0c3bcba786b',
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
    }),
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const withKeystore = (keystore: string) =>
    parseConfig(
      {
        chains: [{ id: 1, name: 'mainnet', rpc: ['https://rpc.example.org'] }],
        executors: [
          {
            id: 'agent',
            type: 'guardian-hub',
            chain: 'mainnet',
            hub: HUB,
            key: { keystore, password: { env: 'AGENT_KEYSTORE_PASSWORD' } },
          },
        ],
      },
      'firebreak.config.yaml',
    );

  it('opens the keystore with the password its reference names and signs with that key', () => {
    const [agent] = createExecutors(
      withKeystore(file),
      deps({ AGENT_KEYSTORE_PASSWORD: 'testpassword' }),
    ).values();
    expect(agent?.address.toLowerCase()).toBe('0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b');
  }, 30_000);

  it('says a wrong password, a missing file or a missing password variable, and never the password', () => {
    const wrong = thrown(() =>
      createExecutors(withKeystore(file), deps({ AGENT_KEYSTORE_PASSWORD: 'guess-1234' })),
    );
    expect(wrong.code).toBe('ERR_CONFIG_INVALID');
    expect(wrong.message).toBe(
      `executors[agent].key.keystore: ${file}: the MAC does not match: wrong password (or a damaged file)\n    fix: set AGENT_KEYSTORE_PASSWORD to this keystore's password`,
    );
    expect(wrong.message).not.toContain('guess-1234');
    const missing = thrown(() =>
      createExecutors(withKeystore(join(dir, 'nope.json')), deps({ AGENT_KEYSTORE_PASSWORD: 'x' })),
    );
    expect(missing.message).toContain(
      `executors[agent].key.keystore: no such file ${join(dir, 'nope.json')}`,
    );
    const unset = thrown(() => createExecutors(withKeystore(file), deps({})));
    expect(unset.code).toBe('ERR_SECRET_MISSING');
    expect(unset.message).toContain(
      'executors[agent].key.password: environment variable AGENT_KEYSTORE_PASSWORD is not set',
    );
  }, 30_000);
});
