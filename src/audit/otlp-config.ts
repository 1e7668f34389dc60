import { GovError } from '../errors.js';
import type { AuditOtlpSpec } from '../policy/schema.js';
import type { OtlpTarget } from './otlp-export.js';

/** Vault entries the collector's headers name (`{secret: name}` values). */
export function otlpSecretNames(spec: AuditOtlpSpec): string[] {
  return Object.values(spec.headers).flatMap((v) => (typeof v === 'string' ? [] : [v.secret]));
}

/** Header values resolved from the vault; a missing secret is a configuration error, never an empty header. */
export function resolveOtlpTarget(spec: AuditOtlpSpec, secrets: Map<string, string>): OtlpTarget {
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(spec.headers)) {
    if (typeof v === 'string') headers[name] = v;
    else {
      const value = secrets.get(v.secret);
      if (value === undefined) {
        throw new GovError(
          'config',
          `audit.export.otlp header '${name}' names vault secret '${v.secret}', which is not set`,
          {
            hint: `store it with 'gov vault set ${v.secret}'`,
          },
        );
      }
      headers[name] = value;
    }
  }
  return { endpoint: spec.endpoint, headers, protocol: spec.protocol };
}
