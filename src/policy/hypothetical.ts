/**
 * A call described by hand (`gov policy eval`, a `gov policy test` case) → PolicyInput.
 * A server given as a URL is resolved through the registry (an unlisted URL is an unknown
 * server); a plain name is taken as a known server's name; no server matches only rules
 * that name none. Pure.
 */
import type { JsonObject, ServerIdentity } from '../types.js';
import type { CompiledPolicy, PolicyInput } from './compiled.js';

export interface HypotheticalCall {
  method?: string | undefined;
  tool?: string | undefined;
  uri?: string | undefined;
  server?: string | undefined;
  args?: JsonObject | undefined;
  run?: string | undefined;
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
  return input;
}
