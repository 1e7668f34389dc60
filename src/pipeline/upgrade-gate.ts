import type { IncomingMessage } from 'node:http';
import type { UpgradeDecision, UpgradeGate, UpgradeRequest } from '../proxy/upgrade.js';
import type { Pipeline } from '../pipeline.js';

export interface UpgradeGateOptions {
  pipeline: Pipeline;
  /** The policy's `websocket:` list. */
  isWebSocketHost(host: string, port: number): boolean;
}

/** Why this request is not a WebSocket handshake gov could tunnel, or null when it is one. */
function notAWebSocketHandshake(req: IncomingMessage): string | null {
  const protocol = String(req.headers.upgrade ?? '')
    .trim()
    .toLowerCase();
  if (protocol !== 'websocket') return `'${String(req.headers.upgrade ?? '').slice(0, 40)}' upgrades`;
  if (req.method !== 'GET') return `${String(req.method)} requests with Upgrade`;
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0'))
    return 'WebSocket handshakes with a body';
  if (!req.headers['sec-websocket-key'] || !req.headers['sec-websocket-version'])
    return 'incomplete WebSocket handshakes';
  return null;
}

/**
 * The policy for HTTP Upgrade requests (the proxy core only carries the answer out). gov
 * governs HTTP/1.1 requests, and an upgraded connection carries messages it cannot decide.
 * So only a real WebSocket handshake to a host under `websocket:` may become a raw tunnel: it
 * is audited as a `call` with method `websocket` before it opens, it carries no credential
 * gov would inject, and its frames are still looked into for placeholders (from the client)
 * and vault values (from the server). Every other upgrade is refused and recorded as an
 * `alert`; gov never strips the offer and forwards, so a body sent with it never reaches
 * the upstream.
 */
export function createUpgradeGate(o: UpgradeGateOptions): UpgradeGate {
  const { pipeline } = o;
  const serverOf = (u: UpgradeRequest) => {
    const q = u.url.indexOf('?');
    const url = q === -1 ? u.url : u.url.slice(0, q);
    return pipeline.serverAt(url);
  };

  const refuse = async (
    u: UpgradeRequest,
    status: number,
    reason: string,
    hint: string,
  ): Promise<UpgradeDecision> => {
    const id = await pipeline.alert({
      reason,
      transport: 'http',
      server: serverOf(u),
      detail: { upgrade: String(u.req.headers.upgrade ?? '').slice(0, 64), method: String(u.req.method) },
    });
    return { action: 'refuse', status, message: `gov: ${reason} — ${hint}${id ? ` (audit ${id})` : ''}` };
  };

  return async (u) => {
    const { host, port } = u.target;
    // The handshake's own headers and URL are checked for placeholders; what a binding would
    // inject is kept out of the tunnel below.
    const inspection = pipeline.inspectCredentials({
      target: u.target,
      rawHeaders: u.req.rawHeaders,
      url: u.url,
    });
    if (!inspection.ok)
      return refuse(
        u,
        403,
        `${inspection.leak.message} (in an upgrade request)`,
        'placeholders are replaced only in requests gov governs',
      );
    const notWs = notAWebSocketHandshake(u.req);
    if (notWs)
      return refuse(
        u,
        400,
        `${notWs} to ${host} refused`,
        'send the request without Connection: upgrade / Upgrade so gov can govern it',
      );
    if (!o.isWebSocketHost(host, port))
      return refuse(
        u,
        403,
        `WebSocket upgrade to ${host} refused`,
        'add the host to websocket: in gov.yaml to allow a raw, audited tunnel',
      );

    // Whatever a credential binding would set for this host stays out of the tunnel.
    const bound = new Set(inspection.headers.map(([h]) => h.toLowerCase()));
    const headers: Array<[string, string]> = [];
    const stripped = new Set<string>();
    const raw = u.req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      // No extension is offered: a compressed frame could not be looked into (below).
      if (name.startsWith('proxy-') || name === 'sec-websocket-extensions') continue;
      if (bound.has(name)) stripped.add(name);
      else headers.push([raw[i]!, raw[i + 1]!]);
    }
    try {
      await pipeline.deps.audit.append({
        kind: 'call',
        transport: 'http',
        server: serverOf(u),
        method: 'websocket',
        decision: 'allow',
        rule: 'websocket',
        reason: `${host} is listed under websocket: (raw tunnel, not inspected, no credentials)`,
        policy_digest: pipeline.deps.policy.digest,
        detail: { url: u.url, ...(stripped.size ? { stripped_headers: [...stripped] } : {}) },
      });
    } catch (err) {
      return {
        action: 'refuse',
        status: 503,
        message: `gov: WebSocket upgrade to ${host} refused: the audit record could not be written (${(err as Error).message})`,
      };
    }
    return {
      action: 'tunnel',
      headers,
      // Frames carry no credential either way: a placeholder in one is a leak, substituted or not.
      inspect: (payload) => {
        const r = pipeline.inspectCredentials({ target: u.target, rawHeaders: [], url: '', body: payload });
        if (!r.ok) return `gov: WebSocket frame blocked: ${r.leak.message}`;
        return r.body ? 'gov: WebSocket frame blocked: it holds a credential placeholder' : null;
      },
      // A vault value from the server never reaches the agent, in the handshake or a frame.
      inspectServer: (bytes) =>
        pipeline.deps.vaultScan?.scan(bytes.toString('latin1')).length
          ? `gov: WebSocket frame from ${host} blocked: it holds a vault value`
          : null,
      serverLongest: pipeline.deps.vaultScan?.maxLiteralLength ?? 0,
      onRefused: (reason) =>
        void pipeline.alert({
          reason: `WebSocket tunnel to ${host} closed: ${reason.replace(/^gov: /, '')}`,
          transport: 'http',
          server: serverOf(u),
          detail: { url: u.url },
        }),
    };
  };
}
