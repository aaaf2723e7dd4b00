/**
 * Incidents — correlation of findings into incidents, and the timeline.
 *
 * Findings about the same subject (chain, market, asset) while an incident about it is open join
 * that incident. The timeline records the first sighting of each condition and every escalation,
 * not the same finding again on every block, so it stays readable.
 *
 * Findings whose block a reorg orphaned are retracted: the timeline says so (and that actions
 * already sent are not undone), the condition counts as unseen again, and an incident left with no
 * finding and no action taken is resolved.
 */

import { keccak256, toHex } from 'viem';
import type { Clock } from '../common/common';
import type { Logger } from '../common/logger';
import { type Finding, SEVERITY_RANK, type Subject } from '../detectors/types';
import type { Incident, IncidentStatus, TimelineEvent, TimelineEventType } from './types';

/** What the incident manager needs from the store. */
export interface IncidentRepository {
  insertFinding(finding: Finding, incidentId: string): Promise<boolean>;
  upsertIncident(incident: Incident): Promise<void>;
  appendTimeline(event: TimelineEvent): Promise<void>;
  listTimeline(incidentId: string): Promise<TimelineEvent[]>;
  listOpenIncidents(): Promise<Incident[]>;
}

export interface IngestResult {
  incident: Incident;
  finding: Finding;
  /** True when this finding opened the incident or raised its severity. */
  escalated: boolean;
}

/** The findings of one incident that a reorg retracted, as the engine found them in the store. */
export interface IncidentRetraction {
  incidentId: string;
  findings: readonly Finding[];
  /** Findings of the incident still standing after the retraction. */
  remaining: number;
  /** Ids of the incident's actions already sent (sent, mined, verified): not undone. */
  actionsTaken: readonly string[];
}

/** Why findings were retracted: one line for the timeline, the block it concerns, and details. */
export interface RetractionCause {
  summary: string;
  block: bigint | null;
  data: Record<string, unknown>;
}

export interface IncidentManager {
  /**
   * Files findings under incidents. Writes go to `repo` when given (the engine passes one bound to
   * the transaction that also checkpoints the block), else to the manager's repository. If that
   * transaction fails, call `reload()`: the manager's memory may hold what was rolled back.
   */
  ingest(findings: readonly Finding[], repo?: IncidentRepository): Promise<IngestResult[]>;
  /**
   * What `ingest` would return for these findings now (the incident each joins or opens, and
   * whether it escalates), computed from memory without writing or changing anything: lets the
   * response start planning while the findings are being stored.
   */
  preview(findings: readonly Finding[]): IngestResult[];
  /** Puts retractions on the timelines (through `repo` when given) and resolves emptied incidents. */
  retract(
    retractions: readonly IncidentRetraction[],
    cause: RetractionCause,
    repo?: IncidentRepository,
  ): Promise<void>;
  /** Forgets what is in memory and reads the open incidents and their timelines again. */
  reload(): Promise<void>;
  record(
    incidentId: string,
    type: TimelineEventType,
    summary: string,
    data?: Record<string, unknown>,
    block?: bigint | null,
  ): Promise<void>;
  setStatus(incidentId: string, status: IncidentStatus, reason: string, block?: bigint | null): Promise<void>;
  get(incidentId: string): Incident | undefined;
  timeline(incidentId: string): Promise<TimelineEvent[]>;
}

export function subjectKey(subject: Subject): string {
  return [subject.chainId, subject.protocol ?? '-', subject.market ?? '-', subject.asset ?? '-']
    .join(':')
    .toLowerCase();
}

/** Timeline entries an on-call engineer must not miss in the log: logged at warn, the rest at info. */
const WARN_TYPES: ReadonlySet<TimelineEventType> = new Set(['action-refused', 'effect-failed']);

/**
 * @param logger when given, every timeline entry is also a log line (`firebreak run` logs at info),
 *   so whoever watches the process sees the incident unfold without querying the store.
 */
