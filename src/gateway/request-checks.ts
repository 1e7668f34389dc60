/**
 * Checks on a request before anything else looks at it: the Host it names (DNS-rebinding
 * protection), the Origin a browser sent, and the MCP protocol version. Pure.
 */
import { parseAuthority } from '../proxy/proxy-auth.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface HostPolicy {
  /** Allowed `host` names (no port) besides loopback names; '*' allows any. */
  hosts: string[];
}

/** The Host header names this gateway (or a name the operator allowed). */
export function hostAllowed(hostHeader: string | undefined, p: HostPolicy, defaultPort: number): boolean {
  if (hostHeader === undefined) return false;
  const a = parseAuthority(hostHeader, defaultPort);
  if (!a) return false;
  if (p.hosts.includes('*')) return true;
  const name = a.host.toLowerCase();
  return isLoopbackHost(name) || p.hosts.some((h) => h.toLowerCase() === name);
}

/**
 * No Origin (not a browser) passes; a browser's Origin must be loopback or listed
 * (`--allowed-origins`, exact `scheme://host[:port]`, or '*').
 */
export function originAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes('*')) return true;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  if (
    (u.protocol === 'http:' || u.protocol === 'https:') &&
    isLoopbackHost(u.hostname.replace(/^\[|\]$/g, ''))
  )
    return true;
  return allowed.some((a) => a.replace(/\/$/, '').toLowerCase() === u.origin.toLowerCase());
}

export interface VersionPolicy {
  mode: 'passthrough' | 'strict';
  versions: readonly string[];
}

/**
 * strict: a request naming another version is refused. The header is absent on a first
 * `initialize` (the version is in its body, checked in the answer's `protocolVersion`).
 */
export function versionAllowed(header: string | undefined, p: VersionPolicy): boolean {
  if (p.mode !== 'strict' || header === undefined) return true;
  return p.versions.includes(header);
}
