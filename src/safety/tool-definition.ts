/**
 * A tool definition as the model reads it, reduced to the fields that can change what the
 * model does, and its fingerprint: SHA-256 over their canonical JSON. Pure.
 */
import { canonicalJson, sha256Hex } from '../audit/canonical.js';
import { type JsonObject, type JsonValue, isPlainObject } from '../types.js';

export const DEFINITION_FIELDS = [
  'name',
  'title',
  'description',
  'inputSchema',
  'outputSchema',
  'annotations',
] as const;

export type ToolDefinition = JsonObject & { name: string };

/** The pinned fields of one `tools/list` entry; null when it has no string name. */
export function definitionOf(tool: JsonValue): ToolDefinition | null {
  if (!isPlainObject(tool) || typeof tool['name'] !== 'string') return null;
  const def: JsonObject = {};
  for (const f of DEFINITION_FIELDS) if (tool[f] !== undefined) def[f] = tool[f];
  return def as ToolDefinition;
}

/** `sha256:<hex>` of the definition's canonical JSON; key order and whitespace do not matter. */
export function fingerprintOf(def: ToolDefinition): string {
  return `sha256:${sha256Hex(canonicalJson(def))}`;
}

/**
 * Whether two JSON values are equal, key order aside (as their fingerprints would be). A walk
 * that allocates nothing: several times cheaper than serialising either side.
 */
export function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (!Object.hasOwn(b, k) || !sameJson(a[k], b[k])) return false;
  return true;
}

/** The `tools` array of a tools/list result, else null. */
export function toolsOf(result: JsonValue | undefined): JsonValue[] | null {
  return isPlainObject(result) && Array.isArray(result['tools']) ? result['tools'] : null;
}

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/**
 * The four behaviour hints with the MCP spec's defaults filled in (a tool that says nothing
 * is assumed destructive and open-world), so a policy never trips over a missing key.
 */
export function annotationsOf(def: ToolDefinition | undefined): ToolAnnotations {
  const a = def && isPlainObject(def['annotations']) ? def['annotations'] : {};
  const flag = (k: string, dflt: boolean) => (typeof a[k] === 'boolean' ? a[k] : dflt);
  return {
    readOnlyHint: flag('readOnlyHint', false),
    destructiveHint: flag('destructiveHint', true),
    idempotentHint: flag('idempotentHint', false),
    openWorldHint: flag('openWorldHint', true),
  };
}

/** A short form of a fingerprint for messages: `sha256:0123abcd4567`. */
export function shortFingerprint(fp: string): string {
  return fp.slice(0, 'sha256:'.length + 12);
}
