/**
 * Incidents — correlation of findings into incidents, and the timeline.
 *
 * Findings about the same subject (chain, market, asset) while an incident about it is open join
 * that incident. The timeline records the first sighting of each condition and every escalation,
 * not the same finding again on every block, so it stays readable.
 */

import { keccak256, toHex } from 'viem';
import type { Clock } from '../common/common';
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

export interface IncidentManager {
  ingest(findings: readonly Finding[]): Promise<IngestResult[]>;
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

export async function createIncidentManager(
  repo: IncidentRepository,
  clock: Clock,
): Promise<IncidentManager> {
  const open = new Map<string, Incident>();
  const byId = new Map<string, Incident>();
  /** dedupe keys already on each incident's timeline, with the severity they were recorded at. */
  const seen = new Map<string, Map<string, number>>();
  for (const incident of await repo.listOpenIncidents()) {
    open.set(subjectKey(incident.subject), incident);
    byId.set(incident.id, incident);
    // What is already on the timeline survives a restart: a known condition is not a new sighting.
    const keys = new Map<string, number>();
    for (const event of await repo.listTimeline(incident.id)) {
      const { dedupeKey, severity } = event.data as {
        dedupeKey?: string;
        severity?: keyof typeof SEVERITY_RANK;
      };
      if (event.type !== 'finding' || dedupeKey === undefined || severity === undefined) continue;
      keys.set(dedupeKey, Math.max(keys.get(dedupeKey) ?? -1, SEVERITY_RANK[severity]));
    }
    seen.set(incident.id, keys);
  }

  const record: IncidentManager['record'] = async (incidentId, type, summary, data = {}, block = null) => {
    await repo.appendTimeline({ incidentId, at: clock.now(), block, type, summary, data });
  };

  return {
    async ingest(findings) {
      const results: IngestResult[] = [];
      for (const finding of findings) {
        if (finding.kind === 'degraded') continue; // health of the engine, not an incident about a market
        const key = subjectKey(finding.subject);
        let incident = open.get(key);
        let escalated = false;
        if (!incident) {
          incident = {
            id: keccak256(toHex(`incident|${key}|${finding.block.hash}`)).slice(0, 18),
            title: finding.title,
            status: 'open',
            severity: finding.severity,
            subject: finding.subject,
            openedAt: clock.now(),
            openedBlock: finding.block.number,
            updatedAt: clock.now(),
          };
          open.set(key, incident);
          byId.set(incident.id, incident);
          await repo.upsertIncident(incident);
          escalated = true;
        } else if (SEVERITY_RANK[finding.severity] > SEVERITY_RANK[incident.severity]) {
          incident = {
            ...incident,
            severity: finding.severity,
            title: finding.title,
            updatedAt: clock.now(),
          };
          open.set(key, incident);
          byId.set(incident.id, incident);
          await repo.upsertIncident(incident);
          escalated = true;
        }
        const isNew = await repo.insertFinding(finding, incident.id);
        let keys = seen.get(incident.id);
        if (!keys) {
          keys = new Map();
          seen.set(incident.id, keys);
        }
        const before = keys.get(finding.dedupeKey);
        if (isNew && (before === undefined || SEVERITY_RANK[finding.severity] > before)) {
          keys.set(finding.dedupeKey, SEVERITY_RANK[finding.severity]);
          await record(
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
    record,
    async setStatus(incidentId, status, reason, block = null) {
      const incident = byId.get(incidentId);
      if (!incident || incident.status === status) return;
      const next = { ...incident, status, updatedAt: clock.now() };
      byId.set(incidentId, next);
      const key = subjectKey(next.subject);
      if (status === 'resolved') open.delete(key);
      else open.set(key, next);
      await repo.upsertIncident(next);
      await record(incidentId, 'status', `incident ${status}: ${reason}`, { status }, block);
    },
    get: (id) => byId.get(id),
    timeline: (id) => repo.listTimeline(id),
  };
}
