/**
 * Session taint: once a server's answer carried a secret or a prompt-injection pattern, the
 * run is tainted for good, and policy sees it as `run.tainted` / `run.taint_sources`.
 */
import type { JsonValue } from '../types.js';
import { findInjection } from '../safety/injection.js';

/** Why an answer taints the run (`redactions`: what redaction replaced in it), else null. */
export function taintIn(result: JsonValue, redactions: Record<string, number>): string | null {
  const kinds = Object.keys(redactions);
  if (kinds.length > 0) return `a secret (${kinds.join(', ')})`;
  const injection = findInjection(JSON.stringify(result));
  return injection === null ? null : `an injection pattern (${injection})`;
}

export class RunTaint {
  /** Audit ids of the calls whose output tainted the run, in order. */
  private readonly ids: string[] = [];

  get sources(): readonly string[] {
    return this.ids;
  }

  /** Records a source; false if that call already tainted the run. */
  add(auditId: string): boolean {
    if (this.ids.includes(auditId)) return false;
    this.ids.push(auditId);
    return true;
  }
}
