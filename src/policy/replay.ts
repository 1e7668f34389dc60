/**
 * `gov policy replay`: re-decide the calls recorded in the audit under another policy and
 * say what would change. Pure and deterministic: decide() reads no clock, and constraints
 * run on a fresh tracker per run fed with the decision clock each record carries.
 */
import type { AuditRecord, DecisionKind, JsonValue } from '../types.js';
import { isPlainObject } from '../types.js';
import type { CompiledPolicy, PolicyInput } from './compiled.js';
import { ConstraintTracker } from './constraints.js';

export interface ReplayChange {
  id: string;
  ts: string;
  run: string;
  tool: string | null;
  server: string | null;
  from: DecisionKind;
  to: DecisionKind;
  old_rule: string | null;
  new_rule: string;
}

export interface ReplayReport {
  /** Decision records re-decided (changed or not). */
  replayed: number;
  transitions: Array<{ from: DecisionKind; to: DecisionKind; count: number }>;
  changed: ReplayChange[];
  not_replayable: Array<{ id: string; reason: string }>;
}

const DECISION_STATUSES = new Set(['forwarded', 'denied', 'held']);

/** The record written when a call was decided (not its outcome or approval record). */
export function isDecisionRecord(r: AuditRecord): boolean {
  return (
    r.kind === 'call' &&
    r.decision !== undefined &&
    r.status !== undefined &&
    DECISION_STATUSES.has(r.status) &&
    r.detail?.['call_id'] === undefined &&
    r.method !== undefined &&
    r.server !== undefined
  );
}

function isRedacted(r: AuditRecord): boolean {
  if (r.redactions && Object.keys(r.redactions).length > 0) return true;
  return JSON.stringify(r.args ?? {}).includes('[REDACTED:');
}

function inputOf(policy: CompiledPolicy, r: AuditRecord): PolicyInput {
  const server = r.server ?? { name: null, url: '' };
  const http = r.transport !== 'stdio';
  const args: JsonValue = r.args ?? {};
  const input: PolicyInput = {
    // A registry name is re-resolved under the new policy; a stdio server keeps its --name.
    server: http ? { name: policy.resolveServer(server.url), url: server.url } : server,
    transport: r.transport ?? (http ? 'http' : 'stdio'),
    method: r.method ?? 'tools/call',
    args: isPlainObject(args) ? args : {},
    run: r.run,
  };
  if (r.tool !== undefined) input.tool = r.tool;
  if (r.uri !== undefined) input.uri = r.uri;
  if (r.principal !== undefined) input.principal = r.principal;
  const taint = r.detail?.['taint_sources'];
  if (Array.isArray(taint)) input.taintSources = taint.filter((x): x is string => typeof x === 'string');
  return input;
}

function clockOf(r: AuditRecord): number {
  const c = r.detail?.['clock_ms'];
  return typeof c === 'number' ? c : Date.parse(r.ts);
}

/**
 * `records`: every record of the runs to replay, each run's in order (so counters build up
 * as they did live). Only records with `report(r)` true are counted and listed.
 */
export function replayAudit(
  policy: CompiledPolicy,
  records: Iterable<AuditRecord>,
  report: (r: AuditRecord) => boolean = () => true,
): ReplayReport {
  const trackers = new Map<string, ConstraintTracker>();
  const counts = new Map<string, { from: DecisionKind; to: DecisionKind; count: number }>();
  const out: ReplayReport = { replayed: 0, transitions: [], changed: [], not_replayable: [] };
  for (const r of records) {
    if (!isDecisionRecord(r)) continue;
    const shown = report(r);
    const input = inputOf(policy, r);
    if (isRedacted(r)) {
      const rule = policy.argsConditionFor(input);
      if (rule !== undefined) {
        if (shown)
          out.not_replayable.push({
            id: r.id,
            reason: `arguments were redacted in the audit and rule '${rule}' has a when condition on them`,
          });
        continue;
      }
    }
    let d = policy.decide(input);
    if (d.decision === 'allow' && d.constraints) {
      let t = trackers.get(r.run);
      if (!t) trackers.set(r.run, (t = new ConstraintTracker()));
      const c = t.check(d.rule, d.constraints, clockOf(r), input.principal);
      if (!c.ok) d = { decision: 'deny', rule: d.rule, reason: c.reason };
    }
    if (!shown) continue;
    out.replayed++;
    // In shadow mode the call went through; what the policy would have done is the baseline.
    const from: DecisionKind | undefined = r.shadow_decision ?? r.decision;
    if (from === undefined) continue; // not a decision record
    if (from === d.decision) continue;
    const key = `${from}>${d.decision}`;
    const t = counts.get(key) ?? { from, to: d.decision, count: 0 };
    t.count++;
    counts.set(key, t);
    out.changed.push({
      id: r.id,
      ts: r.ts,
      run: r.run,
      tool: r.tool ?? r.uri ?? null,
      server: r.server?.name ?? r.server?.url ?? null,
      from,
      to: d.decision,
      old_rule: r.shadow_rule ?? r.rule ?? null,
      new_rule: d.rule,
    });
  }
  out.transitions = [...counts.values()];
  return out;
}
