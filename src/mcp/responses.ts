/**
 * Server→client transforms on parsed JSON-RPC responses: hiding denied tools from
 * `tools/list`, reading `serverInfo` from `initialize`, and rebuilding a response around
 * a rewritten result. Pure: inputs are never mutated.
 */
import { type JsonObject, type JsonValue, isPlainObject } from '../types.js';

/**
 * Drop every tool whose name `isHidden` says is always denied. Anything that is not a
 * `{tools: [...]}` result is returned unchanged; a tool entry without a string name is kept
 * (policy cannot name it, and the agent cannot call it by name either).
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
  return { result: { ...result, tools: kept }, removed };
}

export interface ServerInfo extends JsonObject {
  name: string;
}

/** `result.serverInfo` of an initialize response, when it has at least a string name. */
export function serverInfoOf(initializeResult: JsonValue | undefined): ServerInfo | null {
  if (!isPlainObject(initializeResult)) return null;
  const info = initializeResult['serverInfo'];
  if (!isPlainObject(info) || typeof info['name'] !== 'string') return null;
  return info as ServerInfo;
}
