/**
 * Detect — the condition language of declarative rules, in the style of OpenZeppelin Monitor's
 * expressions: comparisons of decoded arguments, state reads and literals, joined with `&&`, `||`
 * and `!`, with integer arithmetic (`+ - * /`) and percentages (`5% of totalSupply`).
 *
 *   value > 5% of totalSupply && from != 0x0000000000000000000000000000000000000000
 *   (amount * 100) / reserve >= 20 || to == 0xdead…
 *
 * Values are bigints (numbers: `1000`, `1_000`, `1e18`, `2.5e6`), addresses and strings (compared
 * case-insensitively), and booleans. Names resolve lazily, so a read is made only when a condition
 * needs it. `parseExpression` checks the syntax at config load; evaluation never throws on a
 * condition that is false, only on one that cannot be evaluated (an unknown name, a type mismatch).
 */
import { FirebreakError } from '../common/errors';

export type Value = bigint | string | boolean;

export type Expr =
  | { t: 'lit'; value: Value }
  | { t: 'name'; name: string }
  | { t: 'not'; e: Expr }
  | { t: 'bin'; op: string; a: Expr; b: Expr }
  | { t: 'percent'; bps: bigint; of: Expr };

const TOKEN =
  /\s*(?:(0x[0-9a-fA-F]+)|(\d[\d_]*(?:\.\d+)?(?:e\d+)?)|('[^']*'|"[^"]*")|(&&|\|\||==|!=|>=|<=|[<>!()%*/+-])|([A-Za-z_][A-Za-z0-9_.]*))/y;

function tokenize(text: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) {
      if (/^\s*$/.test(text.slice(at))) break;
      throw syntax(text, `unexpected character at ${at}: "${text.slice(at, at + 10)}"`);
    }
    out.push(m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5]!);
  }
  return out;
}

const syntax = (text: string, why: string) =>
  new FirebreakError('ERR_CONFIG_INVALID', `condition "${text}": ${why}`, { details: { condition: text } });

/** A decimal literal with an optional exponent (`2.5e6`) as a bigint; fractions must come out whole. */
function parseNumber(text: string, token: string): bigint {
  const [mantissa, exp = '0'] = token.replaceAll('_', '').split('e') as [string, string?];
  const [whole, frac = ''] = mantissa.split('.') as [string, string?];
  const e = Number(exp) - frac.length;
  if (e < 0) throw syntax(text, `${token} is not a whole number`);
  return BigInt(whole + frac) * 10n ** BigInt(e);
}

/** Parses a condition; throws `ERR_CONFIG_INVALID` naming the problem. */
export function parseExpression(text: string): Expr {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const take = (want?: string) => {
    const t = tokens[i];
    if (t === undefined) throw syntax(text, `ends early${want ? `: expected "${want}"` : ''}`);
    if (want !== undefined && t !== want) throw syntax(text, `expected "${want}", found "${t}"`);
    i++;
    return t;
  };
  const binary = (next: () => Expr, ops: string[]) => (): Expr => {
    let a = next();
    while (peek() !== undefined && ops.includes(peek()!)) {
      const op = take();
      a = { t: 'bin', op, a, b: next() };
    }
    return a;
  };
  const atom = (): Expr => {
    const t = take();
    if (t === '(') {
      const e = or();
      take(')');
      return e;
    }
    if (t === '!') return { t: 'not', e: atom() };
    if (t === '-') {
      const e = atom();
      return { t: 'bin', op: '-', a: { t: 'lit', value: 0n }, b: e };
    }
    if (/^0x/i.test(t)) return { t: 'lit', value: t.toLowerCase() };
    if (/^\d/.test(t)) {
      if (peek() === '%') {
        take('%');
        take('of');
        // Percent with up to 2 decimals, kept exact in basis points.
        const [mantissa, frac = ''] = t.replaceAll('_', '').split('.') as [string, string?];
        if (frac.length > 2) throw syntax(text, `${t}% has more than 2 decimals`);
        return { t: 'percent', bps: BigInt(mantissa + frac.padEnd(2, '0')), of: atom() };
      }
      return { t: 'lit', value: parseNumber(text, t) };
    }
    if (t.startsWith("'") || t.startsWith('"')) return { t: 'lit', value: t.slice(1, -1) };
    if (t === 'true' || t === 'false') return { t: 'lit', value: t === 'true' };
    if (/^[A-Za-z_]/.test(t)) return { t: 'name', name: t };
    throw syntax(text, `unexpected "${t}"`);
  };
  const mul = binary(atom, ['*', '/']);
  const add = binary(mul, ['+', '-']);
  const cmp = binary(add, ['>', '>=', '<', '<=', '==', '!=']);
  const and = binary(cmp, ['&&']);
  const or = binary(and, ['||']);
  if (tokens.length === 0) throw syntax(text, 'is empty');
  const e = or();
  if (i < tokens.length) throw syntax(text, `unexpected "${tokens[i]}" after a complete condition`);
  return e;
}

/** Names an expression refers to (to validate them against a rule's event and reads). */
export function namesIn(e: Expr, out = new Set<string>()): Set<string> {
  switch (e.t) {
    case 'name':
      out.add(e.name);
      break;
    case 'not':
      namesIn(e.e, out);
      break;
    case 'bin':
      namesIn(e.a, out);
      namesIn(e.b, out);
      break;
    case 'percent':
      namesIn(e.of, out);
      break;
  }
  return out;
}

const num = (v: Value, what: string): bigint => {
  if (typeof v === 'bigint') return v;
  throw new Error(`${what} is ${typeof v === 'string' ? `"${v}"` : v}, not a number`);
};

/** Evaluates `e`; `resolve` gives a name's value (a state read may be made there). */
export async function evaluate(e: Expr, resolve: (name: string) => Promise<Value>): Promise<Value> {
  switch (e.t) {
    case 'lit':
      return e.value;
    case 'name':
      return resolve(e.name);
    case 'not':
      return !(await evaluate(e.e, resolve));
    case 'percent':
      return (num(await evaluate(e.of, resolve), 'the operand of %') * e.bps) / 10_000n;
    case 'bin': {
      if (e.op === '&&')
        return (await evaluate(e.a, resolve)) === true && (await evaluate(e.b, resolve)) === true;
      if (e.op === '||')
        return (await evaluate(e.a, resolve)) === true || (await evaluate(e.b, resolve)) === true;
      const a = await evaluate(e.a, resolve);
      const b = await evaluate(e.b, resolve);
      if (e.op === '==' || e.op === '!=') {
        const same =
          typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b;
        return e.op === '==' ? same : !same;
      }
      const x = num(a, 'the left operand');
      const y = num(b, 'the right operand');
      switch (e.op) {
        case '+':
          return x + y;
        case '-':
          return x - y;
        case '*':
          return x * y;
        case '/':
          if (y === 0n) throw new Error('division by zero');
          return x / y;
        case '>':
          return x > y;
        case '>=':
          return x >= y;
        case '<':
          return x < y;
        default:
          return x <= y;
      }
    }
  }
}
