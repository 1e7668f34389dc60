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
