/**
 * Detect — `price-feed-integrity`: a Chainlink-compatible feed that misbehaves on its own terms,
 * whatever the market does.
 *
 * Catches, per feed:
 * - `stale`: no new round for longer than its heartbeat (Black Thursday's lagging feeds);
 * - `jump`: a new round that moves the answer by `maxJumpBps` or more while its references did not
 *   follow (Compound's DAI at $1.30 on one source); without references, any such jump (lower severity);
 * - `bound`: an answer at or beyond the configured min/max (Chainlink's circuit-breaker bounds, the
 *   LUNA floor), or not positive;
 * - `flat`: the same answer for `flatBlocks` blocks while the references moved `flatReferenceMoveBps`;
 * - `sender`: a round published by a transaction from an address not in `updaters` (needs the
 *   feed's `AnswerUpdated` logs and the transaction's sender from a node).
 *
 * Blind spots: a reference that fails in the same way; a slow drift under `maxJumpBps` per round;
 * the sender check needs a node (recordings keep no transactions): on a replay it reports itself
 * blind (`low`, `degraded`) and the other checks run.
 */
import type { Hex } from 'viem';
import { scaleAnswer } from '../protocols/chainlink/feed';
import { findingOf } from './finding';
import type { DetectorDefinition, Finding, Severity } from './types';
import { changeBps } from './window';

export interface PriceFeedIntegrityParams {
  /** The Aave v3 market (addresses provider) the feeds price assets of, when the detector has one. */
  market?: Hex | undefined;
  feeds: {
    feed: Hex;
    symbol?: string | undefined;
    /** The market asset the feed prices: findings then name it (and `market`), so a playbook can act on its reserve. */
    asset?: Hex | undefined;
    /** Seconds a round may stand before the feed counts as stale. */
    heartbeatSeconds: number;
    maxJumpBps: number;
    /** Independent feeds quoting the same asset (any decimals). */
    references: Hex[];
    /** Answer bounds in the feed's own units (decimal strings, bigint-safe). */
    minAnswer?: string | undefined;
    maxAnswer?: string | undefined;
    flatBlocks: number;
    flatReferenceMoveBps: number;
    /** Senders allowed to publish rounds; empty = not checked. */
    updaters: Hex[];
  }[];
}

export const ANSWER_UPDATED =
  'AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt)';

interface FeedMemory {
  roundId: string;
  answer: string;
  /** Block where the answer last changed, and the reference prices (feed decimals) then. */
  changedAt: number;
  referencesAtChange: string[];
}

