// share-price-jump on the Cream Finance shape (SCENARIOS.md §8): value per share of an
// exchange-rate asset — here the real Uniswap v2 DAI/USDC LP token — jumps 50% in one block from a
// donation (tokens sent to the pair, then `sync()`), with no trade behind it. Swaps before it
// (which grow the value per share only by their fees) raise nothing.
import type { Hex } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/detectors/types';
import { toUnits } from '../../src/drills/market';
import { erc20Abi } from '../../src/protocols/aave-v3/abi';
import { uniswapV2PairAbi } from '../../src/protocols/uniswap-v2/abi';
import { readPair } from '../../src/protocols/uniswap-v2/pool';
import { type ActivityMarket, deployActivityMarket, runActivity } from '../support/activity';
import { above, brief, configWith, detectRange } from './support';

describe('share-price-jump on a donation', () => {
  let am: ActivityMarket;
  let pair: Hex;
  let findings: Finding[];
  let donationBlock: bigint;

  beforeAll(async () => {
    am = await deployActivityMarket({
      accounts: [{ name: 'donor', holds: { USDC: 2_000_000, DAI: 2_000_000 } }],
    });
    const warm = await runActivity(am, { blocks: 60, seed: 61 });
    pair = am.market.pools.get('DAI-USDC')!;
    const before = await readPair(am.chain.client, pair);
    const half = (r: bigint) => r / 2n;
    const [r0, r1] = [half(before.reserve0), half(before.reserve1)];
    const donor = am.account('donor');
    donationBlock = await am.mine(
      await am.send(donor, [
        { to: before.token0, abi: erc20Abi, functionName: 'transfer', args: [pair, r0], gas: 120_000n },
        { to: before.token1, abi: erc20Abi, functionName: 'transfer', args: [pair, r1], gas: 120_000n },
        { to: pair, abi: uniswapV2PairAbi, functionName: 'sync', args: [], gas: 150_000n },
      ]),
    );
    const tail = await runActivity(am, { blocks: 5, seed: 62 });
    const config = configWith(am, [
      {
        id: 'lp-share',
        type: 'share-price-jump',
        chain: 'embedded',
        params: { assets: [...am.market.pools].map(([id, p]) => ({ pair: p, symbol: `${id} LP` })) },
      },
    ]);
    ({ findings } = await detectRange(config, am.chain.client, warm.from, tail.to));
    expect(toUnits(1, 6)).toBe(1_000_000n);
  }, 120_000);

  it('raises nothing above info while the pools only trade', () => {
    expect(
      above(
        findings.filter((f) => f.block.number < donationBlock),
        'info',
      ).map(brief),
    ).toEqual([]);
  });

  it('raises a critical manipulation finding on the donation block, with no trade behind it', () => {
    const hits = findings.filter((f) => f.block.number === donationBlock);
    expect(
      hits.map((f) => [f.severity, f.kind, f.subject.asset, f.evidence.direction, f.evidence.tradesInBlock]),
    ).toEqual([['critical', 'manipulation', pair, 'up', 0]]);
    // Both reserves grew by half with the LP supply unchanged: √(1.5·1.5) = 1.5×.
    expect(hits[0]!.evidence.changeBps).toBeGreaterThanOrEqual(4990);
    expect(hits[0]!.evidence.changeBps).toBeLessThanOrEqual(5000);
    expect(hits[0]!.title).toContain('with no trade behind it');
  });

  it('stays quiet after the jump (the new value is the new baseline)', () => {
    expect(findings.filter((f) => f.block.number > donationBlock)).toEqual([]);
  });
});
