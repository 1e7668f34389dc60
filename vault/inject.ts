/**
 * Credential injection: the agent holds only placeholders (`gov-ph-<name>-<random>`); gov
 * puts the real secret into the bound header (and, with `inject: body`, in place of the
 * placeholder in the body) for the bound scheme, host and port only, and blocks a request
 * that carries a placeholder anywhere else (another host or port, plain HTTP, another
 * header, the URL, the body), raw or encoded.
 */
import { randomBytes } from 'node:crypto';
import { GovError } from '../src/errors.js';
import type { CredentialBinding } from '../src/policy/compiled.js';
import { createPlaceholderScanner } from '../src/safety/placeholder-scan.js';

export type { CredentialBinding };

export type HostMatcher = (globs: string[], host: string, port: number, defaultPort: number) => boolean;

export interface CredentialInjectorOptions {
  bindings: CredentialBinding[];
  /** Vault entry name → value (Vault#values()). */
  secrets: Map<string, string>;
  hostMatches: HostMatcher;
}

/** Where a request goes: the CONNECT target (https) or the absolute URL's authority (http). */
export interface RequestTarget {
  scheme: 'http' | 'https';
  host: string;
  port: number;
}

export interface OutgoingRequest {
  target: RequestTarget;
  /** Every header line as received, repeated ones included (IncomingMessage#rawHeaders). */
  rawHeaders: string[];
  /** The request URL (absolute or path + query). */
  url: string;
  /** The decoded body, when the request has one. */
  body?: Uint8Array | undefined;
  contentType?: string | undefined;
}

/** One secret put into one request: names only, never the value (an audit `detail` entry). */
export type Injection = {
  secret: string;
  /** `host:port` (IPv6 in brackets). */
  host: string;
  scheme: 'http' | 'https';
  into: string;
};

export interface PlaceholderLeak {
  /** The vault entry whose placeholder was found (a name, never a value). */
  secret: string;
  where: string;
  /** One sentence saying what was refused and, when it helps, how to send it instead. */
  message: string;
}

export type Inspection =
  | { ok: false; leak: PlaceholderLeak }
  | {
      ok: true;
      /** [header, formatted secret] to set, overwriting what the agent sent. */
      headers: Array<[string, string]>;
      /** The body with placeholders substituted (`inject: body`); absent when unchanged. */
      body?: Buffer;
      injected: Injection[];
    };

export interface CredentialInjector {
  /** Child env var name → placeholder; unique per injector (per run). */
  placeholders(): Record<string, string>;
  /** Check a request for placeholders and say what to inject into it. */
  inspect(req: OutgoingRequest): Inspection;
  /** Bindings that send a secret over plain HTTP (`scheme: http`), as `secret → http://host:port`. */
  plainHttp(): string[];
}

/** A placeholder as the child sees it: recognisable, unguessable, free of URL/JSON-special characters. */
export function makePlaceholder(secret: string): string {
  return `gov-ph-${secret}-${randomBytes(12).toString('hex')}`;
}

