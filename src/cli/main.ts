/**
 * CLI — `firebreak <command>`. Thin: parses arguments, calls the library, prints, and maps errors
 * to exit codes (0 ok, 1 failed, 2 bad input: usage, config or scenario).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect, parseArgs } from 'node:util';
import { createCommon } from '../common/common';
import { describeError, FirebreakError, isFirebreakError, redact, USER_ERROR_CODES } from '../common/errors';
import { createLogger, type LoggerOptions } from '../common/logger';
import { loadConfig } from '../config/load';
import { drillToJson } from '../drills/report';
import { type DrillProgress, runDrill } from '../drills/runner';
import { loadScenario } from '../drills/scenario';
import { bold, dim, renderScorecard, renderTimeline, yellow } from './output';
import { runLive } from './run';

const HELP = `${bold('firebreak')} — incident response for DeFi lending markets: watch, detect, contain on-chain, prove it with drills.

Usage:
  firebreak drill <scenario.yaml> [--json out.json] [--block-budget-ms N] [--quiet]
      Deploy the scenario's market on the embedded chain, run it unprotected and then protected
      by Firebreak, print the scorecard and the incident timeline. Exit 0 on pass, 1 on fail.
      --block-budget-ms  wall-clock time the engine gets per block (default 12000; 250 is L2-like)
  firebreak run --config <firebreak.config.yaml|.ts>
      Follow the configured chains and respond to incidents until interrupted (Ctrl-C).
  firebreak config check <file>
      Validate a config file: every problem with its path and fix. Exit 2 if invalid.
  firebreak --help | --version

Exit codes: 0 ok, 1 failed (a drill that did not pass, a runtime error), 2 bad input.
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
      case 'config':
        return await config(rest);
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

async function drill(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    json: { type: 'string' },
    'block-budget-ms': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  });
  const file = positionals[0];
  if (!file)
    throw new FirebreakError(
      'ERR_USAGE',
      'drill needs a scenario file\n    fix: firebreak drill scenarios/inverse-finance-2022.yaml',
    );
  const budgetArg = values['block-budget-ms'] as string | undefined;
  const blockBudgetMs = budgetArg === undefined ? 12_000 : Number(budgetArg);
  if (!Number.isFinite(blockBudgetMs) || blockBudgetMs <= 0) {
    throw new FirebreakError(
      'ERR_USAGE',
      `--block-budget-ms must be a positive number of milliseconds, got "${budgetArg}"`,
    );
  }
  const scenario = loadScenario(file);
  const quiet = values.quiet === true;
  const started = performance.now();
  const progress = (event: DrillProgress) => {
    if (quiet) return;
    const t = dim(`[${((performance.now() - started) / 1000).toFixed(1)}s]`);
    if (event.type === 'phase') process.stderr.write(`${t} ${event.message}\n`);
    else if (event.note || event.offset === event.of || event.offset % 5 === 0) {
      process.stderr.write(
        `${t}   ${event.run}: block ${event.offset}/${event.of} (#${event.blockNumber})${event.note ? ` ${yellow(event.note)}` : ''}\n`,
      );
    }
  };
  process.stderr.write(
    `${bold(`firebreak drill: ${scenario.title}`)} ${dim(`(block budget ${blockBudgetMs} ms)`)}\n`,
  );
  const storeDir = join('.firebreak', 'drills', scenario.name);
  const result = await runDrill(scenario, {
    blockBudgetMs,
    storeDir,
    onProgress: progress,
    common: createCommon({ logger: createLogger() }),
  });
  console.log('');
  console.log(renderScorecard(result));
  console.log('');
  console.log(renderTimeline(result));
  const jsonPath = values.json as string | undefined;
  if (jsonPath) {
    writeFileSync(jsonPath, `${JSON.stringify(drillToJson(result), null, 2)}\n`);
    console.log(dim(`\nscorecard written to ${jsonPath}`));
  }
  console.log(dim(`\nincident store of the protected run (PGlite): ${storeDir}`));
  console.log(dim(`done in ${(result.wallMs / 1000).toFixed(1)} s`));
  return result.verdict === 'pass' ? 0 : 1;
}

async function config(args: string[]): Promise<number> {
  const [sub, file] = args;
  if (sub !== 'check' || !file) throw new FirebreakError('ERR_USAGE', 'usage: firebreak config check <file>');
  const loaded = await loadConfig(file);
  console.log(
    `${file}: ok — ${loaded.chains.length} chain(s), ${loaded.markets.length} market(s), ${loaded.detectors.length} detector(s), ${loaded.executors.length} executor(s), ${loaded.playbooks.length} playbook(s)`,
  );
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
  const level = (process.env.FIREBREAK_LOG_LEVEL as LoggerOptions['level']) ?? 'info';
  return runLive(loaded, createLogger({ level }));
}
