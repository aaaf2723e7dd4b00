import { describe, expect, it } from 'vitest';
import { buildCall, type DeployedNames } from './custom-call';

const names: DeployedNames = {
  address: (name) =>
    ({
      USDC: '0x00000000000000000000000000000000000000Aa',
      alice: '0x00000000000000000000000000000000000000bB',
    })[name] as `0x${string}` | undefined,
  decimals: (symbol) => (symbol === 'USDC' ? 6 : undefined),
};

describe('buildCall', () => {
  it('resolves the contract and @names, converts integers and whole-token amounts, keeps bools and lists', () => {
    const call = buildCall(
      {
        contract: 'USDC',
        function: 'function f(address a, uint256 x, uint8[] ys, bool b, int256 z)',
        args: ['@alice', '1500.5 USDC', [1, '2'], true, '-7'],
      },
      names,
    );
    expect(call.to).toBe('0x00000000000000000000000000000000000000aa');
    expect(call.functionName).toBe('f');
    expect(call.args).toEqual([
      '0x00000000000000000000000000000000000000bB',
      1_500_500_000n,
      [1n, 2n],
      true,
      -7n,
    ]);
  });

  it('fails clearly on a name the deployed market does not have', () => {
    expect(() => buildCall({ contract: 'vault', function: 'f()', args: [] }, names)).toThrow(
      'contract "vault" is not deployed in this market',
    );
    expect(() => buildCall({ contract: 'USDC', function: 'f(address)', args: ['@bob'] }, names)).toThrow(
      '@bob is not deployed in this market',
    );
  });
});