function hostPort(t: RequestTarget): string {
  return `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}

/** The secret as it must appear inside a body of this type. */
function encodeForBody(value: string, contentType: string | undefined): string {
  const ct = (contentType ?? '').toLowerCase();
  if (/^application\/([a-z0-9.+-]*\+)?json/.test(ct)) return JSON.stringify(value).slice(1, -1);
  if (ct.startsWith('application/x-www-form-urlencoded')) return encodeURIComponent(value);
  return value;
}

function replaceAll(body: Buffer, needle: Buffer, replacement: Buffer): { body: Buffer; count: number } {
  const parts: Buffer[] = [];
  let from = 0;
  let count = 0;
  for (let i = body.indexOf(needle); i !== -1; i = body.indexOf(needle, from)) {
    parts.push(body.subarray(from, i), replacement);
    from = i + needle.length;
    count++;
  }
  if (count === 0) return { body, count };
  parts.push(body.subarray(from));
  return { body: Buffer.concat(parts), count };
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
  const scanner = createPlaceholderScanner(placeholderOf);

  const bindingsFor = (t: RequestTarget): CredentialBinding[] =>
    opts.bindings.filter(
      (b) =>
        b.scheme === t.scheme && opts.hostMatches(b.hosts, t.host, t.port, t.scheme === 'https' ? 443 : 80),
    );

  /** Why a placeholder found at `where` is refused, in words that say what would work. */
  const leak = (
    secret: string,
    where: string,
    t: RequestTarget,
    here: CredentialBinding[],
  ): PlaceholderLeak => {
    const target = `${t.scheme}://${hostPort(t)}`;
    const own = here.filter((b) => b.secret === secret);
    let message: string;
    if (own.length === 0) {
      const bound = opts.bindings
        .filter((b) => b.secret === secret)
        .flatMap((b) => b.hosts.map((h) => `${b.scheme}://${h}`));
      message = `credential placeholder for '${secret}' sent to ${target} (${where}), which it is not bound to (bound: ${bound.join(', ')})`;
    } else if (where === 'body' && own.some((b) => b.inject.includes('body'))) {
      message = `credential placeholder for '${secret}' in the request body to ${target} in a form gov does not substitute (only the placeholder as written is replaced)`;
    } else {
      const into = own.filter((b) => b.inject.includes('header')).map((b) => b.header);
      const instead = into.length
        ? `gov injects it there only into the ${into.join(', ')} header — send the placeholder in that header`
        : 'gov does not inject it there';
      message = `credential placeholder for '${secret}' in the ${where} of a request to ${target}: ${instead}${where === 'body' ? ", or add 'inject: body' to the binding" : ''}`;
    }
    return { secret, where, message };
  };

  return {
    placeholders() {
      const env: Record<string, string> = {};
      for (const b of opts.bindings) if (b.env) env[b.env] = placeholderOf.get(b.secret)!;
      return env;
    },

    plainHttp() {
      return opts.bindings
        .filter((b) => b.scheme === 'http')
        .map((b) => `'${b.secret}' → ${b.hosts.map((h) => `http://${h}`).join(', ')}`);
    },

    inspect(req) {
      const t = req.target;
      const here = bindingsFor(t);
      const headerBindings = here.filter((b) => b.inject.includes('header'));
      // Headers gov overwrites never reach the server as sent; each may carry its own placeholder.
      const overwritten = new Map<string, Set<string>>();
      for (const b of headerBindings) {
        const h = b.header.toLowerCase();
        overwritten.set(h, (overwritten.get(h) ?? new Set()).add(b.secret));
      }
      if (placeholderOf.size > 0) {
        const sent: Array<[string, string]> = [];
        const names: string[] = [];
        for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
          const name = req.rawHeaders[i]!.toLowerCase();
          const value = req.rawHeaders[i + 1]!;
          names.push(name);
          const allowed = overwritten.get(name);
          if (!allowed) {
            sent.push([name, value]);
            continue;
          }
          for (const s of scanner.scan(value))
            if (!allowed.has(s)) return { ok: false, leak: leak(s, `header ${name}`, t, here) };
        }
        // Joined, so a placeholder split over several headers (or repeats of one) is still whole.
        for (const s of scanner.scan(sent.map(([, v]) => v).join(''))) {
          const single = sent.find(([, v]) => scanner.scan(v).has(s));
          const where = single ? `header ${single[0]}` : 'headers (split across several)';
          return { ok: false, leak: leak(s, where, t, here) };
        }
        for (const s of scanner.scan(names.join('')))
          return { ok: false, leak: leak(s, 'header names', t, here) };
        for (const s of scanner.scan(req.url)) return { ok: false, leak: leak(s, 'URL', t, here) };
      }

      const injected: Injection[] = [];
      const headers: Array<[string, string]> = [];
      for (const b of headerBindings) {
        headers.push([b.header, b.format.split('{secret}').join(valueOf.get(b.secret))]);
        injected.push({
          secret: b.secret,
          host: hostPort(t),
          scheme: t.scheme,
          into: `header:${b.header.toLowerCase()}`,
        });
      }
      if (req.body === undefined || req.body.length === 0) return { ok: true, headers, injected };

      let body = Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
      let changed = false;
      for (const secret of new Set(here.filter((b) => b.inject.includes('body')).map((b) => b.secret))) {
        const r = replaceAll(
          body,
          Buffer.from(placeholderOf.get(secret)!),
          Buffer.from(encodeForBody(valueOf.get(secret)!, req.contentType)),
        );
        if (r.count === 0) continue;
        body = r.body;
        changed = true;
        injected.push({ secret, host: hostPort(t), scheme: t.scheme, into: 'body' });
      }
      // What is left after substitution is a leak: another secret, or a form gov did not replace.
      for (const s of scanner.scan(body.toString('utf8')))
        return { ok: false, leak: leak(s, 'body', t, here) };
      return changed ? { ok: true, headers, body, injected } : { ok: true, headers, injected };
    },
  };
}
