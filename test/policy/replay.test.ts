import { describe, expect, it } from 'vitest';
import { isDecisionRecord, replayAudit } from '../../src/policy/replay.js';
import type { AuditRecord } from '../../src/types.js';
import { policy } from './helpers.js';

let seq = 0;
function rec(over: Partial<AuditRecord>): AuditRecord {
  seq++;
  return {
    v: 1,
    id: `run-1.${seq}`,
    ts: '2026-01-01T00:00:00.000Z',
    run: 'run-1',
    seq,
    kind: 'call',
    transport: 'stdio',
    server: { name: 'fs', url: 'stdio:fs' },
    method: 'tools/call',
    tool: 'write_file',
    args: {},
    decision: 'allow',
    rule: 'w',
    status: 'forwarded',
    prev: null,
    hash: 'x',
    ...over,
  };
}

const RATE = policy(
  'version: 1\nrules:\n  - id: w\n    tool: write_file\n    decision: allow\n    constraints: { rate: 2/min }\n',
);

describe('replay', () => {
  it('replays a rate limit exactly with the recorded decision clock, not the wall clock', () => {
    const at = (ms: number, decision: 'allow' | 'deny') =>
      rec({ decision, status: decision === 'allow' ? 'forwarded' : 'denied', detail: { clock_ms: ms } });
    // Two calls in a minute pass, the third in that minute is refused, one a minute later passes.
    const records = [at(0, 'allow'), at(10_000, 'allow'), at(20_000, 'deny'), at(70_000, 'allow')];
    expect(replayAudit(RATE, records)).toMatchObject({ replayed: 4, changed: [], transitions: [] });
    // The same calls 10 s apart would all have been refused from the third: the clock matters.
    const fast = [at(0, 'allow'), at(1, 'allow'), at(2, 'deny'), at(3, 'allow')];
    expect(replayAudit(RATE, fast).changed).toEqual([
      expect.objectContaining({ from: 'allow', to: 'deny', old_rule: 'w', new_rule: 'w' }),
    ]);
  });

  it('skips outcome and approval records; counts older records but reports only the window', () => {
    const outcome = rec({ status: 'ok', detail: { call_id: 'run-1.1' } });
    expect(isDecisionRecord(outcome)).toBe(false);
    expect(isDecisionRecord(rec({ kind: 'approval', status: 'approved' }))).toBe(false);
    const deny = policy('version: 1\nrules:\n  - id: d\n    tool: write_file\n    decision: deny\n');
    const early = rec({ ts: '2026-01-01T00:00:00.000Z' });
    const late = rec({ ts: '2026-01-02T00:00:00.000Z' });
    const r = replayAudit(deny, [early, outcome, late], (x) => x.ts >= '2026-01-02');
    expect(r.replayed).toBe(1);
    expect(r.changed.map((c) => c.id)).toEqual([late.id]);
  });

  it('flags a redacted record only when a condition reads the arguments', () => {
    const redacted = rec({ args: { body: '[REDACTED:github_token]' }, redactions: { github_token: 1 } });
    const onArgs = policy(
      'version: 1\nrules:\n  - id: c\n    tool: write_file\n    when: args.body.contains("x")\n    decision: deny\n',
    );
    expect(replayAudit(onArgs, [redacted]).not_replayable).toEqual([
      { id: redacted.id, reason: expect.stringContaining("rule 'c'") },
    ]);
    const onRun = policy(
      'version: 1\nrules:\n  - id: c\n    tool: write_file\n    when: run.id == "run-1"\n    decision: deny\n',
    );
    expect(replayAudit(onRun, [redacted])).toMatchObject({ not_replayable: [], changed: [{ to: 'deny' }] });
  });
});
