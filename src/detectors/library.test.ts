// Unit tests of the detector library's pure logic, with hand-made logs and views.
import { encodeAbiParameters, encodeEventTopics, encodeFunctionData, type Hex, parseAbiItem } from 'viem';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger';
import { ammManipulation } from './amm-manipulation';
import { classifyCall, queuedSeverity } from './governance-watch';
import { createBlockLogs } from './logs';
import { flowsOf } from './outflow-rate';
import { memoryDetectorState, runDetectors } from './run';
import { sharePriceJump } from './share-price-jump';
import { detectorHarness, testBlock, testLog, testView } from './testing';
import { instantiate } from './types';

const PAIR: Hex = '0x00000000000000000000000000000000000000a1';
const T0: Hex = '0x00000000000000000000000000000000000000b0';
const T1: Hex = '0x00000000000000000000000000000000000000b1';
const AAVE_POOL: Hex = '0x00000000000000000000000000000000000000c0';
const TX: Hex = `0x${'0a'.repeat(32)}`;

/** A log of `signature` with `args` (indexed ones go to topics). */
function log(
  address: Hex,
  signature: string,
  args: Record<string, unknown>,
  at: { logIndex: number; tx?: Hex },
) {
  const item = parseAbiItem(`event ${signature}`) as Extract<
    ReturnType<typeof parseAbiItem>,
    { type: 'event' }
  >;
  const topics = encodeEventTopics({ abi: [item], eventName: item.name, args: args as never }) as Hex[];
  const data = item.inputs.filter((i) => !i.indexed);
  return testLog({
    address,
    topics,
    data: data.length ? encodeAbiParameters(data, data.map((i) => args[i.name!]) as never) : '0x',
    logIndex: at.logIndex,
    transactionHash: at.tx ?? TX,
  });
}

const SYNC = 'Sync(uint112 reserve0, uint112 reserve1)';
const SWAP =
  'Swap(address indexed sender, uint256 amount0In, uint256 amount1In, uint256 amount0Out, uint256 amount1Out, address indexed to)';
const TRANSFER = 'Transfer(address indexed from, address indexed to, uint256 value)';

describe('block logs', () => {
  it('decodes only the subscribed event, by emitter, once, and skips same-topic logs of another shape', async () => {
    const logs = [
      log(T0, TRANSFER, { from: T1, to: PAIR, value: 5n }, { logIndex: 0 }),
      log(T1, TRANSFER, { from: T0, to: PAIR, value: 7n }, { logIndex: 1 }),
      // ERC-721 Transfer: same topic0, the id indexed: not an ERC-20 transfer.
      log(
        T0,
        'Transfer(address indexed from, address indexed to, uint256 indexed tokenId)',
        { from: T1, to: PAIR, tokenId: 1n },
        { logIndex: 2 },
      ),
    ];
    const block = createBlockLogs(testBlock(1n, { logs }), testView({}));
    const a = await block.decode(TRANSFER, T0);
    expect(a.map((l) => [l.logIndex, l.args.value])).toEqual([[0, 5n]]);
    expect(await block.decode(TRANSFER, T0)).toBe(a); // memoised
    expect((await block.decode(TRANSFER)).length).toBe(2);
  });

  it('reads the logs by block hash when the event carries none', async () => {
    const { logs: _none, ...event } = testBlock(1n);
    const asked: Hex[] = [];
    const block = createBlockLogs(
      event,
      testView({
        logs: async (h) => {
          asked.push(h);
          return [log(T0, TRANSFER, { from: T1, to: PAIR, value: 1n }, { logIndex: 0 })];
        },
      }),
    );
    expect((await block.decode(TRANSFER)).length).toBe(1);
    expect((await block.all()).length).toBe(1);
    expect(asked).toEqual([event.block.hash]);
  });
});

