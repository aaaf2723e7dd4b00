// The live position book: a market's positions followed block by block while the engine runs
// (`positionsFromBlock`), exact against the Pool's own getUserAccountData, rolled back when a block is
// seen again, and handed to `risk-thresholds` so it reports real figures instead of `degraded`.
import { type Hex, parseUnits } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployArtifact, firebreakArtifact } from '../../src/chain/artifacts';
import type { BlockRef } from '../../src/chain/events';
import { createCommon } from '../../src/common/common';
import { mintDrillToken, sendAndConfirm, toPrice } from '../../src/drills/market';
import { drillEngineConfig, type PreparedDrill, prepareDrill } from '../../src/drills/runner';
import { loadScenario } from '../../src/drills/scenario';
import { createEngine } from '../../src/engine/engine';
import { erc20Abi, poolAbi } from '../../src/protocols/aave-v3/abi';
import { listAaveV3Reserves } from '../../src/protocols/aave-v3/fixture';
import { readUserAccountData } from '../../src/protocols/aave-v3/reader';
import { createPositionTracker, readRiskInputs } from '../../src/risk/tracker';
import { openStore } from '../../src/store/store';

const feedAbi = [
  {
    type: 'function',
    name: 'setAnswer',
    stateMutability: 'nonpayable',
    inputs: [{ type: 'int256' }],
    outputs: [],
  },
] as const;

