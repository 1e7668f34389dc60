/**
 * Server→client transforms on parsed JSON-RPC responses: hiding denied tools from
 * `tools/list`, reading `serverInfo` from `initialize`, and rebuilding a response around
 * a rewritten result. Pure: inputs are never mutated.
 */
import { type JsonObject, type JsonValue, isPlainObject } from '../types.js';
import { errorToolResult } from './wire-errors.js';

/**
 * Drop every tool whose name `isHidden` says is always denied. Anything that is not a
 * `{tools: [...]}` result is returned unchanged; a tool entry without a string name is kept
 * (policy cannot name it, and the agent cannot call it by name either).
 *
 * A filtered list is this run's policy applied to the server's list, not the server's list:
 * a shared cache must not hand it to other callers, and the policy can change under it. When
 * the result carries 2026-07-28 caching hints (`cacheScope`, `ttlMs`), the filtered list is
 * marked `cacheScope: "private"` with `ttlMs: 0` (immediately stale; the spec requires a hint
 * on every complete list result, so it is rewritten rather than dropped).
 */
export function filterToolsList(
  result: JsonValue,
  isHidden: (toolName: string) => boolean,
): { result: JsonValue; removed: string[] } {
  if (!isPlainObject(result) || !Array.isArray(result['tools'])) return { result, removed: [] };
  const removed: string[] = [];
  const kept: JsonValue[] = [];
  for (const tool of result['tools']) {
    const name = isPlainObject(tool) ? tool['name'] : undefined;
    if (typeof name === 'string' && isHidden(name)) removed.push(name);
    else kept.push(tool);
  }
  if (removed.length === 0) return { result, removed };
  const filtered: JsonObject = { ...result, tools: kept };
  if ('cacheScope' in result || 'ttlMs' in result) {
    filtered['cacheScope'] = 'private';
    filtered['ttlMs'] = 0;
  }
  return { result: filtered, removed };
}

export interface ServerInfo extends JsonObject {
  name: string;
}

/**
 * Who the server says it is, when it has at least a string name: `result.serverInfo` of an
 * initialize (or `server/discover`) response, or — 2026-07-28, stateless — the
 * `io.modelcontextprotocol/serverInfo` every result may carry in its `_meta`.
 */
export function serverInfoOf(result: JsonValue | undefined): ServerInfo | null {
  if (!isPlainObject(result)) return null;
  const meta = result['_meta'];
  const info =
    result['serverInfo'] ?? (isPlainObject(meta) ? meta['io.modelcontextprotocol/serverInfo'] : undefined);
  if (!isPlainObject(info) || typeof info['name'] !== 'string') return null;
  return info as ServerInfo;
}

/**
 * A tool result whose `structuredContent` redaction had to change. gov does not validate
 * against the tool's `outputSchema`, so it cannot tell whether `[REDACTED:…]` still conforms
 * (a pattern, format, enum or length may not); clients that validate would reject the result,
 * and passing invalid structured data is never acceptable. The whole result is replaced by an
 * `isError` tool result saying a secret was withheld. Null when structuredContent was untouched.
 */
export function withheldStructuredResult(
  original: JsonValue | undefined,
  redacted: JsonValue | undefined,
  kinds: readonly string[],
): JsonObject | null {
  if (!isPlainObject(original) || !isPlainObject(redacted)) return null;
  if (!('structuredContent' in original)) return null;
  if (original['structuredContent'] === redacted['structuredContent']) return null;
  const withheld = errorToolResult(
    `gov withheld this tool result: its structuredContent contained a secret (${kinds.join(', ')}), ` +
      "and a redacted value might not match the tool's outputSchema",
  );
  // `_meta` (already redacted) carries 2026 result metadata such as serverInfo.
  if (isPlainObject(redacted['_meta'])) withheld['_meta'] = redacted['_meta'];
  return withheld;
}
