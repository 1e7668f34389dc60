import type { PolicyInput } from '../../src/policy/compiled.js';
import { loadPolicyFromText, PolicyLoadError } from '../../src/policy/load.js';
import type { JsonObject, ServerIdentity } from '../../src/types.js';

export const policy = (yaml: string) => loadPolicyFromText(yaml, 'gov.yaml');

/** Every `file:line:col: message` a broken policy produces. */
export function problems(yaml: string): string[] {
  try {
    loadPolicyFromText(yaml, 'gov.yaml');
  } catch (err) {
    if (err instanceof PolicyLoadError) return err.problems;
    throw err;
  }
  throw new Error('expected the policy to be rejected');
}

export const httpServer = (
  name: string | null,
  url = `https://${name ?? 'unlisted.example'}/mcp`,
): ServerIdentity => ({ name, url });
export const stdioServer = (name: string): ServerIdentity => ({ name, url: `stdio:${name}` });

export function call(
  tool: string,
  opts: { server?: ServerIdentity; args?: JsonObject; transport?: 'http' | 'stdio' } = {},
): PolicyInput {
  return {
    server: opts.server ?? stdioServer('fs'),
    transport: opts.transport ?? (opts.server?.url.startsWith('stdio:') === false ? 'http' : 'stdio'),
    method: 'tools/call',
    tool,
    args: opts.args ?? {},
    run: 'run-1',
  };
}

export function message(method: string, extra: Partial<PolicyInput> = {}): PolicyInput {
  return { server: stdioServer('fs'), transport: 'stdio', method, args: {}, run: 'run-1', ...extra };
}
