/**
 * Who is calling: `gov serve`'s edge authentication. Bearer tokens are checked against the
 * stored hashes; client certificates were already verified by the TLS handshake (`--client-ca`),
 * so here a certificate only names its holder.
 */
import type { IncomingMessage } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { TokenVerifier } from './serve-tokens.js';

export type AuthMode = 'none' | 'bearer' | 'mtls' | 'bearer_or_mtls';
export const AUTH_MODES: readonly AuthMode[] = ['none', 'bearer', 'mtls', 'bearer_or_mtls'];

export type AuthResult =
  { ok: true; principal: string | undefined } | { ok: false; status: 401; reason: string; challenge: string };

/** `cert:CN=alice,O=Example;san=DNS:alice.example` — subject and SANs, as the audit shows them. */
export function certPrincipal(cert: PeerCertificate): string {
  const subject = Object.entries(cert.subject ?? {})
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(',');
  const san = cert.subjectaltname ? `;san=${cert.subjectaltname.replace(/, /g, ',')}` : '';
  return `cert:${subject}${san}`;
}

/** The principal a bearer token named `name` authenticates. */
export function tokenPrincipal(name: string): string {
  return `token:${name}`;
}

function verifiedCert(req: IncomingMessage): PeerCertificate | null {
  const s = req.socket as TLSSocket;
  if (typeof s.getPeerCertificate !== 'function' || !s.authorized) return null;
  const c = s.getPeerCertificate();
  return c && Object.keys(c).length > 0 ? c : null;
}

function bearerOf(req: IncomingMessage): string | null | undefined {
  const h = req.headers['authorization'];
  if (h === undefined) return undefined;
  const m = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(h);
  return m ? m[1]! : null;
}

export function authenticate(req: IncomingMessage, mode: AuthMode, tokens: TokenVerifier | null): AuthResult {
  if (mode === 'none') return { ok: true, principal: undefined };
  if (mode === 'mtls' || mode === 'bearer_or_mtls') {
    const cert = verifiedCert(req);
    if (cert) return { ok: true, principal: certPrincipal(cert) };
    // mtls alone: the handshake refused clients without a valid certificate already.
  }
  const bearer = bearerOf(req);
  const realm = 'Bearer realm="gov serve"';
  if (bearer === undefined) return { ok: false, status: 401, reason: 'no bearer token', challenge: realm };
  const name = bearer && tokens ? tokens.verify(bearer) : null;
  if (name === null)
    return {
      ok: false,
      status: 401,
      reason: 'invalid bearer token',
      challenge: `${realm}, error="invalid_token"`,
    };
  return { ok: true, principal: tokenPrincipal(name) };
}
