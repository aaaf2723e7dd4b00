/**
 * The Cream Finance drill (SCENARIOS.md §8), staged over two blocks, on the real Aave v3 contracts
 * with an OpenZeppelin ERC-4626 vault share as collateral, priced by the VaultSharePriceFeed
 * adapter: the unprotected market loses more than the scenario's minimum to a donation that doubles
 * the value per share, and the default playbook, on the share-price-jump detector, contains the
 * share before the borrow lands. Also: the scenario file's vault-share checks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { isFirebreakError } from '../../../src/common/errors';
import { type DrillResult, runDrill } from '../../../src/drills/runner';
import { loadScenario, parseScenario } from '../../../src/drills/scenario';

const FILE = 'scenarios/cream-2021.yaml';
const scenario = loadScenario(FILE);

describe('drill: Cream Finance donation-inflated collateral, two blocks', () => {
  let result: DrillResult;
  beforeAll(async () => {
    result = await runDrill(scenario, { blockBudgetMs: 12_000 });
  }, 180_000);

  it('doubles the share price with no market trade: the oracle and the true price move together', () => {
    const cf = result.counterfactual;
    const donate = cf.steps.find((s) => s.label === 'donate')!;
    const before = cf.series.find((p) => p.block === Number(donate.block) - 1)!;
    const after = cf.series.find((p) => p.block === Number(donate.block))!;
    expect(after.prices.yUSD! / before.prices.yUSD!).toBeCloseTo(2, 4);
    expect(after.oraclePrices.yUSD! / before.oraclePrices.yUSD!).toBeCloseTo(2, 4);
    // The donated yCRV really sits in the vault: the reference follows the oracle, so no oracle gap.
    expect(after.oraclePrices.yUSD).toBeCloseTo(after.prices.yUSD!, 6);
    expect(after.prices.yCRV).toBe(before.prices.yCRV);
  });

  it('loses at least the scenario minimum when nobody responds, all of it the honest lenders’', () => {
    const cf = result.counterfactual;
    for (const s of cf.steps.filter((x) => x.actor !== 'market'))
      expect(s.status.every((t) => t === 'success')).toBe(true);
    expect(cf.scoredLossUsd).toBe(cf.attackerTakeUsd);
    expect(cf.scoredLossUsd).toBeGreaterThanOrEqual(scenario.score.minCounterfactualLossUsd);
    // What the attackers carry off cannot exceed what the honest suppliers lent (USDC and WETH).
    const honest = scenario.accounts
      .filter((a) => a.role === 'supplier')
      .flatMap((a) => Object.entries(a.supplies))
      .reduce((sum, [sym, n]) => sum + n * scenario.market.assets.find((x) => x.symbol === sym)!.priceUsd, 0);
    expect(cf.scoredLossUsd).toBeLessThanOrEqual(honest);
  });

  it('sees the jump, contains yUSD, and the containing transaction lands before the borrow', () => {
    const p = result.protected;
    const donate = p.steps.find((s) => s.label === 'donate')!;
    const borrows = p.steps.filter((s) => s.label === 'borrow');
    const jump = p.timeline.find((e) => e.type === 'finding' && e.summary.includes('share-price-jump'));
    expect(jump?.block).toBe(donate.block);
    expect(p.detectedBlock).toBe(donate.block);
    expect(p.mitigatedBeforeHarm).toBe(true);
    expect(p.mitigatedBlock!).toBeLessThanOrEqual(borrows[0]!.block!);
    for (const b of borrows) expect(b.status).toEqual(['reverted']);
    expect(p.actions.map((a) => [a.action, a.asset, a.status])).toEqual([
      ['aave-v3.contain-collateral', 'yUSD', 'verified'],
    ]);
  });

  it('passes: the protected run carries nothing off, the other reserves keep working', () => {
    const p = result.protected;
    expect(p.scoredLossUsd).toBe(0);
    // The circle's bad debt stays in both runs: the attackers' own, owed to their own yUSD claims.
    expect(p.attackerTakeUsd).toBeLessThan(0);
    expect(p.badDebtUsd).toBeGreaterThan(0);
    expect(p.usable).toEqual({ USDC: true, WETH: true });
    expect(result.reasons).toEqual([]);
    expect(result.verdict).toBe('pass');
  });
});

describe('scenario checks for vault shares', () => {
  const base = () => ({
    name: 'vault-check',
    title: 'vault check',
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
          symbol: 'yCRV',
          decimals: 18,
          priceUsd: 1.05,
          ltvBps: 0,
          liquidationThresholdBps: 0,
          liquidationBonusBps: 10000,
        },
        {
          symbol: 'yUSD',
          decimals: 18,
          priceUsd: 1.05,
          oracle: { vault: { underlying: 'yCRV' } },
          ltvBps: 7500,
          liquidationThresholdBps: 8000,
          liquidationBonusBps: 10800,
        } as Record<string, unknown>,
      ],
    },
    accounts: [{ name: 'a', role: 'attacker', holds: { yCRV: 10 } }],
    timeline: [{ block: 1, actor: 'a', do: 'vault-deposit', asset: 'yUSD', amount: 10 }] as Record<
      string,
      unknown
    >[],
  });
  const problems = (data: unknown): string[] => {
    try {
      parseScenario(data, 'x.yaml');
      return [];
    } catch (error) {
      if (!isFirebreakError(error)) throw error;
      expect(error.code).toBe('ERR_SCENARIO_INVALID');
      return ((error.details?.problems ?? []) as { path: unknown[]; message: string }[]).map(
        (p) => `${p.path.join('.')}: ${p.message}`,
      );
    }
  };

  it('accepts a vault share over a feed-priced underlying with its decimals and price', () => {
    expect(problems(base())).toEqual([]);
  });

  it('names an unknown underlying, a TWAP-priced one, other decimals and another starting price', () => {
    const unknown = base();
    unknown.market.assets[2]!.oracle = { vault: { underlying: 'DAI' } };
    expect(problems(unknown)).toEqual(['market.assets.2.oracle.vault.underlying: unknown asset "DAI"']);
    const off = base();
    off.market.assets[2]!.decimals = 6;
    off.market.assets[2]!.priceUsd = 2;
    expect(problems(off)).toEqual([
      "market.assets.2.decimals: a vault share has its underlying's decimals (18), not 6",
      "market.assets.2.priceUsd: a new vault's share is worth one yCRV ($1.05), not $2",
    ]);
    const share = base();
    share.market.assets[1]!.oracle = { vault: { underlying: 'USDC' } };
    share.market.assets[1]!.decimals = 6;
    share.market.assets[1]!.priceUsd = 1;
    expect(problems(share)).toContain(
      "market.assets.2.oracle.vault.underlying: the vault's underlying yCRV must be priced by a feed",
    );
  });

  it('refuses a set price on a share and a vault step on an asset that is not one', () => {
    const s = base();
    s.timeline = [
      { block: 1, do: 'set-price', asset: 'yUSD', priceUsd: 2 },
      { block: 2, actor: 'a', do: 'donate', asset: 'USDC', amount: 1 },
      { block: 3, actor: 'a', do: 'oracle-update', asset: 'yUSD' },
    ];
    expect(problems(s)).toEqual([
      "timeline.0.asset: yUSD is a vault share, priced from its vault and yCRV's price",
      'timeline.1.asset: USDC is not a vault share',
      'timeline.2.asset: yUSD is priced by a feed, which has no update()',
    ]);
  });
});
