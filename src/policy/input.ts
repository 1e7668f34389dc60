/** Envelope (from the MCP connector) → PolicyInput. Pure. */
import type { Envelope } from '../types.js';
import type { PolicyInput } from './compiled.js';

export function toPolicyInput(env: Envelope, run: string): PolicyInput {
  const input: PolicyInput = {
    server: env.server,
    transport: env.transport,
    method: env.method,
    args: env.args,
    run,
  };
  if (env.tool !== undefined) input.tool = env.tool;
  if (env.uri !== undefined) input.uri = env.uri;
  if (env.principal !== undefined) input.principal = env.principal;
  return input;
}
