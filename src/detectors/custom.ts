/**
 * Detect — custom detectors in code: a TypeScript (or JavaScript) module exporting a
 * `DetectorDefinition`, named in the config (`type: custom`, `module`, `export`), loaded once at
 * start. The module gets the same context the built-ins get (`ctx.view`, `ctx.state`, `ctx.logs`,
 * `window.ts` for history) and can be tested with the same helpers (`testing.ts`). When the
 * definition carries a `paramsSchema` (anything with zod's `safeParse`), the configured params are
 * checked against it at load. See docs/detectors.md and examples/detectors/.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FirebreakError } from '../common/errors';
import type { DetectorDefinition } from './types';

/** A definition with an optional params schema (zod or anything with the same `safeParse`). */
export type CustomDetectorDefinition<P = unknown> = DetectorDefinition<P> & {
  paramsSchema?: {
    safeParse(input: unknown): { success: boolean; data?: unknown; error?: { message: string } };
  };
};

/**
 * Loads the detector exported as `exportName` by `modulePath` (relative to `baseDir`), checks its
 * shape and its params; returns it with the params to run it with.
 *
 * @example
 * const { definition, params } = await loadCustomDetector('examples/detectors/large-mint.ts', 'default', {}, process.cwd(), 'mint-watch');
 */
export async function loadCustomDetector(
  modulePath: string,
  exportName: string,
  params: unknown,
  baseDir: string,
  id: string,
): Promise<{ definition: DetectorDefinition<unknown>; params: unknown }> {
  const file = isAbsolute(modulePath) ? modulePath : resolve(baseDir, modulePath);
  const where = `detectors[${id}].module`;
  if (!existsSync(file))
    throw new FirebreakError(
      'ERR_CONFIG_INVALID',
      `${where}: no such file ${file}\n    fix: give a path relative to ${baseDir}, or an absolute one`,
    );
  let mod: Record<string, unknown>;
  try {
    const { tsImport } = await import('tsx/esm/api');
    mod = (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
  } catch (error) {
    throw new FirebreakError(
      'ERR_CONFIG_INVALID',
      `${where}: ${file} failed to load: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  // A module compiled as CommonJS nests its exports once more under `default`.
  let exported = mod[exportName];
  if (exported === undefined && mod.default && typeof mod.default === 'object')
    exported = (mod.default as Record<string, unknown>)[exportName];
  if (
    exportName === 'default' &&
    exported &&
    typeof exported === 'object' &&
    'default' in exported &&
    !('detect' in exported)
  )
    exported = (exported as { default: unknown }).default;
  const def = exported as Partial<CustomDetectorDefinition> | undefined;
  if (!def || typeof def !== 'object' || typeof def.detect !== 'function' || typeof def.type !== 'string')
    throw new FirebreakError(
      'ERR_CONFIG_INVALID',
      `${where}: ${file} has no detector as its "${exportName}" export\n    fix: export an object { type: string, description: string, detect(event, ctx) } (see docs/detectors.md)`,
    );
  let checked = params;
  if (def.paramsSchema) {
    const result = def.paramsSchema.safeParse(params);
    if (!result.success)
      throw new FirebreakError(
        'ERR_CONFIG_INVALID',
        `detectors[${id}].params: rejected by ${def.type}'s paramsSchema: ${result.error?.message ?? 'invalid'}\n    fix: give the params the module documents`,
      );
    checked = result.data;
  }
  return { definition: def as DetectorDefinition<unknown>, params: checked };
}
