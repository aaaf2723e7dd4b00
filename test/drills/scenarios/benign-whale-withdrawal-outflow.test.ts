/**
 * The benign whale withdrawal seen by `outflow-rate` on the Aave reserves themselves. The drill's
 * defaults run outflow-rate only on a scenario's own lending vault, so the drill cannot show this;
 * here the detector, with its defaults, runs over the same blocks the drill mined: a fifth of the
 * USDC reserve leaving in one transaction, paid for by the whale's burned aTokens, must be `info`
 * (a legitimate large withdrawal), and the window check must stay below `high` although the
 * withdrawal took more than its 30% line of the reserve's cash: the whale took back its own
 * deposit, every other claim is as backed as before.
 */
import { readContract } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommon } from '../../../src/common/common';
import { firebreakConfig } from '../../../src/config/schema';
import type { Finding } from '../../../src/detectors/types';
import { type PreparedDrill, prepareDrill, type RunResult, runScenario } from '../../../src/drills/runner';
import { loadScenario } from '../../../src/drills/scenario';
import { erc20Abi } from '../../../src/protocols/aave-v3/abi';
import { readReserveTokens } from '../../../src/protocols/aave-v3/reader';
import { above, brief, detectRange } from '../../detectors/support';

const scenario = loadScenario('scenarios/benign-whale-withdrawal.yaml');

describe('benign whale withdrawal, under outflow-rate on the Aave reserves', () => {
  let prepared: PreparedDrill;
  let run: RunResult;
  let findings: Finding[];
  beforeAll(async () => {
    prepared = await prepareDrill(scenario);
    run = await runScenario('counterfactual', prepared, scenario, { budget: 2_000, common: createCommon() });
    const { market, chain } = prepared;
    const config = firebreakConfig.parse({
      chains: [{ id: chain.chainId, name: 'embedded', rpc: ['http://127.0.0.1:1'], confirmations: 0 }],
      markets: [
        {
          id: 'drill',
          chain: 'embedded',
          protocol: 'aave-v3',
          addressesProvider: market.aave.addressesProvider,
        },
      ],
      detectors: [
        {
          id: 'reserve-outflow',
          type: 'outflow-rate',
          market: 'drill',
          params: {
            assets: [...market.tokens.values()].map((t) => ({ asset: t.address, symbol: t.symbol })),
          },
        },
      ],
    });
    ({ findings } = await detectRange(config, chain.client, run.startBlock + 1n, run.endBlock));
  }, 180_000);
  afterAll(async () => {
    await prepared?.chain.close();
  });

  it('rates the whale’s withdrawal a legitimate large one (info)', () => {
    const step = run.steps.find((s) => s.label === 'whale-withdrawal')!;
    expect(step.status).toEqual(['success']);
    const tx = step.txs[0]!.hash.toLowerCase();
    const mine = findings.filter((f) => JSON.stringify(f.evidence).toLowerCase().includes(tx));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.map((f) => [f.severity, f.kind])).toEqual(mine.map(() => ['info', 'liquidity']));
  });

  it('keeps the window check below high: a withdrawal paid for by its claim is not a drain', async () => {
    // The case the check used to get wrong: the whale's withdrawal took more than the window's
    // 30% line of the USDC reserve's cash (its aToken's balance) in one block.
    const whaleBlock = run.steps.find((s) => s.label === 'whale-withdrawal')!.block!;
    const usdc = prepared.market.tokens.get('USDC')!.address;
    const aToken = (await readReserveTokens(prepared.chain.client, prepared.market.aave.pool, usdc)).aToken;
    const cash = (n: bigint) =>
      readContract(prepared.chain.client, {
        address: usdc,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [aToken],
        blockNumber: n,
      });
    const [before, after] = [await cash(whaleBlock - 1n), await cash(whaleBlock)];
    expect(((before - after) * 10_000n) / before).toBeGreaterThanOrEqual(3000n);
    expect(above(findings, 'medium').map(brief)).toEqual([]);
  });
});