export async function createIncidentManager(
  repo: IncidentRepository,
  clock: Clock,
  logger?: Logger,
): Promise<IncidentManager> {
  const open = new Map<string, Incident>();
  const byId = new Map<string, Incident>();
  /** dedupe keys already on each incident's timeline, with the severity they were recorded at. */
  const seen = new Map<string, Map<string, number>>();
  const load = async () => {
    open.clear();
    byId.clear();
    seen.clear();
    for (const incident of await repo.listOpenIncidents()) {
      open.set(subjectKey(incident.subject), incident);
      byId.set(incident.id, incident);
      // What is already on the timeline survives a restart: a known condition is not a new sighting
      // (unless a reorg retracted it since).
      const keys = new Map<string, number>();
      for (const event of await repo.listTimeline(incident.id)) {
        if (event.type === 'retracted') {
          for (const key of (event.data as { dedupeKeys?: string[] }).dedupeKeys ?? []) keys.delete(key);
          continue;
        }
        const { dedupeKey, severity } = event.data as {
          dedupeKey?: string;
          severity?: keyof typeof SEVERITY_RANK;
        };
        if (event.type !== 'finding' || dedupeKey === undefined || severity === undefined) continue;
        keys.set(dedupeKey, Math.max(keys.get(dedupeKey) ?? -1, SEVERITY_RANK[severity]));
      }
      seen.set(incident.id, keys);
    }
  };
  await load();

  const recordVia = async (
    target: IncidentRepository,
    ...[incidentId, type, summary, data = {}, block = null]: Parameters<IncidentManager['record']>
  ) => {
    await target.appendTimeline({ incidentId, at: clock.now(), block, type, summary, data });
    if (logger) {
      const fields = { incident: incidentId, event: type, block: block === null ? null : Number(block) };
      if (WARN_TYPES.has(type)) logger.warn(fields, summary);
      else logger.info(fields, summary);
    }
  };
  const record: IncidentManager['record'] = (...args) => recordVia(repo, ...args);

  const setStatusVia = async (
    target: IncidentRepository,
    incidentId: string,
    status: IncidentStatus,
    reason: string,
    block: bigint | null,
  ) => {
    const incident = byId.get(incidentId);
    if (!incident || incident.status === status) return;
    const next = { ...incident, status, updatedAt: clock.now() };
    byId.set(incidentId, next);
    const key = subjectKey(next.subject);
    if (status === 'resolved') {
      if (open.get(key)?.id === incidentId) open.delete(key);
    } else open.set(key, next);
    await target.upsertIncident(next);
    await recordVia(target, incidentId, 'status', `incident ${status}: ${reason}`, { status }, block);
  };

  /**
   * The incident a finding joins (the open one on its subject) or opens, raised to the finding's
   * severity if that is higher; `escalated` when it is new or raised. Changes nothing.
   */
  const placeFinding = (
    finding: Finding,
    current: Incident | undefined,
  ): { incident: Incident; escalated: boolean } => {
    if (!current)
      return {
        incident: {
          id: keccak256(toHex(`incident|${subjectKey(finding.subject)}|${finding.block.hash}`)).slice(0, 18),
          title: finding.title,
          status: 'open',
          severity: finding.severity,
          subject: finding.subject,
          openedAt: clock.now(),
          openedBlock: finding.block.number,
          updatedAt: clock.now(),
        },
        escalated: true,
      };
    if (SEVERITY_RANK[finding.severity] > SEVERITY_RANK[current.severity])
      return {
        incident: { ...current, severity: finding.severity, title: finding.title, updatedAt: clock.now() },
        escalated: true,
      };
    return { incident: current, escalated: false };
  };

  return {
    async ingest(findings, target = repo) {
      const results: IngestResult[] = [];
      for (const finding of findings) {
        if (finding.kind === 'degraded') continue; // health of the engine, not an incident about a market
        const { incident, escalated } = placeFinding(finding, open.get(subjectKey(finding.subject)));
        if (escalated) {
          open.set(subjectKey(finding.subject), incident);
          byId.set(incident.id, incident);
          await target.upsertIncident(incident);
        }
        const isNew = await target.insertFinding(finding, incident.id);
        let keys = seen.get(incident.id);
        if (!keys) {
          keys = new Map();
          seen.set(incident.id, keys);
        }
        const before = keys.get(finding.dedupeKey);
        if (isNew && (before === undefined || SEVERITY_RANK[finding.severity] > before)) {
          keys.set(finding.dedupeKey, SEVERITY_RANK[finding.severity]);
          await recordVia(
            target,
            incident.id,
            'finding',
            `${finding.severity.toUpperCase()} ${finding.detector}: ${finding.title}`,
            {
              findingId: finding.id,
              detector: finding.detector,
              dedupeKey: finding.dedupeKey,
              severity: finding.severity,
              evidence: finding.evidence,
            },
            finding.block.number,
          );
        }
        results.push({ incident, finding, escalated });
      }
      return results;
    },
    preview(findings) {
      const overlay = new Map<string, Incident>();
      const results: IngestResult[] = [];
      for (const finding of findings) {
        if (finding.kind === 'degraded') continue;
        const key = subjectKey(finding.subject);
        const placed = placeFinding(finding, overlay.get(key) ?? open.get(key));
        if (placed.escalated) overlay.set(key, placed.incident);
        results.push({ incident: placed.incident, finding, escalated: placed.escalated });
      }
      return results;
    },
    async retract(retractions, cause, target = repo) {
      for (const r of retractions) {
        if (r.findings.length === 0) continue;
        const dedupeKeys = [...new Set(r.findings.map((f) => f.dedupeKey))];
        // The condition was never seen on the canonical chain: a new sighting is news again.
        const keys = seen.get(r.incidentId);
        for (const key of dedupeKeys) keys?.delete(key);
        const blocks = [...new Set(r.findings.map((f) => f.block.number))].sort((a, b) => (a < b ? -1 : 1));
        const taken =
          r.actionsTaken.length === 0
            ? 'no action had been taken'
            : `${r.actionsTaken.length} action(s) already sent are NOT undone`;
        await recordVia(
          target,
          r.incidentId,
          'retracted',
          `${r.findings.length} finding(s) retracted (block${blocks.length > 1 ? 's' : ''} ${blocks.join(', ')}): ${cause.summary}; ${taken}`,
          {
            ...cause.data,
            findingIds: r.findings.map((f) => f.id),
            dedupeKeys,
            remaining: r.remaining,
            actionsTaken: [...r.actionsTaken],
          },
          cause.block,
        );
        const incident = byId.get(r.incidentId);
        if (r.remaining === 0 && r.actionsTaken.length === 0 && incident && incident.status !== 'resolved')
          await setStatusVia(
            target,
            r.incidentId,
            'resolved',
            'every finding was retracted (orphaned by a reorg)',
            cause.block,
          );
      }
    },
    reload: load,
    record,
    setStatus: (incidentId, status, reason, block = null) =>
      setStatusVia(repo, incidentId, status, reason, block),
    get: (id) => byId.get(id),
    timeline: (id) => repo.listTimeline(id),
  };
}
