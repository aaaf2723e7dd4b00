// amm-manipulation fires on the Inverse Finance swap (SCENARIOS.md §1): 300 WETH into a thin
// INV/WETH pool of 432 INV / 46 WETH, a ~56× move in one transaction, on real Uniswap v2 pairs next
// to the real Aave v3 market; ordinary trading before it raises nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/detectors/types';
import { toUnits } from '../../src/drills/market';
import { planSwapExactIn, readPair } from '../../src/protocols/uniswap-v2/pool';
import { type ActivityMarket, deployActivityMarket, runActivity } from '../support/activity';
import { above, brief, configWith, detectRange } from './support';

describe('amm-manipulation on a thin-pool manipulation', () => {
  let am: ActivityMarket;
  let findings: Finding[];
  let attackBlock: bigint;
  let swapTx: string;

  beforeAll(async () => {
    am = await deployActivityMarket({
      assets: [{ symbol: 'INV', decimals: 18, priceUsd: 367.36 }],
      pools: [{ id: 'INV-WETH', tokens: ['INV', 'WETH'], reserves: [432, 46] }],
      accounts: [{ name: 'attacker', holds: { WETH: 301 } }],
    });
    const warm = await runActivity(am, { blocks: 60, seed: 11 });
    const pair = am.market.pools.get('INV-WETH')!;
    const attacker = am.account('attacker');
    const plan = planSwapExactIn(await readPair(am.chain.client, pair), {
      pair,
      tokenIn: am.token('WETH'),
      amountIn: toUnits(300, 18),
      to: attacker.address,
    });
    const hashes = await am.send(attacker, [plan.calls[0], plan.calls[1]]);
    swapTx = hashes[1]!;
    attackBlock = await am.mine(hashes);
    const tail = await runActivity(am, { blocks: 5, seed: 12 });
    const config = configWith(am, [
      {
        id: 'amm',
        type: 'amm-manipulation',
        chain: 'embedded',
        params: { pools: [...am.market.pools].map(([id, p]) => ({ pair: p, symbol: id })) },
      },
    ]);
    ({ findings } = await detectRange(config, am.chain.client, warm.from, tail.to));
  }, 120_000);

  it('raises nothing above info on the ordinary trading before the attack', () => {
    expect(
      above(
        findings.filter((f) => f.block.number < attackBlock),
        'info',
      ).map(brief),
    ).toEqual([]);
  });

  it('raises a critical manipulation finding on the swap transaction itself', () => {
    const hits = findings.filter((f) => f.block.number === attackBlock);
    expect(hits.map((f) => [f.severity, f.kind, f.subject.market])).toEqual([
      ['critical', 'manipulation', am.market.pools.get('INV-WETH')!],
    ]);
    const f = hits[0]!;
    expect(f.evidence.tx).toBe(swapTx);
    // 300 WETH into 46: the WETH side grows 7.5×, the price of the WETH-side token ~56×.
    expect(Number(f.evidence.txMoveBps)).toBeGreaterThan(5000 * 10);
    expect(Number(f.evidence.tradeShareOfDepth)).toBeGreaterThan(6);
    expect(f.title).toContain('in one transaction');
    expect(f.evidence.flashLoan).toBe(false);
  });

  it('does not fire on the deep WETH/USDC pool that traded in the same blocks', () => {
    expect(findings.filter((f) => f.subject.market === am.market.pools.get('WETH-USDC'))).toEqual([]);
  });
});
