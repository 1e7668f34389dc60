/**
 * `Mcp-Method` / `Mcp-Name` (SEP-2243, Streamable HTTP from 2026-07-28): the request body's
 * method and target mirrored into headers so intermediaries can route without parsing.
 * An intermediary routing or rate-limiting on the header while the server executes the
 * body is a confused deputy, so whenever either header is present — whatever protocol
 * version is claimed — gov insists header and body agree, and refuses the request if not.
 *
 * Rules (spec "Standard Request Headers" and "Server Validation"):
 *  - the body must be one request or notification (no batch, no response);
 *  - header values are case-sensitive; Mcp-Method must equal `method`;
 *  - Mcp-Name mirrors params.name (tools/call, prompts/get) or params.uri (resources/read,
 *    resources/subscribe, resources/unsubscribe) and is required for tools/call,
 *    resources/read and prompts/get; a method with no such target must not carry one;
 *  - the tasks extension (SEP-2663) mirrors params.taskId into Mcp-Name for tasks/get,
 *    tasks/update and tasks/cancel (checked when present, not required: 2025-11-25 task
 *    clients never send it);
 *  - `Mcp-Param-{Name}` headers mirror tool arguments declared with `x-mcp-header`: every
 *    value must decode, and when gov knows the tool's declarations it compares them too;
 *  - values that are not plain ASCII arrive as `=?base64?<standard base64 of UTF-8>?=`
 *    and are decoded before comparing.
 * Policy never reads these headers: decisions are made on the body, which they must mirror.
 */
import type { JsonObject } from '../types.js';
import type { McpParseResult } from './classify.js';
import { NAME_METHODS, URI_METHODS } from './classify.js';
import { checkParamHeaders, type ParamHeaderPaths } from './param-headers.js';

export interface McpHeaderValues {
  /** `Mcp-Method`; an array when the header was sent more than once. */
  method?: string | string[] | undefined;
  /** `Mcp-Name`; an array when the header was sent more than once. */
  name?: string | string[] | undefined;
  /** `Mcp-Param-*` headers, keyed by the lower-case name after `mcp-param-`. */
  params?: ReadonlyMap<string, string | string[]> | undefined;
}

/** Methods whose Mcp-Name mirrors params.taskId (tasks extension). */
const TASK_ID_METHODS: ReadonlySet<string> = new Set(['tasks/get', 'tasks/update', 'tasks/cancel']);

const PARAM_PREFIX = 'mcp-param-';