describe('amm-manipulation', () => {
  const pool = (r0: bigint, r1: bigint) =>
    testView({
      pair: async () => ({ pair: PAIR, token0: T0, token1: T1, reserve0: r0, reserve1: r1, totalSupply: 1n }),
    });
  const swapLogs = (before: [bigint, bigint], amountIn1: bigint, extra: ReturnType<typeof log>[] = []) => {
    const out0 = (before[0] * amountIn1 * 997n) / (before[1] * 1000n + amountIn1 * 997n);
    return {
      after: [before[0] - out0, before[1] + amountIn1] as const,
      logs: [
        ...extra,
        log(PAIR, SYNC, { reserve0: before[0] - out0, reserve1: before[1] + amountIn1 }, { logIndex: 10 }),
        log(
          PAIR,
          SWAP,
          { sender: T0, amount0In: 0n, amount1In: amountIn1, amount0Out: out0, amount1Out: 0n, to: T0 },
          { logIndex: 11 },
        ),
      ],
    };
  };
  const params = {
    pools: [{ pair: PAIR, symbol: 'X' }],
    impactBps: 2000,
    criticalBps: 5000,
    volMultiplier: 8,
    windowBlocks: 100,
  };

  it('measures a swap from its own logs, and a 25% move is high', async () => {
    const run = detectorHarness(ammManipulation, params);
    const s = swapLogs([1000n * 10n ** 18n, 1000n * 10n ** 18n], 118n * 10n ** 18n);
    const [f] = await run(testBlock(2n, { logs: s.logs }), pool(s.after[0], s.after[1]));
    expect(f?.severity).toBe('high');
    expect(Number(f?.evidence.txMoveBps)).toBeGreaterThanOrEqual(2400);
    expect(Number(f?.evidence.txMoveBps)).toBeLessThan(2600);
  });

  it('makes the same move critical next to a flash loan in the same transaction', async () => {
    const run = detectorHarness(ammManipulation, params);
    const flash = log(
      AAVE_POOL,
      'FlashLoan(address indexed target, address initiator, address indexed asset, uint256 amount, uint8 interestRateMode, uint256 premium, uint16 indexed referralCode)',
      {
        target: T0,
        initiator: T0,
        asset: T1,
        amount: 10n ** 24n,
        interestRateMode: 0,
        premium: 9n,
        referralCode: 0,
      },
      { logIndex: 3 },
    );
    const s = swapLogs([1000n * 10n ** 18n, 1000n * 10n ** 18n], 118n * 10n ** 18n, [flash]);
    const [f] = await run(testBlock(2n, { logs: s.logs }), pool(s.after[0], s.after[1]));
    expect([f?.severity, f?.evidence.flashLoan]).toEqual(['critical', true]);
  });

  it('raises its bar with the pool’s own recent volatility', async () => {
    const p = { ...params, impactBps: 100, volMultiplier: 3 };
    const volatile = detectorHarness(ammManipulation, p);
    const calm = detectorHarness(ammManipulation, p);
    // One pool swings ±5% a block, the other does not move.
    for (let b = 1n; b <= 30n; b++) {
      await volatile(testBlock(b, { logs: [] }), pool(1000n, b % 2n === 0n ? 1050n : 1000n));
      await calm(testBlock(b, { logs: [] }), pool(1000n, 1000n));
    }
    // An 11% move: news on the calm pool, within 3σ on the volatile one.
    expect((await calm(testBlock(31n, { logs: [] }), pool(1000n, 1113n))).length).toBe(1);
    expect(await volatile(testBlock(31n, { logs: [] }), pool(1000n, 1113n))).toEqual([]);
    // A 40% move clears both bars.
    expect((await volatile(testBlock(32n, { logs: [] }), pool(1000n, 1558n))).length).toBe(1);
  });
});

describe('share-price-jump on an ERC-4626 vault', () => {
  it('compares assets per share block to block; a rise with no deposit or withdrawal is manipulation', async () => {
    const run = detectorHarness(sharePriceJump, {
      assets: [{ vault: PAIR, symbol: 'vX' }],
      thresholdBps: 500,
      criticalBps: 2000,
    });
    const vault = (assetsPerShare: bigint) =>
      testView({ vault: async () => ({ totalAssets: 0n, totalSupply: 0n, decimals: 18, assetsPerShare }) });
    expect(await run(testBlock(1n), vault(10n ** 18n))).toEqual([]); // baseline
    expect(await run(testBlock(2n), vault(1_040_000_000_000_000_000n))).toEqual([]); // +4%
    const [f] = await run(testBlock(3n), vault(2_080_000_000_000_000_000n)); // doubled
    expect([f?.severity, f?.kind, f?.evidence.changeBps, f?.evidence.tradesInBlock]).toEqual([
      'critical',
      'manipulation',
      10_000,
      0,
    ]);
    const [down] = await run(testBlock(4n), vault(1_560_000_000_000_000_000n)); // −25%
    expect([down?.severity, down?.kind, down?.evidence.direction]).toEqual(['critical', 'anomaly', 'down']);
  });
});

