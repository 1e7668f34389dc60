/**
 * Session taint: once a server's answer carried a secret or a prompt-injection pattern, the
 * run is tainted for good, and policy sees it as `run.tainted` / `run.taint_sources`. Under
 * `gov serve` one run carries many clients, so taint is kept per gateway session instead: the
 * client's `Mcp-Session-Id` on the route it came through (an id is only its server's name
 * for the session: another server may issue the same), else (2026-07-28 stateless traffic)
 * its principal, on every route.
 */
import type { Envelope, JsonValue, ServerIdentity } from '../types.js';
import { findInjectionIn } from '../safety/injection.js';
import type { AlertFacts } from './call-records.js';
import { targetOf } from './call-events.js';

/** Why an answer taints the run (`redactions`: what redaction replaced in it), else null. */
export function taintIn(result: JsonValue, redactions: Record<string, number>): string | null {
  const kinds = Object.keys(redactions);
  if (kinds.length > 0) return `a secret (${kinds.join(', ')})`;
  const injection = findInjectionIn(result);
  return injection === null ? null : `an injection pattern (${injection})`;
}

/** What one taint covers: the run, or one gateway session. */
export interface TaintScope {
  key: string;
  /** For the alert: "run", "gateway session abc…", "gateway principal token:ci". */
  label: string;
}

const RUN: TaintScope = { key: '', label: 'run' };

/** What says whose taint it is: the transport, and under `gov serve` the session or client. */
type ScopeFacts = Pick<Envelope, 'transport' | 'sessionId' | 'principal' | 'route'>;

export function taintScopeOf(env: ScopeFacts): TaintScope {
  if (env.transport !== 'gateway') return RUN;
  if (env.sessionId !== undefined)
    return {
      // The gateway binds a session to its route and to the principal that opened it.
      key: `session:${JSON.stringify([env.principal ?? null, env.route ?? null, env.sessionId])}`,
      label: `gateway session ${env.sessionId.slice(0, 64)}${env.route !== undefined ? ` on ${env.route}` : ''}`,
    };
  if (env.principal !== undefined)
    return { key: `principal:${env.principal}`, label: `gateway principal ${env.principal}` };
  // Stateless traffic with no authentication: every client is the same unknown client.
  return { key: 'anonymous', label: 'gateway (unauthenticated clients)' };
}

/**
 * Tainted scopes, each with the audit ids of the calls whose output tainted it, in order.
 * Bounded: beyond MAX_SCOPES the oldest tainted gateway scope of the principal that taints
 * one more is forgotten (the oldest of anyone's only when it has no other), so one client's
 * many tainted sessions never clear another's; a run's own taint is never dropped.
 */
export const MAX_SCOPES = 100_000;
const NONE: readonly string[] = [];

interface Tainted {
  principal: string | undefined;
  /** The audit ids (or unmatched-answer sources) that tainted it, in order. */
  ids: string[];
}

export class SessionTaint {
  private readonly scopes = new Map<string, Tainted>();

  /** The calls that tainted the scope of `env` (empty when it is clean). */
  sourcesFor(env: Envelope): readonly string[] {
    return this.scopes.size === 0 ? NONE : (this.scopes.get(taintScopeOf(env).key)?.ids ?? NONE);
  }

  /** For a held call's reason: ` [run tainted by <ids>]`, or '' when its scope is clean. */
  note(env: Envelope): string {
    const ids = this.sourcesFor(env);
    return ids.length === 0 ? '' : ` [${taintScopeOf(env).label} tainted by ${ids.join(', ')}]`;
  }

  /** Records a source for the scope of `env`; false if that call already tainted it. */
  add(env: ScopeFacts, auditId: string): boolean {
    const { key } = taintScopeOf(env);
    const scope = this.scopes.get(key);
    if (scope?.ids.includes(auditId)) return false;
    if (scope) scope.ids.push(auditId);
    else this.scopes.set(key, { principal: env.principal, ids: [auditId] });
    if (this.scopes.size > MAX_SCOPES) this.forgetOneFor(env.principal, key);
    return true;
  }

  /** Forgets the oldest gateway scope of `principal` other than `kept`, else the oldest. */
  private forgetOneFor(principal: string | undefined, kept: string): void {
    let oldest: string | undefined;
    for (const [k, s] of this.scopes) {
      if (k === RUN.key || k === kept) continue;
      oldest ??= k;
      if (s.principal === principal) {
        oldest = k;
        break;
      }
    }
    if (oldest !== undefined) this.scopes.delete(oldest);
  }
}

/** The alert that names the call whose output tainted its run or gateway session. */
export function taintAlert(source: { env: Envelope; auditId: string }, why: string): AlertFacts {
  const { env, auditId } = source;
  const target = targetOf(env);
  const scope = taintScopeOf(env);
  return {
    reason: `${scope.label} tainted: the output of ${env.method} ${target} (audit ${auditId}) contained ${why}`,
    server: { name: env.server.name, url: env.server.url },
    transport: env.transport,
    ...(env.principal !== undefined ? { principal: env.principal } : {}),
    detail: {
      taint_source: auditId,
      tool: target,
      why,
      ...(scope.key !== '' ? { taint_scope: scope.label } : {}),
    },
  };
}

/** The alert for an answer that matched no call (`source`: `unmatched-answer:<id>`). */
export function unmatchedTaintAlert(
  origin: ScopeFacts & { server: ServerIdentity },
  source: string,
  why: string,
): AlertFacts {
  const scope = taintScopeOf(origin);
  return {
    reason: `${scope.label} tainted: an answer from ${origin.server.name ?? origin.server.url} that matches no call gov forwarded on its stream (${source}) contained ${why}`,
    server: { name: origin.server.name, url: origin.server.url },
    transport: origin.transport,
    ...(origin.principal !== undefined ? { principal: origin.principal } : {}),
    detail: { taint_source: source, why, ...(scope.key !== '' ? { taint_scope: scope.label } : {}) },
  };
}
