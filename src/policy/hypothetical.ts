/**
 * A call described by hand (`gov policy eval`, a `gov policy test` case) → PolicyInput.
 * A server given as a URL is resolved through the registry (an unlisted URL is an unknown
 * server); a plain name is taken as a known server's name; no server matches only rules
 * that name none. Pure.
 */
import type { JsonObject, ServerIdentity } from '../types.js';
import { UNKNOWN_TOOL_INFO, type CompiledPolicy, type PolicyInput, type ToolInfo } from './compiled.js';

export interface HypotheticalCall {
  method?: string | undefined;
  tool?: string | undefined;
  uri?: string | undefined;
  server?: string | undefined;
  args?: JsonObject | undefined;
  run?: string | undefined;
  principal?: string | undefined;
  /** The tool's behaviour hints as a server would declare them; missing ones take the spec's defaults. */
  annotations?: JsonObject | undefined;
  /** Whether the tool's definition is pinned (`tool_pinned`). */
  pinned?: boolean | undefined;
}

export function looksLikeUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
}

export function hypotheticalInput(
  policy: Pick<CompiledPolicy, 'resolveServer'>,
  c: HypotheticalCall,
): PolicyInput {
  let server: ServerIdentity;
  let transport: PolicyInput['transport'];
  const s = c.server;
  if (s === undefined) {
    server = { name: null, url: 'stdio:' };
    transport = 'stdio';
  } else if (looksLikeUrl(s)) {
    server = { name: policy.resolveServer(s), url: s };
    transport = 'http';
  } else {
    server = { name: s, url: `stdio:${s}` };
    transport = 'stdio';
  }
  const input: PolicyInput = {
    server,
    transport,
    method: c.method ?? 'tools/call',
    args: c.args ?? {},
    run: c.run ?? 'eval',
  };
  if (c.tool !== undefined) input.tool = c.tool;
  if (c.uri !== undefined) input.uri = c.uri;
  if (c.principal !== undefined) input.principal = c.principal;
  if (c.annotations !== undefined || c.pinned !== undefined) {
    const annotations = { ...UNKNOWN_TOOL_INFO.annotations };
    for (const k of Object.keys(annotations) as Array<keyof ToolInfo['annotations']>) {
      const v = c.annotations?.[k];
      if (typeof v === 'boolean') annotations[k] = v;
    }
    input.toolInfo = { annotations, pinned: c.pinned === true };
  }
  return input;
}