describe('outflow-rate flows', () => {
  it('nets a flash loan repaid in its transaction to nothing, and walks the holder’s balance', async () => {
    const holder = PAIR;
    const logs = [
      log(T0, TRANSFER, { from: holder, to: T1, value: 500n }, { logIndex: 0, tx: `0x${'01'.repeat(32)}` }), // flash out
      log(T0, TRANSFER, { from: T1, to: holder, value: 505n }, { logIndex: 1, tx: `0x${'01'.repeat(32)}` }), // repaid + fee
      log(T0, TRANSFER, { from: holder, to: T1, value: 300n }, { logIndex: 2, tx: `0x${'02'.repeat(32)}` }), // a real outflow
    ];
    const decoded = await createBlockLogs(testBlock(1n, { logs }), testView({})).decode(TRANSFER, T0);
    const { outflows, netBlock } = flowsOf(decoded, holder, 1205n);
    expect(netBlock).toBe(-295n);
    expect(outflows.map((o) => [o.net, o.balanceBefore])).toEqual([
      [-5n, 1500n],
      [300n, 1505n],
    ]);
  });
});

describe('governance-watch classification', () => {
  const erc20 = [parseAbiItem('function transfer(address,uint256)')];
  it('classifies queued calls by what they do, and their delay', () => {
    const data = encodeFunctionData({ abi: erc20, functionName: 'transfer', args: [T0, 5n] });
    expect(classifyCall(data, 0n).class).toBe('funds');
    expect(classifyCall('0x', 1n).class).toBe('funds');
    const freeze = encodeFunctionData({
      abi: [parseAbiItem('function setReserveFreeze(address,bool)')],
      functionName: 'setReserveFreeze',
      args: [T0, true],
    });
    expect(classifyCall(freeze, 0n).class).toBe('risk-reducing');
    const unfreeze = encodeFunctionData({
      abi: [parseAbiItem('function setReserveFreeze(address,bool)')],
      functionName: 'setReserveFreeze',
      args: [T0, false],
    });
    expect(classifyCall(unfreeze, 0n).class).toBe('risk-increasing');
    expect(classifyCall('0xdeadbeef', 0n)).toEqual({
      class: 'unknown',
      functionName: '0xdeadbeef',
      args: '',
    });
    expect(queuedSeverity('funds', 3600n, 86_400)).toBe('critical');
    expect(queuedSeverity('funds', 172_800n, 86_400)).toBe('high');
    expect(queuedSeverity('parameter', 10n, 86_400)).toBe('medium');
    expect(queuedSeverity('risk-reducing', 0n, 86_400)).toBe('info');
  });
});

describe('running detectors', () => {
  it('isolates a detector that throws: a degraded finding, the others still run', async () => {
    const boom = instantiate(
      'boom',
      {
        type: 'boom',
        description: '',
        detect: async () => {
          throw new Error('kaput');
        },
      },
      {},
    );
    const fine = instantiate('fine', sharePriceJump, {
      assets: [{ vault: PAIR }],
      thresholdBps: 1,
      criticalBps: 2,
    });
    const view = testView({
      vault: async () => ({ totalAssets: 0n, totalSupply: 0n, decimals: 18, assetsPerShare: 1n }),
    });
    const stateOf = memoryDetectorState();
    const opts = { timeoutMs: 1000, logger: silentLogger(), stateOf };
    await runDetectors([boom, fine], testBlock(1n), view, opts);
    const view2 = testView({
      vault: async () => ({ totalAssets: 0n, totalSupply: 0n, decimals: 18, assetsPerShare: 2n }),
    });
    const findings = await runDetectors([boom, fine], testBlock(2n), view2, opts);
    expect(findings.map((f) => [f.detectorInstance, f.kind])).toEqual([
      ['boom', 'degraded'],
      ['fine', 'manipulation'],
    ]);
    // Each detector's wall time is reported, the failing one's too (the watch bench's per-detector share).
    const timed: [string, number][] = [];
    const slow = instantiate(
      'slow',
      {
        type: 'slow',
        description: '',
        detect: async () => {
          await new Promise((r) => setTimeout(r, 30));
          return [];
        },
      },
      {},
    );
    await runDetectors([boom, slow], testBlock(3n), view2, {
      ...opts,
      onTimed: (id, ms) => timed.push([id, ms]),
    });
    expect(timed.map(([id]) => id).sort()).toEqual(['boom', 'slow']);
    expect(timed.find(([id]) => id === 'slow')![1]).toBeGreaterThanOrEqual(25);
  });
});