/** Median of bigints (lower middle for an even count); null when empty. */
export function medianBig(values: readonly bigint[]): bigint | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export const priceFeedIntegrity: DetectorDefinition<PriceFeedIntegrityParams> = {
  type: 'price-feed-integrity',
  description:
    'A feed that is stale, jumps alone, sits at a bound, stays flat, or is updated by an unexpected sender.',
  async detect(event, { instanceId, params, view, state, logs }) {
    const findings: Finding[] = [];
    const now = event.block.timestamp;
    const block = Number(event.block.number);
    for (const f of params.feeds) {
      const feed = f.feed.toLowerCase() as Hex;
      const label = f.symbol ?? feed;
      const [answer, refs] = await Promise.all([
        view.feed(f.feed),
        Promise.all(f.references.map((r) => view.feed(r))),
      ]);
      const refPrices = refs.map((r) => scaleAnswer(r.answer, r.decimals, answer.decimals));
      const reference = medianBig(refPrices.filter((p) => p > 0n));
      const raise = (
        check: string,
        severity: Severity,
        kind: Finding['kind'],
        confidence: number,
        title: string,
        evidence: Finding['evidence'],
        key = '',
      ) =>
        findings.push(
          findingOf('price-feed-integrity', instanceId, event, {
            severity,
            kind,
            subject:
              f.asset !== undefined && params.market !== undefined
                ? { protocol: 'aave-v3', market: params.market, asset: f.asset.toLowerCase() as Hex }
                : { protocol: 'chainlink', market: feed },
            dedupeKey: `price-feed-integrity:${check}:${event.chainId}:${feed}${key}`,
            confidence,
            title: `${label} feed: ${title}`,
            evidence: {
              feed,
              check,
              answer: answer.answer.toString(),
              decimals: answer.decimals,
              roundId: answer.roundId.toString(),
              updatedAt: answer.updatedAt.toString(),
              ...(reference !== null ? { referenceMedian: reference.toString() } : {}),
              block: event.block.number.toString(),
              ...evidence,
            },
          }),
        );

      // Stale: the round is older than the heartbeat allows.
      const age = now - answer.updatedAt;
      if (age > BigInt(f.heartbeatSeconds)) {
        const late = Number(age) / f.heartbeatSeconds;
        raise(
          'stale',
          late >= 3 ? 'high' : 'medium',
          'degraded',
          Math.min(1, 0.6 + 0.1 * late),
          `no new round for ${age} s (heartbeat ${f.heartbeatSeconds} s)`,
          {
            ageSeconds: age.toString(),
            heartbeatSeconds: f.heartbeatSeconds,
          },
        );
      }

      // Bounds: not positive, or at the configured min/max.
      const min = f.minAnswer !== undefined ? BigInt(f.minAnswer) : undefined;
      const max = f.maxAnswer !== undefined ? BigInt(f.maxAnswer) : undefined;
      if (answer.answer <= 0n)
        raise('bound', 'critical', 'anomaly', 1, `answer ${answer.answer} is not a price`, {});
      else if ((min !== undefined && answer.answer <= min) || (max !== undefined && answer.answer >= max))
        raise(
          'bound',
          'high',
          'anomaly',
          0.9,
          `answer ${answer.answer} sits at its bound [${f.minAnswer ?? '-'}, ${f.maxAnswer ?? '-'}]`,
          {
            minAnswer: f.minAnswer ?? '',
            maxAnswer: f.maxAnswer ?? '',
          },
        );

      const memory = state.get<FeedMemory>(`feed:${feed}`);
      const changed = memory !== undefined && memory.answer !== answer.answer.toString();
      // Jump: a new answer far from the previous one that the references do not share.
      if (memory !== undefined && changed && BigInt(memory.answer) > 0n) {
        const previous = BigInt(memory.answer);
        const jump = changeBps(answer.answer, previous);
        if (jump >= f.maxJumpBps) {
          if (reference === null) {
            raise(
              'jump',
              'medium',
              'anomaly',
              0.5,
              `answer moved ${(jump / 100).toFixed(1)}% in one round (no reference to compare)`,
              {
                previousAnswer: previous.toString(),
                jumpBps: jump,
              },
            );
          } else {
            const offReference = changeBps(answer.answer, reference);
            // The market moved too if the references now agree with the feed.
            if (offReference * 2 >= f.maxJumpBps) {
              raise(
                'jump',
                offReference >= f.maxJumpBps ? 'high' : 'medium',
                'manipulation',
                Math.min(1, 0.6 + offReference / 20_000),
                `answer moved ${(jump / 100).toFixed(1)}% in one round while its references did not (${(offReference / 100).toFixed(1)}% off their median)`,
                { previousAnswer: previous.toString(), jumpBps: jump, offReferenceBps: offReference },
              );
            }
          }
        }
      }
      // Flat: the answer has not changed for flatBlocks while the references moved.
      if (
        memory !== undefined &&
        !changed &&
        block - memory.changedAt >= f.flatBlocks &&
        memory.referencesAtChange.length > 0
      ) {
        const then = medianBig(memory.referencesAtChange.map(BigInt).filter((p) => p > 0n));
        if (then !== null && reference !== null) {
          const moved = changeBps(reference, then);
          if (moved >= f.flatReferenceMoveBps)
            raise(
              'flat',
              moved >= 2 * f.flatReferenceMoveBps ? 'high' : 'medium',
              'degraded',
              0.7,
              `answer flat for ${block - memory.changedAt} blocks while its references moved ${(moved / 100).toFixed(1)}%`,
              {
                flatBlocks: block - memory.changedAt,
                referenceMoveBps: moved,
              },
            );
        }
      }
      state.set<FeedMemory>(`feed:${feed}`, {
        roundId: answer.roundId.toString(),
        answer: answer.answer.toString(),
        changedAt: memory === undefined || changed ? block : memory.changedAt,
        referencesAtChange:
          memory === undefined || changed ? refPrices.map(String) : memory.referencesAtChange,
      });

      // Sender: who published this block's rounds.
      if (f.updaters.length > 0) {
        const allowed = new Set(f.updaters.map((u) => u.toLowerCase()));
        const updates = await logs.decode(ANSWER_UPDATED, f.feed);
        for (const u of updates) {
          let tx: { from: Hex };
          try {
            tx = await view.transaction(u.transactionHash);
          } catch (error) {
            // No node to ask (a replay of a recording): this check is blind, the others still ran.
            raise(
              'sender',
              'low',
              'degraded',
              1,
              `sender of round ${String(u.args.roundId)} not checked: ${(error as Error).message.split('\n')[0]}`,
              { tx: u.transactionHash },
              `:${u.transactionHash.toLowerCase()}`,
            );
            continue;
          }
          if (!allowed.has(tx.from))
            raise(
              'sender',
              'high',
              'exploit',
              0.9,
              `round ${String(u.args.roundId)} published by unexpected sender ${tx.from}`,
              {
                sender: tx.from,
                tx: u.transactionHash,
                publishedAnswer: String(u.args.current),
              },
              `:${u.transactionHash.toLowerCase()}`,
            );
        }
      }
    }
    return findings;
  },
};
