/**
 * CLI — `firebreak <command>`. Thin: parses arguments, calls the library, prints, and maps errors
 * to exit codes (0 ok, 1 failed, 2 bad input: usage, config or scenario).
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { inspect, parseArgs } from 'node:util';
import { getBlockNumber } from 'viem/actions';
import { checkRange, parseBlockNumber } from '../chain/replay';
import { connectChain } from '../chain/rpc';
import { createCommon } from '../common/common';
import { describeError, FirebreakError, isFirebreakError, redact, USER_ERROR_CODES } from '../common/errors';
import { createLogger, type LoggerOptions } from '../common/logger';
import { assertSecretsPresent, loadConfig } from '../config/load';
import type { PlaybookConfig } from '../config/schema';
import { DRILL_EXECUTOR_ID } from '../drills/defaults';
import { drillExitCode, drillOutcome, drillsToJson, drillToJson, renderDrillReport } from '../drills/report';
import { DRILL_DETECTOR_IDS, type DrillResult, runDrill } from '../drills/runner';
import { loadScenario, type Scenario } from '../drills/scenario';
import { recordChain } from '../engine/record';
import { replayRecording } from '../engine/replay';
import { analyseScenarioRisk, checkOutputPath, writeRiskReport } from '../engine/risk';
import { decideAction, ownerKeyFromEnv } from './approve';
import {
  bold,
  createDrillProgress,
  type DrillError,
  dim,
  outcomeLabel,
  red,
  renderDrillSummary,
  renderScorecard,
  renderTimeline,
  yellow,
} from './output';
import { runLive } from './run';

const HELP = `${bold('firebreak')} — incident response for DeFi lending markets: watch, detect, contain on-chain, prove it with drills.

Usage:
  firebreak drill <scenario.yaml> | <folder> ... [--json out.json] [--md report.md] [--config <file>]
                 [--block-budget-ms N] [--quiet]
      Deploy each scenario's market on the embedded chain (a folder: every .yaml/.yml/.json in
      it), run it unprotected and then protected by Firebreak, and print a summary table (one
      scenario: also its scorecard and incident timeline). Exit 1 when a scenario fails its pass
      criteria; 0 otherwise, including scenarios marked score.expectedFailure. Guide: docs/drills.md
      --json             the scorecard(s) as JSON (a folder: { "scenarios": [...] })
      --md               a Markdown report, with a price/loss chart per scenario (.svg files beside it)
      --config           respond with this config's playbooks instead of the drill's defaults
                         (the drill supplies the chain, market, detectors and executor itself)
      --block-budget-ms  wall-clock time the engine gets per block (default 12000; 250 is L2-like)
  firebreak risk <scenario.yaml> --md <report.md> [--json out.json] [--at end|deploy]
                 [--shock <bps>] [--shock-assets A,B] [--paths N] [--seed N] [--quiet]
      Deploy the scenario's market on the embedded chain (after its timeline with nobody
      responding, or --at deploy), build its positions, and write a Markdown risk report with
      SVG charts next to it: health factors, liquidations-at-risk and bad-debt curves, a
      liquidation cascade (--shock, default 3000 bps, on --shock-assets, default the largest
      collateral), contagion, the sensitivity table and Monte Carlo VaR/LaR.
  firebreak run --config <firebreak.config.yaml|.ts>
      Follow the configured chains and respond to incidents until interrupted (Ctrl-C).
  firebreak record --config <file> [--chain <name>] --from <block> --to <block|latest> --out <file.rec.gz>
      Record a block range of a configured chain — blocks, logs and every state read the
      configured detectors make — to a compressed file that replays with no node.
      --progress-every N  a progress line on stderr every N blocks (default 100); --quiet for none
  firebreak replay <file.rec.gz> --config <file>
      Run a recording through the whole engine with no node (nothing is sent: the kill-switch is
      on) and print what it found, and how fast.
  firebreak approve <action-id> [--by <name>] [--key-env VAR] [--config <file>]
  firebreak reject <action-id> [--by <name>] [--reason <text>] [--config <file>]
      Decide an action that waits: an \`approve\` step (the timeline says which id), a Safe
      transaction that needs owners' signatures (--key-env names the variable holding an owner's
      key: it signs the Safe transaction hash), or (reject only) an operation scheduled in a
      timelock, which the engine then cancels. Works while \`firebreak run\` runs: the decision
      takes effect at its next block. --by defaults to the OS user; --config to
      firebreak.config.yaml when present (its dataDir names the store), else .firebreak/data.
  firebreak config check <file> [--skip-secrets]
      Validate a config file, and that the secrets it references are set: every problem with its
      path and fix. Exit 2 if invalid.
  firebreak --help | --version

Exit codes: 0 ok, 1 failed (a drill that failed its pass criteria, a runtime error), 2 bad input.
Logs: FIREBREAK_LOG_LEVEL=info|debug (to stderr).`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        console.log(HELP);
        return 0;
      case '--version':
      case '-v':
        console.log('firebreak 0.1.0');
        return 0;
      case 'drill':
        return await drill(rest);
      case 'run':
        return await run(rest);
      case 'risk':
        return await risk(rest);
      case 'config':
        return await config(rest);
      case 'record':
        return await record(rest);
      case 'replay':
        return await replay(rest);
      case 'approve':
      case 'reject':
        return await decide(command, rest);
      default:
        throw new FirebreakError(
          'ERR_USAGE',
          `unknown command "${command}"\n    fix: run \`firebreak --help\` for the commands`,
        );
    }
  } catch (error) {
    if (isFirebreakError(error)) {
      console.error(`firebreak: ${error.message}`);
      return USER_ERROR_CODES.has(error.code) ? 2 : 1;
    }
    console.error(`firebreak: unexpected error: ${describeError(error)}`);
    if (process.env.FIREBREAK_DEBUG) console.error(redact(inspect(error)));
    return 1;
  }
}

function parse(
  args: string[],
  options: NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new FirebreakError('ERR_USAGE', `${describeError(error)}\n    fix: run \`firebreak --help\``);
  }
}

/** The scenario files a drill argument names: the file itself, or a folder's .yaml/.yml/.json files in name order. */
function scenarioFiles(target: string): string[] {
  // A missing path is reported by loadScenario ("no such scenario file").
  if (!existsSync(target) || !statSync(target).isDirectory()) return [target];
  const files = readdirSync(target)
    .filter((f) => ['.yaml', '.yml', '.json'].includes(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(target, f))
    .filter((f) => statSync(f).isFile());
  if (files.length === 0)
    throw new FirebreakError(
      'ERR_USAGE',
      `${target}: the folder holds no scenario files (.yaml, .yml or .json)\n    fix: point at a folder of scenarios, e.g. firebreak drill scenarios`,
    );
  return files;
}

/**
 * The playbooks of `--config`: loaded and checked by the config loader, then against the drill,
 * which supplies its own chain, market, detectors and executor. A playbook naming a detector the
 * drill does not run could never fire, so it is an error; each step's executor becomes the drill's
 * guardian (the config's executors sign on a real chain, not on the drill's).
 */
async function drillPlaybooks(file: string): Promise<PlaybookConfig[]> {
  const loaded = await loadConfig(file);
  if (loaded.playbooks.length === 0)
    throw new FirebreakError(
      'ERR_CONFIG_INVALID',
      `${file}: the config has no playbooks, so the drill would have nothing to respond with\n    fix: add playbooks to the config, or drop --config to use the drill's default playbooks`,
    );
  const known: readonly string[] = DRILL_DETECTOR_IDS;
  const problems = loaded.playbooks.flatMap((p, i) =>
    p.when.detector !== undefined && !known.includes(p.when.detector)
      ? [
          `${file}: playbooks[${i}].when.detector: playbook "${p.id}" names detector "${p.when.detector}", which a drill does not run\n    fix: name one of the drill's detectors: ${known.join(', ')} (or leave when.detector out to match any)`,
        ]
      : [],
  );
  if (problems.length > 0) throw new FirebreakError('ERR_CONFIG_INVALID', problems.join('\n'));
  return loaded.playbooks.map((p) => ({
    ...p,
    do: p.do.map((step) => ({ ...step, executor: DRILL_EXECUTOR_ID })),
  }));
}

async function drill(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    json: { type: 'string' },
    md: { type: 'string' },
    config: { type: 'string', short: 'c' },
    'block-budget-ms': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  });
  const target = positionals[0];
  if (!target)
    throw new FirebreakError(
      'ERR_USAGE',
      'drill needs a scenario file or a folder of them\n    fix: firebreak drill scenarios/inverse-finance-2022.yaml (or: firebreak drill scenarios)',
    );
  const budgetArg = values['block-budget-ms'] as string | undefined;
  const blockBudgetMs = budgetArg === undefined ? 12_000 : Number(budgetArg);
  if (!Number.isFinite(blockBudgetMs) || blockBudgetMs <= 0) {
    throw new FirebreakError(
      'ERR_USAGE',
      `--block-budget-ms must be a positive number of milliseconds, got "${budgetArg}"`,
    );
  }
  const jsonPath = values.json as string | undefined;
  const mdPath = values.md as string | undefined;
  // Everything that can be wrong with the input is found before the first drill runs.
  if (jsonPath) checkOutputPath(jsonPath, '--json');
  if (mdPath) checkOutputPath(mdPath, '--md');
  // Several files or a folder: a suite (one JSON with every scorecard); one file: that scorecard.
  const files = positionals.flatMap((p) => scenarioFiles(p));
  const folder = files.length > 1 || (existsSync(target) && statSync(target).isDirectory());
  const scenarios: Scenario[] = files.map((f) => loadScenario(f));
  const byName = new Map<string, string>();
  scenarios.forEach((s, i) => {
    const other = byName.get(s.name);
    if (other !== undefined)
      throw new FirebreakError(
        'ERR_SCENARIO_INVALID',
        `${files[i]}: scenario name "${s.name}" is also the name of ${other}\n    fix: give each scenario its own name (it names the JSON entry, the chart and the store folder)`,
      );
    byName.set(s.name, files[i]!);
  });
  const configPath = values.config as string | undefined;
  const playbooks = configPath ? await drillPlaybooks(configPath) : undefined;

  const quiet = values.quiet === true;
  const tty = process.stderr.isTTY === true;
  const write = (text: string) => {
    if (!quiet) process.stderr.write(text);
  };
  write(
    `${bold(`firebreak drill: ${folder ? `${scenarios.length} scenario(s) in ${positionals.join(', ')}` : scenarios[0]!.title}`)} ${dim(`(block budget ${blockBudgetMs} ms${configPath ? `, playbooks from ${configPath}` : ''})`)}\n`,
  );
  const progress = createDrillProgress({
    total: scenarios.length,
    tty,
    write,
    columns: process.stderr.columns,
  });
  const results: DrillResult[] = [];
  const errors: DrillError[] = [];
  const storeDirs: string[] = [];
  for (const [i, scenario] of scenarios.entries()) {
    const storeDir = join('.firebreak', 'drills', scenario.name);
    progress.start(i, scenario.name);
    const started = performance.now();
    try {
      const result = await runDrill(scenario, {
        blockBudgetMs,
        storeDir,
        onProgress: (event) => progress.event(event),
        common: createCommon({ logger: createLogger() }),
        ...(playbooks ? { playbooks } : {}),
      });
      results.push(result);
      storeDirs.push(storeDir);
      progress.done(outcomeLabel(drillOutcome(result)), result.wallMs / 1000);
    } catch (error) {
      // Bad input is bad for every scenario: stop. Anything else fails this scenario only.
      if (!folder || (isFirebreakError(error) && USER_ERROR_CODES.has(error.code))) {
        if (tty) write('\n');
        throw error;
      }
      const wallMs = performance.now() - started;
      errors.push({ scenario: scenario.name, message: redact(describeError(error)), wallMs });
      progress.done(red(bold('ERROR')), wallMs / 1000);
    }
  }

  const single = !folder && results.length === 1 ? results[0]! : undefined;
  if (single) {
    console.log('');
    console.log(renderScorecard(single));
    console.log('');
    console.log(renderTimeline(single));
  }
  console.log('');
  console.log(renderDrillSummary(results, errors));
  if (jsonPath) {
    const json = single
      ? drillToJson(single)
      : {
          ...drillsToJson(results),
          ...(errors.length > 0
            ? { errors: errors.map((e) => ({ scenario: e.scenario, error: e.message })) }
            : {}),
        };
    writeFileSync(jsonPath, `${JSON.stringify(json, null, 2)}\n`);
    console.log(dim(`\nscorecard written to ${jsonPath}`));
  }
  if (mdPath) {
    const md = resolve(mdPath);
    const { markdown, svgs } = renderDrillReport(results, {
      svgPrefix: basename(md, extname(md)),
      generatedAt: new Date(),
    });
    for (const [name, svg] of Object.entries(svgs)) writeFileSync(join(dirname(md), name), svg);
    writeFileSync(md, markdown);
    console.log(
      dim(
        `${jsonPath ? '' : '\n'}report written to ${mdPath} (+ ${Object.keys(svgs).length} chart(s) beside it)`,
      ),
    );
  }
  if (storeDirs.length > 0)
    console.log(
      dim(
        `\nincident store${storeDirs.length > 1 ? 's' : ''} of the protected run${storeDirs.length > 1 ? 's' : ''} (PGlite): ${storeDirs.join(', ')}`,
      ),
    );
  return errors.length > 0 ? 1 : drillExitCode(results);
}

