// Determinism through the engine's own replay path: a range with a thin-pool manipulation and a
// donation, watched by every built-in detector, is recorded with the reads the detectors make
// (`recordChain`), then replayed from the file alone through the whole engine (`replayRecording`):
// the findings are those computed live on the chain, with the same ids.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommon } from '../../src/common/common';
import type { FirebreakConfig } from '../../src/config/schema';
import type { Finding } from '../../src/detectors/types';
import { toUnits } from '../../src/drills/market';
import { recordChain } from '../../src/engine/record';
import { replayRecording } from '../../src/engine/replay';
import { erc20Abi } from '../../src/protocols/aave-v3/abi';
import { uniswapV2PairAbi } from '../../src/protocols/uniswap-v2/abi';
import { planSwapExactIn, readPair } from '../../src/protocols/uniswap-v2/pool';
import { type ActivityMarket, deployActivityMarket, runActivity } from '../support/activity';
import { allBuiltins, configWith, detectRange } from './support';

describe('replaying a recorded incident through the engine', () => {
  let am: ActivityMarket;
  let config: FirebreakConfig;
  let live: Finding[];
  let dir: string;
  let from: bigint;
  let to: bigint;

  beforeAll(async () => {
    am = await deployActivityMarket({
      assets: [{ symbol: 'INV', decimals: 18, priceUsd: 367.36 }],
      pools: [{ id: 'INV-WETH', tokens: ['INV', 'WETH'], reserves: [432, 46] }],
      accounts: [{ name: 'attacker', holds: { WETH: 301, USDC: 600_000, DAI: 600_000 } }],
    });
    const warm = await runActivity(am, { blocks: 30, seed: 91 });
    const attacker = am.account('attacker');
    const inv = am.market.pools.get('INV-WETH')!;
    const plan = planSwapExactIn(await readPair(am.chain.client, inv), {
      pair: inv,
      tokenIn: am.token('WETH'),
      amountIn: toUnits(300, 18),
      to: attacker.address,
    });
    await am.mine(await am.send(attacker, [plan.calls[0], plan.calls[1]]));
    const dai = am.market.pools.get('DAI-USDC')!;
    await am.mine(
      await am.send(attacker, [
        {
          to: am.token('DAI'),
          abi: erc20Abi,
          functionName: 'transfer',
          args: [dai, toUnits(500_000, 18)],
          gas: 120_000n,
        },
        {
          to: am.token('USDC'),
          abi: erc20Abi,
          functionName: 'transfer',
          args: [dai, toUnits(500_000, 6)],
          gas: 120_000n,
        },
        { to: dai, abi: uniswapV2PairAbi, functionName: 'sync', args: [], gas: 150_000n },
      ]),
    );
    const tail = await runActivity(am, { blocks: 5, seed: 92 });
    [from, to] = [warm.from, tail.to];
    config = configWith(am, allBuiltins(am)); // amm-manipulation and share-price-jump watch every pool, INV-WETH too
    ({ findings: live } = await detectRange(config, am.chain.client, from, to));
    dir = mkdtempSync(join(tmpdir(), 'firebreak-detectors-replay-'));
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the incidents live', () => {
    const types = new Set(live.filter((f) => f.severity === 'critical').map((f) => f.detector));
    expect(types).toEqual(new Set(['amm-manipulation', 'share-price-jump']));
  });

  const key = (f: Finding) => `${f.block.number} ${f.id} ${f.severity} ${f.dedupeKey}`;

  it('replays from the file alone to the same findings, with the same ids', async () => {
    const out = join(dir, 'incident.rec.gz');
    const common = createCommon();
    const summary = await recordChain({
      config,
      chain: 'embedded',
      client: am.chain.client,
      from,
      to,
      out,
      common,
    });
    expect(summary.detectorFailures).toEqual([]);
    const replay = await replayRecording({ config, file: out, common });
    expect(replay.blocks).toBe(Number(to - from + 1n));
    // A recording holds no transactions: the feed-sender check says it could not run (low,
    // degraded) instead of guessing; everything else is identical.
    const blind = replay.findings.filter((f) => f.kind === 'degraded');
    expect(blind.length).toBeGreaterThan(0);
    for (const f of blind)
      expect([f.detector, f.severity, f.evidence.check]).toEqual(['price-feed-integrity', 'low', 'sender']);
    expect(
      replay.findings
        .filter((f) => f.kind !== 'degraded')
        .map(key)
        .sort(),
    ).toEqual(live.map(key).sort());
  }, 90_000);

  it('replays identically when no check needs a node', async () => {
    const out = join(dir, 'no-sender.rec.gz');
    const common = createCommon();
    const plain: FirebreakConfig = {
      ...config,
      detectors: config.detectors.map((d) =>
        d.type === 'price-feed-integrity'
          ? { ...d, params: { feeds: d.params.feeds.map((f) => ({ ...f, updaters: [] })) } }
          : d,
      ),
    };
    await recordChain({ config: plain, chain: 'embedded', client: am.chain.client, from, to, out, common });
    const replay = await replayRecording({ config: plain, file: out, common });
    expect(replay.findings.map(key).sort()).toEqual(live.map(key).sort());
  }, 90_000);
});
