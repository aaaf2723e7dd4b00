#!/usr/bin/env node
// `npm run scenario-schema` writes docs/scenario.schema.json, the JSON Schema of a drill scenario
// file, from the zod schema in src/drills/scenario.ts (see src/drills/scenario-schema.ts).
// `--check` writes nothing and exits 1 when the committed file differs from what it would write.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { SCENARIO_FORMAT_VERSION, SCENARIO_SCHEMA_COMMAND, SCENARIO_SCHEMA_PATH, scenarioJsonSchemaText } =
  await import('../src/drills/scenario-schema.ts');

const target = join(root, SCENARIO_SCHEMA_PATH);
let text = scenarioJsonSchemaText();
// Format it as the repository's formatter would, so `biome ci` stays clean (skipped if Biome is absent).
const biome = join(root, 'node_modules', '.bin', 'biome');
if (existsSync(biome)) {
  const formatted = spawnSync(biome, ['format', `--stdin-file-path=${SCENARIO_SCHEMA_PATH}`], {
    cwd: root,
    input: text,
    encoding: 'utf8',
  });
  if (formatted.status === 0 && formatted.stdout.trim().startsWith('{')) text = formatted.stdout;
}

if (process.argv.includes('--check')) {
  const current = existsSync(target) ? readFileSync(target, 'utf8') : null;
  if (current === null || JSON.stringify(JSON.parse(current)) !== JSON.stringify(JSON.parse(text))) {
    console.error(
      `${SCENARIO_SCHEMA_PATH} is not what src/drills/scenario.ts generates\n    fix: ${SCENARIO_SCHEMA_COMMAND}`,
    );
    process.exit(1);
  }
  console.log(`${SCENARIO_SCHEMA_PATH}: up to date (scenario format v${SCENARIO_FORMAT_VERSION})`);
} else {
  writeFileSync(target, text);
  console.log(`wrote ${SCENARIO_SCHEMA_PATH} (scenario format v${SCENARIO_FORMAT_VERSION})`);
}
