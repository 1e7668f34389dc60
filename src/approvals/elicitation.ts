import type { ApprovalVerdict, HeldCall, JsonObject, JsonValue } from '../types.js';
import { summariseHeldCall } from './args-summary.js';
import { jsonForDisplay, sanitizeInline } from '../terminal-text.js';

/**
 * Asking the human inside their own MCP client: the `elicitation/create` (form mode) question
 * for a held call, and the verdict its answer means. Transports send the question and carry
 * the answer back; nothing here does I/O.
 */

/** What the MCP client said about itself in `initialize` (or a 2026 request's `_meta`). */
export interface ElicitingClient {
  /** `clientInfo` as the client sent it, recorded with every elicited verdict. */
  info: JsonValue;
  /** `clientInfo.name`, sanitised, for the audit's `approver` (`elicitation:<name>`). */
  name: string;
  /**
   * How its forms spell a choice with titles: 2025-06-18 knows only `enum` + `enumNames`;
   * 2025-11-25 replaced that with `oneOf: [{const, title}]` (and 2026-07-28 kept it).
   */
  choices: 'enumNames' | 'oneOf';
}

/**
 * A per-call approval channel a transport offers for one held call: `ask` starts asking and
 * returns how to withdraw the question when another channel answers first.
 */
export interface ElicitationChannel {
  client: ElicitingClient;
  ask(call: HeldCall, answer: (verdict: ApprovalVerdict) => void): () => void;
}

// Longest argument text shown in the question; the rest is cut with a visible marker.
const ARGS_CHARS = 2000;

/** The arguments as the question shows them, and whether that is all of them. */
function argsText(call: Pick<HeldCall, 'args'>): { text: string; whole: boolean } {
  const shown = summariseHeldCall<Pick<HeldCall, 'args' | 'args_truncated' | 'args_bytes'>>({
    args: call.args,
  });
  const json = jsonForDisplay(shown.args ?? null, 2) ?? 'null';
  if (json.length > ARGS_CHARS) return { text: `${json.slice(0, ARGS_CHARS)}\n…(truncated)`, whole: false };
  if (shown.args_truncated)
    return { text: `${json}\n…(arguments shortened; ${shown.args_bytes} bytes in full)`, whole: false };
  return { text: json, whole: true };
}

/**
 * Whether the question shows the call's arguments whole. A question that cannot (they are
 * too long for it) offers only "deny", and an approving answer to it is a denial: a person
 * approves what they saw, never a part of it.
 */
export function questionShowsWholeCall(call: Pick<HeldCall, 'args'>): boolean {
  return argsText(call).whole;
}

const CUT_NOTE = [
  'The arguments are too long to show here in full, so this question can only deny the call.',
  "To approve it, leave this open and use 'gov approvals' in a terminal (or read it with",
  "'gov pending --full ID', then 'gov approve ID'); this question is then withdrawn.",
].join('\n');

// The first protocol version whose forms have titled `oneOf` choices.
const ONE_OF_SINCE = '2025-11-25';

/** The client's self-description from `initialize` params (or `_meta`), if it can be asked. */
export function elicitingClient(
  params: JsonValue | undefined,
  capabilities?: JsonValue,
): ElicitingClient | null {
  if (!params || typeof params !== 'object' || Array.isArray(params)) return null;
  const caps = capabilities ?? params['capabilities'];
  if (!caps || typeof caps !== 'object' || Array.isArray(caps)) return null;
  const e = caps['elicitation'];
  if (!e || typeof e !== 'object' || Array.isArray(e)) return null;
  // `{}` means form mode (backwards compatibility); a client naming only `url` cannot show a form.
  if (('url' in e || 'form' in e) && !('form' in e)) return null;
  const info = params['clientInfo'] ?? null;
  const rawName =
    info && typeof info === 'object' && !Array.isArray(info) && typeof info['name'] === 'string'
      ? info['name']
      : 'unknown-client';
  // Versions are dates: an older client gets the form its own version defines.
  const version = params['protocolVersion'];
  const choices = typeof version === 'string' && version < ONE_OF_SINCE ? 'enumNames' : 'oneOf';
  return { info, name: sanitizeInline(rawName, 64) || 'unknown-client', choices };
}

