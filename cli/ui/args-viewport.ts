import { useMemo, useRef, useState } from 'react';
import type { HeldCall } from '../../src/types.js';
import { formatArgs, type ArgRow } from './format-args.js';
import type { EditKey } from './line-edit.js';

export interface ArgsViewport {
  /** Which arguments these are: the call, and whether they are its listing's summary. */
  key: string;
  rows: ArgRow[];
  /** First row on screen. */
  offset: number;
  /** Rows on screen at most. */
  height: number;
  /** Rows of the arguments that have never been on screen (approving needs 0). */
  unseen: number;
}

export interface ScrollKey extends EditKey {
  pageUp?: boolean;
  pageDown?: boolean;
}

/**
 * The scrollable arguments of the held call on screen, and how much of them the approver
 * has been shown. "Shown" is remembered per call, so selecting another call and coming back
 * does not ask for the same rows again.
 */
export function useArgsViewport(
  call: Pick<HeldCall, 'id' | 'run' | 'args' | 'args_truncated'> | undefined,
  columns: number,
  height: number,
): ArgsViewport & { scroll(delta: number): void } {
  // HeldCallView's frame: a border and a space of padding each side, then a 2-column row marker.
  const width = columns - 6;
  // A summary and the full arguments are different rows: what was read of one is not the other.
  const key = call ? `${call.run}\u0000${call.id}${call.args_truncated ? '\u0000summary' : ''}` : '';
  const formatted = useMemo(() => formatArgs(call?.args, width), [call?.args, width]);
  const offsets = useRef(new Map<string, number>());
  // Per call: the shown rows as a count from the top, at the width they were counted at.
  const seen = useRef(new Map<string, { width: number; to: number }>());
  const [, rerender] = useState(0);

  const total = formatted.rows.length;
  const maxOffset = Math.max(0, total - height);
  const offset = Math.min(offsets.current.get(key) ?? 0, maxOffset);
  const before = seen.current.get(key);
  // A resize re-wraps the rows; what was shown at another width is counted from the top again.
  const shownBefore = before && before.width === width ? before.to : 0;
  const shownTo = Math.max(shownBefore, Math.min(total, offset + height));
  // Rendering this frame is what puts these rows on screen.
  if (call) seen.current.set(key, { width, to: shownTo });

  return {
    key,
    rows: formatted.rows,
    offset,
    height,
    unseen: formatted.complete ? total - shownTo : Math.max(1, total - shownTo),
    scroll(delta: number) {
      const from = Math.min(offsets.current.get(key) ?? 0, maxOffset);
      offsets.current.set(key, Math.max(0, Math.min(maxOffset, from + delta)));
      rerender((v) => v + 1);
    },
  };
}

/** Why `a` is refused while rows of the arguments have never been on screen. */
export function unseenRefusal(view: Pick<ArgsViewport, 'unseen'>): string | undefined {
  const n = view.unseen;
  if (n === 0) return undefined;
  return `not approved: ${n} line${n === 1 ? '' : 's'} of its arguments never shown — scroll down (j, PgDn, space) first`;
}

/**
 * Scrolling keys: j/k (and ↑/↓ where `arrows`), PgUp/PgDn, space for a page down.
 * Returns whether the key was one of them.
 */
export function scrollKey(
  view: { height: number; scroll(delta: number): void },
  input: string,
  key: ScrollKey,
  arrows: boolean,
): boolean {
  if (key.ctrl || key.meta) return false;
  const page = Math.max(1, view.height - 1);
  let delta: number | undefined;
  if (input === 'j' || (arrows && key.downArrow)) delta = 1;
  else if (input === 'k' || (arrows && key.upArrow)) delta = -1;
  else if (key.pageDown || input === ' ') delta = page;
  else if (key.pageUp) delta = -page;
  if (delta === undefined) return false;
  view.scroll(delta);
  return true;
}
