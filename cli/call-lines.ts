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

/** How long a call line may wait to share its write(2) with the lines after it. */
export const LINE_BATCH_MS = 10;

/**
 * Call lines go to stderr in batches, at most LINE_BATCH_MS after the first line of a batch:
 * stderr is a synchronous pipe or TTY, and each write(2) wakes its reader (a terminal, a log
 * collector). One write per call cost gov about 6% of its CPU per call at one client (one
 * batch per event-loop turn still meant one write per call there), more than the rest of
 * the proxy's per-call bookkeeping at 32 clients. The text and its order are unchanged; a
 * line shows at most 10 ms late, and everything pending is written at close and at exit.
 */
export function batchedLines(out: { write(text: string): unknown } = process.stderr): {
  write(line: string): void;
  close(): void;
} {
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    if (pending === '') return;
    const text = pending;
    pending = '';
    out.write(text);
  };
  process.on('exit', flush);
  return {
    write(line) {
      pending += line + '\n';
      // Unref'd: a pending line never keeps gov alive (exit and close() write it).
      timer ??= setTimeout(flush, LINE_BATCH_MS).unref();
    },
    close() {
      clearTimeout(timer);
      flush();
      process.off('exit', flush);
    },
  };
}