async function risk(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    md: { type: 'string' },
    json: { type: 'string' },
    at: { type: 'string' },
    shock: { type: 'string' },
    'shock-assets': { type: 'string' },
    paths: { type: 'string' },
    seed: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  });
  const example = 'firebreak risk scenarios/inverse-finance-2022.yaml --md risk/report.md';
  const file = positionals[0];
  const md = values.md as string | undefined;
  if (!file) throw new FirebreakError('ERR_USAGE', `risk needs a scenario file\n    fix: ${example}`);
  if (!md) throw new FirebreakError('ERR_USAGE', `risk needs --md <report.md>\n    fix: ${example}`);
  const json = values.json as string | undefined;
  checkOutputPath(md, '--md');
  if (json) checkOutputPath(json, '--json');
  const at = (values.at as string | undefined) ?? 'end';
  if (at !== 'end' && at !== 'deploy')
    throw new FirebreakError('ERR_USAGE', `--at must be "end" or "deploy", got "${at}"`);
  const whole = (flag: string, min: number, max: number): number | undefined => {
    const raw = values[flag] as string | undefined;
    if (raw === undefined) return undefined;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min || v > max)
      throw new FirebreakError(
        'ERR_USAGE',
        `--${flag} must be a whole number in ${min}..${max}, got "${raw}"`,
      );
    return v;
  };
  const shockBps = whole('shock', 1, 9999);
  const paths = whole('paths', 1, 1_000_000);
  const seed = whole('seed', 0, 2 ** 31 - 1);
  const shockAssets = (values['shock-assets'] as string | undefined)
    ?.split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const scenario = loadScenario(file);
  const quiet = values.quiet === true;
  const started = performance.now();
  const analysis = await analyseScenarioRisk(scenario, {
    at,
    ...(shockBps !== undefined ? { shockBps } : {}),
    ...(shockAssets ? { shockAssets } : {}),
    ...(paths !== undefined ? { paths } : {}),
    ...(seed !== undefined ? { seed } : {}),
    onProgress: (m) => {
      if (!quiet)
        process.stderr.write(`${dim(`[${((performance.now() - started) / 1000).toFixed(1)}s]`)} ${m}\n`);
    },
  });
  const written = writeRiskReport(analysis, { md, json });
  const usd = (v: number) => `$${Math.round(v).toLocaleString('en-US')}`;
  console.log(
    `${bold(`firebreak risk: ${scenario.title}`)} — block ${analysis.blockNumber}, ${analysis.snapshot.accounts.length} accounts\n` +
      `  debt ${usd(analysis.now.totalDebtUsd)}, liquidatable now ${usd(analysis.now.liquidatableDebtUsd)}, bad debt now ${usd(analysis.now.badDebtUsd)}\n` +
      `  VaR ${usd(analysis.monteCarlo.valueAtRiskUsd)}, cascade bad debt ${usd(analysis.cascade.result.badDebtUsd)}`,
  );
  console.log(dim(`wrote ${written.length} file(s): ${written.join(', ')}`));
  return 0;
}

