/**
 * Drills — the `call` step: any function of a drill contract, by its human-readable signature, for
 * what the purpose-built steps do not cover (a parameter change, an approval, a contract's own
 * entry point). Contracts and address arguments are named as a scenario names things:
 *
 * - contracts: `aave.pool`, `aave.configurator`, `aave.oracle`, `aave.acl`, `aave.provider`, a
 *   token symbol, a pool id, `vault`, `breaker`, `governor`, `timelock`, or a 0x address;
 * - address arguments: `@name` for any of those or an account (`@alice`, `@guardian`), or 0x;
 * - integer arguments: a number, a decimal string, or `"<amount> <SYMBOL>"` in whole tokens
 *   (`"1500.5 USDC"` is 1,500,500,000 units of a 6-decimal token).
 *
 * The signature and argument shapes are checked when the scenario loads (`callProblems`); names
 * that only exist once the market is deployed are resolved when the step is prepared (`buildCall`).
 */
import {
  type AbiFunction,
  type AbiParameter,
  type Address,
  type Hex,
  isAddress,
  parseAbiItem,
  parseUnits,
} from 'viem';
import type { ConfigProblem } from '../config/errors';

/** Names a `call` step may use for contracts (besides token symbols and pool ids). */
export const CONTRACT_NAMES = [
  'aave.pool',
  'aave.configurator',
  'aave.oracle',
  'aave.acl',
  'aave.provider',
  'vault',
  'breaker',
  'governor',
  'timelock',
] as const;

export type CallArg = string | number | boolean | CallArg[];

/** Parses `function name(type a, …)`; a plain `name(type,…)` is accepted too. */
export function parseSignature(signature: string): AbiFunction {
  const text = signature.trim().startsWith('function ') ? signature.trim() : `function ${signature.trim()}`;
  const item = parseAbiItem(text) as unknown;
  if (!item || typeof item !== 'object' || (item as { type?: string }).type !== 'function')
    throw new Error('not a function signature');
  return item as AbiFunction;
}

/** What the loader knows before deployment: the names a scenario defines. */
export interface StaticNames {
  tokens: ReadonlySet<string>;
  pools: ReadonlySet<string>;
  accounts: ReadonlySet<string>;
  /** Which optional contracts the scenario declares: vault, breaker, governor, timelock. */
  extras: ReadonlySet<string>;
}

/** Load-time problems of one `call` step (`path` is the step's). */
export function callProblems(
  step: { contract: string; function: string; args: CallArg[] },
  names: StaticNames,
  path: (string | number)[],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const known = [...CONTRACT_NAMES, ...names.tokens, ...names.pools];
  if (!isAddress(step.contract) && !knownContract(step.contract, names))
    problems.push({
      path: [...path, 'contract'],
      message: `unknown contract "${step.contract}"`,
      fix: `use one of ${known.join(', ')} (vault, breaker, governor and timelock only when the market declares them), or a 0x address`,
    });
  let fn: AbiFunction;
  try {
    fn = parseSignature(step.function);
  } catch {
    problems.push({
      path: [...path, 'function'],
      message: `"${step.function}" is not a function signature`,
      fix: 'write it as Solidity declares it, e.g. "function setReserveFreeze(address asset, bool freeze)"',
    });
    return problems;
  }
  if (fn.inputs.length !== step.args.length) {
    problems.push({
      path: [...path, 'args'],
      message: `${fn.name} takes ${fn.inputs.length} argument(s), the step gives ${step.args.length}`,
      fix: `give one value per parameter: ${fn.inputs.map((p) => `${p.type}${p.name ? ` ${p.name}` : ''}`).join(', ') || '(none)'}`,
    });
    return problems;
  }
  fn.inputs.forEach((param, i) => {
    const problem = argProblem(param, step.args[i]!, names);
    if (problem) problems.push({ path: [...path, 'args', i], ...problem });
  });
  return problems;
}

function knownContract(name: string, names: StaticNames): boolean {
  if (name.startsWith('aave.')) return (CONTRACT_NAMES as readonly string[]).includes(name);
  if (['vault', 'breaker', 'governor', 'timelock'].includes(name)) return names.extras.has(name);
  return names.tokens.has(name) || names.pools.has(name);
}

