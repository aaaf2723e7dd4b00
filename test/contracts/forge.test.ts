/**
 * Runs the Solidity invariant suites in test/contracts/forge with forge (the `@foundry-rs/forge`
 * npm package, its binary shipped in a registry package; solc through the npm-solc shim; offline),
 * so that `npm test` fuzzes: the hub never executes off its allow-list nor below k confirmations;
 * the breaker conserves funds and never pays an outflow past its limit; the recovery vault never
 * releases early nor to an unapproved address; the backstop pool's shares add up to its assets.
 */
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const forge = join(root, 'node_modules', '.bin', 'forge');

describe('Solidity invariants (forge)', () => {
  it('every invariant holds over the fuzzed call sequences', { timeout: 240_000 }, async () => {
    const { stdout } = await promisify(execFile)(forge, ['test', '--offline'], {
      cwd: root,
      maxBuffer: 32 * 1024 * 1024,
      env: { ...process.env, NO_COLOR: '1', FOUNDRY_DISABLE_NIGHTLY_WARNING: '1' },
    }).catch((error: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`forge test failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
    });
    const passed = [...stdout.matchAll(/\[PASS\] (invariant_\w+)/g)].map((m) => m[1]);
    expect(passed).toEqual(
      expect.arrayContaining([
        'invariant_onlyAllowedCalls',
        'invariant_neverBelowThreshold',
        'invariant_conservesFunds',
        'invariant_heldIsLocked',
        'invariant_noOutflowPastTheLimit',
        'invariant_windowMatchesModel',
        'invariant_neverEarlyNorUnapproved',
        'invariant_conserved',
        'invariant_sharesAddUpToAssets',
        'invariant_solvent',
      ]),
    );
    expect(stdout).not.toMatch(/\[FAIL/);
  });
});
