import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  AAVE_V3_CORE_VERSION,
  aaveOracleAbi,
  aaveProtocolDataProviderAbi,
  aclManagerAbi,
  aTokenAbi,
  erc20Abi,
  poolAbi,
  poolAddressesProviderAbi,
  poolConfiguratorAbi,
  variableDebtTokenAbi,
} from './abi';
import { AAVE_V3_ABI_SOURCES } from './abi.codegen';

const require = createRequire(import.meta.url);

const generated: Record<keyof typeof AAVE_V3_ABI_SOURCES, unknown> = {
  poolAbi,
  poolConfiguratorAbi,
  aclManagerAbi,
  aaveOracleAbi,
  aaveProtocolDataProviderAbi,
  aTokenAbi,
  variableDebtTokenAbi,
  poolAddressesProviderAbi,
  erc20Abi,
};

describe('Aave v3 ABIs', () => {
  it('match the installed @aave/core-v3 artifacts (else run abi.codegen.ts)', () => {
    expect(AAVE_V3_CORE_VERSION).toBe((require('@aave/core-v3/package.json') as { version: string }).version);
    for (const [name, path] of Object.entries(AAVE_V3_ABI_SOURCES)) {
      const abi = generated[name as keyof typeof AAVE_V3_ABI_SOURCES];
      expect(abi, name).toEqual((require(path) as { abi: unknown }).abi);
    }
  });
});