/** The `decision` field: the values offered, each with a title a person understands. */
function decisionField(call: HeldCall, choices: ElicitingClient['choices'], whole: boolean): JsonObject {
  const titled: Array<[string, string]> = [
    ['approve_once', 'Approve this call once'],
    ['approve_run', `Approve ${sanitizeInline(call.tool, 64)} for the rest of this run`],
    ['deny', 'Deny this call'],
  ];
  const offered = whole ? titled : titled.filter(([value]) => value === 'deny');
  const base = { type: 'string', title: 'Your decision' };
  if (choices === 'enumNames')
    return { ...base, enum: offered.map(([v]) => v), enumNames: offered.map(([, t]) => t) };
  return { ...base, oneOf: offered.map(([value, title]) => ({ const: value, title })) };
}

/** `elicitation/create` params (form mode) asking one client about one held call. */
export function elicitationParams(call: HeldCall, client: ElicitingClient): JsonObject {
  const args = argsText(call);
  const message = [
    `gov is holding a call for your approval.`,
    ``,
    `Tool: ${sanitizeInline(call.tool, 300)}  (${sanitizeInline(call.method, 300)})`,
    `Server: ${sanitizeInline(call.server, 300)}`,
    `Rule: ${sanitizeInline(call.rule, 300)} — ${sanitizeInline(call.reason, 600)}`,
    ``,
    `Arguments:`,
    args.text,
    ...(args.whole ? [] : ['', CUT_NOTE]),
  ].join('\n');
  return {
    mode: 'form',
    message,
    requestedSchema: {
      type: 'object',
      properties: {
        decision: decisionField(call, client.choices, args.whole),
        reason: {
          type: 'string',
          title: 'Reason (optional)',
          description: 'Shown to the agent when you deny, and kept in the audit log.',
          maxLength: 500,
        },
      },
      required: ['decision'],
    },
  };
}

/**
 * The verdict an elicitation response means: only an accepted form that says approve
 * approves; decline, cancel, an error or anything unexpected denies, saying why.
 */
export function verdictFromElicitation(
  client: ElicitingClient,
  response: { result?: JsonValue; error?: JsonValue },
  /** questionShowsWholeCall of the call asked about: when false, approving answers deny. */
  shownWhole: boolean,
): ApprovalVerdict {
  const approver = `elicitation:${client.name}` as const;
  const base = { approver, client_info: client.info };
  const deny = (reason: string): ApprovalVerdict => ({ approved: false, ...base, reason });
  if (response.error !== undefined) {
    const e = response.error;
    const msg =
      e && typeof e === 'object' && !Array.isArray(e) && typeof e['message'] === 'string' ? e['message'] : '';
    return deny(`the MCP client could not ask (${sanitizeInline(msg, 200) || 'error'})`);
  }
  const r = response.result;
  if (!r || typeof r !== 'object' || Array.isArray(r)) return deny('the MCP client sent no answer');
  const action = r['action'];
  if (action === 'decline') return deny('declined in the MCP client');
  if (action === 'cancel') return deny('cancelled in the MCP client');
  if (action !== 'accept') return deny('the MCP client sent an unknown answer');
  const content = r['content'];
  const c = content && typeof content === 'object' && !Array.isArray(content) ? content : {};
  const reason =
    typeof c['reason'] === 'string' && c['reason'].trim() ? sanitizeInline(c['reason'], 500) : undefined;
  const decision = c['decision'];
  if (!shownWhole && (decision === 'approve_once' || decision === 'approve_run'))
    return deny(
      'the question could not show the whole call, so it can only deny; approve it from gov approvals',
    );
  switch (decision) {
    case 'approve_once':
      return { approved: true, ...base, ...(reason ? { reason } : {}) };
    case 'approve_run':
      return { approved: true, always: true, ...base, ...(reason ? { reason } : {}) };
    case 'deny':
      return deny(reason ?? 'denied in the MCP client');
    default:
      return deny('the MCP client answered without a decision');
  }
}
