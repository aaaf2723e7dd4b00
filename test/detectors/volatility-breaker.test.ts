// volatility-breaker on Black Thursday's shape (SCENARIOS.md §4): WETH falls from $2,000 by 10% a
// block for ten blocks (to ~$700) on the feeds behind the real Aave v3 oracle; realised volatility
// over the window crosses 15% (high) and then 30% (critical). A few-percent walk before it does not.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/detectors/types';
import { type ActivityMarket, deployActivityMarket, runActivity, setFeedPrice } from '../support/activity';
import { above, brief, configWith, detectRange } from './support';

describe('volatility-breaker on a crash', () => {
  let am: ActivityMarket;
  let findings: Finding[];
  const crash: bigint[] = [];

  beforeAll(async () => {
    am = await deployActivityMarket();
    const warm = await runActivity(am, { blocks: 80, seed: 41 });
    let price = 2000;
    for (let i = 0; i < 10; i++) {
      price *= 0.9;
      crash.push(await am.mine(await setFeedPrice(am, 'WETH', Math.round(price * 100) / 100)));
    }
    const config = configWith(am, [
      {
        id: 'vol',
        type: 'volatility-breaker',
        market: 'aave',
        params: { sources: [{ asset: am.token('WETH'), symbol: 'WETH' }] },
      },
    ]);
    ({ findings } = await detectRange(config, am.chain.client, warm.from, crash.at(-1)!));
  }, 120_000);

  it('raises nothing above info during the ordinary walk', () => {
    expect(
      above(
        findings.filter((f) => f.block.number < crash[0]!),
        'info',
      ).map(brief),
    ).toEqual([]);
  });

  it('trips high on the third 10% drop and critical by the ninth, every block in between', () => {
    // √(k · ln(0.9)²) = 0.105·√k: 14.9% after two drops, 18.3% after three, 31.6% after nine.
    const bySeverity = (s: string) =>
      findings.filter((f) => f.severity === s).map((f) => crash.indexOf(f.block.number));
    expect(bySeverity('high')).toEqual([2, 3, 4, 5, 6, 7]);
    expect(bySeverity('critical')).toEqual([8, 9]);
    const last = findings.at(-1)!;
    expect(last.kind).toBe('anomaly');
    expect(last.evidence.volatilityBps).toBeGreaterThanOrEqual(3000);
    expect(last.evidence.largestStepBps).toBe(-1000);
  });
});
