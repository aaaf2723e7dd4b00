/**
 * Drills — the scenario file format as a published JSON Schema: generated from the zod schema in
 * scenario.ts (the one source of truth), versioned, and committed as docs/scenario.schema.json so
 * editors can complete and check scenario files. `npm run scenario-schema` regenerates the file;
 * a test fails when the committed file is not what the current schema generates.
 *
 * The JSON Schema describes the shape of a file only. The reference checks (an asset a step names
 * exists, criticalBps ≥ thresholdBps, …) run at load, in `parseScenario`.
 */
import { z } from 'zod';
import { scenarioSchema } from './scenario';

/**
 * The scenario file format's version. Raise it when a change makes a file that was valid invalid,
 * or changes what a field means (adding an optional field with a default does not need it).
 * 1: the first drills (assets, pools, accounts, a timeline of steps); 2: populations, bots, price
 * paths, withdraw/repay steps, caps and the richer score block.
 */
export const SCENARIO_FORMAT_VERSION = 2;

/** Where the committed JSON Schema lives, relative to the repository root. */
export const SCENARIO_SCHEMA_PATH = 'docs/scenario.schema.json';

/** The command that regenerates it. */
export const SCENARIO_SCHEMA_COMMAND = 'npm run scenario-schema';

/**
 * The JSON Schema (draft 2020-12) of a scenario file, as a user writes it: fields with a default
 * are optional (zod's input side).
 */
export function scenarioJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(scenarioSchema, { io: 'input', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: `urn:firebreak:scenario:v${SCENARIO_FORMAT_VERSION}`,
    title: `Firebreak drill scenario, format version ${SCENARIO_FORMAT_VERSION}`,
    description:
      'A Firebreak drill scenario (YAML or JSON): a market, its accounts, a timeline of steps at block offsets, the response and the scoring. Generated from src/drills/scenario.ts by `npm run scenario-schema`; the reference checks between fields run when the file is loaded. See docs/drills.md.',
    'x-firebreak-format-version': SCENARIO_FORMAT_VERSION,
    ...rest,
  };
}

/** The file's text: two-space JSON with a final newline (the script then formats it with Biome). */
export const scenarioJsonSchemaText = (): string => `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;
