/**
 * Detect — `debt-concentration`, the type `concentration` superseded: an alias. A config naming it
 * gets a `concentration` instance (the former parameters `thresholdBps` / `criticalBps` read as
 * `liquidityBps` / `criticalLiquidityBps`, and the debt side only by default, as before:
 * `config/schema.ts`); its findings say `concentration`. Playbooks and checks compare detector
 * types through `canonicalDetectorType`, so a playbook naming either type matches both.
 */
import { CONCENTRATION } from './concentration';

export const DEBT_CONCENTRATION = 'debt-concentration';

/** Detector types kept as aliases of the type that superseded them. */
export const detectorTypeAliases: Readonly<Record<string, string>> = { [DEBT_CONCENTRATION]: CONCENTRATION };

/**
 * The type a detector type (or alias) stands for.
 *
 * @example canonicalDetectorType('debt-concentration') // 'concentration'
 */
export function canonicalDetectorType(type: string): string {
  return detectorTypeAliases[type] ?? type;
}
