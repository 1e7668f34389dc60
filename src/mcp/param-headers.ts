/**
 * `Mcp-Param-{Name}` headers (SEP-2243, Streamable HTTP from 2026-07-28): a tool's
 * `inputSchema` may mark primitive properties with `x-mcp-header: Name`, and clients mirror
 * those argument values into headers. Which header mirrors which argument is known only from
 * the tool definition, so gov learns the declarations from the `tools/list` results it relays
 * and checks a call's headers against its body with them. Pure.
 */
import type { JsonObject, JsonValue } from '../types.js';

/** Lower-case header name suffix (after `mcp-param-`) → property path into `arguments`. */
export type ParamHeaderPaths = ReadonlyMap<string, readonly string[]>;

function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The `x-mcp-header` declarations of one `inputSchema`, reachable through `properties` keys
 * only (the spec's "statically reachable"); anything else is not a declaration a conforming
 * client would mirror.
 */
export function paramHeadersOf(inputSchema: JsonValue | undefined): ParamHeaderPaths {
  const out = new Map<string, string[]>();
  const walk = (schema: JsonValue | undefined, path: string[], depth: number): void => {
    if (!isPlainObject(schema) || depth > 32) return;
    const props = schema['properties'];
    if (!isPlainObject(props)) return;
    for (const [key, sub] of Object.entries(props)) {
      if (!isPlainObject(sub)) continue;
      const name = sub['x-mcp-header'];
      if (typeof name === 'string' && name.length > 0) out.set(name.toLowerCase(), [...path, key]);
      walk(sub, [...path, key], depth + 1);
    }
  };
  walk(inputSchema, [], 0);
  return out;
}

const MAX_SERVERS = 1024;

/** What gov has learned from `tools/list`: per server URL, per tool, its param headers. */
export class ToolParamHeaders {
  private readonly servers = new Map<string, Map<string, ParamHeaderPaths>>();

  /**
   * Learn from one `tools/list` result (a page: tools already known from other pages stay).
   * Tools without declarations are remembered too, so their calls are checked strictly.
   */
  learn(serverUrl: string, toolsListResult: JsonValue | undefined): void {
    if (!isPlainObject(toolsListResult) || !Array.isArray(toolsListResult['tools'])) return;
    let tools = this.servers.get(serverUrl);
    if (!tools) {
      if (this.servers.size >= MAX_SERVERS) this.servers.delete(this.servers.keys().next().value!);
      tools = new Map();
      this.servers.set(serverUrl, tools);
    }
    for (const t of toolsListResult['tools']) {
      if (isPlainObject(t) && typeof t['name'] === 'string')
        tools.set(t['name'], paramHeadersOf(t['inputSchema']));
    }
  }

  lookup(serverUrl: string, tool: string): ParamHeaderPaths | undefined {
    return this.servers.get(serverUrl)?.get(tool);
  }
}

/** The instance value at a property path, or undefined when absent. */
function valueAt(args: JsonValue | undefined, path: readonly string[]): JsonValue | undefined {
  let v: JsonValue | undefined = args;
  for (const k of path) {
    if (!isPlainObject(v) || !Object.prototype.hasOwnProperty.call(v, k)) return undefined;
    v = v[k];
  }
  return v;
}

/** Does a decoded header value mirror this body value? Integers compare numerically. */
function mirrors(header: string, body: JsonValue): boolean {
  if (typeof body === 'string') return header === body;
  if (typeof body === 'boolean') return header === String(body);
  if (typeof body === 'number') {
    const n = Number(header.trim());
    return header.trim() !== '' && Number.isFinite(n) && n === body;
  }
  return false;
}

/**
 * Compare decoded `Mcp-Param-*` headers with a `tools/call` body. `declared` is undefined when
 * gov has not seen the tool's definition: then nothing can be compared. Reasons name headers,
 * never values (values are arguments, which may be secrets).
 */
export function checkParamHeaders(
  headers: ReadonlyMap<string, string>,
  args: JsonValue | undefined,
  declared: ParamHeaderPaths | undefined,
): string | null {
  if (!declared) return null;
  for (const [name, path] of declared) {
    const body = valueAt(args, path);
    const header = headers.get(name);
    if (body === undefined || body === null) {
      if (header !== undefined)
        return `Header mismatch: Mcp-Param-${name} header sent but arguments.${path.join('.')} is absent`;
      continue;
    }
    if (header === undefined)
      return `Mcp-Param-${name} header is required: arguments.${path.join('.')} is present in the body`;
    if (!mirrors(header, body))
      return `Header mismatch: Mcp-Param-${name} header does not match arguments.${path.join('.')}`;
  }
  // A header the tool does not declare is one gov does not recognise: forwarded and ignored,
  // as the spec asks of intermediaries (its encoding was checked already).
  return null;
}
