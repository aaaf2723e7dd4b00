/**
 * Detect — declarative rules (`type: rule` in the config), in the style of OpenZeppelin Monitor:
 * match events by signature (and emitter) or top-level calls by function signature (and target),
 * keep those whose condition holds over the decoded arguments and state reads at the block, and
 * raise a finding of the configured severity and kind for each.
 *
 *   - id: large-mint
 *     type: rule
 *     chain: mainnet
 *     params:
 *       match: [{ event: 'Transfer(address indexed from, address indexed to, uint256 value)', address: ['0x…'] }]
 *       reads: { totalSupply: { address: emitter, function: 'totalSupply() returns (uint256)' } }
 *       condition: 'from == 0x0000000000000000000000000000000000000000 && value > 5% of totalSupply'
 *       severity: high
 *       kind: anomaly
 *       title: 'mint of {value} to {to}'
 *
 * In a condition, names are the event's (or function's) argument names, the reads' names,
 * `emitter` (or `target`), `tx`, `block.number` and `block.timestamp`. Events come from the block's
 * logs; calls from its transactions (top-level only: internal calls need traces), which a replay
 * of a recording cannot provide.
 */
import {
  type AbiEvent,
  type AbiFunction,
  decodeFunctionData,
  type Hex,
  parseAbiItem,
  toFunctionSelector,
} from 'viem';
import { FirebreakError } from '../common/errors';
import { type Expr, evaluate, namesIn, parseExpression, type Value } from './expression';
import { findingOf } from './finding';
import { eventItem } from './logs';
import type { DetectorDefinition, Finding, FindingKind, Severity } from './types';
import type { BlockView } from './view';

export interface RuleParams {
  match: ({ event: string; address: Hex[] } | { function: string; address: Hex[] })[];
  condition?: string | undefined;
  reads: Record<string, { address: 'emitter' | 'target' | Hex; function: string; args: string[] }>;
  severity: Severity;
  kind: FindingKind;
  title?: string | undefined;
  confidence: number;
}

interface CompiledRule {
  params: RuleParams;
  condition: Expr | undefined;
  events: { item: AbiEvent; address: Hex[] }[];
  functions: { item: AbiFunction; selector: Hex; address: Set<string> }[];
  reads: Map<string, { address: 'emitter' | 'target' | Hex; item: AbiFunction; args: string[] }>;
}

const BUILTIN_NAMES = new Set(['emitter', 'target', 'tx', 'block.number', 'block.timestamp']);

function functionItem(signature: string, what: string): AbiFunction {
  const text = signature.trim().startsWith('function ') ? signature.trim() : `function ${signature.trim()}`;
  try {
    const item = parseAbiItem(text) as AbiFunction;
    if (item.type === 'function') return item;
  } catch {
    // Reported below.
  }
  throw new FirebreakError('ERR_CONFIG_INVALID', `${what}: "${signature}" is not a function signature`, {
    details: { signature },
  });
}

/**
 * Checks a rule and prepares it (parsed signatures, condition and reads); throws
 * `ERR_CONFIG_INVALID` naming the problem: a bad signature, a bad condition, a name the
 * condition uses that no matched item or read defines.
 */
