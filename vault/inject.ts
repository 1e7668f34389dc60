/**
 * Credential injection: the agent holds only placeholders (`gov-ph-<name>-<random>`); gov
 * puts the real secret into the bound header for bound hosts, and blocks a request that
 * carries a placeholder anywhere it is not bound (another host, another header, the URL,
 * the body — so also MCP tool arguments).
 */
import { randomBytes } from 'node:crypto';
import { GovError } from '../src/errors.js';
import type { CredentialBinding } from '../src/policy/compiled.js';
import { base64Cores } from '../src/safety/base64.js';

export type { CredentialBinding };

export type HostMatcher = (globs: string[], host: string, port: number, defaultPort: number) => boolean;

export interface CredentialInjectorOptions {
  bindings: CredentialBinding[];
  /** Vault entry name → value (Vault#values()). */
  secrets: Map<string, string>;
  hostMatches: HostMatcher;
}

export interface LeakCheckRequest {
  host: string;
  port: number;
  defaultPort: number;
  headers: Record<string, string | string[] | undefined>;
  url: string;
  body?: Uint8Array | string;
}

export interface PlaceholderLeak {
  /** The vault entry whose placeholder was found (a name, never a value). */
  secret: string;
  where: `header:${string}` | 'url' | 'body';
}

export interface CredentialInjector {
  /** Child env var name → placeholder; unique per injector (per run). */
  placeholders(): Record<string, string>;
  /** [header, formatted secret] for every binding whose hosts match. */
  headersFor(host: string, port: number, defaultPort: number): Array<[string, string]>;
  findLeak(req: LeakCheckRequest): PlaceholderLeak | null;
}

/** A placeholder as the child sees it: recognisable, unguessable, free of URL/JSON-special characters. */
export function makePlaceholder(secret: string): string {
  return `gov-ph-${secret}-${randomBytes(12).toString('hex')}`;
}

function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    // malformed escapes: decode what decodes
    return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (m) => {
      try {
        return decodeURIComponent(m);
      } catch {
        return m;
      }
    });
  }
}

function jsonUnescape(s: string): string {
  if (!s.includes('\\u')) return s;
  return s.replace(/\\u([0-9A-Fa-f]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

interface Needle {
  secret: string;
  /** Forms searched verbatim in the (decoded) text. */
  forms: string[];
}

export function createCredentialInjector(opts: CredentialInjectorOptions): CredentialInjector {
  const placeholderOf = new Map<string, string>();
  const valueOf = new Map<string, string>();
  for (const b of opts.bindings) {
    const value = opts.secrets.get(b.secret);
    if (value === undefined) {
      throw new GovError('vault', `credentials bind the secret '${b.secret}', which is not in the vault`, {
        hint: `store it with 'gov vault set ${b.secret}'`,
      });
    }
    if (/[\r\n\0]/.test(value)) {
      // Would split or truncate the header it is injected into.
      throw new GovError(
        'vault',
        `the vault value of '${b.secret}' contains a line break and cannot be sent in a header`,
        {
          hint: `set it again with 'gov vault set ${b.secret}'`,
        },
      );
    }
    valueOf.set(b.secret, value);
    if (!placeholderOf.has(b.secret)) placeholderOf.set(b.secret, makePlaceholder(b.secret));
  }

  const needles: Needle[] = [...placeholderOf].map(([secret, ph]) => ({
    secret,
    forms: [ph, ...base64Cores(ph), ...base64Cores(ph, { urlSafe: true })],
  }));

  const boundHeaders = (secret: string, host: string, port: number, defaultPort: number): Set<string> => {
    const out = new Set<string>();
    for (const b of opts.bindings) {
      if (b.secret === secret && opts.hostMatches(b.hosts, host, port, defaultPort))
        out.add(b.header.toLowerCase());
    }
    return out;
  };

  /** The secrets whose placeholder occurs in text: raw, percent-decoded, JSON-unescaped or base64. */
  const findAll = (text: string, firstOnly: boolean): string[] => {
    if (text.length < 8) return [];
    const variants = [text];
    const pd = percentDecode(text);
    if (pd !== text) variants.push(pd);
    const ju = jsonUnescape(text);
    if (ju !== text) variants.push(ju);
    const found: string[] = [];
    for (const n of needles) {
      if (variants.some((v) => n.forms.some((f) => v.includes(f)))) {
        found.push(n.secret);
        if (firstOnly) break;
      }
    }
    return found;
  };

  return {
    placeholders() {
      const env: Record<string, string> = {};
      for (const b of opts.bindings) if (b.env) env[b.env] = placeholderOf.get(b.secret)!;
      return env;
    },
    headersFor(host, port, defaultPort) {
      const out: Array<[string, string]> = [];
      for (const b of opts.bindings) {
        if (!opts.hostMatches(b.hosts, host, port, defaultPort)) continue;
        out.push([b.header, b.format.split('{secret}').join(valueOf.get(b.secret)!)]);
      }
      return out;
    },
    findLeak(req) {
      if (needles.length === 0) return null;
      for (const [name, raw] of Object.entries(req.headers)) {
        if (raw === undefined) continue;
        const lname = name.toLowerCase();
        for (const value of Array.isArray(raw) ? raw : [raw]) {
          for (const secret of findAll(value, false)) {
            // In its own bound header on a bound host the placeholder is replaced by the real value.
            if (!boundHeaders(secret, req.host, req.port, req.defaultPort).has(lname)) {
              return { secret, where: `header:${lname}` };
            }
          }
        }
      }
      const [inUrl] = findAll(req.url, true);
      if (inUrl !== undefined) return { secret: inUrl, where: 'url' };
      if (req.body !== undefined) {
        const text =
          typeof req.body === 'string'
            ? req.body
            : new TextDecoder('utf-8', { fatal: false }).decode(req.body);
        const [inBody] = findAll(text, true);
        if (inBody !== undefined) return { secret: inBody, where: 'body' };
      }
      return null;
    },
  };
}
