import { hasWildcard, splitHostPort } from './glob.js';
import type { PolicySpec } from './schema.js';

/** At most this many hosts are prepared ahead: a long list must not delay start-up work. */
const MAX_NAMED = 256;

/**
 * The HTTPS hosts that `servers:` and `credentials:` name literally (no wildcard). gov can
 * prepare their leaf certificates before the agent's first request to them.
 */
export function namedHttpsHosts(spec: Pick<PolicySpec, 'servers' | 'credentials'>): string[] {
  const out = new Set<string>();
  const add = (authority: string): void => {
    const { host } = splitHostPort(authority);
    if (host !== '' && !hasWildcard(host) && out.size < MAX_NAMED) out.add(host);
  };
  for (const [, patterns] of spec.servers ?? []) {
    for (const pattern of patterns) {
      const m = /^https:\/\/([^/]+)/i.exec(pattern.trim());
      if (m?.[1]) add(m[1]);
    }
  }
  for (const c of spec.credentials) if (c.scheme === 'https') c.hosts.forEach(add);
  return [...out];
}
