import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scenarioSchema } from './scenario';
import {
  SCENARIO_FORMAT_VERSION,
  SCENARIO_SCHEMA_COMMAND,
  SCENARIO_SCHEMA_PATH,
  scenarioJsonSchema,
} from './scenario-schema';

describe('the published scenario JSON Schema', () => {
  it('is what the current zod schema generates (the committed file is not stale)', () => {
    const stale = `${SCENARIO_SCHEMA_PATH} is stale or missing: the scenario schema changed.\n    fix: ${SCENARIO_SCHEMA_COMMAND}, and commit the file`;
    expect(existsSync(SCENARIO_SCHEMA_PATH), stale).toBe(true);
    const committed = JSON.parse(readFileSync(SCENARIO_SCHEMA_PATH, 'utf8'));
    expect(committed, stale).toEqual(scenarioJsonSchema());
  });

  it('carries the scenario format version in its $id and title', () => {
    const schema = scenarioJsonSchema();
    expect(schema.$id).toBe(`urn:firebreak:scenario:v${SCENARIO_FORMAT_VERSION}`);
    expect(schema.title).toContain(`format version ${SCENARIO_FORMAT_VERSION}`);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('has every field and every enumerated value documented in docs/drills.md', () => {
    // A new scenario field needs its row in the guide's reference (section 6): in a code span there.
    const doc = readFileSync('docs/drills.md', 'utf8').replace(/```[\s\S]*?```/g, '');
    const documented = new Set(
      [...doc.matchAll(/`([^`]+)`/g)]
        .flatMap((m) => m[1]!.split(/[^A-Za-z0-9_.-]+/))
        .flatMap((t) => [t, ...t.split('.')]),
    );
    const names = new Set<string>();
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) {
        for (const item of node) walk(item);
        return;
      }
      if (node === null || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (n.properties) for (const k of Object.keys(n.properties)) names.add(k);
      if (typeof n.const === 'string') names.add(n.const);
      if (Array.isArray(n.enum)) for (const e of n.enum) if (typeof e === 'string') names.add(e);
      for (const v of Object.values(n)) walk(v);
    };
    walk(scenarioJsonSchema());
    const missing = [...names].filter((k) => !documented.has(k));
    expect(
      missing,
      `add these to docs/drills.md, section 6 (the scenario file reference): ${missing.join(', ')}`,
    ).toEqual([]);
  });

  it('lists every top-level field, requires exactly those without a default, and allows no others', () => {
    const schema = scenarioJsonSchema() as {
      properties: Record<string, unknown>;
      required: string[];
      additionalProperties: boolean;
    };
    const shape = scenarioSchema.shape;
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(shape).sort());
    const mandatory = Object.entries(shape)
      .filter(([, field]) => !field.safeParse(undefined).success)
      .map(([k]) => k);
    expect([...schema.required].sort()).toEqual(mandatory.sort());
    expect(schema.additionalProperties).toBe(false);
  });
});
