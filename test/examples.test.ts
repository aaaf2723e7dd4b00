// The example configurations shipped in examples/ stay valid and say the same thing in YAML and TS.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load';

describe('examples/', () => {
  it('the YAML and the TypeScript example load to the same configuration', async () => {
    const yaml = await loadConfig('examples/firebreak.config.yaml');
    const ts = await loadConfig('examples/firebreak.config.ts');
    expect(ts).toEqual(yaml);
    expect(yaml.executors[0]?.dryRun).toBe(true); // an example never acts for real by default
  });
});
