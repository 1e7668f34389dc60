/**
 * Which part of a rule matched one call (after mockttp's `explain()`): the tool or URI
 * glob, the server, and the `when` expression with the values it saw. Computed only when a
 * human or an agent is told about a decision (a denial, a held call, `policy eval`), never
 * on the decide() hot path. Values are the call's own arguments: they are stripped of
 * control and bidi characters and truncated here; the caller redacts secrets.
 */
import type { JsonValue } from '../types.js';
import type { PolicyInput } from './compiled.js';
import type { CompiledRule } from './decide.js';
import type { Glob } from './glob.js';

const MAX_VALUE_CHARS = 60;
const MAX_VALUES = 6;
// C0/C1 controls, bidi overrides and isolates: untrusted text must not restyle a terminal.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function shown(v: JsonValue | undefined): string {
  const text = v === undefined ? 'missing' : JSON.stringify(v);
  const clean = text.replace(UNSAFE, '?');
  return clean.length > MAX_VALUE_CHARS ? `${clean.slice(0, MAX_VALUE_CHARS - 1)}…` : clean;
}

function firstMatch(globs: Glob[], s: string): string {
  const g = globs.find((x) => (x.literal === null ? x.test(s) : x.literal === s));
  return g?.pattern ?? '';
}

/** `args.a.b`, `tool`, … as written in the expression (string literals skipped). */
function referencedPaths(source: string): string[] {
  const code = source.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  const seen = new Set<string>();
  for (const m of code.matchAll(
    /(?<![\w.])(args(?:\.[A-Za-z_]\w*)*|run(?:\.[A-Za-z_]\w*)?|tool|server|method)(?![\w(])/g,
  ))
    seen.add(m[1] ?? '');
  return [...seen];
}

/** Whether a `when` expression looks at the call's arguments. */
export function readsArgs(source: string): boolean {
  return referencedPaths(source).some((p) => p === 'args' || p.startsWith('args.'));
}

function valueAt(path: string, input: PolicyInput): JsonValue | undefined {
  const [head, ...rest] = path.split('.');
  let v: JsonValue | undefined;
  if (head === 'args') v = input.args;
  else if (head === 'tool') v = input.tool ?? '';
  else if (head === 'server') v = input.server.name ?? '';
  else if (head === 'method') v = input.method;
  else if (head === 'run') {
    const sources = [...(input.taintSources ?? [])];
    v = { id: input.run, tainted: sources.length > 0, taint_sources: sources };
  }
  for (const k of rest) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, k)) return undefined;
    v = v[k];
  }
  return v;
}

/** e.g. `tool refund matched "refund", server payments, when args.amount <= 1000 saw args.amount = 50`. */
export function explainMatch(rule: CompiledRule, input: PolicyInput): string {
  const parts: string[] = [];
  if (rule.tools !== null && input.tool !== undefined)
    parts.push(`tool ${shown(input.tool)} matched ${shown(firstMatch(rule.tools, input.tool))}`);
  if (rule.uris !== null && input.uri !== undefined)
    parts.push(`uri ${shown(input.uri)} matched ${shown(firstMatch(rule.uris, input.uri))}`);
  parts.push(rule.servers === null ? 'any server' : `server ${shown(input.server.name ?? '')}`);
  if (rule.when !== null) {
    const expr = rule.when.source.trim().replace(/\s+/g, ' ');
    const saw = referencedPaths(rule.when.source)
      .slice(0, MAX_VALUES)
      .map((p) => `${p} = ${shown(valueAt(p, input))}`);
    parts.push(`when ${expr}${saw.length > 0 ? ` saw ${saw.join(', ')}` : ''}`);
  }
  return parts.join(', ');
}
