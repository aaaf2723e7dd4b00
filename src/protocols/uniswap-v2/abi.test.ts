import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  erc20Abi,
  UNISWAP_V2_CORE_VERSION,
  uniswapV2Artifact,
  uniswapV2FactoryAbi,
  uniswapV2PairAbi,
} from './abi';
import { UNISWAP_V2_ABI_SOURCES } from './abi.codegen';

const require = createRequire(import.meta.url);

const generated: Record<keyof typeof UNISWAP_V2_ABI_SOURCES, unknown> = {
  uniswapV2FactoryAbi,
  uniswapV2PairAbi,
  erc20Abi,
};

describe('Uniswap v2 ABIs', () => {
  it('match the installed @uniswap/v2-core build (else run abi.codegen.ts)', () => {
    expect(UNISWAP_V2_CORE_VERSION).toBe(
      (require('@uniswap/v2-core/package.json') as { version: string }).version,
    );
    for (const [name, path] of Object.entries(UNISWAP_V2_ABI_SOURCES)) {
      const abi = generated[name as keyof typeof UNISWAP_V2_ABI_SOURCES];
      expect(abi, name).toEqual((require(path) as { abi: unknown }).abi);
    }
  });

  it('adapts the Waffle artifacts to 0x-prefixed bytecode', () => {
    const pair = uniswapV2Artifact('UniswapV2Pair');
    expect(pair.bytecode.startsWith('0x60')).toBe(true);
    expect(pair.contractName).toBe('UniswapV2Pair');
    expect(uniswapV2Artifact('UniswapV2Pair')).toBe(pair);
  });
});
