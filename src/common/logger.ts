/**
 * Logging — structured pino loggers, passed down in the `common` bag, never imported as a global.
 *
 * Every string that leaves through a logger is redacted (see `redact` in errors.ts), so a URL
 * with a key in its path or a private key pasted into an error cannot reach a log file.
 */
import { type Logger as PinoLogger, pino } from 'pino';
import { redact } from './errors';

export type Logger = PinoLogger;

export interface LoggerOptions {
  level?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Where lines go; defaults to stderr so that stdout stays for command output. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? (process.env.FIREBREAK_LOG_LEVEL as LoggerOptions['level']) ?? 'warn',
      base: null,
      hooks: {
        logMethod(args, method) {
          const cleaned = args.map((a) =>
            typeof a === 'string' ? redact(a) : a instanceof Error ? redact(a.message) : a,
          );
          return method.apply(this, cleaned as Parameters<typeof method>);
        },
      },
      formatters: {
        log(object) {
          return JSON.parse(redact(JSON.stringify(object))) as Record<string, unknown>;
        },
      },
    },
    (options.destination as pino.DestinationStream | undefined) ?? pino.destination(2),
  );
}

/** A logger that drops everything: for tests and library users who bring none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
