import { describe, expect, it } from 'vitest';
import {
  describeError,
  FirebreakError,
  isFirebreakError,
  redact,
  registerSecret,
  USER_ERROR_CODES,
} from './errors';

const KEY = `0x${'ab'.repeat(32)}`; // 32 bytes: the shape of a private key
const TX_HASH = `0x${'cd'.repeat(32)}`; // 32 bytes as well: indistinguishable from a key
const ADDRESS = `0x${'ef'.repeat(20)}`; // 20 bytes

describe('redact', () => {
  it('removes user:password from a URL and the RPC path after it', () => {
    expect(redact('fetch https://u:p@rpc.example/v2/abc failed')).toBe('fetch https://rpc.example/… failed');
  });

  it('removes user:password from a URL without a path, keeping host and port', () => {
    expect(redact('connect https://user:pass@host.example:8545 refused')).toBe(
      'connect https://host.example:8545 refused',
    );
  });

  it('removes credentials from URLs of any scheme but keeps the path of non-RPC schemes', () => {
    expect(redact('postgres://admin:secret@db:5432/firebreak')).toBe('postgres://db:5432/firebreak');
  });

  it('removes a lone user name before @', () => {
    expect(redact('https://token@rpc.example/')).toBe('https://rpc.example/');
  });

  it('matches the scheme and the credentials case-insensitively', () => {
    expect(redact('HTTPS://U:P@RPC.EXAMPLE/V2/KEY')).toBe('HTTPS://RPC.EXAMPLE/…');
  });

  it.each([
    ['https://eth-mainnet.example/v2/SECRETKEY', 'https://eth-mainnet.example/…'],
    ['http://localhost:8545/rpc/SECRETKEY', 'http://localhost:8545/…'],
    ['wss://mainnet.example/ws/v3/SECRETKEY?x=1', 'wss://mainnet.example/…'],
    ['ws://node.example:8546/SECRETKEY', 'ws://node.example:8546/…'],
  ])('replaces the path of %s (API keys live there)', (url, expected) => {
    expect(redact(`rpc ${url} failed`)).toBe(`rpc ${expected} failed`);
  });

  it('keeps a bare host and a lone trailing slash as they are', () => {
    expect(redact('http://localhost:8545 down')).toBe('http://localhost:8545 down');
    expect(redact('http://localhost:8545/ down')).toBe('http://localhost:8545/ down');
  });

  it('stops the path at whitespace and quotes, so JSON around a URL survives', () => {
    expect(redact(JSON.stringify({ rpc: 'https://rpc.example/v2/abc' }))).toBe(
      '{"rpc":"https://rpc.example/…"}',
    );
    expect(redact('https://rpc.example/v2/abc\nnext line')).toBe('https://rpc.example/…\nnext line');
  });

  it('redacts every URL in the text and keeps the punctuation that follows a path', () => {
    expect(redact('a https://one.example/k1, b https://two.example/k2')).toBe(
      'a https://one.example/…, b https://two.example/…',
    );
    expect(redact('(see https://rpc.example/v2/abc).')).toBe('(see https://rpc.example/…).');
  });

  it('redacts an API key in the query of a URL without a path', () => {
    expect(redact('GET https://rpc.example?apikey=SECRET failed')).toBe('GET https://rpc.example/… failed');
  });

  it('redacts a registered secret by value, in either case, whatever its shape', () => {
    registerSecret(KEY);
    registerSecret('plain-token-without-shape');
    expect(redact(`key ${KEY} leaked`)).toBe('key …(redacted) leaked');
    expect(redact(`key ${KEY.toUpperCase().replace('0X', '0x')} leaked`)).toBe('key …(redacted) leaked');
    expect(redact('token plain-token-without-shape leaked')).toBe('token …(redacted) leaked');
  });

  it('keeps a 32-byte tx or block hash readable: an operator needs it in a message', () => {
    expect(redact(`transaction ${TX_HASH} reverted`)).toBe(`transaction ${TX_HASH} reverted`);
  });

  it('leaves a 20-byte address untouched', () => {
    expect(redact(`guardian ${ADDRESS} sent`)).toBe(`guardian ${ADDRESS} sent`);
  });

  it('leaves hex longer than 32 bytes and 0x glued to a word untouched', () => {
    const longer = `0x${'12'.repeat(33)}`;
    expect(redact(`calldata ${longer}`)).toBe(`calldata ${longer}`);
    const unregistered = `0x${'ef'.repeat(32)}`;
    expect(redact(`x${unregistered}`)).toBe(`x${unregistered}`);
  });

  it('leaves text without secrets unchanged', () => {
    const text = 'block 123 processed in 4 ms; price 2000.5 USD';
    expect(redact(text)).toBe(text);
  });

  it('removes the password from a URL with an empty user name', () => {
    expect(redact('connect https://:hunter2@rpc.example/ failed')).toBe(
      'connect https://rpc.example/ failed',
    );
  });
});

describe('FirebreakError', () => {
  it('redacts its message and keeps code, retryable, details and cause', () => {
    const cause = new Error('socket hang up');
    const error = new FirebreakError('ERR_RPC_UNREACHABLE', `cannot reach https://u:p@rpc.example/v2/KEY`, {
      retryable: true,
      details: { attempts: 3 },
      cause,
    });
    expect(error.message).toBe('cannot reach https://rpc.example/…');
    expect(error.code).toBe('ERR_RPC_UNREACHABLE');
    expect(error.retryable).toBe(true);
    expect(error.details).toEqual({ attempts: 3 });
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('FirebreakError');
    expect(error).toBeInstanceOf(Error);
  });

  it('defaults to not retryable, empty details and no cause', () => {
    const error = new FirebreakError('ERR_USAGE', 'bad flag');
    expect(error.retryable).toBe(false);
    expect(error.details).toEqual({});
    expect('cause' in error).toBe(false);
  });

  it('is recognised by isFirebreakError, with and without a code', () => {
    const error = new FirebreakError('ERR_STORE', 'x');
    expect(isFirebreakError(error)).toBe(true);
    expect(isFirebreakError(error, 'ERR_STORE')).toBe(true);
    expect(isFirebreakError(error, 'ERR_USAGE')).toBe(false);
    expect(isFirebreakError(new Error('x'))).toBe(false);
    expect(isFirebreakError({ code: 'ERR_STORE' })).toBe(false);
  });

  it('counts only bad input as a user error', () => {
    expect([...USER_ERROR_CODES].sort()).toEqual([
      // `firebreak approve/reject` of an unknown id, or of an action already decided.
      'ERR_APPROVAL',
      'ERR_CONFIG_INVALID',
      'ERR_CONFIG_NOT_FOUND',
      'ERR_RECORDING_INVALID',
      'ERR_SCENARIO_INVALID',
      'ERR_SCENARIO_NOT_FOUND',
      'ERR_SECRET_MISSING',
      'ERR_USAGE',
    ]);
  });
});

describe('describeError', () => {
  it('redacts the message of an Error and the text of anything else', () => {
    registerSecret(KEY);
    expect(describeError(new Error(`signer ${KEY} refused`))).toBe('signer …(redacted) refused');
    expect(describeError(`https://rpc.example/v2/KEY timed out`)).toBe('https://rpc.example/… timed out');
    expect(describeError(42)).toBe('42');
  });
});
