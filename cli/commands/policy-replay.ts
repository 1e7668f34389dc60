/**
 * `gov policy replay --policy NEW [--since DURATION] [--run ID...] [--json]`: what would
 * change if NEW had decided the calls in the audit. Read-only; exits 0 whatever changes.
 */
import { usageError } from '../../src/errors.js';
import { homePaths } from '../../src/home.js';
import { listRunFiles, readRunFile } from '../../src/audit/reader.js';
import { loadPolicy } from '../../src/policy/load.js';
import { replayAudit, type ReplayReport } from '../../src/policy/replay.js';
import type { AuditRecord } from '../../src/types.js';
import { parseCommandArgs, parseDuration } from '../args.js';
import { locatePolicy } from './policy-locate.js';

/** Exact id, a prefix, or the short suffix `gov audit tail` shows (as its --run accepts). */
function runMatches(run: string, wanted: string[]): boolean {
  return wanted.some((id) => run === id || run.startsWith(id) || run.endsWith(`-${id}`));
}

function printText(policySource: string, r: ReplayReport): void {
  const n = r.changed.length;
  const lines = [
    `replayed ${r.replayed} call${r.replayed === 1 ? '' : 's'} under ${policySource}: ${n} would change`,
  ];
  for (const t of r.transitions) lines.push(`  ${t.from} → ${t.to}\t${t.count}`);
  if (n > 0) {
    lines.push('changed:');
    for (const c of r.changed)
      lines.push(
        `  ${c.ts}  ${c.run}  ${c.tool ?? '-'} on ${c.server ?? '-'}  ${c.from} → ${c.to}  (rule ${c.old_rule ?? '-'} → ${c.new_rule})  ${c.id}`,
      );
  }
  if (r.not_replayable.length > 0) {
    lines.push(`not exactly replayable (${r.not_replayable.length}):`);
    for (const x of r.not_replayable) lines.push(`  ${x.id}  ${x.reason}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function policyReplay(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('policy replay', argv, {
    policy: { type: 'string' },
    since: { type: 'string' },
    run: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0)
    throw usageError(
      `policy replay: unexpected argument '${positionals[0] ?? ''}'`,
      "see 'gov policy --help'",
    );
  if (values.policy === undefined)
    throw usageError(
      'policy replay: --policy NEW.yaml is required',
      'name the policy to try against the audit',
    );
  const cutoff = values.since !== undefined ? Date.now() - parseDuration(values.since, '--since') : null;
  const policy = loadPolicy(locatePolicy(values.policy));
  const wanted = values.run ?? [];

  const records: AuditRecord[] = [];
  for (const f of await listRunFiles(homePaths().audit)) {
    if (wanted.length > 0 && !runMatches(f.run, wanted)) continue;
    for (const line of (await readRunFile(f.path)).lines)
      if (line.kind === 'record') records.push(line.rec.record);
  }
  // Older records of a run still feed its counters; only the window is reported.
  const report = replayAudit(policy, records, (r) => cutoff === null || Date.parse(r.ts) >= cutoff);
  if (values.json)
    process.stdout.write(
      `${JSON.stringify({
        transitions: report.transitions,
        changed: report.changed,
        not_replayable: report.not_replayable,
      })}\n`,
    );
  else printText(policy.source, report);
  return 0;
}
