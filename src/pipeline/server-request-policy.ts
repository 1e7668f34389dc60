/**
 * A server's own requests (2025-era sampling, elicitation and roots requests; 2026 input
 * requests): the policy decision gov takes on one, with the requesting server as `server`,
 * and its audit record.
 */
import type { ServerRequest } from '../mcp/server-requests.js';
import type { AuditInput, PolicyDecision } from '../types.js';
import type { Pipeline } from '../pipeline.js';
import type { ServerOrigin } from './server-messages.js';

/** allow or deny: a server request is never held (nobody could approve it on its way to the client). */
export function decideServerRequest(pipeline: Pipeline, ask: ServerRequest, o: ServerOrigin): PolicyDecision {
  if (ask.secretField !== undefined)
    return {
      decision: 'deny',
      rule: 'secret-elicitation',
      reason: `form elicitation field '${ask.secretField}' asks for a password, token or API key, which servers must not request this way`,
    };
  let d: PolicyDecision;
  try {
    d = pipeline.deps.policy.decide({
      server: o.server,
      transport: o.transport,
      method: ask.method,
      ...(ask.url !== undefined ? { uri: ask.url } : {}),
      args: ask.params,
      run: pipeline.deps.run,
    });
  } catch (err) {
    d = {
      decision: 'deny',
      rule: 'policy-error',
      reason: `policy evaluation failed: ${(err as Error).message}`,
    };
  }
  // No rule names it and the default is to ask a human: the MCP client itself puts sampling
  // and elicitation in front of its user, so gov relays it (`default: deny` still denies).
  if (d.decision === 'approve' && d.rule === 'default')
    return {
      decision: 'allow',
      rule: 'default',
      reason: `${d.reason}; a server request is shown to the user by the client, so gov relays it`,
    };
  // A rule asks for approval, but nobody can approve a request already on its way to the
  // client: fail closed.
  if (d.decision === 'approve')
    return {
      decision: 'deny',
      rule: d.rule,
      reason: `${d.reason}; server requests cannot be held for approval`,
    };
  return d;
}

/** The request's audit record (its parameters redacted), written without waiting. */
export function recordServerRequest(
  pipeline: Pipeline,
  ask: ServerRequest,
  o: ServerOrigin,
  d: PolicyDecision,
): void {
  const redacted = pipeline.deps.redactor.redactJson(ask.params);
  const rec: AuditInput = {
    kind: ask.secretField !== undefined ? 'alert' : 'call',
    transport: o.transport,
    server: { name: o.server.name, url: o.server.url },
    method: ask.method,
    args_digest: pipeline.deps.digestArgs(ask.params),
    args: redacted.value,
    decision: d.decision,
    rule: d.rule,
    reason: d.reason,
    status: d.decision === 'allow' ? 'relayed' : 'denied',
    policy_digest: pipeline.deps.policy.digest,
    detail: {
      direction: 'server-to-client',
      ...(ask.key !== undefined ? { input_key: ask.key } : {}),
      ...(ask.domain !== undefined ? { domain: ask.domain } : {}),
    },
  };
  if (ask.url !== undefined) rec.uri = ask.url;
  pipeline.deps.audit.append(rec).catch((err: unknown) => {
    pipeline.deps.log.warn(`audit record for a server request failed: ${(err as Error).message}`);
  });
}
