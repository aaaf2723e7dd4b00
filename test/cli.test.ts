// The command line as a user meets it: bad input gets a clear message and exit code 2, never a
// stack trace; an unreachable RPC is named without its credentials.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const firebreak = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/firebreak.mjs', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('firebreak CLI', () => {
  it('prints help', () => {
    const r = firebreak('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('firebreak drill <scenario.yaml>');
  });

  it('rejects a malformed scenario with file, path and fix, exit 2', () => {
    const r = firebreak('drill', 'test/fixtures/bad-scenario.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('test/fixtures/bad-scenario.yaml');
    expect(r.stderr).toContain('timeline[0].amount');
    expect(r.stderr).toMatch(/fix: /);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('says a wrong type is a wrong type, with the line', () => {
    const r = firebreak('drill', 'test/fixtures/bad-scenario.yaml');
    expect(r.stderr).toContain('(line 14)');
    expect(r.stderr).toContain('fix: use a value of type number');
  });

  it('names an unknown asset reference in a scenario and the assets that exist', () => {
    const r = firebreak('drill', 'test/fixtures/bad-reference-scenario.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('timeline[0].asset (line 9): unknown asset "WBTC"');
    expect(r.stderr).toContain('fix: use one of market.assets: USDC');
  });

  it('rejects a malformed config with file, path and fix, exit 2', () => {
    const r = firebreak('config', 'check', 'test/fixtures/bad-config.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('test/fixtures/bad-config.yaml');
    expect(r.stderr).toContain('chains[0].rpc[0]');
    expect(r.stderr).toMatch(/fix: /);
  });

  it('reports a wrong cross-reference in a config, with the names that exist', () => {
    const r = firebreak('config', 'check', 'test/fixtures/bad-reference-config.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('markets[0].chain');
    expect(r.stderr).toContain('unknown chain "mainet"');
    expect(r.stderr).toContain('"mainnet"');
  });

  it('names a referenced secret that is not set, with its path and the fix, exit 2', () => {
    const r = firebreak('config', 'check', 'test/fixtures/secret-config.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('test/fixtures/secret-config.yaml');
    expect(r.stderr).toContain(
      'chains[0].rpc[0]: environment variable FIREBREAK_TEST_UNSET_RPC_URL is not set',
    );
    expect(r.stderr).toContain('fix: export FIREBREAK_TEST_UNSET_RPC_URL=');
    expect(firebreak('config', 'check', 'test/fixtures/secret-config.yaml', '--skip-secrets').code).toBe(0);
  });

  it('accepts a valid config', () => {
    expect(firebreak('config', 'check', 'test/fixtures/unreachable-config.yaml').code).toBe(0);
  });

  it('fails clearly on an unreachable RPC, without its credentials or a stack trace', () => {
    const r = firebreak('run', '--config', 'test/fixtures/unreachable-config.yaml');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach the RPC endpoint(s) of chain "mainnet"');
    expect(r.stderr).not.toContain('secret-api-key-123');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects an unknown command with exit 2', () => {
    expect(firebreak('frobnicate').code).toBe(2);
  });

  it('rejects a missing scenario file with exit 2', () => {
    const r = firebreak('drill', 'scenarios/does-not-exist.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no such scenario file');
  });
});
