import type { JsonValue } from '../../src/types.js';
import { jsonForDisplay } from '../../src/terminal-text.js';

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

/**
 * Tool arguments as 2-space JSON, every byte of them: nothing is cut or dropped. A character
 * a terminal would interpret or hide is written as its JSON escape (`\u202e`, `\u00ad`), so
 * the text is inert, reads as what it is, and is still the exact JSON of the arguments.
 * Long lines are wrapped to `width` code points rather than truncated.
 */
export function formatArgs(args: JsonValue | undefined, width: number): FormattedArgs {
  if (args === undefined) return { rows: [], complete: true };
  let text: string;
  try {
    text = jsonForDisplay(args, 2) ?? 'null';
  } catch {
    // Nesting deep enough to exhaust the stack: there is no way to show it, so fail closed.
    const row = { text: '(arguments nested too deeply to display; deny the call)', continued: false };
    return { rows: [row], complete: false };
  }
  const w = Math.max(8, width);
  const rows: ArgRow[] = [];
  for (const line of text.split('\n')) {
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
