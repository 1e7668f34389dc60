/**
 * Bytes → "is this MCP?" The connector's front door: every intercepted POST body goes
 * through classifyBody. Three answers:
 *  - `mcp`: one JSON-RPC 2.0 message or a batch, strictly parsed and shape-checked;
 *  - `other`: not JSON-RPC at all (forwarded unchanged);
 *  - `malformed`: looks like (or could be read as) JSON-RPC but is not valid — answered
 *    with a JSON-RPC error and never forwarded, because a lenient server might read it
 *    differently from us.
 */
import {
  type JsonObject,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonValue,
  isPlainObject,
} from '../types.js';
import { decodeUtf8Strict, parseStrictJsonText } from './json-strict.js';
import { EDGE_CHARS, exactId, idAtEdges } from './recover-id.js';
import { otherReadings } from './body-charset.js';
import { foldKey } from '../key-fold.js';

export type ParseResult =
  | { kind: 'mcp'; batch: boolean; messages: JsonRpcMessage[] }
  | { kind: 'other' }
  | { kind: 'malformed'; code: -32700 | -32600; reason: string; id: JsonRpcId };

export type McpParseResult = Extract<ParseResult, { kind: 'mcp' }>;
export type MalformedParseResult = Extract<ParseResult, { kind: 'malformed' }>;

export interface ClassifyOptions {
  maxDepth?: number;
  /** The request's Content-Type: its charset is a reading a server could make. */
  contentType?: string | undefined;
}

/** Methods whose params carry the name/uri policy matches on. */
export const NAME_METHODS: ReadonlySet<string> = new Set(['tools/call', 'prompts/get']);
export const URI_METHODS: ReadonlySet<string> = new Set([
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
]);

// A JSON object without `jsonrpc` is normally "other", but one whose `method` is an MCP
// method is a JSON-RPC message in all but name: some servers do not insist on `jsonrpc`,
// so forwarding it unseen would let a call bypass policy. Such objects are malformed.
const MCP_METHOD_RE =
  /^(?:initialize|ping|(?:notifications|tools|resources|prompts|completion|logging|sampling|elicitation|roots|tasks|subscriptions)\/.*)$/;

