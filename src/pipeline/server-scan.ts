import type { Pipeline } from '../pipeline.js';
import { isPlainObject, type Envelope, type JsonObject, type JsonValue } from '../types.js';
import { filterToolsList } from '../mcp/responses.js';
import type { CallContext } from './exchange.js';
import { taintIn } from './taint.js';

/** Whose tools a tools/list answer shows: the call it answers, or the server it came from. */
export type ToolsListing = Pick<Envelope, 'server' | 'sessionId' | 'transport' | 'principal'>;

/**
 * Process one server→client message before the agent sees it: secret redaction, then pins and
 * the poisoning scan and the tools/list filter when it is a tools/list answer (`listing`), and
 * taint for the request it answers.
 */
export function scanServerMessage(
  pipeline: Pipeline,
  msg: JsonObject,
  answering: CallContext | undefined,
  listing?: ToolsListing,
): { message: JsonObject; counts: Record<string, number>; changed: boolean } {
  const { deps } = pipeline;
  // Redacted first: what pins.json keeps (and `gov pins diff` shows) is what the agent sees, so
  // a server that echoes the credential into a tool description does not write it to disk.
  const r = deps.redactor.redactJson(msg);
  const counts = r.counts;
  let changed = Object.keys(counts).length > 0;
  let message = changed ? (r.value as JsonObject) : msg;
  const list = listing ?? (answering?.env.method === 'tools/list' ? answering.env : undefined);
  const listed = list !== undefined && message['result'] !== undefined;
  if (listed && deps.pins) {
    // A later page (the request carried a cursor) adds to what the earlier pages showed.
    const params = answering?.env.message.kind === 'request' ? answering.env.message.params : undefined;
    const continued = isPlainObject(params) && params['cursor'] !== undefined;
    const observed = observeToolsList(pipeline, message, list, continued);
    changed ||= observed !== message;
    message = observed;
  }
  if (listed && deps.policy.toolsList === 'hide_denied' && message['result'] !== undefined) {
    const server = list.server;
    const f = filterToolsList(message['result'], (name) =>
      deps.policy.isToolHidden(server, name, list.principal),
    );
    if (f.removed.length) {
      message = { ...message, result: f.result };
      changed = true;
    }
  }
  if (answering?.env.method === 'tasks/list' && message['result'] !== undefined) {
    const own = pipeline.ownTasks(answering.env, message['result']);
    if (own !== message['result']) {
      message = { ...message, result: own };
      changed = true;
    }
  }
  if (answering && answering.auditId && 'result' in message) {
    const why = taintIn(message['result'] ?? null, counts);
    if (why !== null) pipeline.taint(answering, why);
  }
  return { message, counts, changed };
}

/**
 * Pins and scans the tool definitions a tools/list response shows the agent; records an
 * alert per change or poisoning finding. If pins.json cannot be used, the list is withheld.
 */
function observeToolsList(
  pipeline: Pipeline,
  message: JsonObject,
  env: ToolsListing,
  continued: boolean,
): JsonObject {
  const { deps } = pipeline;
  try {
    const o = deps.pins!.observeList(env.server, env.sessionId, message['result'] as JsonValue, continued);
    for (const a of o.alerts)
      void pipeline.alert({ reason: a.reason, server: a.server, transport: env.transport, detail: a.detail });
    return o.changed ? { ...message, result: o.result } : message;
  } catch (err) {
    deps.log.warn(`tool pins failed: ${(err as Error).message}`);
    return {
      jsonrpc: '2.0',
      id: message['id'] ?? null,
      error: { code: -32603, message: `gov could not check tool pins: ${(err as Error).message}` },
    };
  }
}
