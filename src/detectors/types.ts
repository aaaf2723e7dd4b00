/**
 * Detect — the detector contract and the finding model.
 *
 * A detector is a function of (event, context) → findings. It keeps no module state: what it must
 * remember lives in `ctx.state`. It reads protocol state only through `ctx.view`, which is pinned
 * to the event's block, so replaying the same blocks gives the same findings with the same ids.
 */
import type { Hex } from 'viem';
import type { BlockEvent, BlockRef } from '../chain/events';
import { type BlockLogs, createBlockLogs } from './logs';
import type { BlockView } from './view';

export type { BlockEvent, BlockRef, ChainEvent } from '../chain/events';

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export type FindingKind =
  | 'exploit'
  | 'manipulation'
  | 'insolvency'
  | 'liquidity'
  | 'governance'
  | 'anomaly'
  | 'degraded';

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

export interface Subject {
  chainId: number;
  protocol?: string;
  /** The market's identifying address (for Aave v3, the PoolAddressesProvider). */
  market?: Hex;
  asset?: Hex;
  account?: Hex;
}

export interface Finding {
  /** Deterministic: hash of detector, dedupe key and block hash. */
  id: string;
  /** The detector type, e.g. `oracle-deviation`. */
  detector: string;
  /** The configured instance that raised it (several instances can share a type). */
  detectorInstance: string;
  severity: Severity;
  kind: FindingKind;
  subject: Subject;
  /** Same key = same underlying condition; incidents group and deduplicate on it. */
  dedupeKey: string;
  confidence: number;
  title: string;
  /** Numbers, tx hashes and blocks a human can check. Amounts are strings (bigint-safe). */
  evidence: Record<string, string | number | boolean>;
  block: BlockRef;
}

export interface DetectorState {
  get<T>(key: string): T | undefined;
  set<T>(key: string, value: T): void;
}

export interface DetectorContext<P> {
  /** The configured instance id, stamped on every finding. */
  instanceId: string;
  params: P;
  /** Protocol state at the event's block (prices, reserves, parameters, feed rounds, any view call). */
  view: BlockView;
  /** The detector's own state, kept between blocks (history windows: `window.ts`). */
  state: DetectorState;
  /** The block's logs, indexed by topic0; decode only the events the detector subscribes to. */
  logs: BlockLogs;
}

export interface DetectorDefinition<P> {
  /** The detector type, e.g. `oracle-deviation`. */
  type: string;
  description: string;
  detect(event: BlockEvent, ctx: DetectorContext<P>): Promise<Finding[]>;
}

/** A configured detector: a definition bound to its parameters under an instance id. */
export interface DetectorInstance {
  id: string;
  type: string;
  /** `logs`: the block's shared log index (`runDetectors` builds one per block); made here when omitted. */
  run(event: BlockEvent, view: BlockView, state: DetectorState, logs?: BlockLogs): Promise<Finding[]>;
}

export function instantiate<P>(id: string, definition: DetectorDefinition<P>, params: P): DetectorInstance {
  return {
    id,
    type: definition.type,
    run: (event, view, state, logs) =>
      definition.detect(event, {
        instanceId: id,
        params,
        view,
        state,
        logs: logs ?? createBlockLogs(event, view),
      }),
  };
}
