/**
 * What gov answers or records for an HTTP exchange before (or instead of) governing it: a
 * placeholder going where it must not, a request refused before policy, and the audit record
 * a credential-carrying request that is no MCP call needs before it leaves.
 */
import type { Exchange } from '../../proxy/server.js';
import type { Readable } from 'node:stream';
import { discardBody, sendJson, sendText } from './forward.js';
import type { ParseResult } from '../../mcp/classify.js';
import { DENIAL_CODE, jsonRpcError } from '../../mcp/wire-errors.js';
import type { JsonRpcId } from '../../types.js';
import type { Pipeline } from '../../pipeline.js';
import type { Injection } from '../../pipeline/stages.js';
import type { PlaceholderLeak } from '../../../vault/inject.js';

/** The first value of a header that may repeat. */
export function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export const header = (ex: Exchange, name: string): string | undefined => firstValue(ex.req.headers[name]);

/** The server's identity: origin + path, no query. */
export function serverUrlOf(ex: Exchange): string {
  const q = ex.url.indexOf('?');
  return q === -1 ? ex.url : ex.url.slice(0, q);
}

/**
 * MCP traffic that carries no JSON-RPC body: a GET (or any request) for the server's event
 * stream, and any request in an MCP session (a DELETE ending it, a stream resumed by
 * Last-Event-ID). REST calls send none of these headers.
 */
export function mcpByHeaders(ex: Exchange): boolean {
  const h = ex.req.headers;
  return (
    String(h['accept'] ?? '')
      .toLowerCase()
      .includes('text/event-stream') ||
    h['mcp-session-id'] !== undefined ||
    h['mcp-protocol-version'] !== undefined ||
    h['last-event-id'] !== undefined
  );
}

export function exchangeRefusals(pipeline: Pipeline, transport: 'http' | 'gateway') {
  /** Who sent an exchange, for audit records (gov serve's edge authentication). */
  const by = (ex: Exchange) => (ex.principal !== undefined ? { principal: ex.principal } : {});

  /** A placeholder where it must not go: 403 with the reason (a JSON-RPC error for MCP) and an alert. */
  const blockLeak = async (
    ex: Exchange,
    leak: PlaceholderLeak,
    parsed: ParseResult | undefined,
  ): Promise<void> => {
    const id = await pipeline.alert({
      reason: leak.message,
      transport,
      ...by(ex),
      server: { name: null, url: serverUrlOf(ex) },
      detail: { secret: leak.secret, where: leak.where, host: `${ex.target.host}:${ex.target.port}` },
    });
    const audit = id ? ` (audit ${id})` : '';
    if (parsed?.kind !== 'mcp') return sendText(ex.res, 403, `gov: blocked: ${leak.message}${audit}`);
    const data = { reason: leak.message, ...(id ? { audit_id: id } : {}) };
    const errorFor = (rid: JsonRpcId) =>
      jsonRpcError(rid, DENIAL_CODE, `Blocked by gov: ${leak.message}${audit}`, data);
    const requests = parsed.messages.filter((m) => m.kind === 'request');
    if (requests.length === 0) return sendJson(ex.res, 403, errorFor(null));
    return sendJson(
      ex.res,
      200,
      parsed.batch ? requests.map((m) => errorFor(m.id)) : errorFor(requests[0]!.id),
    );
  };

  /** A request refused before policy: audited as an alert, answered with a JSON-RPC error. */
  const refuseBody = async (ex: Exchange, status: number, why: string): Promise<void> => {
    const url = serverUrlOf(ex);
    await pipeline.alert({
      reason: `request refused before policy: ${why}`,
      transport,
      ...by(ex),
      server: pipeline.serverAt(url),
    });
    sendJson(ex.res, status, jsonRpcError(null, -32600, `${why}; refused by gov`));
  };

  /**
   * The server's identity (policy, pins) is its URL path: MCP traffic on a path its host may
   * normalise into another server's is governed as neither. `unclear` is why (from
   * requestPathRefusal, checked by the caller without a promise); `answered`: the event
   * stream the server already answered with, then dropped unread (502).
   */
  const refuseUnclearPath = async (ex: Exchange, unclear: string, answered?: Readable): Promise<void> => {
    const why = `the request path ${ex.path.split('?')[0]} ${unclear}: its server may route it to another server's path`;
    if (!answered) return refuseBody(ex, 400, why);
    discardBody(answered);
    await refuseBody(ex, 502, `${why}; its MCP event stream is not relayed`);
  };

  /**
   * A request that is not an MCP call but carries a credential gets its own audit record
   * before it leaves; without one it is refused.
   */
  const recordInjection = async (ex: Exchange, injected: Injection[]): Promise<boolean> => {
    if (injected.length === 0) return true;
    const url = serverUrlOf(ex);
    try {
      await pipeline.recordInjection({
        method: ex.req.method ?? 'GET',
        server: pipeline.serverAt(url),
        injected,
        transport,
        ...by(ex),
      });
      return true;
    } catch (err) {
      sendText(
        ex.res,
        502,
        `gov: the audit record could not be written (${(err as Error).message}); request refused`,
      );
      return false;
    }
  };

  return { blockLeak, refuseBody, refuseUnclearPath, recordInjection };
}
