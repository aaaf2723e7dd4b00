/**
 * Respond / actions — the dispatch table: which plan builder serves which playbook action, by the
 * action's family (`aave-v3.*`, `erc7265.*`, `timelock.*`, `liquidity.*`). The engine builds one
 * plan builder from here; a new action family registers its builder in `families`.
 */
import type { PlaybookConfig } from '../../config/schema';
import type { PlanBuilder } from '../responder';
import { type AavePlanBuilderOptions, createAavePlanBuilder } from './aave-v3';
import { createBreakerPlanBuilder } from './erc7265';
import { createLiquidityPlanBuilder, type LiquidityPlanBuilderOptions } from './liquidity';
import { createTimelockPlanBuilder } from './timelock';

export type PlaybookAction = PlaybookConfig['do'][number]['action'];
type Family = PlaybookAction extends `${infer F}.${string}` ? F : never;

/** What the builders need: clients and markets, and the config's treasuries for `liquidity.migrate`. */
export type PlanBuilderOptions = AavePlanBuilderOptions & LiquidityPlanBuilderOptions;

export function createPlanBuilder(options: PlanBuilderOptions): PlanBuilder {
  const families: Record<Family, PlanBuilder> = {
    'aave-v3': createAavePlanBuilder(options),
    erc7265: createBreakerPlanBuilder(options),
    timelock: createTimelockPlanBuilder(options),
    liquidity: createLiquidityPlanBuilder(options),
  };
  return (decision, id, event) => {
    const family = decision.step.action.slice(0, decision.step.action.indexOf('.')) as Family;
    const build = families[family];
    if (!build) throw new Error(`no plan builder for action ${decision.step.action}`);
    return build(decision, id, event);
  };
}
