import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from './store';

// Apart from store.test.ts so that Vitest runs this slow file (two initdb runs, ~8 s) in parallel.
describe('PGlite template', () => {
  const root = mkdtempSync(join(tmpdir(), 'firebreak-template-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('makes the template on first use, and a store from it matches one made by initdb', async () => {
    const templateCache = join(root, 'cache');
    const fromTemplate = await openStore({ dataDir: join(root, 'a'), templateCache });
    const viaInitdb = await openStore({ dataDir: join(root, 'b'), templateCache: false });
    const inMemory = await openStore({ memory: true, templateCache });
    try {
      expect([fromTemplate.origin, viaInitdb.origin, inMemory.origin]).toEqual([
        'template',
        'initdb',
        'template',
      ]);
      expect(readdirSync(templateCache)).toEqual([expect.stringMatching(/^pglite-\d+\.\d+\.\d+/)]);
      const settings = sql<{ name: string; setting: string }>`
        select name, setting from pg_settings
        where name in ('server_encoding', 'lc_collate', 'lc_ctype', 'TimeZone', 'server_version')
        order by name`;
      const tables = sql<{ table_name: string }>`
        select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
      const expected = (await settings.execute(viaInitdb.db)).rows;
      expect((await settings.execute(fromTemplate.db)).rows).toEqual(expected);
      expect((await settings.execute(inMemory.db)).rows).toEqual(expected);
      const expectedTables = (await tables.execute(viaInitdb.db)).rows;
      expect(expectedTables.map((t) => t.table_name)).toContain('timeline_events');
      expect((await tables.execute(fromTemplate.db)).rows).toEqual(expectedTables);
      expect((await tables.execute(inMemory.db)).rows).toEqual(expectedTables);
    } finally {
      await Promise.all([fromTemplate.close(), viaInitdb.close(), inMemory.close()]);
    }
  });
});
