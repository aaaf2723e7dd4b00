// oracle-deviation with several references — the reference feed and the real Uniswap v2 WETH/USDC
// pool's TWAP (weighted by its depth) — on the real Aave v3 oracle: a 7% gap (under the 10%
// instant line) is raised once it has lasted 10 blocks, and a doubled price at once, as critical.
// (The thin-pool manipulation end to end is test/drill-inverse-finance.test.ts.)
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/detectors/types';
import { type ActivityMarket, deployActivityMarket, runActivity, setFeedPrice } from '../support/activity';
import { above, brief, configWith, detectRange } from './support';

describe('oracle-deviation against a feed and a pool TWAP', () => {
  let am: ActivityMarket;
  let findings: Finding[];
  const gap: bigint[] = [];
  let doubled: bigint;

  beforeAll(async () => {
    am = await deployActivityMarket();
    const warm = await runActivity(am, { blocks: 60, seed: 81 });
    // The market's WETH feed falls 7% under the true price and stays there; the reference feed
    // and the pool do not follow.
    gap.push(await am.mine(await setFeedPrice(am, 'WETH', 1860, 'protocol')));
    for (let i = 0; i < 12; i++) gap.push(await am.mine());
    doubled = await am.mine(await setFeedPrice(am, 'WETH', 4000, 'protocol'));
    const config = configWith(am, [
      {
        id: 'weth-oracle',
        type: 'oracle-deviation',
        market: 'aave',
        params: {
          assets: [
            {
              asset: am.token('WETH'),
              symbol: 'WETH',
              references: [
                { feed: am.market.referenceFeeds.get('WETH')! },
                {
                  pair: am.market.pools.get('WETH-USDC')!,
                  quoteFeed: am.market.referenceFeeds.get('USDC')!,
                  twapBlocks: 30,
                },
              ],
            },
          ],
        },
      },
    ]);
    ({ findings } = await detectRange(config, am.chain.client, warm.from, doubled));
  }, 120_000);

  it('raises nothing while the oracle follows its references', () => {
    expect(
      above(
        findings.filter((f) => f.block.number < gap[0]!),
        'info',
      ).map(brief),
    ).toEqual([]);
  });

  it('raises the small gap only once it has lasted 10 blocks, then every block', () => {
    const sustained = findings.filter((f) => f.block.number >= gap[0]! && f.block.number < doubled);
    expect(sustained.map((f) => gap.indexOf(f.block.number))).toEqual([9, 10, 11, 12]);
    for (const f of sustained) {
      expect(f.severity).toBe('high');
      expect(Number(f.evidence.deviationBps)).toBeGreaterThanOrEqual(500);
      expect(Number(f.evidence.deviationBps)).toBeLessThan(1000);
    }
    expect(sustained[0]!.evidence.sustainedBlocks).toBe(10);
    expect(sustained[0]!.title).toContain('for 10 blocks');
  });

  it('uses both references: the feed and the pool TWAP with its depth', () => {
    const f = findings.find((x) => x.block.number === gap[9])!;
    expect(f.evidence.references).toBe(2);
    expect(f.evidence.poolTwap).toBe(true);
    // 2,000,000 USDC a side, give or take the trading: ~4M USD of depth.
    expect(Number(f.evidence.poolDepthUsd)).toBeGreaterThan(3_500_000);
    expect(Number(f.evidence.poolDepthUsd)).toBeLessThan(4_500_000);
    const pool = BigInt(f.evidence.poolPrice as string);
    const feed = BigInt(f.evidence.feedPrices as string);
    // The pool tracks the true price within a few percent; the reference is their mean.
    expect(Number((pool * 1000n) / feed)).toBeGreaterThan(950);
    expect(Number((pool * 1000n) / feed)).toBeLessThan(1050);
    expect(f.evidence.referencePrice).toBe(((pool + feed) / 2n).toString());
  });

  it('raises a doubled price at once, as critical', () => {
    const hits = findings.filter((f) => f.block.number === doubled);
    expect(hits.map((f) => [f.severity, f.kind])).toEqual([['critical', 'manipulation']]);
    expect(hits[0]!.evidence.sustainedBlocks).toBeUndefined();
  });
});
