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

/** MCP 2025-06-18: a server that gets no `MCP-Protocol-Version` SHOULD assume this version. */
export const ASSUMED_VERSION = '2025-03-26';

/**
 * The version a request speaks: the `MCP-Protocol-Version` it names. A request in a session
 * (`Mcp-Session-Id`) without the header speaks 2025-03-26, as its server assumes; one outside
 * any session names none (a first `initialize`, or the 2024-11-05 transport).
 */
export function requestVersion(
  header: string | undefined,
  sessionId: string | undefined,
): string | undefined {
  return header ?? (sessionId !== undefined ? ASSUMED_VERSION : undefined);
}

/**
 * strict: a request speaking another version is refused. None is named by a first `initialize`
 * (the version is in its body, and judged in the answer's `protocolVersion`).
 */
export function versionAllowed(version: string | undefined, p: VersionPolicy): boolean {
  if (p.mode !== 'strict' || version === undefined) return true;
  return p.versions.includes(version);
}
