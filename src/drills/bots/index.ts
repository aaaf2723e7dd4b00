/**
 * Drills — the bot kinds a scenario can declare under `bots:` (their schemas are in schema.ts),
 * and the factory the runner uses. One file per kind implements its `plan` (liquidator.ts,
 * arbitrageur.ts, background.ts); this module only names them.
 */
import { FirebreakError } from '../../common/errors';
import type { ConfigProblem } from '../../config/errors';
import type { Scenario } from '../scenario';
import { createArbitrageur } from './arbitrageur';
import { createBackground } from './background';
import { createLiquidator } from './liquidator';
import { type BotSpec, botAccounts } from './schema';
import type { Bot, BotContext } from './types';

export {
  type ArbitrageurSpec,
  arbitrageurSchema,
  type BackgroundSpec,
  type BotSpec,
  backgroundSchema,
  botAccounts,
  botHoldings,
  botSchema,
  type LiquidatorSpec,
  liquidatorSchema,
} from './schema';

/**
 * What a bot names that the scenario lacks: tokens in `holds`, an arbitrageur's pools. The paths
 * start at the bot (prefix them with `['bots', i]` in the scenario's own checks).
 */
export function botReferenceProblems(spec: BotSpec, scenario: Scenario): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const assets = new Set(scenario.market.assets.map((a) => a.symbol));
  const pools = new Set(scenario.market.pools.map((p) => p.id));
  const list = (set: Iterable<string>) => [...set].join(', ') || '(none)';
  for (const symbol of Object.keys(spec.holds))
    if (!assets.has(symbol))
      problems.push({
        path: ['holds', symbol],
        message: `unknown asset "${symbol}"`,
        fix: `use one of market.assets: ${list(assets)}`,
      });
  if (spec.kind === 'arbitrageur')
    spec.pools.forEach((id, i) => {
      if (!pools.has(id))
        problems.push({
          path: ['pools', i],
          message: `unknown pool "${id}"`,
          fix: `use one of market.pools: ${list(pools)}`,
        });
    });
  if (spec.until !== undefined && spec.until < spec.from)
    problems.push({ path: ['until'], message: 'until is before from', fix: 'make until ≥ from' });
  if (spec.kind === 'background' && spec.sizeUsd.max < spec.sizeUsd.min)
    problems.push({
      path: ['sizeUsd', 'max'],
      message: 'sizeUsd.max is below sizeUsd.min',
      fix: 'make max ≥ min',
    });
  return problems;
}

/**
 * Builds a bot for the runner. Throws `ERR_SCENARIO_INVALID` when the spec names something the
 * scenario lacks, or when the context has fewer accounts than `botAccounts(spec)`.
 */
export async function createBot(spec: BotSpec, ctx: BotContext): Promise<Bot> {
  const problems = botReferenceProblems(spec, ctx.scenario);
  if (problems.length > 0)
    throw new FirebreakError(
      'ERR_SCENARIO_INVALID',
      `bot "${spec.name}": ${problems.map((p) => `${p.path.join('.')}: ${p.message} (${p.fix})`).join('; ')}`,
      { details: { problems } },
    );
  if (ctx.accounts.length < botAccounts(spec))
    throw new FirebreakError(
      'ERR_SCENARIO_INVALID',
      `bot "${spec.name}" needs ${botAccounts(spec)} funded account(s) and was given ${ctx.accounts.length}`,
    );
  switch (spec.kind) {
    case 'liquidator':
      return createLiquidator(spec, ctx);
    case 'arbitrageur':
      return createArbitrageur(spec, ctx);
    case 'background':
      return createBackground(spec, ctx);
  }
}
