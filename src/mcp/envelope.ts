/**
 * JSON-RPC message → Envelope, the normalised shape policy, approvals and audit see.
 * (Canonical JSON text for digests and hash chains is audit/canonical.ts.)
 */
import {
  type Envelope,
  type JsonObject,
  type JsonRpcMessage,
  type JsonValue,
  type ServerIdentity,
  type TraceContext,
  type Transport,
  isPlainObject,
} from '../types.js';
import { NAME_METHODS, URI_METHODS } from './classify.js';

export interface EnvelopeContext {
  transport: Transport;
  server: ServerIdentity;
  sessionId?: string;
  protocolVersion?: string;
  principal?: string;
  route?: string;
  httpTrace?: TraceContext;
}

type ClientMessage = Extract<JsonRpcMessage, { kind: 'request' | 'notification' }>;

/**
 * A deep copy with object keys sorted (by UTF-16 code units, like Array.prototype.sort).
 * Built with Object.fromEntries so a `__proto__` key stays an ordinary own property.
 */
export function canonicalize<T extends JsonValue>(value: T): T;
export function canonicalize(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map((v) => canonicalize(v));
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort();
    return Object.fromEntries(keys.map((k) => [k, canonicalize(value[k]!)]));
  }
  return value;
}

/**
 * What an approver is shown of a held message, and what an approval binds: a tool's or a
 * prompt's arguments, else the params themselves (which task `tasks/cancel` names, which
 * level `logging/setLevel` sets), without `_meta`.
 */
export function heldArguments(env: Envelope): JsonObject {
  if (NAME_METHODS.has(env.method)) return env.args;
  const params =
    env.message.kind !== 'response' && isPlainObject(env.message.params) ? env.message.params : {};
  const { _meta: _, ...rest } = params;
  return rest;
}

/** Build the envelope for a client→server request or notification. */
export function toEnvelope(msg: ClientMessage, ctx: EnvelopeContext): Envelope {
  const params = isPlainObject(msg.params) ? msg.params : undefined;
  const env = bareEnvelope(msg, ctx);
  if (params) {
    if (NAME_METHODS.has(msg.method) && typeof params['name'] === 'string') env.tool = params['name'];
    if (URI_METHODS.has(msg.method) && typeof params['uri'] === 'string') env.uri = params['uri'];
    const args = params['arguments'];
    if (isPlainObject(args)) env.args = canonicalize(args);
    const meta = params['_meta'];
    if (isPlainObject(meta)) {
      const token = meta['progressToken'];
      if (typeof token === 'string' || typeof token === 'number') env.progressToken = token;
    }
  }
  if (ctx.sessionId !== undefined) env.sessionId = ctx.sessionId;
  if (ctx.protocolVersion !== undefined) env.protocolVersion = ctx.protocolVersion;
  if (ctx.principal !== undefined) env.principal = ctx.principal;
  if (ctx.route !== undefined) env.route = ctx.route;
  if (ctx.httpTrace !== undefined) env.httpTrace = ctx.httpTrace;
  return env;
}

/**
 * The envelope of a message `toEnvelope` failed on: method and id only, so gov can still deny
 * it under its id and record why.
 */
export function bareEnvelope(msg: ClientMessage, ctx: EnvelopeContext): Envelope {
  return {
    transport: ctx.transport,
    server: ctx.server,
    method: msg.method,
    id: msg.kind === 'request' ? msg.id : null,
    args: {},
    message: msg,
    ...(ctx.principal !== undefined ? { principal: ctx.principal } : {}),
  };
}
