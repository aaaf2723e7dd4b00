// Every built-in detector stays quiet over 1,000 blocks of ordinary activity on the real Aave v3
// market and Uniswap v2 pools (supplies, borrows, repayments, withdrawals, swaps, prices walking a
// few percent, one large but legitimate withdrawal): nothing above `info`. The run is also
// replayed to check that the same blocks give the same findings with the same ids.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ActivityMarket,
  type ActivityReport,
  deployActivityMarket,
  runActivity,
} from '../support/activity';
import {
  above,
  allBuiltins,
  brief,
  configWith,
  type DetectorInput,
  detectRange,
  positionBuiltins,
  type RangeResult,
} from './support';

const BLOCKS = 1000;
/** `concentration` on every asset of the market, both sides, each weighed against its pools. */
const concentration = (am: ActivityMarket): DetectorInput => {
  const pools = am.market.pools;
  return {
    id: 'concentration',
    type: 'concentration',
    market: 'aave',
    params: {
      assets: [
        { asset: am.token('USDC'), symbol: 'USDC', pairs: [pools.get('WETH-USDC')!, pools.get('DAI-USDC')!] },
        { asset: am.token('DAI'), symbol: 'DAI', pairs: [pools.get('DAI-USDC')!] },
        { asset: am.token('WETH'), symbol: 'WETH', pairs: [pools.get('WETH-USDC')!] },
      ],
    },
  };
};
/** Every built-in, those reading the market's position book included (the book kept from block 0). */
const everyBuiltin = (am: ActivityMarket) =>
  configWith(am, [...allBuiltins(am), ...positionBuiltins(am), concentration(am)], { positionsFromBlock: 0 });

describe('quiet run: 1,000 blocks of ordinary activity', () => {
  let am: ActivityMarket;
  let activity: ActivityReport;
  let result: RangeResult;
  let seconds: { activity: number; detect: number };

  beforeAll(async () => {
    am = await deployActivityMarket();
    let t = performance.now();
    activity = await runActivity(am, { blocks: BLOCKS, seed: 20230310, largeWithdrawalAt: 600 });
    const activitySeconds = (performance.now() - t) / 1000;
    t = performance.now();
    result = await detectRange(everyBuiltin(am), am.chain.client, activity.from, activity.to);
    seconds = { activity: activitySeconds, detect: (performance.now() - t) / 1000 };
    const total = Object.values(result.msByDetector).reduce((s, v) => s + v, 0);
    // biome-ignore lint/suspicious/noConsole: the test reports the figures it measured
    console.log(
      `quiet run: ${BLOCKS} blocks, ${activity.txs} txs in ${seconds.activity.toFixed(1)} s; detectors ${seconds.detect.toFixed(1)} s;`,
      Object.entries(result.msByDetector)
        .map(([id, ms]) => `${id} ${(ms / BLOCKS).toFixed(2)} ms/block (${((100 * ms) / total).toFixed(0)}%)`)
        .join(', '),
    );
  }, 170_000);

  it('made the activity it claims: every kind of action, prices moving a few percent', () => {
    expect(result.blocks).toBe(BLOCKS);
    for (const kind of ['supply', 'borrow', 'repay', 'withdraw', 'swap', 'price', 'large-withdrawal'])
      expect(activity.actions[kind] ?? 0, kind).toBeGreaterThan(0);
    const prices = activity.wethPrices;
    const range = (Math.max(...prices) - Math.min(...prices)) / prices[0]!;
    expect(range).toBeGreaterThan(0.02);
    expect(range).toBeLessThan(0.13);
  });

  it('raises nothing above info', () => {
    expect(above(result.findings, 'info').map(brief)).toEqual([]);
  });

  it('ran every built-in, the position-book ones on a real book', () => {
    for (const id of [
      'solvency',
      'liquidity-exhaustion',
      'concentration',
      'outflow-rate',
      'oracle-deviation',
    ])
      expect(result.msByDetector[id], id).toBeGreaterThan(0);
    // A missing book would have been a `degraded` finding on every block.
    expect(result.findings.filter((f) => f.kind === 'degraded').map(brief)).toEqual([]);
  });

  it('sees the large withdrawal, and calls it legitimate (info: paid for by its claim)', () => {
    const large = activity.largeWithdrawal!;
    const seen = result.findings.filter((f) => f.detector === 'outflow-rate' && f.evidence.tx === large.tx);
    expect(seen.map((f) => [f.severity, f.kind, f.evidence.outflow])).toEqual([
      ['info', 'liquidity', large.amount.toString()],
    ]);
    expect(seen[0]!.subject.account).toBe(am.account('whale').address.toLowerCase());
  });

  it('gives the same findings with the same ids when the same blocks are run again', async () => {
    // 200 blocks around the large withdrawal, twice, each from a fresh state.
    const large = activity.largeWithdrawal!.block;
    const run = () => detectRange(everyBuiltin(am), am.chain.client, large - 100n, large + 99n);
    const [a, b] = [await run(), await run()];
    expect(a.findings.length).toBeGreaterThan(0);
    expect(b.findings.map((f) => f.id)).toEqual(a.findings.map((f) => f.id));
    expect(b.findings).toEqual(a.findings);
  }, 60_000);
});