export function compileRule(id: string, params: RuleParams): CompiledRule {
  const events: CompiledRule['events'] = [];
  const functions: CompiledRule['functions'] = [];
  const argNames = new Set<string>();
  for (const m of params.match) {
    if ('event' in m) {
      let item: AbiEvent;
      try {
        item = eventItem(m.event);
      } catch {
        throw new FirebreakError('ERR_CONFIG_INVALID', `rule ${id}: "${m.event}" is not an event signature`, {
          details: { signature: m.event },
        });
      }
      for (const input of item.inputs) if (input.name) argNames.add(input.name);
      events.push({ item, address: m.address });
    } else {
      const item = functionItem(m.function, `rule ${id}`);
      for (const input of item.inputs) if (input.name) argNames.add(input.name);
      functions.push({
        item,
        selector: toFunctionSelector(item),
        address: new Set(m.address.map((a) => a.toLowerCase())),
      });
    }
  }
  const reads: CompiledRule['reads'] = new Map();
  for (const [name, r] of Object.entries(params.reads)) {
    reads.set(name, {
      address: r.address,
      item: functionItem(r.function, `rule ${id}, read ${name}`),
      args: r.args,
    });
  }
  let condition: Expr | undefined;
  if (params.condition !== undefined) {
    try {
      condition = parseExpression(params.condition);
    } catch (error) {
      throw new FirebreakError('ERR_CONFIG_INVALID', `rule ${id}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    for (const name of namesIn(condition)) {
      if (!argNames.has(name) && !reads.has(name) && !BUILTIN_NAMES.has(name))
        throw new FirebreakError(
          'ERR_CONFIG_INVALID',
          `rule ${id}: the condition uses "${name}", which is no argument of the matched items and no read (arguments: ${[...argNames].join(', ') || 'none'}; reads: ${[...reads.keys()].join(', ') || 'none'})`,
        );
    }
  }
  return { params, condition, events, functions, reads };
}

const toValue = (v: unknown): Value =>
  typeof v === 'bigint' || typeof v === 'boolean'
    ? v
    : typeof v === 'number'
      ? BigInt(v)
      : typeof v === 'string'
        ? v.toLowerCase()
        : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

/** One matched item's scope: its arguments, the builtins, and the reads (made lazily, once). */
function scope(
  rule: CompiledRule,
  view: BlockView,
  args: Record<string, unknown>,
  builtins: Record<string, Value>,
): (name: string) => Promise<Value> {
  const cache = new Map<string, Promise<Value>>();
  const resolve = (name: string): Promise<Value> => {
    if (name in builtins) return Promise.resolve(builtins[name]!);
    if (name in args) return Promise.resolve(toValue(args[name]));
    const read = rule.reads.get(name);
    if (!read) return Promise.reject(new Error(`unknown name "${name}"`));
    let hit = cache.get(name);
    if (!hit) {
      hit = (async () => {
        const address = (
          read.address === 'emitter' || read.address === 'target' ? builtins[read.address] : read.address
        ) as Hex;
        const callArgs = await Promise.all(
          read.args.map(async (a) => {
            if (/^\d+$/.test(a)) return BigInt(a);
            if (/^0x[0-9a-fA-F]*$/.test(a)) return a;
            const v = await resolve(a);
            return v;
          }),
        );
        return toValue(
          await view.call({ address, abi: [read.item], functionName: read.item.name, args: callArgs }),
        );
      })();
      cache.set(name, hit);
    }
    return hit;
  };
  return resolve;
}

const fill = (template: string, values: Record<string, unknown>) =>
  template.replace(/\{([A-Za-z_][A-Za-z0-9_.]*)\}/g, (whole, name: string) =>
    name in values ? String(values[name]) : whole,
  );

/** A rule as a detector definition (one per configured rule: its compiled form is captured). */
export function ruleDetector(id: string, params: RuleParams): DetectorDefinition<RuleParams> {
  const rule = compileRule(id, params);
  return {
    type: 'rule',
    description: `declarative rule ${id}`,
    async detect(event, { instanceId, view, logs }) {
      const findings: Finding[] = [];
      const blockBuiltins = { 'block.number': event.block.number, 'block.timestamp': event.block.timestamp };
      const raise = async (
        args: Record<string, unknown>,
        builtins: Record<string, Value>,
        key: string,
        what: string,
      ) => {
        const resolve = scope(rule, view, args, builtins);
        if (rule.condition && (await evaluate(rule.condition, resolve)) !== true) return;
        const shown: Record<string, string> = {};
        for (const [k, v] of Object.entries(args)) shown[k] = String(toValue(v));
        for (const name of rule.reads.keys()) shown[name] = String(await resolve(name));
        findings.push(
          findingOf('rule', instanceId, event, {
            severity: params.severity,
            kind: params.kind,
            subject: { market: (builtins.emitter as Hex) ?? (builtins.target as Hex) },
            dedupeKey: `rule:${instanceId}:${key}`,
            confidence: params.confidence,
            title: params.title ? fill(params.title, { ...shown, ...builtins }) : `${instanceId}: ${what}`,
            evidence: {
              ...shown,
              ...Object.fromEntries(Object.entries(builtins).map(([k, v]) => [k, String(v)])),
              matched: what,
            },
          }),
        );
      };
      for (const e of rule.events) {
        const decoded = await logs.decode(e.item, e.address.length > 0 ? e.address : undefined);
        for (const log of decoded) {
          await raise(
            log.args,
            { ...blockBuiltins, emitter: log.address, tx: log.transactionHash },
            `${log.transactionHash.toLowerCase()}:${log.logIndex}`,
            `${e.item.name} in tx ${log.transactionHash}`,
          );
        }
      }
      if (rule.functions.length > 0) {
        const txs = await view.transactions(event.block.hash);
        for (const tx of txs) {
          const selector = tx.input.slice(0, 10).toLowerCase();
          for (const f of rule.functions) {
            if (selector !== f.selector) continue;
            if (f.address.size > 0 && (tx.to === null || !f.address.has(tx.to))) continue;
            let args: Record<string, unknown> = {};
            try {
              const decoded = decodeFunctionData({ abi: [f.item], data: tx.input });
              f.item.inputs.forEach((input, i) => {
                if (input.name) args[input.name] = (decoded.args ?? [])[i];
              });
            } catch {
              args = {};
              continue;
            }
            await raise(
              args,
              { ...blockBuiltins, target: tx.to ?? '', tx: tx.hash, from: tx.from },
              `${tx.hash.toLowerCase()}:${f.selector}`,
              `${f.item.name} call in tx ${tx.hash}`,
            );
          }
        }
      }
      return findings;
    },
  };
}
