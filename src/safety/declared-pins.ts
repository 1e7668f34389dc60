/**
 * The pins a policy declares (`pins.servers` in gov.yaml), read once per session: inline
 * fingerprints, or a JSON file of them next to the policy.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { GovError } from '../errors.js';
import { parseDeclaredPinsFile, type PinsSpec } from '../policy/pins-schema.js';

export function loadDeclaredPins(
  spec: PinsSpec,
  policySource: string,
): Map<string, ReadonlyMap<string, string>> {
  const out = new Map<string, ReadonlyMap<string, string>>();
  for (const [server, p] of spec.servers) {
    const tools = new Map(Object.entries(p.tools));
    if (p.file !== undefined) {
      const path = isAbsolute(p.file) ? p.file : resolve(dirname(policySource), p.file);
      let parsed: ReturnType<typeof parseDeclaredPinsFile>;
      try {
        parsed = parseDeclaredPinsFile(JSON.parse(readFileSync(path, 'utf8')) as unknown, server);
      } catch (err) {
        parsed = (err as Error).message;
      }
      if (typeof parsed === 'string')
        throw new GovError('config', `pins file ${path} for server '${server}': ${parsed}`, {
          hint: 'write it with \'gov pins list --json\' or as {"tool": "sha256:…"}',
        });
      for (const [t, fp] of Object.entries(parsed)) tools.set(t, fp);
    }
    out.set(server, tools);
  }
  return out;
}
