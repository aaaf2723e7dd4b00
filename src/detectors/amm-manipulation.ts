/**
 * Detect — `amm-manipulation`: a price move in a Uniswap v2 pool, within one transaction or one
 * block, far beyond what the pool's recent volatility explains; worse next to a flash loan.
 *
 * Catches: the swap that pushes a thin pool before an oracle reads it (Inverse Finance: 300 ETH
 * into a 46 ETH pool, a ~50× price), sandwich-sized pushes around a liquidation, flash-loan-funded
 * pool attacks. Each swap's price before and after comes from its own `Swap` and `Sync` logs, so a
 * push and its reversal inside one transaction are both seen.
 *
 * A move is flagged when it reaches `max(impactBps, volMultiplier × σ)`, σ being the standard
 * deviation of the pool's per-block log returns over `windowBlocks`; `critical` from `criticalBps`
 * or when a flash loan sits in the same transaction. Blind spots: pools other than Uniswap v2
 * shapes; manipulation spread over many blocks in small steps (see `volatility-breaker`); a pool
 * already this volatile raises its own bar.
 */
import type { Hex } from 'viem';
import { findingOf } from './finding';
import type { DecodedLog } from './logs';
import { flashLoansByTx } from './signals';
import type { DetectorDefinition, Finding, Severity } from './types';
import { ratio, rollingWindow, stdev } from './window';

export interface AmmManipulationParams {
  pools: { pair: Hex; symbol?: string | undefined }[];
  /** A move of at least this much (and beyond what volatility explains) is `high`. */
  impactBps: number;
  /** A move of at least this much is `critical`. */
  criticalBps: number;
  /** How many σ of the recent per-block moves a move must exceed. */
  volMultiplier: number;
  /** Blocks of history behind σ. */
  windowBlocks: number;
}

export const AMM_SWAP =
  'Swap(address indexed sender, uint256 amount0In, uint256 amount1In, uint256 amount0Out, uint256 amount1Out, address indexed to)';
export const AMM_SYNC = 'Sync(uint112 reserve0, uint112 reserve1)';

/** Price of token0 in token1 (raw units), a double: reserve1 / reserve0. */
const priceOf = (r0: bigint, r1: bigint) => ratio(r1, r0);

interface TxMove {
  tx: Hex;
  before: number;
  after: number;
  /** Largest input of one swap over the pair's input-side reserve before it. */
  depthShare: number;
  swaps: number;
  firstLog: number;
}

/** Per-transaction price moves of one pair, from its Swap and Sync logs (pure). */
export function movesFromLogs(swaps: readonly DecodedLog[], syncs: readonly DecodedLog[]): TxMove[] {
  const swapByLog = new Map<number, DecodedLog>();
  for (const s of swaps) swapByLog.set(s.logIndex, s);
  const moves = new Map<string, TxMove>();
  for (const sync of syncs) {
    // The pair emits Sync then Swap; a swap's Sync is the log right before it.
    const swap = swapByLog.get(sync.logIndex + 1);
    if (!swap) continue;
    const r0 = sync.args.reserve0 as bigint;
    const r1 = sync.args.reserve1 as bigint;
    const a0In = swap.args.amount0In as bigint;
    const a1In = swap.args.amount1In as bigint;
    const a0Out = swap.args.amount0Out as bigint;
    const a1Out = swap.args.amount1Out as bigint;
    const b0 = r0 - a0In + a0Out;
    const b1 = r1 - a1In + a1Out;
    if (b0 <= 0n || b1 <= 0n || r0 <= 0n || r1 <= 0n) continue;
    const share = Math.max(ratio(a0In, b0), ratio(a1In, b1));
    const key = sync.transactionHash.toLowerCase();
    const m = moves.get(key);
    if (!m) {
      moves.set(key, {
        tx: sync.transactionHash,
        before: priceOf(b0, b1),
        after: priceOf(r0, r1),
        depthShare: share,
        swaps: 1,
        firstLog: sync.logIndex,
      });
    } else {
      m.after = priceOf(r0, r1);
      m.depthShare = Math.max(m.depthShare, share);
      m.swaps++;
    }
  }
  return [...moves.values()].sort((a, b) => a.firstLog - b.firstLog);
}

/**
 * The size of a price move in basis points, the same whichever token is quoted in which:
 * (max(after/before, before/after) − 1): a 56× rise and a fall to 1/56 are both 5,500%.
 */
