/**
 * Prediction meets reality at scale (issue 4): on the embedded chain, a real Aave v3 market holding
 * a few thousand generated positions (WETH collateral, USDC debt) and a thin WETH/USDC Uniswap v2
 * pool is shocked — both price feeds drop, and a trader's real swap carries the pool to the new
 * price — and the drill's own liquidator bot (src/drills/bots, `kind: liquidator`) liquidates
 * through `liquidationCall` and sells every seized WETH into that pool, for as long as a sale
 * covers the USDC it repaid, three a block at most. The risk engine's cascade, run on the
 * positions and the pool read before the shock, must predict both the debt liquidated and the bad
 * debt left on-chain within 10 %.
 *
 * The comparison is made to mean something: the shock leaves most liquidatable positions stuck
 * (the pool is thin: after the first few liquidations no sale pays), the bot's liquidations span
 * several blocks, the bad debt is material, and the run ends blocks after the
 * last liquidation (the on-chain cascade had settled).
 */
import type { Hex } from 'viem';
import { afterAll, describe, expect, it } from 'vitest';
import { createCommon } from '../../src/common/common';
import { predictDrillCascade } from '../../src/drills/predict';
import { type PreparedDrill, prepareDrill, runScenario } from '../../src/drills/runner';
import { parseScenario } from '../../src/drills/scenario';
import { USDC_ASSET, WETH_ASSET } from '../support/assets';

const POSITIONS = Number(process.env.FIREBREAK_PREDICTION_POSITIONS ?? 2_000);
const SHOCKED = 1_400;
/** The pool before the shock (WETH, USDC): $40M a side, against ~$40M of generated collateral. */
const POOL: [number, number] = [20_000, 40_000_000];
/** WETH a trader sells into the pool to bring it to the shocked price (x·y = k, 0.3 % fee). */
const alignIn = (Math.sqrt((POOL[0] * POOL[1]) / SHOCKED) - POOL[0]) / 0.997;
const TAIL = 8;

const scenario = parseScenario(
  {
    name: 'prediction-thousands',
    title: 'A crowd of WETH borrowers, a thin pool, a 30 % drop',
    seed: 11,
    market: {
      assets: [USDC_ASSET, WETH_ASSET],
      pools: [{ id: 'WETH-USDC', tokens: ['WETH', 'USDC'], reserves: POOL }],
    },
    accounts: [
      { name: 'usdc-supplier', role: 'supplier', supplies: { USDC: POSITIONS * 25_000 } },
      { name: 'trader', role: 'user', holds: { WETH: Math.ceil(alignIn) + 1 } },
    ],
    population: [
      {
        name: 'crowd',
        count: POSITIONS,
        collateral: 'WETH',
        debt: 'USDC',
        sizeUsd: { median: 20_000, sigma: 0.8, min: 1_000, max: 200_000 },
        healthFactor: { min: 1.04, max: 1.6 },
      },
    ],
    bots: [{ kind: 'liquidator', name: 'liquidator', holds: { USDC: 5_000_000 }, maxPerBlock: 3 }],
    timeline: [
      { block: 1, do: 'set-price', asset: 'WETH', priceUsd: SHOCKED },
      {
        block: 1,
        actor: 'trader',
        do: 'swap',
        pool: 'WETH-USDC',
        tokenIn: 'WETH',
        amountIn: Number(alignIn.toFixed(6)),
      },
    ],
    tailBlocks: TAIL,
  },
  'inline-prediction-thousands',
);

let prepared: PreparedDrill | undefined;
afterAll(async () => {
  await prepared?.chain.close();
});

describe(`the cascade prediction against liquidator bots on ${POSITIONS.toLocaleString('en-US')} positions`, () => {
  it('predicts the liquidated debt and the bad debt the bots leave on-chain, within 10 %', async () => {
    const started = performance.now();
    const log = (line: string) =>
      process.stderr.write(
        `[prediction-thousands] ${((performance.now() - started) / 1000).toFixed(1)} s: ${line}\n`,
      );
    prepared = await prepareDrill(scenario);
    const { chain, market } = prepared;
    const crowd: Hex[] = market.population.map((p) => p.address);
    expect(crowd).toHaveLength(POSITIONS);
    log(`market and ${POSITIONS} positions opened`);

    // Before the shock: the positions and the pool as the chain holds them now.
    const { result, params } = await predictDrillCascade(chain, market, crowd, { WETH: SHOCKED });
    expect(params.oracleWeight).toBe(0); // WETH is priced by a feed: its oracle ignores the pool
    log(
      `predicted: $${result.liquidatedDebtUsd.toFixed(0)} liquidated in ${result.rounds.length} rounds ` +
        `(${result.rounds.map((r) => r.liquidations).join(' + ')} liquidations), ` +
        `bad debt $${result.badDebtUsd.toFixed(0)} on ${result.badDebtAccounts} accounts, ${result.stuckAccounts} stuck`,
    );

    const run = await runScenario('counterfactual', prepared, scenario, {
      budget: 1,
      common: createCommon(),
    });
    const liquidated = run.liquidations.reduce((sum, l) => sum + l.debtRepaidUsd, 0);
    const blocks = [...new Set(run.liquidations.map((l) => l.block))].sort((a, b) => a - b);
    log(
      `on-chain: $${liquidated.toFixed(0)} liquidated by ${run.liquidations.length} liquidations in ` +
        `${blocks.length} blocks, bad debt $${run.badDebtUsd.toFixed(0)}`,
    );

    // The drill is what the comparison needs: bots at work, a thin pool, a settled cascade.
    expect(run.bots).toEqual([
      { name: 'liquidator', kind: 'liquidator', txs: expect.any(Number), reverted: 0 },
    ]);
    expect(run.liquidations.length).toBeGreaterThanOrEqual(5);
    expect(new Set(run.liquidations.map((l) => l.liquidator.toLowerCase())).size).toBe(1);
    expect(blocks.length).toBeGreaterThanOrEqual(2); // a few per block: the cascade spans blocks
    expect(Number(run.endBlock) - blocks.at(-1)!).toBeGreaterThanOrEqual(3);
    expect(result.stuckAccounts).toBeGreaterThan(POSITIONS / 10); // the pool, not the bot, stops it
    expect(run.badDebtUsd).toBeGreaterThan(100_000);

    const off = (predicted: number, actual: number) => Math.abs(predicted - actual) / actual;
    expect(
      off(result.liquidatedDebtUsd, liquidated),
      `predicted $${result.liquidatedDebtUsd.toFixed(0)} liquidated, the bots liquidated $${liquidated.toFixed(0)}`,
    ).toBeLessThanOrEqual(0.1);
    expect(
      off(result.badDebtUsd, run.badDebtUsd),
      `predicted $${result.badDebtUsd.toFixed(0)} of bad debt, the chain holds $${run.badDebtUsd.toFixed(0)}`,
    ).toBeLessThanOrEqual(0.1);
  }, 300_000);
});
