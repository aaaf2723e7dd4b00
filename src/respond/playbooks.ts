/**
 * Respond — playbooks: which findings lead to which actions, at which autonomy level.
 *
 * A playbook matches a finding (detector, kind, minimum severity and confidence) and names the
 * steps to take. A cooldown keeps it from firing again for the same subject for a number of blocks.
 */
import type { PlaybookConfig } from '../config/schema';
import { canonicalDetectorType } from '../detectors/debt-concentration';
import { SEVERITY_RANK } from '../detectors/types';
import type { IngestResult } from '../incidents/manager';
import { subjectKey } from '../incidents/manager';

export interface Decision {
  playbook: PlaybookConfig;
  stepIndex: number;
  step: PlaybookConfig['do'][number];
  result: IngestResult;
}

/**
 * `when.detector` names an instance id or a detector type. When a configured instance has that id,
 * only its findings match (an id that is also a type, e.g. an instance called `oracle-deviation`
 * beside a second `oracle-deviation` instance called `peg-watch`, does not pull in the other
 * instance); otherwise the type matches every instance of it. A type alias (`debt-concentration`)
 * matches the type it stands for (`concentration`), and back.
 */
export function playbookMatches(
  playbook: PlaybookConfig,
  { finding }: IngestResult,
  instanceIds?: ReadonlySet<string>,
): boolean {
  const w = playbook.when;
  if (w.detector !== undefined) {
    const byId = instanceIds?.has(w.detector) === true;
    if (
      w.detector !== finding.detectorInstance &&
      (byId || canonicalDetectorType(w.detector) !== canonicalDetectorType(finding.detector))
    )
      return false;
  }
  if (w.kind !== undefined && w.kind !== finding.kind) return false;
  if (SEVERITY_RANK[finding.severity] < SEVERITY_RANK[w.severity]) return false;
  return finding.confidence >= w.minConfidence;
}

/** Keeps the last block each (playbook, subject) fired at. */
export function createCooldowns() {
  const last = new Map<string, bigint>();
  return {
    ready(playbook: PlaybookConfig, result: IngestResult): boolean {
      const at = last.get(`${playbook.id}|${subjectKey(result.finding.subject)}`);
      return at === undefined || result.finding.block.number - at >= BigInt(playbook.cooldownBlocks);
    },
    fired(playbook: PlaybookConfig, result: IngestResult): void {
      last.set(`${playbook.id}|${subjectKey(result.finding.subject)}`, result.finding.block.number);
    },
    /** Forgets a firing whose action failed for a reason that may pass (simulation, sending), so the next block retries. */
    clear(playbook: PlaybookConfig, result: IngestResult): void {
      last.delete(`${playbook.id}|${subjectKey(result.finding.subject)}`);
    },
  };
}

export type Cooldowns = ReturnType<typeof createCooldowns>;

/** The decisions a batch of ingested findings leads to, in playbook order. */
export function decide(
  playbooks: readonly PlaybookConfig[],
  results: readonly IngestResult[],
  cooldowns: Cooldowns,
  instanceIds?: ReadonlySet<string>,
): Decision[] {
  const decisions: Decision[] = [];
  for (const result of results) {
    for (const playbook of playbooks) {
      if (!playbookMatches(playbook, result, instanceIds) || !cooldowns.ready(playbook, result)) continue;
      cooldowns.fired(playbook, result);
      for (const [stepIndex, step] of playbook.do.entries())
        decisions.push({ playbook, stepIndex, step, result });
    }
  }
  return decisions;
}
