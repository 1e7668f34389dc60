/**
 * YAML text → a plain value, with every later problem addressable as file:line:col. Shared
 * by the policy and the policy test file so both report errors the same way. Pure.
 */
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { ZodIssue } from 'zod';
import type { PolicyIssue } from './compiled.js';
import { formatAt, issueOffset } from './locate.js';

export interface YamlSource {
  data: unknown;
  /** Issues (document paths) → `label:line:col: message`, earliest first, unknown keys first. */
  locate: (issues: Array<PolicyIssue & { priority?: number }>) => string[];
  /** `label:line:col` of the node at a document path (e.g. ['cases', 3]). */
  where: (path: (string | number)[]) => string;
}

export type YamlSourceResult = { ok: true; source: YamlSource } | { ok: false; problems: string[] };

/** A zod issue as a located issue; an unknown key points at the key itself. */
export function issueFromZod(issue: ZodIssue): PolicyIssue & { priority: number } {
  if (issue.code === 'unrecognized_keys')
    return { path: [...issue.path, issue.keys[0] ?? ''], message: issue.message, atKey: true, priority: 0 };
  return { path: issue.path, message: issue.message, priority: 1 };
}

function unresolvedAlias(doc: Document, label: string, lc: LineCounter): string | null {
  // An alias without its anchor is only noticed by toJS, which cannot say where; find it.
  let found: string | null = null;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) === undefined) {
        found = formatAt(
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
  return found;
}

export function readYamlSource(text: string, label: string): YamlSourceResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) =>
      formatAt(label, lc, e.pos[0], e.message.split('\n')[0] ?? e.message),
    );
    return { ok: false, problems };
  }
  const alias = unresolvedAlias(doc, label, lc);
  if (alias !== null) return { ok: false, problems: [alias] };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return {
      ok: false,
      problems: [formatAt(label, lc, 0, err instanceof Error ? err.message : String(err))],
    };
  }
  const locate = (issues: Array<PolicyIssue & { priority?: number }>): string[] =>
    issues
      .map((iss) => ({ iss, at: issueOffset(doc, text, iss) }))
      .sort((a, b) => (a.iss.priority ?? 1) - (b.iss.priority ?? 1) || a.at - b.at)
      .map(({ iss, at }) => formatAt(label, lc, at, iss.message));
  const where = (path: (string | number)[]): string => {
    const { line, col } = lc.linePos(issueOffset(doc, text, { path, message: '' }));
    return `${label}:${line}:${col}`;
  };
  return { ok: true, source: { data, locate, where } };
}
