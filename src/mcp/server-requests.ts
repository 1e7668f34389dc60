/**
 * Requests a server makes of the client: `sampling/createMessage`, `elicitation/create` and
 * `roots/list`. On 2025-era transports they are JSON-RPC requests inside SSE streams, GET
 * streams and stdio lines; on 2026-07-28 they are MRTR `inputRequests` inside a result with
 * `resultType: "input_required"` (and, with the tasks extension, in a `tasks/get` result whose
 * task waits for input). Either way they are subject to policy, with the requesting
 * server as `server`. Pure.
 */
import type { JsonObject, JsonValue } from '../types.js';

export const SERVER_REQUEST_METHODS: ReadonlySet<string> = new Set([
  'sampling/createMessage',
  'elicitation/create',
  'roots/list',
]);

export interface ServerRequest {
  method: string;
  params: JsonObject;
  /** The MRTR `inputRequests` key; absent for a 2025-era JSON-RPC request. */
  key?: string;
  /** URL-mode elicitation: the URL the user is sent to (matched by rules' `uri`). */
  url?: string;
  /** URL-mode elicitation: the target's host name, recorded in the audit. */
  domain?: string;
  /** A form elicitation asking for a secret: the field that asks. */
  secretField?: string;
}

function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Words that name a secret in a field's key or title. The spec forbids servers to request
// passwords, tokens or API keys through form elicitation. Descriptions are not read: they
// mention secrets to say what not to enter ("do not give us your PIN").
const SECRET_WORDS =
  /pass(?:word|phrase|wd|code)|\bpwd\b|\bpin\b|token|api[\s_-]?key|\bsecret|credential|private[\s_-]?key|\botp\b/i;

/** The first property of a form elicitation's `requestedSchema` that asks for a secret. */
export function secretFieldOf(requestedSchema: JsonValue | undefined): string | null {
  if (!isPlainObject(requestedSchema) || !isPlainObject(requestedSchema['properties'])) return null;
  for (const [key, prop] of Object.entries(requestedSchema['properties'])) {
    const texts = [key];
    if (isPlainObject(prop)) {
      if (typeof prop['title'] === 'string') texts.push(prop['title']);
      if (prop['format'] === 'password') return key;
    }
    if (texts.some((t) => SECRET_WORDS.test(t))) return key;
  }
  return null;
}

function describe(method: string, params: JsonObject, key?: string): ServerRequest {
  const r: ServerRequest = { method, params };
  if (key !== undefined) r.key = key;
  if (method === 'elicitation/create') {
    if (params['mode'] === 'url' && typeof params['url'] === 'string') {
      r.url = params['url'];
      try {
        r.domain = new URL(params['url']).hostname;
      } catch {
        r.domain = '';
      }
    } else {
      const field = secretFieldOf(params['requestedSchema']);
      if (field !== null) r.secretField = field;
    }
  }
  return r;
}

/**
 * The server requests one server→client message carries: the message itself when it is such
 * a JSON-RPC request, or the `inputRequests` of an `input_required` result.
 */
export function serverRequestsIn(msg: JsonObject): ServerRequest[] {
  const method = msg['method'];
  if (typeof method === 'string') {
    if (!SERVER_REQUEST_METHODS.has(method) || !('id' in msg)) return [];
    return [describe(method, isPlainObject(msg['params']) ? msg['params'] : {})];
  }
  const result = msg['result'];
  // MRTR: an `input_required` result; tasks extension: a `tasks/get` result whose task waits
  // for input (`status: "input_required"`, answered by `tasks/update`).
  if (
    !isPlainObject(result) ||
    (result['resultType'] !== 'input_required' && result['status'] !== 'input_required')
  )
    return [];
  const inputs = result['inputRequests'];
  if (!isPlainObject(inputs)) return [];
  const out: ServerRequest[] = [];
  for (const [key, req] of Object.entries(inputs)) {
    if (!isPlainObject(req) || typeof req['method'] !== 'string') continue;
    out.push(describe(req['method'], isPlainObject(req['params']) ? req['params'] : {}, key));
  }
  return out;
}

/**
 * What the client gets instead of a 2025-era server request gov denied: a logging notification
 * saying so (the request itself never reaches the client).
 */
export function deniedServerRequestNotice(method: string, reason: string): JsonObject {
  return {
    jsonrpc: '2.0',
    method: 'notifications/message',
    params: { level: 'warning', logger: 'gov', data: `gov denied the server's ${method} request: ${reason}` },
  };
}