describe('live position book', () => {
  let drill: PreparedDrill;
  const scenario = loadScenario('scenarios/inverse-finance-2022.yaml');

  const refOf = async (n: bigint): Promise<BlockRef> => {
    const b = await drill.chain.client.getBlock({ blockNumber: n });
    return { number: n, hash: b.hash!, parentHash: b.parentHash, timestamp: b.timestamp };
  };

  /** The attacker supplies WETH and borrows USDC: a position opened after the market's set-up. */
  const openPosition = async () => {
    const { market, chain } = drill;
    const attacker = market.accounts.get('attacker')!;
    const weth = market.tokens.get('WETH')!.address;
    const usdc = market.tokens.get('USDC')!.address;
    const amount = parseUnits('100', 18);
    await sendAndConfirm(chain, attacker, weth, erc20Abi, 'approve', [market.aave.pool, amount]);
    await sendAndConfirm(chain, attacker, market.aave.pool, poolAbi, 'supply', [
      weth,
      amount,
      attacker.address,
      0,
    ]);
    // 100 WETH at $3,450 with LTV 80 %: up to $276k; borrow $250k.
    await sendAndConfirm(chain, attacker, market.aave.pool, poolAbi, 'borrow', [
      usdc,
      parseUnits('250000', 6),
      2n,
      0,
      attacker.address,
    ]);
    return attacker.address;
  };

  beforeAll(async () => {
    drill = await prepareDrill(scenario);
    await drill.chain.setAutomine(true);
  }, 120_000);
  afterAll(async () => drill?.chain.close());

  it('matches the Pool for every account, and again after a block is seen a second time', async () => {
    const { chain, market } = drill;
    const tracker = createPositionTracker(chain.client, {
      chainId: chain.chainId,
      pool: market.aave.pool,
      oracle: market.aave.oracle,
      fromBlock: 0n,
    });
    const before = await chain.client.getBlockNumber();
    await tracker.snapshotAt(await refOf(before));
    const borrower = await openPosition();
    const head = await chain.client.getBlockNumber();

    const check = async (n: bigint) => {
      const snapshot = await tracker.snapshotAt(await refOf(n));
      expect(snapshot.blockNumber).toBe(n);
      const book = tracker.book()!;
      const inputs = await readRiskInputs(chain.client, { ...market.aave }, n);
      const accounts = book.accounts();
      expect(accounts.length).toBeGreaterThanOrEqual(3);
      for (const account of accounts) {
        const mine = book.accountData(account, inputs);
        const node = await readUserAccountData(chain.client, market.aave.pool, account, n);
        expect(mine.healthFactor, account).toBe(node.healthFactor);
        expect(mine.totalDebtBase, account).toBe(node.totalDebtBase);
        expect(mine.totalCollateralBase, account).toBe(node.totalCollateralBase);
      }
      return snapshot;
    };
    // Debt of an account over every asset (rows of accounts × assets).
    const debtOf = (snapshot: Awaited<ReturnType<typeof check>>, who: Hex) => {
      const i = snapshot.accounts.findIndex((a) => a.toLowerCase() === who.toLowerCase());
      if (i === -1) return 0;
      const n = snapshot.assets.length;
      return snapshot.debt.slice(i * n, (i + 1) * n).reduce((a, b) => a + b, 0);
    };
    const atHead = await check(head);
    expect(debtOf(atHead, borrower)).toBeGreaterThan(249_000);
    // The borrow block again, then the block before it: the book rolls back and re-applies.
    await check(head);
    const earlier = await check(head - 1n);
    expect(debtOf(earlier, borrower)).toBe(0);
    await check(head);
  }, 120_000);

  it('follows a reserve listed after the book was built (a governance listing)', async () => {
    const { chain, market } = drill;
    const tracker = createPositionTracker(chain.client, {
      chainId: chain.chainId,
      pool: market.aave.pool,
      oracle: market.aave.oracle,
      fromBlock: 0n,
    });
    const first = await tracker.snapshotAt(await refOf(await chain.client.getBlockNumber()));
    expect(first.assets.map((a) => a.symbol)).not.toContain('NEW');

    // The pool admin lists NEW (a real token and feed, $10); a user supplies it and borrows USDC.
    const { deployer } = market;
    const account = deployer.account;
    const token = await deployArtifact(chain.client, firebreakArtifact('DrillToken'), {
      account,
      args: ['NEW', 'NEW', 18],
    });
    const feed = await deployArtifact(chain.client, firebreakArtifact('DrillPriceFeed'), {
      account,
      args: [8, 'NEW / USD', toPrice(10)],
    });
    await listAaveV3Reserves(chain.client, market.aave, {
      account,
      assets: [
        {
          symbol: 'NEW',
          asset: token,
          decimals: 18,
          priceSource: feed,
          ltvBps: 5000,
          liquidationThresholdBps: 6000,
          liquidationBonusBps: 11000,
          reserveFactorBps: 1000,
          borrowingEnabled: true,
          supplyCap: 0n,
          borrowCap: 0n,
        },
      ],
    });
    const user = market.accounts.get('attacker')!;
    const amount = parseUnits('10000', 18);
    await mintDrillToken(chain, deployer, token, user.address, amount);
    await sendAndConfirm(chain, user, token, erc20Abi, 'approve', [market.aave.pool, amount]);
    await sendAndConfirm(chain, user, market.aave.pool, poolAbi, 'supply', [token, amount, user.address, 0]);
    await sendAndConfirm(chain, user, market.aave.pool, poolAbi, 'borrow', [
      market.tokens.get('USDC')!.address,
      parseUnits('20000', 6),
      2n,
      0,
      user.address,
    ]);
    const head = await chain.client.getBlockNumber();
    const snapshot = await tracker.snapshotAt(await refOf(head));
    expect(snapshot.assets.map((a) => a.symbol)).toContain('NEW');
    const book = tracker.book()!;
    const inputs = await readRiskInputs(
      chain.client,
      { ...market.aave, reserves: { ...market.aave.reserves, NEW: { asset: token } } },
      head,
    );
    const mine = book.accountData(user.address, inputs);
    const node = await readUserAccountData(chain.client, market.aave.pool, user.address, head);
    expect(mine.totalCollateralBase).toBe(node.totalCollateralBase);
    expect(mine.healthFactor).toBe(node.healthFactor);
  }, 120_000);

  it('feeds risk-thresholds in the engine: real figures, not degraded', async () => {
    const { chain, market } = drill;
    const base = drillEngineConfig(scenario, market, chain.chainId, []);
    const config = {
      ...base,
      markets: base.markets.map((m) => ({ ...m, positionsFromBlock: 0 })),
      detectors: [
        {
          id: 'risk',
          type: 'risk-thresholds' as const,
          market: 'drill-market',
          params: { liquidatable: { thresholdUsd: 1_000 } },
        },
      ],
    };
    const store = await openStore({ memory: true });
    const engine = await createEngine({
      config: config as never,
      chains: new Map([['embedded', { client: chain.client, provider: chain.provider }]]),
      store,
      common: createCommon(),
      secrets: { FIREBREAK_GUARDIAN_KEY: market.guardian.privateKey },
    });
    const seen: { block: bigint; kind: string; title: string }[] = [];
    const start = await chain.client.getBlockNumber();
    // The attacker's position from the first test is there; WETH falls 30 %: it becomes liquidatable.
    await sendAndConfirm(
      chain,
      market.deployer,
      market.protocolFeeds.get('WETH')! as Hex,
      feedAbi,
      'setAnswer',
      [toPrice(3450 * 0.7)],
    );
    const crash = await chain.client.getBlockNumber();
    for (const n of [start, crash]) {
      const processed = await engine.processBlock('embedded', {
        type: 'block',
        chainId: chain.chainId,
        block: await refOf(n),
        receivedAt: performance.now(),
      } as never);
      for (const f of processed.findings) seen.push({ block: n, kind: f.kind, title: f.title });
    }
    await engine.stop();
    await store.close();
    expect(seen.filter((f) => f.kind === 'degraded')).toEqual([]);
    expect(seen.some((f) => f.block === crash && f.kind === 'liquidity')).toBe(true);
    expect(seen.some((f) => f.block === start)).toBe(false);
  }, 120_000);
});
