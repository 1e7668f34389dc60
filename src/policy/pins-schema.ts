/**
 * The `pins:` section of gov.yaml: what a changed or poisoned tool definition means, and pins
 * a team ships with its policy — per server, either fingerprints inline or a JSON file of
 * them (relative paths are resolved by the session against the policy file's directory).
 */
import { z } from 'zod';

export interface PinsSpec {
  onChange: 'deny' | 'approve' | 'allow';
  onPoison: 'deny' | 'approve' | 'warn';
  changedTools: 'mark' | 'hide';
  /** Server name → declared pins: tool → fingerprint, and/or a file holding such a map. */
  servers: Array<[string, { tools: Record<string, string>; file?: string }]>;
}

const FINGERPRINT = /^sha256:[0-9a-f]{64}$/;
const fingerprint = z.string().regex(FINGERPRINT, {
  message: "expected a fingerprint 'sha256:<64 hex digits>' (see gov pins list)",
});

const serverPins = z.union([
  z.object({ file: z.string().min(1) }).strict(),
  z.record(z.string().min(1), fingerprint),
]);

export const PINS_KEYS = ['on_change', 'on_poison', 'changed_tools', 'servers'];

export const pinsSchema = z
  .object({
    on_change: z.enum(['deny', 'approve', 'allow']).default('approve'),
    on_poison: z.enum(['deny', 'approve', 'warn']).default('approve'),
    changed_tools: z.enum(['mark', 'hide']).default('mark'),
    servers: z.record(z.string().min(1), serverPins).default({}),
  })
  .strict()
  .default({})
  .transform((p): PinsSpec => ({
    onChange: p.on_change,
    onPoison: p.on_poison,
    changedTools: p.changed_tools,
    servers: Object.entries(p.servers).map(([name, v]) => [
      name,
      'file' in v && typeof v['file'] === 'string' && Object.keys(v).length === 1
        ? { tools: {}, file: v['file'] }
        : { tools: v },
    ]),
  }));

/** A pins file named by `file:`: `{tool: fingerprint}`, or the array `gov pins list --json` prints. */
export function parseDeclaredPinsFile(data: unknown, server: string): Record<string, string> | string {
  if (Array.isArray(data)) {
    const out: Record<string, string> = {};
    for (const e of data as Array<Record<string, unknown>>) {
      if (typeof e !== 'object' || e === null) return 'expected entries with tool and fingerprint';
      if (e['server'] !== undefined && e['server'] !== server) continue;
      if (e['status'] !== undefined && e['status'] !== 'pinned') continue;
      if (
        typeof e['tool'] !== 'string' ||
        typeof e['fingerprint'] !== 'string' ||
        !FINGERPRINT.test(e['fingerprint'])
      )
        return 'expected entries with tool and fingerprint';
      out[e['tool']] = e['fingerprint'];
    }
    return out;
  }
  const r = z.record(fingerprint).safeParse(data);
  return r.success ? r.data : 'expected a JSON object of tool name to sha256 fingerprint';
}
