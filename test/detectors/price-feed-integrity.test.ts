// price-feed-integrity on the Compound DAI incident's shape (SCENARIOS.md §5): the market's DAI
// feed prints $1.30 while the independent reference stays at $1.00; then a feed is updated by an
// unexpected sender; then the WETH feed stops updating past its heartbeat (Black Thursday's lag).
import { getBlock } from 'viem/actions';
import { beforeAll, describe, expect, it } from 'vitest';
import { firebreakArtifact } from '../../src/chain/artifacts';
import type { Finding } from '../../src/detectors/types';
import { toPrice } from '../../src/drills/market';
import { type ActivityMarket, deployActivityMarket, runActivity, setFeedPrice } from '../support/activity';
import { above, brief, configWith, detectRange } from './support';

describe('price-feed-integrity', () => {
  let am: ActivityMarket;
  let findings: Finding[];
  let spikeBlock: bigint;
  let senderBlock: bigint;
  let senderTx: string;
  let lastWethUpdate: bigint;
  let end: bigint;

  beforeAll(async () => {
    am = await deployActivityMarket({ accounts: [{ name: 'intruder' }] });
    const warm = await runActivity(am, { blocks: 41, seed: 21 }); // WETH's last update: block index 30
    spikeBlock = await am.mine(await setFeedPrice(am, 'DAI', 1.3, 'protocol'));
    // The USDC feed's updater is handed to an intruder, who publishes a round.
    const feed = am.market.protocolFeeds.get('USDC')!;
    const feedAbi = firebreakArtifact('DrillPriceFeed').abi;
    await am.mine(
      await am.send(am.market.deployer, [
        { to: feed, abi: feedAbi, functionName: 'setUpdater', args: [am.account('intruder').address] },
      ]),
    );
    [senderTx] = (await am.send(am.account('intruder'), [
      { to: feed, abi: feedAbi, functionName: 'setAnswer', args: [toPrice(1)] },
    ])) as [string];
    senderBlock = await am.mine([senderTx as `0x${string}`]);
    // Then nothing for 60 blocks (12 minutes): past WETH's 10-minute heartbeat.
    for (let i = 0; i < 60; i++) end = await am.mine();
    lastWethUpdate = warm.from + 30n;
    const config = configWith(am, [
      {
        id: 'feeds',
        type: 'price-feed-integrity',
        chain: 'embedded',
        params: {
          feeds: ['USDC', 'DAI', 'WETH'].map((s) => ({
            feed: am.market.protocolFeeds.get(s)!,
            symbol: s,
            references: [am.market.referenceFeeds.get(s)!],
            updaters: [am.market.deployer.address],
            heartbeatSeconds: s === 'WETH' ? 600 : 3600,
          })),
        },
      },
    ]);
    ({ findings } = await detectRange(config, am.chain.client, warm.from, end));
  }, 120_000);

  const at = (block: bigint) => findings.filter((f) => f.block.number === block);

  it('raises nothing above info while the feeds follow the market', () => {
    expect(
      above(
        findings.filter((f) => f.block.number < spikeBlock),
        'info',
      ).map(brief),
    ).toEqual([]);
  });

  it('flags the DAI spike that its reference does not share, in the block it lands', () => {
    const hits = at(spikeBlock);
    expect(hits.map((f) => [f.severity, f.kind, f.evidence.check, f.subject.market])).toEqual([
      ['high', 'manipulation', 'jump', am.market.protocolFeeds.get('DAI')!],
    ]);
    expect(hits[0]!.evidence.jumpBps).toBe(3000);
    expect(hits[0]!.evidence.offReferenceBps).toBeGreaterThanOrEqual(2990);
  });

  it('flags the round published by an unexpected sender, naming it and the transaction', () => {
    const hits = at(senderBlock).filter((f) => f.evidence.check === 'sender');
    expect(hits.map((f) => [f.severity, f.kind, f.evidence.sender, f.evidence.tx])).toEqual([
      ['high', 'exploit', am.account('intruder').address.toLowerCase(), senderTx],
    ]);
  });

  it('flags the WETH feed stale once its heartbeat has passed, and not before', async () => {
    const stale = findings.filter((f) => f.evidence.check === 'stale');
    expect(stale.length).toBeGreaterThan(0);
    expect(new Set(stale.map((f) => f.subject.market))).toEqual(
      new Set([am.market.protocolFeeds.get('WETH')!]),
    );
    const updatedAt = (await getBlock(am.chain.client, { blockNumber: lastWethUpdate })).timestamp;
    for (const f of stale) {
      expect(f.block.timestamp - updatedAt).toBeGreaterThan(600n);
      expect([f.severity, f.kind]).toEqual(['medium', 'degraded']);
    }
    const first = stale[0]!.block;
    expect(first.timestamp - updatedAt).toBeLessThanOrEqual(612n); // the first block past the heartbeat
  });
});
