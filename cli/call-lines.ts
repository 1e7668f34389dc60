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

/**
 * Call lines go to stderr a batch per event-loop turn: stderr is a synchronous pipe or TTY,
 * and one write(2) per call (waking the reader each time) cost more CPU than the rest of the
 * proxy's per-call bookkeeping at 32 clients. The text and its order are unchanged; the
 * batch is written after the current turn's I/O (so after the call was forwarded), and at
 * exit at the latest.
 */
export function batchedLines(out: { write(text: string): unknown } = process.stderr): {
  write(line: string): void;
  close(): void;
} {
  let pending = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    out.write(text);
  };
  process.on('exit', flush);
  return {
    write(line) {
      pending += line + '\n';
      if (scheduled) return;
      scheduled = true;
      setImmediate(flush);
    },
    close() {
      flush();
      process.off('exit', flush);
    },
  };
}
