/**
 * A readable line diff of two tool definitions for `gov pins diff`: each definition printed as
 * indented JSON with sorted keys (so only real changes show), compared line by line. The
 * definitions come from the server: characters a terminal would act on or hide are JSON
 * escapes (terminal-text.ts), so a person accepting a change reads what it really says.
 */
import { canonicalJson } from '../audit/canonical.js';
import { jsonForDisplay } from '../terminal-text.js';
import type { JsonValue } from '../types.js';

export interface DiffLine {
  op: ' ' | '-' | '+';
  text: string;
}

function lines(v: JsonValue | undefined): string[] {
  if (v === undefined) return [];
  return (jsonForDisplay(JSON.parse(canonicalJson(v)), 2) ?? 'null').split('\n');
}

/** Longest-common-subsequence diff; definitions are small, so the table is too. */
export function diffDefinitions(before: JsonValue | undefined, after: JsonValue | undefined): DiffLine[] {
  const a = lines(before);
  const b = lines(after);
  if (a.length * b.length > 4_000_000)
    return [
      ...a.map((text) => ({ op: '-' as const, text })),
      ...b.map((text) => ({ op: '+' as const, text })),
    ];
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', text: a[i]! });
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push({ op: '-', text: a[i++]! });
    else out.push({ op: '+', text: b[j++]! });
  }
  while (i < n) out.push({ op: '-', text: a[i++]! });
  while (j < m) out.push({ op: '+', text: b[j++]! });
  return out;
}

/** Diff lines as text, unchanged runs longer than 2×context collapsed to `…`. */
export function formatDiff(diff: DiffLine[], context = 3): string {
  const keep = diff.map((d, k) => {
    if (d.op !== ' ') return true;
    for (let x = Math.max(0, k - context); x <= Math.min(diff.length - 1, k + context); x++)
      if (diff[x]!.op !== ' ') return true;
    return false;
  });
  const out: string[] = [];
  let skipped = false;
  diff.forEach((d, k) => {
    if (keep[k]) {
      out.push(`${d.op} ${d.text}`);
      skipped = false;
    } else if (!skipped) {
      out.push('  …');
      skipped = true;
    }
  });
  return out.join('\n');
}