async function config(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'skip-secrets': { type: 'boolean' } });
  const [sub, file] = positionals;
  if (sub !== 'check' || !file) {
    throw new FirebreakError('ERR_USAGE', 'usage: firebreak config check <file> [--skip-secrets]');
  }
  const loaded = await loadConfig(file);
  // Where the secrets live only on the production host, --skip-secrets checks the file alone.
  if (values['skip-secrets'] !== true) assertSecretsPresent(loaded, file);
  console.log(
    `${file}: ok — ${loaded.chains.length} chain(s), ${loaded.markets.length} market(s), ${loaded.detectors.length} detector(s), ${loaded.executors.length} executor(s), ${loaded.playbooks.length} playbook(s)`,
  );
  return 0;
}

async function decide(command: 'approve' | 'reject', args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    config: { type: 'string', short: 'c' },
    by: { type: 'string' },
    reason: { type: 'string' },
    'key-env': { type: 'string' },
  });
  const actionId = positionals[0];
  if (!actionId || positionals.length > 1)
    throw new FirebreakError(
      'ERR_USAGE',
      `${command} needs one action id\n    fix: firebreak ${command} <action-id> (the incident timeline names it)`,
    );
  const keyEnv = values['key-env'] as string | undefined;
  if (keyEnv !== undefined && command === 'reject')
    throw new FirebreakError('ERR_USAGE', 'reject takes no --key-env: a rejection is not signed');
  const configFile =
    (values.config as string | undefined) ??
    (existsSync('firebreak.config.yaml') ? 'firebreak.config.yaml' : undefined);
  const dataDir = configFile ? (await loadConfig(configFile)).dataDir : '.firebreak/data';
  const by = values.by as string | undefined;
  const reason = values.reason as string | undefined;
  const result = await decideAction({
    dataDir,
    actionId,
    decision: command,
    ...(by !== undefined ? { by } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...(keyEnv !== undefined ? { ownerKey: ownerKeyFromEnv(keyEnv) } : {}),
    common: createCommon(),
  });
  console.log(result.message);
  return 0;
}

