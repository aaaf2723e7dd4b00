/**
 * Drills — the scorecard as data: the JSON written by `firebreak drill --json` (stable field
 * names; block numbers as numbers, amounts in USD).
 */
import type { DrillResult, RunResult } from './runner';

const num = (b: bigint | null) => (b === null ? null : Number(b));

function run(r: RunResult) {
  return {
    lossUsd: round(r.lossUsd),
    badDebtUsd: round(r.badDebtUsd),
    assetsTakenUsd: round(r.assetsTakenUsd),
    attackerProfitUsd: round(r.attackerProfitUsd),
    startBlock: Number(r.startBlock),
    endBlock: Number(r.endBlock),
    firstHarmBlock: num(r.firstHarmBlock),
    detectedBlock: num(r.detectedBlock),
    mitigatedBlock: num(r.mitigatedBlock),
    mitigatedBeforeHarm: r.mitigatedBeforeHarm,
    actions: r.actions.map((a) => ({
      ...a,
      sentBlock: a.sentBlock === null ? null : Number(a.sentBlock),
      minedBlock: a.minedBlock === null ? null : Number(a.minedBlock),
    })),
    usableAfter: r.usable,
    steps: r.steps.map((s) => ({
      label: s.label,
      actor: s.actor,
      do: s.do,
      offset: s.offset,
      block: num(s.block),
      status: s.status,
      ...(s.skipped ? { skipped: s.skipped } : {}),
    })),
    timeline: r.timeline.map((e) => ({ at: e.at, block: num(e.block), type: e.type, summary: e.summary })),
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

export function drillToJson(result: DrillResult) {
  return {
    scenario: result.scenario.name,
    title: result.scenario.title,
    tags: result.scenario.tags,
    blockBudgetMs: result.blockBudgetMs,
    marketDeployMs: round(result.marketDeployMs),
    counterfactual: run(result.counterfactual),
    protected: run(result.protected),
    lossPreventedPct: result.lossPreventedPct === null ? null : round(result.lossPreventedPct),
    verdict: result.verdict,
    reasons: result.reasons,
    wallMs: Math.round(result.wallMs),
  };
}
