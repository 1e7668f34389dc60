/**
 * `args.account in [13, 42]` looks the argument up with CEL's own equality, which finds no
 * `"13"` in a list of ints (and which gov cannot override, unlike `==`: see cel.ts). A lenient
 * server reads `"13"` as 13 all the same (pydantic in lax mode, as FastMCP uses it), so a deny
 * rule would not match a call the server then executes. For each `in` whose list is written
 * out in the expression and whose left side is an argument (`args.a.b`, `args["a"]`), gov
 * checks before evaluating that the argument's value is of a type the list holds; otherwise
 * the condition fails to evaluate, and the rule denies (fail closed), as for `==`.
 */
import { isPlainObject } from '../types.js';

type Kind = 'bool' | 'number' | 'string' | 'null' | 'bytes' | 'list' | 'map';

/** One `args… in [literals]`: the argument's path and the kinds of the list's elements. */
export interface MembershipCheck {
  path: readonly string[];
  kinds: ReadonlySet<Kind>;
}

/** The subset of cel-js's AST node this walk reads. */
interface AstNode {
  op: string;
  args: unknown;
}

function isNode(v: unknown): v is AstNode {
  return typeof v === 'object' && v !== null && typeof (v as AstNode).op === 'string';
}

function kindOf(v: unknown): Kind {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number' || typeof v === 'bigint') return 'number';
  if (typeof v === 'string') return 'string';
  if (v instanceof Uint8Array) return 'bytes';
  return Array.isArray(v) ? 'list' : 'map';
}

/** `args.a["b"].c` → ['a', 'b', 'c']; null for anything else. */
function argumentPath(n: unknown): string[] | null {
  if (!isNode(n) || !Array.isArray(n.args)) return null;
  const [of, key] = n.args as unknown[];
  let name: unknown;
  if (n.op === '.') name = key;
  else if (n.op === '[]' && isNode(key) && key.op === 'value') name = key.args;
  else return null;
  if (typeof name !== 'string') return null;
  if (isNode(of) && of.op === 'id') return of.args === 'args' ? [name] : null;
  const base = argumentPath(of);
  return base ? [...base, name] : null;
}

/** Every `args… in [literals]` in a parsed expression. */
export function membershipChecks(ast: unknown): MembershipCheck[] {
  const out: MembershipCheck[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!isNode(n)) return;
    if (n.op === 'in' && Array.isArray(n.args)) {
      const [value, list] = n.args as unknown[];
      const path = argumentPath(value);
      const items = isNode(list) && list.op === 'list' && Array.isArray(list.args) ? list.args : null;
      if (path && items && items.length > 0 && items.every((i) => isNode(i) && i.op === 'value'))
        out.push({ path, kinds: new Set(items.map((i) => kindOf((i as AstNode).args))) });
    }
    walk(n.args);
  };
  walk(ast);
  return out;
}

/** Why a call's arguments fail one of `checks`, or null (an absent argument is CEL's to judge). */
export function mismatchedMember(args: unknown, checks: readonly MembershipCheck[]): string | null {
  for (const c of checks) {
    let v = args;
    for (const k of c.path) v = isPlainObject(v) && Object.hasOwn(v, k) ? v[k] : undefined;
    if (v === undefined) continue;
    const kind = kindOf(v);
    if (!c.kinds.has(kind))
      return `cannot look up a value of type ${kind} in a list of ${[...c.kinds].join(', ')}: a server may read one as the other`;
  }
  return null;
}
