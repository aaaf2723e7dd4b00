/**
 * Config — turning schema failures into messages a person can act on: the file, the path inside
 * it (with the line when the file is YAML), what is wrong, and the fix.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { type ErrorCode, FirebreakError } from '../common/errors';

export interface ConfigProblem {
  path: (string | number)[];
  message: string;
  fix: string;
}

export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(top level)';
  return path.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part),
    '',
  );
}

/** Converts zod issues into problems with a suggested fix each. */
export function problemsFromZod(error: z.ZodError): ConfigProblem[] {
  return error.issues.map((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    return { path, message: issue.message, fix: fixFor(issue) };
  });
}

function fixFor(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      // zod reports the received type only in the message (the input itself is not kept).
      return /received undefined/.test(issue.message)
        ? `add the field (${issue.expected})`
        : `use a value of type ${issue.expected}`;
    case 'invalid_value':
      return `use one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `remove or correct the unknown field(s): ${issue.keys.join(', ')}`;
    case 'too_small':
      return `use a value ≥ ${String(issue.minimum)}`;
    case 'too_big':
      return `use a value ≤ ${String(issue.maximum)}`;
    case 'invalid_format':
      // Our patterns carry their rule as the message ("must be a 20-byte hex address …").
      return issue.format === 'regex' && /^must be /.test(issue.message)
        ? issue.message.replace(/^must be /, 'use ')
        : `use the ${issue.format} format`;
    case 'invalid_union':
      return 'use one of the documented forms for this field';
    default:
      return 'see the reference in docs/';
  }
}

/** Finds the line of a path in YAML text, for messages; undefined when it cannot be told. */
export function lineOf(text: string, path: readonly (string | number)[]): number | undefined {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  let node: unknown = doc.contents;
  let last: Node | undefined = doc.contents ?? undefined;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === part);
      if (!pair) break;
      last = (pair.key as Node) ?? last;
      node = pair.value;
      if (node && (isMap(node) || isSeq(node) || isScalar(node))) last = node as Node;
    } else if (isSeq(node) && typeof part === 'number') {
      node = node.items[part];
      if (node && (isMap(node) || isSeq(node) || isScalar(node))) last = node as Node;
      else break;
    } else break;
  }
  const offset = last?.range?.[0];
  return offset === undefined ? undefined : counter.linePos(offset).line;
}

/** One error for a file with one or more problems; the message lists them all. */
export function invalidFileError(
  code: Extract<ErrorCode, 'ERR_CONFIG_INVALID' | 'ERR_SCENARIO_INVALID'>,
  file: string,
  problems: ConfigProblem[],
  text?: string,
): FirebreakError {
  const lines = problems.map((p) => {
    const line = text === undefined ? undefined : lineOf(text, p.path);
    const where = line === undefined ? formatPath(p.path) : `${formatPath(p.path)} (line ${line})`;
    return `  - ${where}: ${p.message}\n    fix: ${p.fix}`;
  });
  const what = code === 'ERR_SCENARIO_INVALID' ? 'scenario' : 'config';
  return new FirebreakError(
    code,
    `${file}: invalid ${what} (${problems.length} problem${problems.length === 1 ? '' : 's'})\n${lines.join('\n')}`,
    { details: { file, problems } },
  );
}