function has(o: JsonObject, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

// An object made of nothing but an id and a result or error is a JSON-RPC response in all but
// name: a server that does not insist on `jsonrpc` would take it as the answer to its request
// (a forged sampling or elicitation result), which gov only lets through when it asked.
const RESPONSE_SHAPE = new Set(['id', 'result', 'error']);

/** Does this value claim (or pretend) to be a JSON-RPC message? */
function looksJsonRpc(v: JsonValue): boolean {
  // A nested array is no JSON-RPC batch, but a lenient server might flatten it.
  if (Array.isArray(v)) return v.some(looksJsonRpc);
  if (!isPlainObject(v)) return false;
  let responseKeys = 0;
  let hasId = false;
  const keys = Object.keys(v);
  for (const k of keys) {
    const f = foldKey(k);
    if (f === 'jsonrpc') return true;
    const m = v[k];
    if (f === 'method' && typeof m === 'string' && MCP_METHOD_RE.test(m)) return true;
    if (RESPONSE_SHAPE.has(f)) {
      responseKeys++;
      if (f === 'id') hasId = true;
    }
  }
  return hasId && responseKeys >= 2 && responseKeys === keys.length;
}

function isValidId(v: JsonValue | undefined): v is string | number {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

function malformed(code: -32700 | -32600, reason: string, id: JsonRpcId = null): MalformedParseResult {
  return { kind: 'malformed', code, reason, id };
}

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const NOTIFICATION_KEYS = new Set(['jsonrpc', 'method', 'params']);
const RESPONSE_KEYS = new Set(['jsonrpc', 'id', 'result', 'error']);

// Case-insensitive JSON decoders would read `Name` or `paramſ` as `name`/`params`; a key
// that folds onto a key we look at, without being it, is refused.
function foldCollision(o: JsonObject, watched: readonly string[]): string | null {
  for (const k of Object.keys(o)) {
    if (watched.includes(k)) continue;
    const f = foldKey(k);
    if (watched.some((w) => foldKey(w) === f)) return k;
  }
  return null;
}

/** Check one JSON-RPC 2.0 message's shape; returns the message or the reason it is invalid. */
export function toJsonRpcMessage(v: JsonValue): JsonRpcMessage | string {
  if (!isPlainObject(v)) return 'a JSON-RPC message must be an object';
  if (v['jsonrpc'] !== '2.0') return has(v, 'jsonrpc') ? 'jsonrpc must be "2.0"' : 'missing jsonrpc member';
  const hasMethod = has(v, 'method');
  const hasId = has(v, 'id');
  if (hasMethod) {
    const method = v['method'];
    if (typeof method !== 'string') return 'method must be a string';
    const allowed = hasId ? REQUEST_KEYS : NOTIFICATION_KEYS;
    const extra = Object.keys(v).find((k) => !allowed.has(k));
    if (extra !== undefined) return `unexpected member ${JSON.stringify(extra)} in a JSON-RPC request`;
    const params = v['params'];
    if (params !== undefined && (typeof params !== 'object' || params === null))
      return 'params must be an object or an array';
    const paramsProblem = checkMcpParams(method, params);
    if (paramsProblem) return paramsProblem;
    if (hasId) {
      const id = v['id'];
      if (!isValidId(id)) return 'id must be a string or a number';
      return params === undefined
        ? { kind: 'request', id, method, raw: v }
        : { kind: 'request', id, method, params, raw: v };
    }
    return params === undefined
      ? { kind: 'notification', method, raw: v }
      : { kind: 'notification', method, params, raw: v };
  }
  const hasResult = has(v, 'result');
  const hasError = has(v, 'error');
  if (!hasResult && !hasError) return 'not a request, notification or response';
  if (hasResult && hasError) return 'a response must not have both result and error';
  const extra = Object.keys(v).find((k) => !RESPONSE_KEYS.has(k));
  if (extra !== undefined) return `unexpected member ${JSON.stringify(extra)} in a JSON-RPC response`;
  const id = hasId ? v['id'] : null;
  if (id !== null && !isValidId(id)) return 'id must be a string, a number or null';
  // JSON-RPC lets an error response carry a null (or, per MCP, absent) id; a result cannot.
  if (id === null && hasResult) return 'a result response must have an id';
  if (hasResult) return { kind: 'response', id, result: v['result'] as JsonValue, raw: v };
  const error = v['error'];
  if (!isPlainObject(error)) return 'error must be an object';
  if (typeof error['code'] !== 'number' || !Number.isInteger(error['code']))
    return 'error.code must be an integer';
  if (typeof error['message'] !== 'string') return 'error.message must be a string';
  return { kind: 'response', id, error, raw: v };
}

/** Policy needs a name (tools/call, prompts/get) or a uri (resources/*): refuse calls without one. */
function checkMcpParams(method: string, params: JsonValue | undefined): string | null {
  const wantsName = NAME_METHODS.has(method);
  const wantsUri = URI_METHODS.has(method);
  if (!wantsName && !wantsUri) return null;
  if (!isPlainObject(params)) return `${method} params must be an object`;
  const field = wantsName ? 'name' : 'uri';
  if (typeof params[field] !== 'string') return `${method} params.${field} must be a string`;
  const collision = foldCollision(params, wantsName ? ['name', 'arguments', '_meta'] : ['uri', '_meta']);
  if (collision !== null) return `${method} params has an ambiguous member ${JSON.stringify(collision)}`;
  if (wantsName && params['arguments'] !== undefined) {
    if (!isPlainObject(params['arguments'])) return `${method} params.arguments must be an object`;
    // Policy reads `args.amount`; a server that folds case would read `AMOUNT` (the later copy).
    const twice = foldedTwice(params['arguments']);
    if (twice !== null)
      return `${method} params.arguments has members a case-insensitive decoder reads as one: ${twice.map((k) => JSON.stringify(k)).join(' and ')}`;
  }
  return null;
}

/** Two keys of one object, anywhere in `v` (depth bounded by the parser), that fold alike. */
function foldedTwice(v: JsonValue): [string, string] | null {
  if (Array.isArray(v)) {
    for (const x of v) {
      const r = typeof x === 'object' && x !== null ? foldedTwice(x) : null;
      if (r) return r;
    }
    return null;
  }
  if (!isPlainObject(v)) return null;
  const keys = Object.keys(v);
  if (keys.length > 1) {
    const seen = new Map<string, string>();
    for (const k of keys) {
      const f = foldKey(k);
      const other = seen.get(f);
      if (other !== undefined) return [other, k];
      seen.set(f, k);
    }
  }
  for (const k of keys) {
    const x = v[k];
    const r = typeof x === 'object' && x !== null ? foldedTwice(x) : null;
    if (r) return r;
  }
  return null;
}

function recoverId(v: JsonValue): JsonRpcId {
  if (!isPlainObject(v)) return null;
  const id = v['id'];
  return isValidId(id) ? id : null;
}

const BOM = [0xef, 0xbb, 0xbf];

function firstSignificant(bytes: Uint8Array): number {
  let i = 0;
  if (bytes.length >= 3 && bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2]) i = 3;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) break;
    i++;
  }
  return i;
}

