/**
 * Detect — test helpers for detectors, built-in and custom alike: a block event, a view whose
 * reads a test supplies (anything not supplied throws, naming the read), and a runner that calls
 * a definition the way the engine does (shared log index, persistent state across blocks).
 *
 * For unit tests of a detector's logic; integration tests run detectors on the embedded chain.
 *
 * @example
 * const run = detectorHarness(myDetector, params);
 * const findings = await run(testBlock(100n), testView({ feed: async () => answer }));
 */
import type { Hex } from 'viem';
import { keccak256, toHex } from 'viem';
import type { BlockLog } from './logs';
import { memoryDetectorState } from './run';
import type { BlockEvent, DetectorDefinition, Finding } from './types';
import { instantiate } from './types';
import type { BlockView } from './view';

/** A block event for block `number` (hash derived from the number and `fork`), carrying `logs`. */
export function testBlock(
  number: bigint,
  options: { logs?: readonly BlockLog[]; timestamp?: bigint; chainId?: number; fork?: string } = {},
): BlockEvent {
  const hashOf = (n: bigint) => keccak256(toHex(`${options.fork ?? 'main'}/${n}`));
  return {
    type: 'block',
    chainId: options.chainId ?? 31337,
    receivedAt: 0,
    block: {
      number,
      hash: hashOf(number),
      parentHash: hashOf(number - 1n),
      timestamp: options.timestamp ?? 1_700_000_000n + number * 12n,
      baseFeePerGas: 1n,
    },
    logs: options.logs ?? [],
  };
}

/** A view at `blockNumber` whose reads are the given functions; any other read throws. */
export function testView(reads: Partial<BlockView>, blockNumber = 0n): BlockView {
  const missing = (name: string) => () => Promise.reject(new Error(`test view: no ${name} read supplied`));
  return {
    chainId: 31337,
    blockNumber,
    aaveAssetPrice: missing('aaveAssetPrice'),
    feed: missing('feed'),
    feedRound: missing('feedRound'),
    pair: missing('pair'),
    reserveConfiguration: missing('reserveConfiguration'),
    reserveTokens: missing('reserveTokens'),
    reservesList: missing('reservesList'),
    balanceOf: missing('balanceOf'),
    totalSupply: missing('totalSupply'),
    vault: missing('vault'),
    call: missing('call'),
    logs: async () => [],
    transactions: missing('transactions'),
    transaction: missing('transaction'),
    ...reads,
  };
}

/** A log as a node returns it (viem shape), for feeding detectors in unit tests. */
export function testLog(input: {
  address: Hex;
  topics: Hex[];
  data?: Hex;
  transactionHash?: Hex;
  logIndex?: number;
  transactionIndex?: number;
  blockNumber?: bigint;
}): BlockLog {
  return {
    address: input.address,
    topics: input.topics as [Hex, ...Hex[]],
    data: input.data ?? '0x',
    blockHash: `0x${'00'.repeat(32)}`,
    blockNumber: input.blockNumber ?? 0n,
    logIndex: input.logIndex ?? 0,
    transactionHash: input.transactionHash ?? `0x${'ab'.repeat(32)}`,
    transactionIndex: input.transactionIndex ?? 0,
    removed: false,
  } as BlockLog;
}

/** Runs `definition` block after block with one persistent state, as the engine does. */
export function detectorHarness<P>(
  definition: DetectorDefinition<P>,
  params: P,
  instanceId = definition.type,
): (event: BlockEvent, view: BlockView) => Promise<Finding[]> {
  const instance = instantiate(instanceId, definition, params);
  const state = memoryDetectorState()(instanceId);
  return (event, view) => instance.run(event, view, state);
}
