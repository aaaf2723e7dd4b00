/**
 * Errors — one base class for everything Firebreak raises on purpose.
 *
 * Every error carries a stable `code` (documented in docs/errors.md), whether a retry can help
 * (`retryable`), structured `details` for logs and the API, and the `cause` chain. Messages are
 * short and human: they say what went wrong and, where possible, the fix. They never contain a
 * secret: anything that could hold one goes through `redact()` first.
 */

export type ErrorCode =
  | 'ERR_CONFIG_INVALID'
  | 'ERR_CONFIG_NOT_FOUND'
  | 'ERR_SCENARIO_INVALID'
  | 'ERR_SCENARIO_NOT_FOUND'
  | 'ERR_SECRET_MISSING'
  | 'ERR_RPC_UNREACHABLE'
  | 'ERR_RPC_WRONG_CHAIN'
  | 'ERR_CONTRACTS_NOT_BUILT'
  | 'ERR_CONTRACT_REVERT'
  | 'ERR_DEPLOY_FAILED'
  | 'ERR_ACTION_REFUSED'
  | 'ERR_SIMULATION_FAILED'
  | 'ERR_TX_FAILED'
  | 'ERR_EFFECT_NOT_VERIFIED'
  | 'ERR_STORE'
  | 'ERR_USAGE';

export interface FirebreakErrorOptions {
  retryable?: boolean;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class FirebreakError extends Error {
  override readonly name = 'FirebreakError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: FirebreakErrorOptions = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }
}

export function isFirebreakError(error: unknown, code?: ErrorCode): error is FirebreakError {
  return error instanceof FirebreakError && (code === undefined || error.code === code);
}

/** Errors a user caused (bad file, bad arguments): the CLI exits 2 for these. */
export const USER_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_CONFIG_INVALID',
  'ERR_CONFIG_NOT_FOUND',
  'ERR_SCENARIO_INVALID',
  'ERR_SCENARIO_NOT_FOUND',
  'ERR_SECRET_MISSING',
  'ERR_USAGE',
]);

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]+)(:[^/\s@]*)?@/gi;
const PRIVATE_KEY = /\b0x[0-9a-fA-F]{64}\b/g;
const URL_PATH_TOKEN = /\b(https?|wss?):\/\/([^/\s]+)\/([^\s'"]*)/gi;

/**
 * Removes credentials from text: user:password in URLs, the path of RPC URLs (providers put API
 * keys there: `https://eth.example/v2/<key>`) and anything shaped like a 32-byte private key.
 *
 * @example redact('fetch https://u:p@rpc.example/v2/abc failed') // 'fetch https://rpc.example/… failed'
 */
export function redact(text: string): string {
  return text
    .replace(URL_CREDENTIALS, '$1')
    .replace(URL_PATH_TOKEN, (_match, scheme: string, host: string, path: string) =>
      path.length === 0 ? `${scheme}://${host}/` : `${scheme}://${host}/…`,
    )
    .replace(PRIVATE_KEY, '0x…(redacted)');
}

/** A printable, redacted one-line description of any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return redact(error.message);
  return redact(String(error));
}
