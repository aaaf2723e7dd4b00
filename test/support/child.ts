/**
 * Test support — a Firebreak child process a crash test can kill: built once as a plain-node
 * bundle (faster to start than ~500 modules through tsx; tsx when esbuild is not there), started
 * with its stdout read as lines, and waited on until its lines say something (or it exits first).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * How to run `entry`: a bundle of it inside the project (git-ignored cache, so that its package
 * imports resolve), or `--import tsx/esm` when esbuild is missing.
 */
export async function childCommand(entry: string, name: string): Promise<string[]> {
  const outDir = join(import.meta.dirname, '..', '..', '.firebreak', 'cache', 'test');
  try {
    const { build } = (await import('esbuild' as string)) as {
      build(options: Record<string, unknown>): Promise<unknown>;
    };
    const outfile = join(outDir, `${name}-${process.pid}.mjs`);
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // viem and kysely go in (one file parses faster than many modules load); PGlite finds its
      // WASM next to its own files, so it stays a package, as do pino (worker files) and hardhat.
      external: ['@electric-sql/pglite', 'pino', 'hardhat'],
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
      outfile,
      logLevel: 'warning',
    });
    return [outfile];
  } catch {
    return ['--import', 'tsx/esm', entry];
  }
}

export interface Child {
  process: ChildProcess;
  /** Its stdout, line by line, as far as it has printed. */
  lines: string[];
  stderr: string[];
  /**
   * Resolves when its lines satisfy `until` (or rejects when it exits first, or after `timeoutMs`).
   * With `idle`, the timeout counts from its last line instead: a child catching up on a machine
   * slowed by others keeps the time it needs, one that stops writing still fails.
   */
  waitFor(
    what: string,
    until: (lines: readonly string[]) => boolean,
    timeoutMs: number,
    options?: { idle?: boolean },
  ): Promise<void>;
  exited: Promise<NodeJS.Signals | number | null>;
}

/** Starts the child with `env` added to this process's environment (logs at warn). */
export function spawnChild(command: string[], args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [...command, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FIREBREAK_LOG_LEVEL: 'warn', ...env },
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  const listeners = new Set<() => void>();
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
    for (const listener of listeners) listener();
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  return {
    process: child,
    lines,
    stderr,
    exited,
    waitFor(what, until, timeoutMs, options = {}) {
      return new Promise<void>((resolve, reject) => {
        const expire = () => {
          cleanup();
          const quiet = options.idle ? ' without a line' : '';
          const last = lines.at(-1) ?? 'none';
          reject(
            new Error(
              `child: timed out after ${timeoutMs} ms${quiet} waiting for ${what} (last line: ${last})\n${stderr.join('')}`,
            ),
          );
        };
        let timer = setTimeout(expire, timeoutMs);
        const check = () => {
          if (!until(lines)) {
            if (options.idle) {
              clearTimeout(timer);
              timer = setTimeout(expire, timeoutMs);
            }
            return;
          }
          cleanup();
          resolve();
        };
        const onExit = () => {
          cleanup();
          reject(new Error(`child exited while waiting for ${what}\n${stderr.join('')}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
  };
}

/** The block numbers a child reported processed (`block N` lines), in order. */
export const processedBlocks = (lines: readonly string[]): bigint[] =>
  lines.filter((l) => l.startsWith('block ')).map((l) => BigInt(l.slice(6)));
