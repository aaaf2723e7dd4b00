import { describe, expect, it } from 'vitest';
import { USDC_ASSET, WETH_ASSET } from '../../test/support/assets';
import { isFirebreakError } from '../common/errors';
import { expandTimeline, parseScenario } from './scenario';

const base = {
  name: 'unit',
  title: 'unit',
  market: {
    assets: [USDC_ASSET, WETH_ASSET],
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

describe('steps at times', () => {
  it('a time becomes the first block at or after it (12 s blocks by default)', () => {
    const s = parse([
      { time: 0, do: 'set-price', asset: 'WETH', priceUsd: 1900 },
      { time: '12s', do: 'set-price', asset: 'WETH', priceUsd: 1800 },
      { time: 13, do: 'set-price', asset: 'WETH', priceUsd: 1700 },
      { time: '1h30m', do: 'set-price', asset: 'WETH', priceUsd: 1600 },
      { block: 3, do: 'set-price', asset: 'WETH', priceUsd: 1500 },
    ]);
    expect(s.timeline.map((st) => st.block)).toEqual([1, 1, 2, 450, 3]);
    const fast = parse([{ time: '1m', do: 'set-price', asset: 'WETH', priceUsd: 1 }], {
      chain: { blockTimeSeconds: 2 },
    });
    expect(fast.timeline[0]!.block).toBe(30);
  });

  it('refuses a step with both or neither, and a malformed duration', () => {
    const both = problemsOf(() =>
      parse([{ block: 2, time: '5m', do: 'set-price', asset: 'WETH', priceUsd: 1 }]),
    );
    expect(both).toContain('timeline[0]');
    expect(both).toContain('exactly one of block or time, not both');
    const neither = problemsOf(() => parse([{ do: 'set-price', asset: 'WETH', priceUsd: 1 }]));
    expect(neither).toContain('exactly one of block or time');
    const bad = problemsOf(() => parse([{ time: '5 minutes', do: 'set-price', asset: 'WETH', priceUsd: 1 }]));
    expect(bad).toContain('timeline[0].time');
    expect(bad).toContain('15m');
  });
});

describe('mass withdrawals', () => {
  const suppliers = {
    accounts: [
      { name: 'alice', role: 'supplier', supplies: { USDC: 1000 } },
      { name: 'bob', role: 'supplier', supplies: { USDC: 3000, WETH: 1 } },
      { name: 'carol', role: 'supplier', supplies: { WETH: 2 } },
    ],
  };

  it('becomes one withdraw per supplier of the asset, in the same block, a share of each one’s supply', () => {
    const s = parse([{ block: 4, do: 'mass-withdraw', asset: 'USDC', share: 0.5, label: 'run' }], suppliers);
    expect(expandTimeline(s)).toEqual([
      { block: 4, actor: 'alice', do: 'withdraw', asset: 'USDC', amount: 500, label: 'run' },
      { block: 4, actor: 'bob', do: 'withdraw', asset: 'USDC', amount: 1500 },
    ]);
    const all = parse([{ block: 2, do: 'mass-withdraw', asset: 'WETH', accounts: ['carol'] }], suppliers);
    expect(expandTimeline(all)).toEqual([
      { block: 2, actor: 'carol', do: 'withdraw', asset: 'WETH', amount: 'all' },
    ]);
  });

  it('refuses an account that is unknown or supplies nothing of the asset, and an asset nobody supplies', () => {
    const msg = problemsOf(() =>
      parse([{ block: 2, do: 'mass-withdraw', asset: 'WETH', accounts: ['alice', 'dave'] }], suppliers),
    );
    expect(msg).toContain('timeline[0].accounts[0]');
    expect(msg).toContain('alice supplies no WETH');
    expect(msg).toContain('timeline[0].accounts[1]');
    expect(msg).toContain('unknown account "dave"');
    expect(problemsOf(() => parse([{ block: 2, do: 'mass-withdraw', asset: 'USDC' }]))).toContain(
      'no account supplies USDC',
    );
  });
});

describe('a feed that updates on deviation or heartbeat', () => {
  it('publishes to the market only on a 1 % move or after the heartbeat; the reference moves every block', () => {
    const s = parse([
      {
        block: 1,
        do: 'price-path',
        asset: 'WETH',
        blocks: 10,
        points: [
          [2, 2010],
          [3, 2015],
          [4, 2030],
          [10, 2030],
        ],
        feedUpdates: { deviationBps: 100, heartbeatSeconds: 60 },
      },
    ]);
    const steps = expandTimeline(s).filter((st) => st.do === 'set-price');
    const reference = steps.filter((st) => st.do === 'set-price' && st.feeds === 'reference');
    const market = steps.filter((st) => st.do === 'set-price' && st.feeds === 'protocol');
    expect(reference).toHaveLength(10);
    // 2000 published at the start: +1.5 % at block 4 publishes; 60 s = 5 blocks later, block 9.
    expect(market.map((st) => [st.block, st.do === 'set-price' && st.priceUsd])).toEqual([
      [4, 2030],
      [9, 2030],
    ]);
  });

  it('with lagBlocks, a triggered update lands that many blocks later', () => {
    const s = parse([
      {
        block: 1,
        do: 'price-path',
        asset: 'WETH',
        blocks: 3,
        to: 1700,
        lagBlocks: 2,
        feedUpdates: { deviationBps: 1000, heartbeatSeconds: 3600 },
      },
    ]);
    const market = expandTimeline(s).filter((st) => st.do === 'set-price' && st.feeds === 'protocol');
    // 1900 (−5 %), 1800 (−10 % from 2000: published at block 2, lands at 4), 1700 (−5.6 % from 1800).
    expect(market.map((st) => [st.block, st.do === 'set-price' && st.priceUsd])).toEqual([[4, 1800]]);
  });
});

describe('call steps', () => {
  const call = (extra: Record<string, unknown>) =>
    parse([
      {
        block: 1,
        actor: 'alice',
        do: 'call',
        contract: 'WETH',
        function: 'transfer(address,uint256)',
        ...extra,
      },
    ]);

  it('accepts a signature with or without `function`, @names and whole-token amounts', () => {
    const s = call({ args: ['@alice', '1.5 WETH'] });
    expect(s.timeline[0]).toMatchObject({ do: 'call', gas: 1_000_000, args: ['@alice', '1.5 WETH'] });
    expect(
      parse([
        {
          block: 1,
          actor: 'alice',
          do: 'call',
          contract: 'aave.configurator',
          function: 'function setReserveFreeze(address asset, bool freeze)',
          args: ['@USDC', true],
        },
      ]).timeline,
    ).toHaveLength(1);
  });

  it('names an unknown contract, a bad signature, a wrong argument count and a bad argument', () => {
    expect(problemsOf(() => call({ contract: 'vault', args: ['@alice', 1] }))).toMatch(
      /timeline\[0\]\.contract[\s\S]*unknown contract "vault"/,
    );
    expect(problemsOf(() => call({ function: 'transfer(address', args: [] }))).toMatch(
      /timeline\[0\]\.function[\s\S]*not a function signature/,
    );
    expect(problemsOf(() => call({ args: ['@alice'] }))).toMatch(/takes 2 argument\(s\), the step gives 1/);
    const bad = problemsOf(() => call({ args: ['@nobody', '2 DAI'] }));
    expect(bad).toMatch(/timeline\[0\]\.args\[0\][\s\S]*"@nobody" is not an address or a known @name/);
    expect(bad).toMatch(/timeline\[0\]\.args\[1\][\s\S]*"2 DAI" is not an integer/);
  });
});
