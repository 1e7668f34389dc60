/**
 * A one-line text field driven by Ink's useInput (input + key flags). Pure, so the
 * reason prompt and the "type a line for the agent" field share it and are unit-tested
 * without rendering.
 */
export interface EditKey {
  return?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
  meta?: boolean;
  escape?: boolean;
  tab?: boolean;
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
}

export interface EditResult {
  text: string;
  /** Lines completed by Enter (a paste can complete several at once). */
  submitted: string[];
}

export const MAX_LINE_LENGTH = 4096;

export function editLine(text: string, input: string, key: EditKey, maxLength = MAX_LINE_LENGTH): EditResult {
  if (key.return) return { text: '', submitted: [text] };
  // Terminals send DEL (0x7f) for Backspace, which Ink reports as `delete`; either removes left.
  if (key.backspace || key.delete) return { text: Array.from(text).slice(0, -1).join(''), submitted: [] };
  if (key.ctrl && input === 'u') return { text: '', submitted: [] };
  if (key.ctrl || key.escape || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) {
    return { text, submitted: [] };
  }
  // A paste arrives as one chunk and may hold line breaks.
  const parts = input.split(/\r\n|\r|\n/);
  const submitted: string[] = [];
  let current = text;
  parts.forEach((part, i) => {
    // Control characters never enter the field (the agent and the audit get plain text).
    const clean = part.replace(/[\x00-\x1f\x7f-\x9f]/g, '');
    current = (current + clean).slice(0, maxLength);
    if (i < parts.length - 1) {
      submitted.push(current);
      current = '';
    }
  });
  return { text: current, submitted };
}
