import { describe, expect, it } from 'vitest';
import { FirebreakError } from '../common/errors';
import { evaluate, namesIn, parseExpression, type Value } from './expression';

const run = (text: string, scope: Record<string, Value> = {}) =>
  evaluate(parseExpression(text), async (name) => {
    if (!(name in scope)) throw new Error(`unknown ${name}`);
    return scope[name]!;
  });

describe('rule conditions', () => {
  it('compares bigints exactly, beyond a double', async () => {
    expect(await run('value > 1000', { value: 1001n })).toBe(true);
    expect(await run('value >= 10000000000000000000001', { value: 10n ** 22n + 1n })).toBe(true);
    expect(await run('value > 10000000000000000000001', { value: 10n ** 22n + 1n })).toBe(false);
  });

  it('takes percentages of a value in exact basis points', async () => {
    expect(await run('amount > 5% of totalSupply', { amount: 51n, totalSupply: 1000n })).toBe(true);
    expect(await run('amount > 5% of totalSupply', { amount: 50n, totalSupply: 1000n })).toBe(false);
    expect(await run('amount >= 0.25% of supply', { amount: 25n, supply: 10_000n })).toBe(true);
    expect(() => parseExpression('a > 0.125% of b')).toThrow(/more than 2 decimals/);
  });

  it('reads numbers with underscores and exponents', async () => {
    expect(await run('x == 1_000_000', { x: 1_000_000n })).toBe(true);
    expect(await run('x == 1e18', { x: 10n ** 18n })).toBe(true);
    expect(await run('x == 2.5e6', { x: 2_500_000n })).toBe(true);
    expect(() => parseExpression('x == 2.5')).toThrow(/not a whole number/);
  });

  it('compares addresses case-insensitively and joins with && || ! and parentheses', async () => {
    const scope = { from: '0xAbCd000000000000000000000000000000000001', value: 5n };
    expect(await run('from == 0xabcd000000000000000000000000000000000001', scope)).toBe(true);
    expect(await run('!(value > 4) || from != 0x00', scope)).toBe(true);
    expect(await run('value > 4 && (value < 5 || value == 5)', scope)).toBe(true);
    expect(await run('(value + 5) * 2 / 4 == 5 && value - 6 < 0', scope)).toBe(true);
  });

  it('evaluates lazily: the right side of a decided && or || is not resolved', async () => {
    const asked: string[] = [];
    const expr = parseExpression('a > 1 && expensive > 0');
    await evaluate(expr, async (n) => {
      asked.push(n);
      return 0n;
    });
    expect(asked).toEqual(['a']);
  });

  it('names the names a condition uses', () => {
    expect([...namesIn(parseExpression('value > 5% of totalSupply && !(to == from)'))].sort()).toEqual([
      'from',
      'to',
      'totalSupply',
      'value',
    ]);
  });

  it('rejects bad syntax with ERR_CONFIG_INVALID, saying where', () => {
    for (const bad of ['', 'a >', 'a > > b', '(a > b', 'a > b)', 'a # b', '5% totalSupply']) {
      let error: unknown;
      try {
        parseExpression(bad);
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(FirebreakError);
      expect((error as FirebreakError).code).toBe('ERR_CONFIG_INVALID');
    }
  });

  it('fails evaluation on a type mismatch or division by zero, not silently', async () => {
    await expect(run('from > 5', { from: '0xab' })).rejects.toThrow(/not a number/);
    await expect(run('a / b > 1', { a: 1n, b: 0n })).rejects.toThrow(/division by zero/);
  });
});
