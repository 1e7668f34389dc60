/**
 * `when:` expressions: CEL (via @marcbachmann/cel-js) over {args, tool, server, method, run, principal,
 * tool_annotations, tool_pinned}, where run is {id, tainted, taint_sources}.
 * Parsed and type-checked once at compile time; evaluation never throws — an error or a
 * non-boolean result comes back as a message so decide() can fail closed.
 */
import { createRequire } from 'node:module';
import type { Environment } from '@marcbachmann/cel-js';
import type { JsonValue } from '../types.js';
import { namesReadBy, type ReadNames } from './arg-spellings.js';
import { membershipChecks, mismatchedMember } from './list-membership.js';

/** `run` as `when` sees it. */
export interface CelRun {
  id: string;
  tainted: boolean;
  taint_sources: string[];
}

export type WhenResult = { ok: true; value: boolean } | { ok: false; error: string };

export interface CompiledWhen {
  readonly source: string;
  /** Member names the expression may read (see arg-spellings.ts). */
  readonly readNames: ReadNames;
  /**
   * Whether the expression reads nothing but who calls what: `principal`, `tool`, `server` and
   * `method` (no arguments, run state or annotations). Such an expression can be evaluated
   * before any call, e.g. to know which tools a principal may ever use.
   */
  readonly identityOnly: boolean;
  /** `args` must already be converted with toCelArgs (done once per decision). */
  evaluate(ctx: CelContext): WhenResult;
}

/** The context as CEL sees it (integers as BigInt). */
export interface CelContext {
  args: unknown;
  tool: string;
  server: string;
  method: string;
  run: CelRun;
  /** `gov serve`: the authenticated client ('' for gov run and mcp wrap). */
  principal: string;
  /** The tool's four behaviour hints, spec defaults filled in (untrusted unless tool_pinned). */
  tool_annotations: Record<string, boolean>;
  /** The tool's current definition is one the user pinned (see docs/pins.md). */
  tool_pinned: boolean;
}

export type WhenCompileResult =
  { ok: true; when: CompiledWhen } | { ok: false; message: string; offset: number };

let env: Environment | null = null;

/**
 * Building an Environment is the expensive part; build one, lazily, and share it. The package
 * itself is loaded here too (~30 ms of start-up), so a policy without `when:` never loads it.
 */
function celEnv(): Environment {
  if (!env) {
    const cel = createRequire(import.meta.url)(
      '@marcbachmann/cel-js',
    ) as typeof import('@marcbachmann/cel-js');
    env = new cel.Environment({
      limits: {
        maxAstNodes: 2000,
        maxDepth: 50,
        maxListElements: 1000,
        maxMapEntries: 1000,
        maxCallArguments: 32,
      },
    })
      .registerVariable('args', 'map')
      .registerVariable('tool', 'string')
      .registerVariable('server', 'string')
      .registerVariable('method', 'string')
      .registerVariable('run', 'map')
      .registerVariable('principal', 'string')
      .registerVariable('tool_annotations', 'map')
      .registerVariable('tool_pinned', 'bool');
  }
  return env;
}

let strictEnv: Environment | null = null;

/**
 * The environment expressions run in: `celEnv()` plus an error for comparing values of
 * different types. Expressions are type-checked with `celEnv()`, which has no such overloads,
 * so `tool == 1` is still refused when the policy loads.
 */
function evalEnv(): Environment {
  if (!strictEnv) {
    strictEnv = celEnv().clone();
    for (const [a, b] of MIXED_PAIRS)
      strictEnv.registerOperator(`${a} == ${b}`, () => {
        throw new Error(`cannot compare values of types ${a} and ${b}: a server may read one as the other`);
      });
  }
  return strictEnv;
}