// First bytes a JSON scalar can start with: " - 0-9 t f n
function mayStartScalar(b: number): boolean {
  return b === 0x22 || b === 0x2d || (b >= 0x30 && b <= 0x39) || b === 0x74 || b === 0x66 || b === 0x6e;
}

/**
 * Classify a body as gov reads it (UTF-8), and refuse it when a server could read it as
 * JSON-RPC another way (its declared charset, or UTF-16/32 it would detect): such a body
 * would otherwise pass as "not MCP" and execute ungoverned.
 */
export function classifyBody(bytes: Uint8Array, opts: ClassifyOptions = {}): ParseResult {
  const asUtf8 = classifyUtf8(bytes, opts);
  const others = otherReadings(bytes, opts.contentType);
  if (!others.ok)
    return bytes.length === 0
      ? asUtf8
      : malformed(-32600, `a body in charset "${others.charset}" cannot be inspected; send it as UTF-8`);
  if (others.texts.length === 0) return asUtf8;
  const utf8Text = Buffer.from(bytes).toString('utf8');
  for (const { encoding, text } of others.texts) {
    if (text === utf8Text) continue;
    if (classifyUtf8(Buffer.from(text, 'utf8'), opts).kind !== 'other')
      return malformed(-32600, `a JSON-RPC body must be UTF-8; this one reads as JSON-RPC in ${encoding}`);
  }
  return asUtf8;
}

function classifyUtf8(bytes: Uint8Array, opts: ClassifyOptions): ParseResult {
  const start = firstSignificant(bytes);
  if (start >= bytes.length) return { kind: 'other' };
  const first = bytes[start]!;
  const body = bytes.subarray(start);
  const depth = opts.maxDepth === undefined ? {} : { maxDepth: opts.maxDepth };

  if (first !== 0x7b && first !== 0x5b) {
    if (!mayStartScalar(first)) return { kind: 'other' };
    const text = decodeUtf8Strict(body);
    if (text === null) return { kind: 'other' };
    const parsed = parseStrictJsonText(text, depth);
    return parsed.ok ? malformed(-32600, 'top-level value is not an object or array') : { kind: 'other' };
  }

  const text = decodeUtf8Strict(body);
  // A body gov will not parse is still answered under its id when its edges show one.
  const edgeId = (t: string) => idAtEdges(t.slice(0, EDGE_CHARS), t.slice(-EDGE_CHARS));
  if (text === null) return malformed(-32700, 'invalid UTF-8', edgeId(Buffer.from(body).toString('utf8')));
  const parsed = parseStrictJsonText(text, depth);
  if (!parsed.ok) {
    // Valid JSON with a number JavaScript cannot hold exactly: answered under its id if it has
    // one (unless that id is the inexact number).
    if (parsed.value !== undefined) {
      // A body that is no JSON-RPC message is not gov's to judge (a REST call's 64-bit id).
      if (!looksJsonRpc(parsed.value)) return { kind: 'other' };
      const id = isPlainObject(parsed.value) ? exactId(parsed.value['id']) : null;
      return malformed(-32600, parsed.reason, id);
    }
    // Two "id" members: which one the client meant is anyone's guess, so neither is echoed.
    const ambiguous = parsed.reason.startsWith('duplicate key "id"');
    return malformed(-32700, parsed.reason, ambiguous ? null : edgeId(text));
  }
  const value = parsed.value;

  if (!Array.isArray(value)) {
    if (!looksJsonRpc(value)) return { kind: 'other' };
    const msg = toJsonRpcMessage(value);
    if (typeof msg === 'string') return malformed(-32600, msg, recoverId(value));
    return { kind: 'mcp', batch: false, messages: [msg] };
  }

  if (value.length === 0) return malformed(-32600, 'empty batch');
  if (!value.some(looksJsonRpc)) return { kind: 'other' };
  const messages: JsonRpcMessage[] = [];
  for (let k = 0; k < value.length; k++) {
    const msg = toJsonRpcMessage(value[k]!);
    if (typeof msg === 'string') return malformed(-32600, `batch element ${k}: ${msg}`);
    messages.push(msg);
  }
  return { kind: 'mcp', batch: true, messages };
}
