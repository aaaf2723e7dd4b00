/**
 * Bench `respond` — finding → signed transaction broadcast, simulation included, over 100 protected
 * runs of the Inverse Finance drill on the embedded chain (the real Aave v3 market): from the
 * moment the block's detectors return the oracle-deviation finding to the containing transactions
 * being broadcast. In between: the finding filed under an incident (store writes), the playbook
 * decision, the plan (state reads), the guardrails (the persisted ledger), the quorum confirmation
 * of the evidence, the simulation of every call, signing and `eth_sendRawTransaction`. Each run
 * starts from the same chain snapshot with an empty store, so every run acts.
 *
 * The store is one in-memory PGlite for all runs, emptied between them (every table truncated), as
 * a running engine keeps one store open for its life. Until 2026-11-26 each run opened a fresh
 * PGlite instead: every response then met a database session that had never run its statements,
 * and the process collected a 40 MB instance per run (docs/BENCHMARKS.md has both methods side by
 * side).
 */
import { sql } from 'kysely';
import { createCommon } from '../src/common/common';
import { prepareDrill, runScenario } from '../src/drills/runner';
import { loadScenario } from '../src/drills/scenario';
import { openStore, type Store } from '../src/store/store';
import { type Metric, percentile, round } from './stats';

const RUNS = Number(process.env.FIREBREAK_BENCH_RESPOND_RUNS ?? 100);

/** Empties every table of the store (what the migrations created, their own bookkeeping aside). */
async function emptyStore(store: Store): Promise<void> {
  const { rows } = await sql<{ tablename: string }>`
    select tablename from pg_tables
    where schemaname = 'public' and tablename not like 'kysely_migration%'`.execute(store.db);
  const tables = sql.join(rows.map((r) => sql.id(r.tablename)));
  await sql`truncate ${tables} restart identity cascade`.execute(store.db);
}

export async function run({ log }: { log: (m: string) => void }): Promise<Metric[]> {
  const scenario = loadScenario('scenarios/inverse-finance-2022.yaml');
  const common = createCommon();
  const prepared = await prepareDrill(scenario);
  const store = await openStore({ memory: true }, common);
  const ms: number[] = [];
  const started = performance.now();
  for (let i = 0; i < RUNS; i++) {
    const snapshot = await prepared.chain.snapshot();
    await emptyStore(store);
    const result = await runScenario('protected', prepared, scenario, { budget: 12_000, common, store });
    await prepared.chain.revert(snapshot);
    const sent = result.actions.find((a) => a.findingToSentMs !== null);
    if (!sent || sent.findingToSentMs === null)
      throw new Error(`run ${i + 1}: no containing transaction was sent`);
    if (result.lossUsd > 0)
      throw new Error(`run ${i + 1}: the protected run lost $${result.lossUsd.toFixed(0)}`);
    ms.push(sent.findingToSentMs);
    if ((i + 1) % 20 === 0)
      log(`${i + 1}/${RUNS} runs (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  await store.close();
  await prepared.chain.close();
  const sorted = [...ms].sort((a, b) => a - b);
  log(
    `finding → broadcast (ms): p50 ${percentile(ms, 50).toFixed(1)}, p90 ${percentile(ms, 90).toFixed(1)}, ` +
      `p99 ${percentile(ms, 99).toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)}, min ${sorted[0]!.toFixed(1)}`,
  );
  return [
    {
      id: 'finding_to_broadcast_p50_ms',
      value: round(percentile(ms, 50)),
      unit: 'ms',
      target: null,
      better: 'lower',
    },
    {
      id: 'finding_to_broadcast_p99_ms',
      value: round(percentile(ms, 99)),
      unit: 'ms',
      target: 50,
      better: 'lower',
    },
  ];
}