/**
 * CEL's `==` between different types is false, so `args.force == true` did not match
 * `{"force":"true"}`, which a lenient server reads as `true` (pydantic, as FastMCP uses, takes
 * "true", "yes" and 1 for a bool and "13" for an int; JavaScript and Python truthiness take any
 * non-empty string). Comparing values of different types is therefore an error, and a rule
 * whose condition errs denies the call. Numbers of different kinds still compare by value, and
 * anything compares with `null` (`args.x != null`). Registering `a == b` also covers `b == a`
 * and both `!=`.
 */
const COMPARED = ['bool', 'int', 'string', 'bytes', 'list', 'map'] as const;
const MIXED_PAIRS: [string, string][] = [
  ...COMPARED.flatMap((a, i) => COMPARED.slice(i + 1).map((b): [string, string] => [a, b])),
  ...['bool', 'string', 'bytes', 'list', 'map'].flatMap((a) =>
    ['uint', 'double'].map((b): [string, string] => [a, b]),
  ),
];

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n')[0] ?? msg).trim();
}

function errorOffset(e: unknown): number {
  if (e && typeof e === 'object') {
    const r = (e as { range?: { start?: unknown } }).range;
    if (r && typeof r.start === 'number') return r.start;
  }
  return 0;
}

/** The variables `when` names that say only who calls what. */
const IDENTITY: ReadonlySet<string> = new Set(['principal', 'tool', 'server', 'method']);

/** Every identifier an expression names (cel-js AST: `{op: 'id', args: name}`). */
function identifiersOf(ast: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (typeof n !== 'object' || n === null) return;
    const { op, args } = n as { op?: unknown; args?: unknown };
    if (typeof op !== 'string') return;
    if (op === 'id') {
      // Not a name: read as "anything", so the expression is not identity-only.
      out.add(typeof args === 'string' ? args : '');
      return;
    }
    walk(args);
  };
  walk(ast);
  return out;
}

export function compileWhen(source: string): WhenCompileResult {
  const e = celEnv();
  let fn: (ctx: CelContext) => unknown;
  let identityOnly = false;
  try {
    const check = e.check(source);
    if (!check.valid) {
      const err = check.error;
      return { ok: false, message: `invalid CEL expression: ${firstLine(err)}`, offset: errorOffset(err) };
    }
    if (check.type !== 'bool' && check.type !== 'dyn')
      return {
        ok: false,
        message: `when must be a boolean expression, but this one gives ${String(check.type)}`,
        offset: 0,
      };
    const parsed = evalEnv().parse(source);
    identityOnly = [...identifiersOf(parsed.ast)].every((id) => IDENTITY.has(id));
    const memberships = membershipChecks(parsed.ast);
    fn =
      memberships.length === 0
        ? (ctx) => parsed(ctx) as unknown
        : (ctx) => {
            const why = mismatchedMember(ctx.args, memberships);
            if (why !== null) throw new Error(why);
            return parsed(ctx) as unknown;
          };
  } catch (err) {
    return { ok: false, message: `invalid CEL expression: ${firstLine(err)}`, offset: errorOffset(err) };
  }
  return {
    ok: true,
    when: {
      source,
      readNames: namesReadBy(source),
      identityOnly,
      evaluate(ctx) {
        try {
          const v = fn(ctx);
          if (typeof v === 'boolean') return { ok: true, value: v };
          return { ok: false, error: `when gave ${v === null ? 'null' : typeof v}, not a boolean` };
        } catch (err) {
          return { ok: false, error: firstLine(err) };
        }
      },
    },
  };
}

/**
 * JSON numbers that are whole become CEL ints (BigInt) so `args.count + 1` and
 * `args.amount <= 1000` both work; fractional numbers stay doubles.
 */
export function toCelArgs(v: JsonValue): unknown {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toCelArgs);
  if (v !== null && typeof v === 'object') {
    // Null prototype: a JSON key named __proto__ stays an ordinary key.
    const out = Object.create(null) as Record<string, unknown>;
    for (const k of Object.keys(v)) out[k] = toCelArgs(v[k] as JsonValue);
    return out;
  }
  return v;
}
