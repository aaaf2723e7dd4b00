#!/usr/bin/env node
// `npm run bench` runs every benchmark in bench/; `npm run bench -- <name>` runs one.
// Each bench/<name>.bench.ts exports `run(ctx)` returning metrics; this harness prints a table and
// writes bench/results/<name>.json with the machine, the date, the command to reproduce it and what
// else ran meanwhile (load average; on Linux, the cores' share taken by others and by steal).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(root, 'bench');
const available = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const name of wanted) {
  if (!available.includes(name)) {
    console.error(`firebreak bench: no benchmark "${name}" (have: ${available.join(', ')})`);
    process.exit(2);
  }
}
const names = wanted.length > 0 ? wanted : available;

/** The machine's CPU counters (Linux `/proc/stat`, in ticks of 1/100 s); null elsewhere. */
function machineTicks() {
  try {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = fields.map(Number);
    const ticks = { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
    return Object.values(ticks).every(Number.isFinite) ? ticks : null;
  } catch {
    return null;
  }
}

/**
 * What else ran while a benchmark ran: the share of every core busy with other processes, and the
 * steal (time the hypervisor gave this machine's cores to other machines). Both move a benchmark's
 * tail without any change in the code, so each result carries them.
 */
function contention(before, after, cpuMicros) {
  if (!before || !after) return null;
  const total = after.busy + after.idle + after.steal - (before.busy + before.idle + before.steal);
  if (total <= 0) return null;
  const percent = (x) => Math.round((1000 * x) / total) / 10;
  const ownTicks = cpuMicros / 10_000; // 100 ticks a second
  return {
    ownCpuPercent: percent(Math.min(ownTicks, after.busy - before.busy)),
    otherCpuPercent: percent(Math.max(0, after.busy - before.busy - ownTicks)),
    stealPercent: percent(after.steal - before.steal),
  };
}
mkdirSync(join(benchDir, 'results'), { recursive: true });
let failed = false;
for (const name of names) {
  console.log(`\n== bench ${name} ==`);
  const mod = await import(pathToFileURL(join(benchDir, `${name}.bench.ts`)).href);
  const started = performance.now();
  // The machine's 1-minute load average before and after: a shared machine's load moves the tails.
  const loadBefore = loadavg()[0];
  const ticksBefore = machineTicks();
  const cpuBefore = process.cpuUsage();
  const metrics = await mod.run({ log: (m) => console.log(`  ${m}`) });
  const load = { before: Math.round(loadBefore * 100) / 100, after: Math.round(loadavg()[0] * 100) / 100 };
  const cpu = process.cpuUsage(cpuBefore);
  const machine = contention(ticksBefore, machineTicks(), cpu.user + cpu.system);
  const result = {
    name,
    command: `npm run bench -- ${name}`,
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    loadAverage1m: load,
    ...(machine ? { cpuShare: machine } : {}),
    seconds: Math.round((performance.now() - started) / 100) / 10,
    metrics,
  };
  writeFileSync(join(benchDir, 'results', `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  const rows = metrics.map((m) => {
    const ok =
      m.target === null || m.target === undefined
        ? ''
        : (m.better === 'lower' ? m.value <= m.target : m.value >= m.target)
          ? 'ok'
          : 'MISSED';
    if (ok === 'MISSED') failed = true;
    return [m.id, String(m.value), m.unit, m.target ?? '—', m.better, ok];
  });
  const head = ['metric', 'value', 'unit', 'target', 'better', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const fmt = (r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  console.log(fmt(head));
  for (const r of rows) console.log(fmt(r));
  const share = machine
    ? `; of all ${cpus().length} cores: this process ${machine.ownCpuPercent}%, other processes (its children included) ${machine.otherCpuPercent}%, steal ${machine.stealPercent}%`
    : '';
  console.log(
    `  (${result.seconds} s; load average ${load.before} → ${load.after}${share}; written to bench/results/${name}.json)`,
  );
}
process.exitCode = failed ? 1 : 0;