export const moveBps = (before: number, after: number) =>
  (Math.max(after / before, before / after) - 1) * 10_000;

export const ammManipulation: DetectorDefinition<AmmManipulationParams> = {
  type: 'amm-manipulation',
  description: 'A pool price moved within a tx or block far beyond what its recent volatility explains.',
  async detect(event, { instanceId, params, view, state, logs }) {
    const findings: Finding[] = [];
    const addresses = params.pools.map((p) => p.pair);
    const [swaps, syncs, flash] = await Promise.all([
      logs.decode(AMM_SWAP, addresses),
      logs.decode(AMM_SYNC, addresses),
      flashLoansByTx(logs),
    ]);
    for (const pool of params.pools) {
      const pair = pool.pair.toLowerCase();
      const label = pool.symbol ?? pair;
      const reserves = await view.pair(pool.pair);
      const end = priceOf(reserves.reserve0, reserves.reserve1);
      const history = rollingWindow<number>(state, `returns:${pair}`, { maxBlocks: params.windowBlocks });
      const lastPrice = state.get<{ block: number; price: number }>(`price:${pair}`);
      const moves = movesFromLogs(
        swaps.filter((s) => s.address === pair),
        syncs.filter((s) => s.address === pair),
      );
      // σ of the per-block moves before this block; the bar this block's moves must clear.
      const sigma = stdev(history.before(event.block.number).map((s) => s.value));
      const volBar = params.volMultiplier * sigma * 10_000;
      const bar = Math.max(params.impactBps, volBar);
      const start =
        moves[0]?.before ??
        (lastPrice && lastPrice.block < Number(event.block.number) ? lastPrice.price : end);
      const blockMove = moveBps(start, end);
      // The largest single-transaction move, or the block's net move when no swap log explains it.
      let worst: (TxMove & { bps: number; flash: boolean }) | undefined;
      for (const m of moves) {
        const bps = moveBps(m.before, m.after);
        const withFlash = flash.has(m.tx.toLowerCase());
        if (!worst || bps > worst.bps || (withFlash && !worst.flash && bps >= bar))
          worst = { ...m, bps, flash: withFlash };
      }
      const peak = Math.max(blockMove, worst?.bps ?? 0);
      if (peak >= bar) {
        const withFlash = worst?.flash === true && worst.bps >= bar;
        const severity: Severity = peak >= params.criticalBps || withFlash ? 'critical' : 'high';
        const multiple = end / start;
        findings.push(
          findingOf('amm-manipulation', instanceId, event, {
            severity,
            kind: 'manipulation',
            subject: { protocol: 'uniswap-v2', market: reserves.pair, asset: reserves.token0 },
            dedupeKey: `amm-manipulation:${event.chainId}:${pair}`,
            confidence: Math.min(
              1,
              0.55 + 0.35 * Math.min(1, peak / Math.max(params.criticalBps, 1)) + (withFlash ? 0.1 : 0),
            ),
            title: `${label} pool price moved ${(peak / 100).toFixed(1)}% in ${worst && worst.bps >= blockMove ? 'one transaction' : 'one block'}${withFlash ? ' next to a flash loan' : ''} (${multiple.toPrecision(4)}× over the block)`,
            evidence: {
              pair: reserves.pair,
              token0: reserves.token0,
              token1: reserves.token1,
              reserve0: reserves.reserve0.toString(),
              reserve1: reserves.reserve1.toString(),
              priceBefore: start,
              priceAfter: end,
              blockMoveBps: Math.round(blockMove),
              txMoveBps: Math.round(worst?.bps ?? 0),
              ...(worst
                ? {
                    tx: worst.tx,
                    swapsInTx: worst.swaps,
                    tradeShareOfDepth: Number(worst.depthShare.toFixed(4)),
                  }
                : {}),
              flashLoan: withFlash,
              sigmaBps: Math.round(sigma * 10_000),
              barBps: Math.round(bar),
              block: event.block.number.toString(),
            },
          }),
        );
      }
      history.push(
        event.block.number,
        event.block.timestamp,
        start > 0 && end > 0 ? Math.log(end / start) : 0,
      );
      state.set(`price:${pair}`, { block: Number(event.block.number), price: end });
    }
    return findings;
  },
};
