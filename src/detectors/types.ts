/**
 * Detect — the detector contract and the finding model.
 *
 * A detector is a function of (event, context) → findings. It keeps no module state: what it must
 * remember lives in `ctx.state`. It reads protocol state only through `ctx.view`, which is pinned
 * to the event's block, so replaying the same blocks gives the same findings with the same ids.
 */
import type { Hex } from 'viem';
import type { z } from 'zod';
import type { BlockView } from './view';

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export type FindingKind = 'exploit' | 'manipulation' | 'insolvency' | 'liquidity' | 'governance' | 'anomaly' | 'degraded';

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

export interface Subject {
  chainId: number;
  protocol?: string;
  /** The market's identifying address (for Aave v3, the PoolAddressesProvider). */
  market?: Hex;
  asset?: Hex;
  account?: Hex;
}

export interface BlockRef {
  number: bigint;
  hash: Hex;
  timestamp: bigint;
}

export interface Finding {
  /** Deterministic: hash of detector, dedupe key and block hash. */
  id: string;
  detector: string;
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

/** What every stage downstream of the source sees. Later: `reorg` and `finalized`. */
export type ChainEvent = { type: 'block'; chainId: number; block: BlockRef; receivedAt: number };
export type BlockEvent = Extract<ChainEvent, { type: 'block' }>;

export interface DetectorState {
  get<T>(key: string): T | undefined;
  set<T>(key: string, value: T): void;
}

export interface DetectorContext<P> {
  params: P;
  view: BlockView;
  state: DetectorState;
}

export interface DetectorDefinition<P> {
  id: string;
  description: string;
  params: z.ZodType<P>;
  detect(event: BlockEvent, ctx: DetectorContext<P>): Promise<Finding[]>;
}
