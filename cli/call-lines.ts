import type { GovernedCallEvent, HeldCall } from '../src/types.js';
import { sanitizeInline } from '../src/terminal-text.js';

/**
 * Exactly `gov: <decision> <method> <tool or uri> (rule <id>)` — one line per governed request
 * (a held call prints `approve`, then its final `allow` or `deny`).
 */
export function callLine(e: GovernedCallEvent): string | null {
  if (e.method.startsWith('notifications/')) return null;
  const target = e.target ? ` ${sanitizeInline(e.target)}` : '';
  const line = `gov: ${e.decision} ${sanitizeInline(e.method)}${target} (rule ${sanitizeInline(e.rule)})`;
  const why = HOLD_ENDINGS[e.outcome ?? ''];
  return why ? `${line} — ${why(sanitizeInline(e.reason))}` : line;
}

/** How a held call that was not approved ended: a timeout, the client, or a human. */
const HOLD_ENDINGS: Record<string, (reason: string) => string> = {
  timeout: (reason) => reason,
  cancelled: (reason) => `${reason} (call withdrawn)`,
  rejected: (reason) => reason,
};

/** The second line for a held call: how to answer it from another terminal. */
export function heldLine(c: HeldCall): string {
  return `gov: held ${c.id}: run 'gov approve ${c.id}' or 'gov deny ${c.id}' (or 'gov approvals')`;
}

/** The shortest time between two writes of call lines: lines in between share the next one. */
export const LINE_BATCH_MS = 10;

/**
 * Call lines go to stderr at once when none was written in the last LINE_BATCH_MS (after the
 * current turn's I/O, so after the call was forwarded and before its answer is read), and in
 * batches while calls arrive faster than that. stderr is a synchronous pipe or TTY, and each
 * write(2) wakes its reader (a terminal, a log collector): one write per call cost gov about
 * 6% of its CPU per call at one client and more than the rest of the proxy's per-call
 * bookkeeping at 32 clients. The text and its order are unchanged; a line shows at most
 * LINE_BATCH_MS late; whatever is pending is written at close and at exit.
 */
export function batchedLines(out: { write(text: string): unknown } = process.stderr): {
  write(line: string): void;
  close(): void;
} {
  let pending = '';
  let lastWrite = -Infinity;
  let soon: NodeJS.Immediate | undefined;
  let later: NodeJS.Timeout | undefined;
  const flush = (): void => {
    soon = undefined;
    later = undefined;
    if (pending === '') return;
    const text = pending;
    pending = '';
    lastWrite = Date.now();
    out.write(text);
  };
  process.on('exit', flush);
  return {
    write(line) {
      pending += line + '\n';
      if (soon || later) return;
      const wait = lastWrite + LINE_BATCH_MS - Date.now();
      // Unref'd: a pending line never keeps gov alive (exit and close() write it).
      if (wait > 0) later = setTimeout(flush, wait).unref();
      else soon = setImmediate(flush).unref();
    },
    close() {
      clearImmediate(soon);
      clearTimeout(later);
      flush();
      process.off('exit', flush);
    },
  };
}