function argProblem(
  param: AbiParameter,
  value: CallArg,
  names: StaticNames,
): { message: string; fix: string } | null {
  const array = /^(.*)\[(\d*)\]$/.exec(param.type);
  if (array) {
    if (!Array.isArray(value)) return { message: `${param.type} needs a list`, fix: 'give a YAML list' };
    for (const item of value) {
      const inner = argProblem({ ...param, type: array[1]! }, item, names);
      if (inner) return inner;
    }
    return null;
  }
  if (param.type === 'address') {
    if (typeof value === 'string' && (isAddress(value) || addressNameKnown(value, names))) return null;
    return {
      message: `"${String(value)}" is not an address or a known @name`,
      fix: `use a 0x address or @name (an account, a token symbol, a pool id, or ${CONTRACT_NAMES.join(', ')})`,
    };
  }
  if (/^u?int\d*$/.test(param.type)) {
    if (typeof value === 'number' && Number.isInteger(value)) return null;
    if (typeof value === 'string' && /^-?\d+$/.test(value)) return null;
    const m = typeof value === 'string' ? /^(\d+(?:\.\d+)?) ([A-Za-z][A-Za-z0-9.-]*)$/.exec(value) : null;
    if (m && names.tokens.has(m[2]!)) return null;
    return {
      message: `"${String(value)}" is not an integer`,
      fix: `use an integer (a decimal string for large ones) or "<amount> <SYMBOL>" in whole tokens of ${[...names.tokens].join(', ')}`,
    };
  }
  if (param.type === 'bool')
    return typeof value === 'boolean'
      ? null
      : { message: `"${String(value)}" is not a bool`, fix: 'use true or false' };
  if (/^bytes\d*$/.test(param.type))
    return typeof value === 'string' && /^0x([0-9a-fA-F]{2})*$/.test(value)
      ? null
      : { message: `"${String(value)}" is not hex bytes`, fix: 'use 0x-prefixed hex' };
  if (param.type === 'string') return null;
  return {
    message: `parameter type ${param.type} is not supported in a call step`,
    fix: 'use a contract of your own that takes simpler arguments',
  };
}

function addressNameKnown(value: string, names: StaticNames): boolean {
  if (!value.startsWith('@')) return false;
  const name = value.slice(1);
  return names.accounts.has(name) || ['guardian', 'deployer'].includes(name) || knownContract(name, names);
}

/** What `buildCall` resolves names against, once the market is deployed. */
export interface DeployedNames {
  /** A contract or account address by name (`aave.pool`, `USDC`, `WETH-USDC`, `alice`, …), or undefined. */
  address(name: string): Address | undefined;
  /** A token's decimals by symbol. */
  decimals(symbol: string): number | undefined;
}

/** The call a step makes: target, one-function ABI, converted arguments. Throws on an unresolved name. */
export function buildCall(
  step: { contract: string; function: string; args: CallArg[] },
  names: DeployedNames,
): { to: Hex; abi: [AbiFunction]; functionName: string; args: unknown[] } {
  const fn = parseSignature(step.function);
  const to = isAddress(step.contract) ? step.contract : names.address(step.contract);
  if (!to) throw new Error(`contract "${step.contract}" is not deployed in this market`);
  const args = fn.inputs.map((param, i) => convert(param.type, step.args[i]!, names));
  return { to: to.toLowerCase() as Hex, abi: [fn], functionName: fn.name, args };
}

function convert(type: string, value: CallArg, names: DeployedNames): unknown {
  const array = /^(.*)\[(\d*)\]$/.exec(type);
  if (array) return (value as CallArg[]).map((v) => convert(array[1]!, v, names));
  if (type === 'address') {
    const text = String(value);
    if (!text.startsWith('@')) return text;
    const address = names.address(text.slice(1));
    if (!address) throw new Error(`${text} is not deployed in this market`);
    return address;
  }
  if (/^u?int\d*$/.test(type)) {
    if (typeof value === 'number') return BigInt(value);
    const m = /^(\d+(?:\.\d+)?) ([A-Za-z][A-Za-z0-9.-]*)$/.exec(String(value));
    if (m) return parseUnits(m[1]!, names.decimals(m[2]!) ?? 18);
    return BigInt(String(value));
  }
  return value;
}
