/**
 * Incidents — the incident model and its timeline.
 *
 * An incident groups the findings about one subject (a market, or an asset in it) while it is
 * open. Its timeline is the story a responder reads at 3 a.m.: what was seen, what was decided,
 * which transaction went out, when it was mined, and whether the effect was verified.
 */
import type { Finding, Severity, Subject } from '../detectors/types';

export type IncidentStatus = 'open' | 'contained' | 'resolved';

export interface Incident {
  id: string;
  title: string;
  status: IncidentStatus;
  severity: Severity;
  subject: Subject;
  openedAt: number;
  openedBlock: bigint;
  updatedAt: number;
}

export type TimelineEventType =
  | 'finding'
  | 'decision'
  | 'action-refused'
  | 'simulated'
  | 'tx-sent'
  | 'tx-mined'
  | 'effect-verified'
  | 'effect-failed'
  | 'status'
  /** Findings withdrawn: their block was orphaned by a reorg (actions already sent are not undone). */
  | 'retracted';

export interface TimelineEvent {
  incidentId: string;
  /** Wall-clock milliseconds. */
  at: number;
  /** The chain block the event concerns, when there is one. */
  block: bigint | null;
  type: TimelineEventType;
  summary: string;
  data: Record<string, unknown>;
}

export type { Finding };
