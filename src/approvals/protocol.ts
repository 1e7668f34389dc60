import { z } from 'zod';
import type { ApprovalVerdict, EndedCall, HeldCall, JsonValue } from '../types.js';

/**
 * The control socket's wire format: newline-delimited JSON, one request per line, one
 * reply per request (`subscribe` then streams event lines). Shared by server and client
 * so both sides parse the same shapes.
 */

/** Longest request line the server accepts; longer input is refused and the connection closed. */
export const MAX_LINE_BYTES = 64 * 1024;

/** Run ids become file names under $GOV_HOME/runs, so they are kept to a safe alphabet. */
export const RUN_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const approverSchema = z.enum(['cli', 'tui']);

export const requestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('list') }),
  z.object({ op: z.literal('subscribe') }),
  // One held call with its arguments in full (listings summarise them).
  z.object({ op: z.literal('get'), id: z.string().min(1).max(128) }),
  z.object({
    op: z.literal('approve'),
    id: z.string().min(1).max(128),
    always: z.boolean().optional(),
    // Approve only if the held call's arguments are these (what the approver was shown).
    args_digest: z.string().min(1).max(128).optional(),
    approver: approverSchema.optional(),
  }),
  z.object({
    op: z.literal('deny'),
    id: z.string().min(1).max(128),
    reason: z.string().max(2000).optional(),
    approver: approverSchema.optional(),
  }),
  // `gov audit verify` asks a run it finds unsealed to prove it is alive (see src/audit/liveness.ts).
  z.object({ op: z.literal('audit_head'), nonce: z.string().regex(/^[0-9a-f]{32}$/) }),
]);
export type ControlRequest = z.infer<typeof requestSchema>;

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(jsonValue), z.record(jsonValue)]),
);

export const heldCallSchema: z.ZodType<HeldCall> = z.object({
  id: z.string(),
  run: z.string(),
  server: z.string(),
  tool: z.string(),
  method: z.string(),
  args: jsonValue,
  args_digest: z.string(),
  policy_digest: z.string(),
  rule: z.string(),
  reason: z.string(),
  held_since: z.string(),
  timeout_ms: z.number(),
  expires_at: z.string().optional(),
  args_truncated: z.boolean().optional(),
  args_bytes: z.number().optional(),
  principal: z.string().optional(),
});

export const verdictSchema: z.ZodType<ApprovalVerdict> = z.object({
  approved: z.boolean(),
  approver: z.union([
    z.enum(['tui', 'cli', 'timeout', 'cancelled', 'always', 'channel-error', 'unattended', 'revoked']),
    z.custom<`elicitation:${string}`>((v) => typeof v === 'string' && v.startsWith('elicitation:')),
  ]),
  reason: z.string().optional(),
  client_info: jsonValue.optional(),
  always: z.boolean().optional(),
});

export const endedCallSchema: z.ZodType<EndedCall> = z.object({
  id: z.string(),
  run: z.string(),
  server: z.string(),
  tool: z.string(),
  method: z.string(),
  rule: z.string(),
  held_since: z.string(),
  ended_at: z.string(),
  ended_by: z.enum(['client', 'timeout']),
  reason: z.string(),
});

/** Replies and streamed events, as the client parses them. */
export const replySchema = z.union([
  z
    .object({
      ok: z.literal(true),
      run: z.string(),
      calls: z.array(heldCallSchema).optional(),
      /** Held calls that recently ended without an approver (list replies). */
      ended: z.array(endedCallSchema).optional(),
    })
    .passthrough(),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
export type ControlReply = z.infer<typeof replySchema>;

/** A tool pin alert (a changed or new tool, suspected poisoning; see safety/tool-pins). */
const pinAlertSchema = z.object({
  reason: z.string(),
  server: z.object({ name: z.string().nullable(), url: z.string() }),
  detail: z.record(z.unknown()),
});

export const streamEventSchema = z.union([
  z.object({ event: z.literal('held'), call: heldCallSchema }),
  z.object({ event: z.literal('settled'), id: z.string(), verdict: verdictSchema }),
  z.object({ event: z.literal('pin_alert'), alert: pinAlertSchema }),
]);

export const descriptorSchema = z.object({
  run: z.string().regex(RUN_ID_RE),
  pid: z.number().int().positive(),
  socket: z.string().min(1),
  command: z.array(z.string()),
  started: z.string(),
  policy: z.string(),
});
/** $GOV_HOME/runs/<run>.json: how `gov approvals` finds a live run. */
export type RunDescriptor = z.infer<typeof descriptorSchema>;
