import type { JsonValue } from '../../src/types.js';
import { INVISIBLE } from '../../src/terminal-text.js';

/** One screen row of the arguments; `continued` rows carry on the line above (wrapped). */
export interface ArgRow {
  text: string;
  continued: boolean;
}

export interface FormattedArgs {
  rows: ArgRow[];
  /** False when the arguments cannot be shown in full (then approving must be refused). */
  complete: boolean;
}

// JSON.stringify already writes C0 controls and lone surrogates as \uXXXX escapes; these are
// the characters it leaves raw that a terminal would act on or not show: DEL and C1 controls,
// the line/paragraph separators, bidi controls, zero-width and tag characters.
const SHOWN_ESCAPED = new RegExp(`[\\x7f-\\x9f\\u2028\\u2029]|${INVISIBLE.source}`, 'g');

const escapeUnits = (s: string) =>
  Array.from({ length: s.length }, (_, i) => '\\u' + s.charCodeAt(i).toString(16).padStart(4, '0')).join('');

/**
 * Tool arguments as 2-space JSON, every byte of them: nothing is cut or dropped. A character
 * a terminal would interpret or hide is written as its JSON escape (`\u202e`, `\u001b`), so
 * the text is inert, reads as what it is, and is still the exact JSON of the arguments.
 * Long lines are wrapped to `width` code points rather than truncated.
 */
export function formatArgs(args: JsonValue | undefined, width: number): FormattedArgs {
  if (args === undefined) return { rows: [], complete: true };
  let text: string;
  try {
    text = JSON.stringify(args, null, 2) ?? 'null';
  } catch {
    // Nesting deep enough to exhaust the stack: there is no way to show it, so fail closed.
    const row = { text: '(arguments nested too deeply to display; deny the call)', continued: false };
    return { rows: [row], complete: false };
  }
  const w = Math.max(8, width);
  const rows: ArgRow[] = [];
  for (const line of text.replace(SHOWN_ESCAPED, escapeUnits).split('\n')) {
    const points = Array.from(line);
    if (points.length <= w) {
      rows.push({ text: line, continued: false });
      continue;
    }
    for (let i = 0; i < points.length; i += w)
      rows.push({ text: points.slice(i, i + w).join(''), continued: i > 0 });
  }
  return { rows, complete: true };
}
