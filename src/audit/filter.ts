import { usageError } from '../errors.js';
import { nameGlob } from '../policy/glob.js';
import type { AuditRecord, DecisionKind } from '../types.js';

/** What `gov audit tail` can select on; every given criterion must match. */
export interface AuditFilterSpec {
  decision?: string;
  /** Glob over the tool name (or resource URI): `*` any run of characters, `?` one. */
  tool?: string;
  /** Server registry name (or the exact server URL). */
  server?: string;
  /** Run id: exact, a prefix, or the short suffix shown in tables. */
  run?: string;
  /** Only records with a shadow decision (what shadow mode would have blocked or held). */
  shadow?: boolean;
}

export type AuditFilter = (r: AuditRecord) => boolean;

const DECISIONS: readonly DecisionKind[] = ['allow', 'deny', 'approve'];

/** Compile the flags once into one predicate (throws a usage error for a bad --decision). */
export function compileFilter(spec: AuditFilterSpec = {}): AuditFilter {
  const tests: AuditFilter[] = [];
  if (spec.decision !== undefined) {
    const d = spec.decision;
    if (!(DECISIONS as readonly string[]).includes(d)) {
      throw usageError(`audit tail: --decision must be one of ${DECISIONS.join(', ')} (got '${d}')`);
    }
    tests.push((r) => r.decision === d);
  }
  if (spec.tool !== undefined) {
    // The gov.yaml tool-name dialect, so a pattern selects here what it matches in a rule.
    const glob = nameGlob(spec.tool);
    tests.push((r) => {
      const target = r.tool ?? r.uri;
      return typeof target === 'string' && glob.test(target);
    });
  }
  if (spec.server !== undefined) {
    const s = spec.server;
    tests.push(
      (r) => r.server !== undefined && r.server !== null && (r.server.name === s || r.server.url === s),
    );
  }
  if (spec.run !== undefined) {
    const id = spec.run;
    tests.push((r) => r.run === id || r.run.startsWith(id) || r.run.endsWith(`-${id}`));
  }
  if (spec.shadow === true) tests.push((r) => r.shadow_decision !== undefined);
  return (r) => tests.every((t) => t(r));
}
