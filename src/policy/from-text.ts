/**
 * YAML text → CompiledPolicy, or a list of `file:line:col: message` problems (earliest in
 * the file first, unknown keys before anything else they may have caused). Pure; load.ts
 * adds the file reading, the digest and the GovError.
 */
import { LineCounter, parseDocument, visit } from 'yaml';
import type { ZodIssue } from 'zod';
import { compilePolicy, type CompileMeta } from './compile.js';
import { PolicyCompileError, type CompiledPolicy, type PolicyIssue } from './compiled.js';
import { formatAt, issueOffset } from './locate.js';
import { parsePolicySpec } from './schema.js';

export type PolicyTextResult = { ok: true; policy: CompiledPolicy } | { ok: false; problems: string[] };

function fromZod(issue: ZodIssue): PolicyIssue & { priority: number } {
  if (issue.code === 'unrecognized_keys')
    return { path: [...issue.path, issue.keys[0] ?? ''], message: issue.message, atKey: true, priority: 0 };
  return { path: issue.path, message: issue.message, priority: 1 };
}

export function compilePolicyText(text: string, meta: CompileMeta): PolicyTextResult {
  const label = meta.source;
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) =>
      formatAt(label, lc, e.pos[0], e.message.split('\n')[0] ?? e.message),
    );
    return { ok: false, problems };
  }
  // An alias without its anchor is only noticed by toJS, which cannot say where; find it.
  let unresolved: string | null = null;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) === undefined) {
        unresolved = formatAt(
          label,
          lc,
          node.range?.[0] ?? 0,
          `unknown alias *${node.source} (quote a value that starts with *)`,
        );
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (unresolved !== null) return { ok: false, problems: [unresolved] };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return {
      ok: false,
      problems: [formatAt(label, lc, 0, err instanceof Error ? err.message : String(err))],
    };
  }
  const located = (issues: Array<PolicyIssue & { priority?: number }>): string[] =>
    issues
      .map((iss) => ({ iss, at: issueOffset(doc, text, iss) }))
      .sort((a, b) => (a.iss.priority ?? 1) - (b.iss.priority ?? 1) || a.at - b.at)
      .map(({ iss, at }) => formatAt(label, lc, at, iss.message));

  const parsed = parsePolicySpec(data);
  if (!parsed.ok) return { ok: false, problems: located(parsed.issues.map(fromZod)) };
  try {
    return { ok: true, policy: compilePolicy(parsed.spec, meta) };
  } catch (err) {
    if (err instanceof PolicyCompileError) return { ok: false, problems: located(err.issues) };
    throw err;
  }
}