/** The `Mcp-Param-*` headers of a Node header object, keyed by lower-case name suffix. */
export function paramHeadersFrom(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Map<string, string | string[]> | undefined {
  let out: Map<string, string | string[]> | undefined;
  for (const k in headers) {
    if (k.length <= PARAM_PREFIX.length || !k.toLowerCase().startsWith(PARAM_PREFIX)) continue;
    const v = headers[k];
    if (v !== undefined) (out ??= new Map()).set(k.slice(PARAM_PREFIX.length).toLowerCase(), v);
  }
  return out;
}

/** Methods whose Mcp-Name header is REQUIRED by the spec. */
const NAME_REQUIRED: ReadonlySet<string> = new Set(['tools/call', 'resources/read', 'prompts/get']);

const SENTINEL_PREFIX = '=?base64?';
const SENTINEL_SUFFIX = '?=';

/**
 * Returns null when the headers are absent or agree with the body, else why the request
 * must be refused (answer HTTP 400 with `headerMismatchResponse`). `declaredParams` gives
 * the `x-mcp-header` declarations of a tool when gov has seen its definition.
 */
export function checkMcpHeaders(
  h: McpHeaderValues,
  parsed: McpParseResult,
  declaredParams?: (tool: string) => ParamHeaderPaths | undefined,
): string | null {
  if (h.method === undefined && h.name === undefined && h.params === undefined) return null;
  const method = single(h.method, 'Mcp-Method');
  if (method.error) return method.error;
  const nameHeader = single(h.name, 'Mcp-Name');
  if (nameHeader.error) return nameHeader.error;

  if (parsed.batch || parsed.messages.length !== 1)
    return 'Mcp-Method/Mcp-Name headers require a body with a single JSON-RPC message, not a batch';
  const msg = parsed.messages[0]!;
  if (msg.kind === 'response') return 'Mcp-Method/Mcp-Name headers sent with a JSON-RPC response';

  if (method.value !== undefined && method.value !== msg.method)
    return `Header mismatch: Mcp-Method header value ${show(method.value)} does not match body method ${show(msg.method)}`;

  const target = bodyTarget(msg.method, msg.params);
  if (nameHeader.value === undefined) {
    if (target !== undefined && NAME_REQUIRED.has(msg.method))
      return `Mcp-Name header is required for ${msg.method}`;
  } else {
    const decoded = decodeHeaderValue(nameHeader.value);
    if (decoded === null) return `Mcp-Name header value ${show(nameHeader.value)} is not valid`;
    if (target === undefined)
      return `Mcp-Name header sent for ${msg.method}, which names no tool, prompt, resource or task`;
    if (decoded !== target)
      return `Header mismatch: Mcp-Name header value ${show(decoded)} does not match body value ${show(target)}`;
  }
  return h.params === undefined ? null : checkParams(h.params, msg.method, msg.params, declaredParams);
}

function checkParams(
  raw: ReadonlyMap<string, string | string[]>,
  method: string,
  params: unknown,
  declaredParams: ((tool: string) => ParamHeaderPaths | undefined) | undefined,
): string | null {
  const decoded = new Map<string, string>();
  for (const [name, v] of raw) {
    const one = single(v, `Mcp-Param-${name}`);
    if (one.error) return one.error;
    // Values are arguments (possibly secrets): reasons name the header only.
    const d = decodeHeaderValue(one.value!);
    if (d === null) return `Mcp-Param-${name} header value is not valid`;
    decoded.set(name, d);
  }
  if (method !== 'tools/call' || typeof params !== 'object' || params === null) return null;
  const p = params as JsonObject;
  const tool = p['name'];
  if (typeof tool !== 'string') return null;
  return checkParamHeaders(decoded, p['arguments'], declaredParams?.(tool));
}

function single(v: string | string[] | undefined, header: string): { value?: string; error?: string } {
  if (v === undefined) return {};
  if (Array.isArray(v)) {
    if (v.length !== 1) return { error: `${header} header sent ${v.length} times` };
    return { value: v[0]! };
  }
  return { value: v };
}

function bodyTarget(method: string, params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return undefined;
  const p = params as JsonObject;
  const v = NAME_METHODS.has(method)
    ? p['name']
    : URI_METHODS.has(method)
      ? p['uri']
      : TASK_ID_METHODS.has(method)
        ? p['taskId']
        : undefined;
  return typeof v === 'string' ? v : undefined;
}

function show(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

/**
 * Decode an SEP-2243 header value: the Base64 sentinel form is unwrapped (standard alphabet,
 * UTF-8 payload, strict); a plain value must be visible ASCII/space/tab. Null when invalid.
 */
export function decodeHeaderValue(raw: string): string | null {
  if (raw.startsWith(SENTINEL_PREFIX) && raw.endsWith(SENTINEL_SUFFIX) && raw.length >= 11) {
    const bytes = decodeBase64(raw.slice(SENTINEL_PREFIX.length, raw.length - SENTINEL_SUFFIX.length));
    if (bytes === null) return null;
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      return null;
    }
  }
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (!(c === 0x09 || (c >= 0x20 && c <= 0x7e))) return null;
  }
  return raw;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Strict standard Base64 with padding; null on any deviation. */
function decodeBase64(s: string): Uint8Array | null {
  if (s.length % 4 !== 0) return null;
  const out: number[] = [];
  for (let i = 0; i < s.length; i += 4) {
    const last = i + 4 === s.length;
    const q = [0, 1, 2, 3].map((k) => {
      const ch = s[i + k]!;
      return ch === '=' ? -2 : B64.indexOf(ch);
    });
    if (q.some((v) => v === -1)) return null;
    const [a, b, c, d] = q as [number, number, number, number];
    if (a < 0 || b < 0) return null;
    if (c === -2 && d !== -2) return null;
    if ((c === -2 || d === -2) && !last) return null;
    const n = (a << 18) | (b << 12) | ((c < 0 ? 0 : c) << 6) | (d < 0 ? 0 : d);
    out.push((n >> 16) & 255);
    if (c >= 0) out.push((n >> 8) & 255);
    if (d >= 0) out.push(n & 255);
  }
  return Uint8Array.from(out);
}
