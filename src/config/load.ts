/**
 * Config — loading a config file (YAML, JSON, or a TypeScript/JavaScript module whose default
 * export is `defineConfig(...)`), validating it and resolving secret references.
 *
 * Never reaches the network. Errors name the file, the path inside it and the fix.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { FirebreakError, registerSecret } from '../common/errors';
import { invalidFileError, problemsFromZod } from './errors';
import { crossReferenceProblems, type FirebreakConfig, firebreakConfig, type SecretRef } from './schema';

/** Reads a YAML or JSON file into plain data, with a clear error for a syntax mistake. */
export function readDataFile(file: string, kind: 'config' | 'scenario'): { data: unknown; text: string } {
  const code = kind === 'config' ? 'ERR_CONFIG_NOT_FOUND' : 'ERR_SCENARIO_NOT_FOUND';
  if (!existsSync(file)) throw new FirebreakError(code, `${file}: no such ${kind} file`);
  const text = readFileSync(file, 'utf8');
  try {
    return { data: parseYaml(text), text };
  } catch (error) {
    const invalid = kind === 'config' ? 'ERR_CONFIG_INVALID' : 'ERR_SCENARIO_INVALID';
    if (error instanceof YAMLParseError) {
      const line = error.linePos?.[0];
      throw new FirebreakError(
        invalid,
        `${file}${line ? `:${line.line}:${line.col}` : ''}: not valid YAML: ${error.message.split('\n')[0]}\n    fix: correct the syntax at that line (indentation, a missing colon or quote)`,
      );
    }
    throw error;
  }
}

/** Validates config data that came from `file`. */
export function parseConfig(data: unknown, file: string, text?: string): FirebreakConfig {
  const result = firebreakConfig.safeParse(data);
  if (!result.success)
    throw invalidFileError('ERR_CONFIG_INVALID', file, problemsFromZod(result.error), text);
  const problems = crossReferenceProblems(result.data);
  if (problems.length > 0) throw invalidFileError('ERR_CONFIG_INVALID', file, problems, text);
  return result.data;
}

/** Loads and validates a config file. `.ts`/`.js`/`.mjs` files are imported; others are YAML/JSON. */
export async function loadConfig(path: string): Promise<FirebreakConfig> {
  const file = resolve(path);
  if (['.ts', '.mts', '.js', '.mjs'].includes(extname(file))) {
    if (!existsSync(file)) throw new FirebreakError('ERR_CONFIG_NOT_FOUND', `${path}: no such config file`);
    // tsx's own import: a .ts config loads as an ES module whatever the package.json next to it says.
    const mod = (await tsImport(pathToFileURL(file).href, import.meta.url)) as { default?: unknown };
    if (mod.default === undefined) {
      throw new FirebreakError(
        'ERR_CONFIG_INVALID',
        `${path}: the module has no default export\n    fix: end the file with \`export default defineConfig({ ... })\``,
      );
    }
    // A module compiled as CommonJS nests the export once more (`default.default`).
    const exported = mod.default as { default?: unknown } | undefined;
    const config =
      exported && typeof exported === 'object' && 'default' in exported ? exported.default : exported;
    return parseConfig(config, path);
  }
  const { data, text } = readDataFile(file, 'config');
  return parseConfig(data, path, text);
}

export type SecretSource = Readonly<Record<string, string | undefined>>;

/** Every secret reference in a config (where it is, and the variable it names). */
export function secretRefs(config: FirebreakConfig): { path: (string | number)[]; ref: SecretRef }[] {
  const refs: { path: (string | number)[]; ref: SecretRef }[] = [];
  config.chains.forEach((c, i) => {
    c.rpc.forEach((e, j) => {
      if (typeof e !== 'string') refs.push({ path: ['chains', i, 'rpc', j], ref: e });
    });
    if (c.ws !== undefined && typeof c.ws !== 'string') refs.push({ path: ['chains', i, 'ws'], ref: c.ws });
  });
  config.executors.forEach((e, i) => {
    const keys =
      'keys' in e
        ? e.keys.map((key, j) => ({ key, path: ['executors', i, 'keys', j] }))
        : [{ key: e.key, path: ['executors', i, 'key'] }];
    for (const { key, path } of keys) {
      if ('env' in key) refs.push({ path, ref: key });
      else refs.push({ path: [...path, 'password'], ref: key.password });
    }
  });
  return refs;
}

/**
 * Checks that every secret the config references is set in the environment, before anything
 * starts: a missing one is named with its path in the file and the fix (never a value).
 */
export function assertSecretsPresent(
  config: FirebreakConfig,
  file: string,
  env: SecretSource = process.env,
): void {
  const problems = secretRefs(config)
    .filter(({ ref }) => env[ref.env] === undefined || env[ref.env] === '')
    .map(({ path, ref }) => ({
      path,
      message: `environment variable ${ref.env} is not set`,
      fix: `export ${ref.env}=… before starting Firebreak (secrets are never read from the file)`,
    }));
  if (problems.length > 0) {
    const error = invalidFileError('ERR_CONFIG_INVALID', file, problems);
    throw new FirebreakError('ERR_SECRET_MISSING', error.message, { details: error.details });
  }
}

/**
 * Resolves a secret reference against an environment (process.env by default). The error names
 * the variable, never a value.
 */
export function resolveSecret(ref: SecretRef, where: string, env: SecretSource = process.env): string {
  const value = env[ref.env];
  if (value === undefined || value === '') {
    throw new FirebreakError(
      'ERR_SECRET_MISSING',
      `${where}: environment variable ${ref.env} is not set\n    fix: export ${ref.env}=… before starting Firebreak (it is never read from a file)`,
    );
  }
  registerSecret(value);
  return value;
}
