import type { GovernedCallEvent, HeldCall } from '../src/types.js';
import { sanitizeInline } from './ui/sanitize.js';

/** `gov: <decision> <method> <tool or uri> (rule <id>)` — one line per governed request. */
export function callLine(e: GovernedCallEvent): string | null {
  if (e.method.startsWith('notifications/')) return null;
  if (e.outcome === 'held') return null;
  const target = e.target ? ` ${sanitizeInline(e.target)}` : '';
  return `gov: ${e.decision} ${sanitizeInline(e.method)}${target} (rule ${sanitizeInline(e.rule)})`;
}

export function heldLine(c: HeldCall): string {
  return (
    `gov: approve ${sanitizeInline(c.method)} ${sanitizeInline(c.tool)} (rule ${sanitizeInline(c.rule)}) — held as ${c.id}; ` +
    `run 'gov approve ${c.id}' or 'gov deny ${c.id}'`
  );
}
