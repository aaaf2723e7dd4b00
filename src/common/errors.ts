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
  | 'ERR_QUORUM_NOT_MET'
  | 'ERR_RECORDING_INVALID'
  | 'ERR_CONTRACTS_NOT_BUILT'
  | 'ERR_DEPLOY_FAILED'
  | 'ERR_ACTION_REFUSED'
  | 'ERR_SIMULATION_FAILED'
  | 'ERR_TX_FAILED'
  | 'ERR_STORE'
  | 'ERR_RISK_INPUT'
  | 'ERR_REORG_TOO_DEEP'
  | 'ERR_APPROVAL'
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
  'ERR_RECORDING_INVALID',
  'ERR_APPROVAL',
  'ERR_USAGE',
]);

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]*)(:[^/\s@]*)?@/gi;
/** A URL's path, query or fragment: where providers put API keys (`https://eth.example/v2/<key>`, `?apikey=`). */
const URL_TAIL = /\b(https?|wss?):\/\/([^/?#\s'"<>()[\],]+)([/?#][^\s'"<>()[\],]*)?/gi;

/** Secret values this process knows (resolved keys, credentialed URLs): redacted wherever they appear. */
const knownSecrets = new Set<string>();

/**
 * Registers a secret value so that `redact` removes it from any text, whatever its shape.
 * `resolveSecret` registers everything it resolves.
 */
export function registerSecret(value: string): void {
  if (value.length >= 8) knownSecrets.add(value);
}

const secretPattern = (secret: string) => new RegExp(secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');

/**
 * Removes credentials from text: every registered secret value, user:password in URLs, and the
 * path and query of http(s)/ws(s) URLs (providers put API keys there). Transaction hashes and
 * addresses stay readable: they are what an operator needs in a message.
 *
 * @example redact('fetch https://u:p@rpc.example/v2/abc failed') // 'fetch https://rpc.example/… failed'
 */
export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (out.toLowerCase().includes(secret.toLowerCase()))
      out = out.replace(secretPattern(secret), '…(redacted)');
  }
  return out
    .replace(URL_CREDENTIALS, '$1')
    .replace(URL_TAIL, (_match, scheme: string, host: string, tail: string | undefined) =>
      tail === undefined || tail === '/' ? `${scheme}://${host}${tail ?? ''}` : `${scheme}://${host}/…`,
    );
}

/** A printable, redacted one-line description of any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return redact(error.message);
  return redact(String(error));
}