async function run(args: string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string', short: 'c' } });
  const file = values.config as string | undefined;
  if (!file)
    throw new FirebreakError(
      'ERR_USAGE',
      'run needs --config <file>\n    fix: firebreak run --config firebreak.config.yaml',
    );
  const loaded = await loadConfig(file);
  assertSecretsPresent(loaded, file);
  const level = (process.env.FIREBREAK_LOG_LEVEL as LoggerOptions['level']) ?? 'info';
  return runLive(loaded, createLogger({ level }));
}

async function record(args: string[]): Promise<number> {
  const { values } = parse(args, {
    config: { type: 'string', short: 'c' },
    chain: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    out: { type: 'string', short: 'o' },
    'progress-every': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  });
  const usage =
    'firebreak record --config firebreak.config.yaml --chain mainnet --from 19000000 --to 19000100 --out range.rec.gz';
  const file = values.config as string | undefined;
  const out = values.out as string | undefined;
  if (!file) throw new FirebreakError('ERR_USAGE', `record needs --config <file>\n    fix: ${usage}`);
  if (!out) throw new FirebreakError('ERR_USAGE', `record needs --out <file>\n    fix: ${usage}`);
  const everyArg = values['progress-every'] as string | undefined;
  const every = everyArg === undefined ? 100 : Number(everyArg);
  if (!Number.isInteger(every) || every <= 0)
    throw new FirebreakError(
      'ERR_USAGE',
      `--progress-every must be a positive whole number, got "${everyArg}"`,
    );
  // Check what can be checked before touching the network.
  const fromArg = values.from as string | undefined;
  const toArg = values.to as string | undefined;
  if (fromArg !== 'latest') parseBlockNumber(fromArg, '--from');
  if (toArg !== 'latest') parseBlockNumber(toArg, '--to');
  const loaded = await loadConfig(file);
  const names = loaded.chains.map((c) => `"${c.name}"`).join(', ');
  const chainName =
    (values.chain as string | undefined) ?? (loaded.chains.length === 1 ? loaded.chains[0]!.name : undefined);
  if (chainName === undefined)
    throw new FirebreakError(
      'ERR_USAGE',
      `the config has several chains: say which with --chain\n    fix: one of ${names}`,
    );
  const chain = loaded.chains.find((c) => c.name === chainName);
  if (!chain)
    throw new FirebreakError('ERR_USAGE', `unknown chain "${chainName}"\n    fix: use one of ${names}`);

  const level = (process.env.FIREBREAK_LOG_LEVEL as LoggerOptions['level']) ?? 'warn';
  const logger = createLogger({ level });
  const { client } = await connectChain(chain);
  const head = await getBlockNumber(client, { cacheTime: 0 });
  const { from, to } = checkRange(
    { from: parseBlockNumber(fromArg, '--from', head), to: parseBlockNumber(toArg, '--to', head) },
    head,
  );
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const quiet = values.quiet === true;
  const started = performance.now();
  const total = to - from + 1n;
  if (!quiet)
    process.stderr.write(
      `${bold(`firebreak record: ${chain.name} blocks ${from}–${to}`)} ${dim(`(${total} blocks) → ${out}`)}\n`,
    );
  try {
    const summary = await recordChain({
      config: loaded,
      chain: chain.name,
      client,
      from,
      to,
      out,
      common: createCommon({ logger, signal: controller.signal }),
      onProgress: (p) => {
        if (quiet || (p.recorded % every !== 0 && p.recorded !== p.total)) return;
        const seconds = (performance.now() - started) / 1000;
        process.stderr.write(
          `${dim(`[${seconds.toFixed(1)}s]`)} ${p.recorded}/${p.total} blocks (#${p.blockNumber}), ${p.logs} logs, ${p.calls} calls, ${(p.recorded / Math.max(seconds, 0.001)).toFixed(0)} blocks/s\n`,
        );
      },
    });
    console.log(
      `recorded ${summary.blocks} blocks (${summary.from}–${summary.to}) of chain ${chain.name}: ${summary.logs} logs, ${summary.calls} state reads by ${summary.detectors.length} detector(s) → ${out} (${(summary.bytes / 1024).toFixed(1)} KiB) in ${(summary.ms / 1000).toFixed(1)} s`,
    );
    if (summary.detectorFailures.length > 0) {
      const first = summary.detectorFailures[0]!;
      console.error(
        `firebreak: ${yellow(`${summary.detectorFailures.length} detector run(s) failed while recording`)} (first: ${first.detector} at block ${first.block}: ${first.error})\n    their reads are missing from ${out}: replaying those blocks reports them; fix the cause and record again`,
      );
      return 1;
    }
    return 0;
  } catch (error) {
    if (controller.signal.aborted) {
      console.error(`firebreak: recording interrupted; nothing written to ${out}`);
      return 1;
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
  }
}

async function replay(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { config: { type: 'string', short: 'c' } });
  const file = positionals[0];
  const configFile = values.config as string | undefined;
  if (!file || !configFile) {
    throw new FirebreakError('ERR_USAGE', 'usage: firebreak replay <file.rec.gz> --config <file>');
  }
  const config = await loadConfig(configFile);
  const result = await replayRecording({ config, file, common: createCommon({ logger: createLogger() }) });
  const byDetector = new Map<string, number>();
  for (const f of result.findings)
    byDetector.set(
      `${f.detectorInstance} ${f.severity}`,
      (byDetector.get(`${f.detectorInstance} ${f.severity}`) ?? 0) + 1,
    );
  console.log(
    `replayed ${result.blocks} blocks (${result.from}–${result.to}) of chain ${result.chain} in ${result.seconds.toFixed(2)} s (${(result.blocks / Math.max(result.seconds, 1e-9)).toFixed(0)} blocks/s)`,
  );
  console.log(
    `findings: ${result.findings.length}${[...byDetector].map(([k, n]) => `\n  ${k}: ${n}`).join('')}`,
  );
  console.log(
    `incidents: ${result.incidents.length}${result.incidents.map((i) => `\n  ${i.severity} ${i.title} (opened at block ${i.openedBlock})`).join('')}`,
  );
  return 0;
}
