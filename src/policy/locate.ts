/**
 * Turn a document path (['rules', 2, 'when']) into a line and column of the YAML source,
 * so every policy error reads `file:line:col: <what was expected>`.
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import type { PolicyIssue } from './compiled.js';

interface RangedNode {
  range?: [number, number, number] | null;
}

function startOf(node: unknown): number | null {
  const r = (node as RangedNode | null)?.range;
  return r ? r[0] : null;
}

/** Offset of `offset` characters into a scalar's value, as a source offset. */
function scalarOffset(node: unknown, source: string, offset: number): number {
  const start = startOf(node) ?? 0;
  if (!isScalar(node) || offset <= 0) return start;
  switch (node.type) {
    case 'PLAIN':
      return start + offset;
    case 'QUOTE_DOUBLE':
    case 'QUOTE_SINGLE':
      return start + 1 + offset;
    case 'BLOCK_LITERAL':
    case 'BLOCK_FOLDED': {
      // Map (line, column) in the value onto the block's content lines, after the header.
      const value = String(node.value);
      const before = value.slice(0, offset).split('\n');
      const lineIdx = before.length - 1;
      const col = (before[lineIdx] ?? '').length;
      let pos = source.indexOf('\n', start);
      if (pos === -1) return start;
      pos += 1;
      // Skip blank lines before the first content line (whose indent is the block's), then
      // lineIdx more lines.
      let skipped = 0;
      let indent = -1;
      while (pos < source.length) {
        const end = source.indexOf('\n', pos);
        const line = source.slice(pos, end === -1 ? source.length : end);
        if (line.trim() !== '' || skipped > 0) {
          if (indent < 0) indent = line.length - line.trimStart().length;
          if (skipped === lineIdx) return pos + indent + col;
          skipped++;
        }
        if (end === -1) break;
        pos = end + 1;
      }
      return start;
    }
    default:
      return start;
  }
}

/** The source offset an issue points at: the deepest existing node on its path. */
export function issueOffset(doc: Document, source: string, issue: PolicyIssue): number {
  let node: unknown = doc.contents;
  let at = startOf(node) ?? 0;
  const path = issue.path;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return at;
      const keyStart = startOf(pair.key);
      if (last && issue.atKey) return keyStart ?? at;
      if (pair.value === null || startOf(pair.value) === null) return keyStart ?? at;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (item === undefined || startOf(item) === null) return at;
      node = item;
    } else {
      return at;
    }
    at = startOf(node) ?? at;
  }
  return issue.offset !== undefined ? scalarOffset(node, source, issue.offset) : at;
}

export function formatAt(label: string, lc: LineCounter, offset: number, message: string): string {
  const { line, col } = lc.linePos(offset);
  return `${label}:${line}:${col}: ${message}`;
}
