import { describe, expect, it } from 'vitest';
import { isFirebreakError } from '../common/errors';
import { expandTimeline, parseScenario } from './scenario';

const base = {
  name: 'unit',
  title: 'unit',
  market: {
    assets: [
      {
        symbol: 'USDC',
        decimals: 6,
        priceUsd: 1,
        ltvBps: 8000,
        liquidationThresholdBps: 8500,
        liquidationBonusBps: 10500,
      },
      {
        symbol: 'WETH',
        decimals: 18,
        priceUsd: 2000,
        ltvBps: 8000,
        liquidationThresholdBps: 8250,
        liquidationBonusBps: 10500,
      },
    ],
    pools: [{ id: 'WETH-USDC', tokens: ['WETH', 'USDC'], reserves: [100, 200000] }],
  },
  accounts: [{ name: 'alice', role: 'user', holds: { WETH: 1 } }],
};

const parse = (timeline: unknown[], extra: Record<string, unknown> = {}) =>
  parseScenario({ ...base, ...extra, timeline }, 'unit.yaml');

const problemsOf = (f: () => unknown): string => {
  try {
    f();
  } catch (error) {
    if (isFirebreakError(error, 'ERR_SCENARIO_INVALID')) return error.message;
    throw error;
  }
  throw new Error('expected the scenario to be refused');
};

describe('price paths', () => {
  it('a straight line ends at its target, one price per block, from the current price', () => {
    const s = parse([
      { block: 1, do: 'set-price', asset: 'WETH', priceUsd: 1000 },
      { block: 5, do: 'price-path', asset: 'WETH', blocks: 4, to: 500 },
    ]);
    const steps = expandTimeline(s).filter((st) => st.do === 'set-price');
    expect(steps.map((st) => [st.block, st.do === 'set-price' && st.priceUsd])).toEqual([
      [1, 1000],
      [5, 875],
      [6, 750],
      [7, 625],
      [8, 500],
    ]);
  });

  it('points are joined by straight lines and the last one holds', () => {
    const s = parse([
      {
        block: 10,
        do: 'price-path',
        asset: 'WETH',
        blocks: 6,
        points: [
          [2, 1000],
          [4, 3000],
        ],
      },
    ]);
    const prices = expandTimeline(s).map((st) => (st.do === 'set-price' ? st.priceUsd : null));
    expect(prices).toEqual([1500, 1000, 2000, 3000, 3000, 3000]);
  });

  it('a random walk is the same for the same seed and differs for another', () => {
    const path = (seed: number) =>
      expandTimeline(
        parse([{ block: 1, do: 'price-path', asset: 'WETH', blocks: 50, gbm: { volatilityBps: 100 } }], {
          seed,
        }),
      ).map((st) => (st.do === 'set-price' ? st.priceUsd : 0));
    expect(path(7)).toEqual(path(7));
    expect(path(7)).not.toEqual(path(8));
    expect(path(7).every((p) => p > 0)).toBe(true);
  });

  it('a lagging market feed gets each price lagBlocks after the true one', () => {
    const s = parse([{ block: 3, do: 'price-path', asset: 'WETH', blocks: 2, to: 1000, lagBlocks: 3 }]);
    const steps = expandTimeline(s).map((st) => st.do === 'set-price' && [st.block, st.feeds, st.priceUsd]);
    expect(steps).toEqual([
      [3, 'reference', 1500],
      [4, 'reference', 1000],
      [6, 'protocol', 1500],
      [7, 'protocol', 1000],
    ]);
  });

  it('refuses a path with no shape or two, and points beyond its end', () => {
    expect(problemsOf(() => parse([{ block: 1, do: 'price-path', asset: 'WETH', blocks: 3 }]))).toMatch(
      /exactly one of to, points or gbm/,
    );
    expect(
      problemsOf(() =>
        parse([{ block: 1, do: 'price-path', asset: 'WETH', blocks: 3, to: 1, gbm: { volatilityBps: 1 } }]),
      ),
    ).toMatch(/exactly one of to, points or gbm/);
    expect(
      problemsOf(() => parse([{ block: 1, do: 'price-path', asset: 'WETH', blocks: 3, points: [[9, 1]] }])),
    ).toMatch(/timeline\[0\]\.points\[0\]\[0\]|timeline\.0\.points\.0\.0|beyond the path/);
  });
});

describe('references in the new sections', () => {
  it('names an unknown asset in borrows, an unknown pool in a bot, and a clash of names', () => {
    const message = problemsOf(() =>
      parse([{ block: 1, actor: 'alice', do: 'withdraw', asset: 'WETH', amount: 'all' }], {
        accounts: [{ name: 'alice', role: 'user', borrows: { DAI: 5 } }],
        bots: [
          { kind: 'arbitrageur', name: 'arb', pools: ['NOPE'] },
          { kind: 'liquidator', name: 'alice' },
        ],
      }),
    );
    expect(message).toMatch(/unknown asset "DAI"/);
    expect(message).toMatch(/unknown pool "NOPE"/);
    expect(message).toMatch(/duplicate account, population and bot names "alice"/);
  });

  it('refuses detectBefore naming no step', () => {
    expect(
      problemsOf(() =>
        parse([{ block: 1, do: 'set-price', asset: 'WETH', priceUsd: 1 }], { score: { detectBefore: 'x' } }),
      ),
    ).toMatch(/no timeline step has label "x"/);
  });
});
