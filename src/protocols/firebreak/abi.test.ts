import { describe, expect, it } from 'vitest';
import { firebreakArtifact } from '../../chain/artifacts';
import { backstopPoolAbi, breakerVaultAbi, circuitBreakerAbi, guardianHubAbi, recoveryVaultAbi } from './abi';
import { FIREBREAK_ABI_SOURCES } from './abi.codegen';

const generated: Record<keyof typeof FIREBREAK_ABI_SOURCES, unknown> = {
  guardianHubAbi,
  circuitBreakerAbi,
  recoveryVaultAbi,
  backstopPoolAbi,
  breakerVaultAbi,
};

describe('Firebreak contract ABIs', () => {
  it('match the compiled contracts (else run abi.codegen.ts)', () => {
    for (const [name, contract] of Object.entries(FIREBREAK_ABI_SOURCES)) {
      expect(generated[name as keyof typeof FIREBREAK_ABI_SOURCES], name).toEqual(
        firebreakArtifact(contract).abi,
      );
    }
  });
});
