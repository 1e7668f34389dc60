import type { HeldCall } from '../types.js';

/**
 * A held call as `gov pending --json` prints it (and notification hooks send it): exactly
 * these keys in this order; arguments already redacted and, in listings, summarised.
 */
export function pendingEntry(c: HeldCall) {
  return {
    id: c.id,
    run: c.run,
    server: c.server,
    tool: c.tool,
    method: c.method,
    args: c.args,
    rule: c.rule,
    reason: c.reason,
    held_since: c.held_since,
    ...(c.expires_at !== undefined ? { expires_at: c.expires_at } : {}),
    ...(c.args_truncated ? { args_truncated: true, args_bytes: c.args_bytes } : {}),
  };
}
