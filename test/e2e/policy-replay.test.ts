import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { GOV_BIN, ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { childEnv } from '../helpers/approval-peers.js';

const SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'stdio-server.mjs');
const TOKEN = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';

const OLD = `version: 1
default: allow
rules:
  - id: no-shell
    tool: "shell*"
    decision: deny
  - id: bounded-echo
    tool: echo
    decision: allow
    constraints: { max_calls: 2, rate: 100/min }
`;

// Flips two rules (shell allowed, big held), keeps the echo limit, and adds a condition on
// an argument the audit only has redacted.
const NEW = `version: 1
default: allow
rules:
  - id: shell-ok
    tool: "shell*"
    decision: allow
  - id: bounded-echo
    tool: echo
    decision: allow
    constraints: { max_calls: 2, rate: 100/min }
  - id: big-needs-human
    tool: big
    decision: approve
  - id: leak-check
    tool: leak
    when: args.note == "x"
    decision: deny
`;

interface Report {
  transitions: Array<{ from: string; to: string; count: number }>;
  changed: Array<Record<string, unknown>>;
  not_replayable: Array<{ id: string; reason: string }>;
}

describe('gov policy replay over the audit of a real gov mcp wrap run', () => {
  let home: string;

  beforeAll(async () => {
    home = tempHome();
    writeFileSync(join(home, 'old.yaml'), OLD);
    writeFileSync(join(home, 'new.yaml'), NEW);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [
        GOV_BIN,
        'mcp',
        'wrap',
        '--policy',
        join(home, 'old.yaml'),
        '--name',
        'files',
        '--',
        process.execPath,
        SERVER,
      ],
      env: childEnv({ GOV_HOME: home }),
      stderr: 'pipe',
    });
    const client = new Client({ name: 'gov-e2e-replay', version: '1.0.0' });
    await client.connect(transport);
    // Denials come back as JSON-RPC errors; the audit is what this test is about.
    const call = (name: string, args: Record<string, unknown>) =>
      client.callTool({ name, arguments: args }).catch(() => undefined);
    await call('shell_exec', { cmd: 'ls' });
    for (const text of ['a', 'b', 'c']) await call('echo', { text });
    await call('big', { bytes: 3 });
    await call('leak', { note: TOKEN });
    await client.close();
  }, 60_000);

  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('counts the transitions, lists the changed calls and flags redacted arguments', async () => {
    const r = await runGov(['policy', 'replay', '--policy', join(home, 'new.yaml'), '--json'], {
      env: { GOV_HOME: home },
    });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.transitions).toEqual(
      expect.arrayContaining([
        { from: 'deny', to: 'allow', count: 1 },
        { from: 'allow', to: 'approve', count: 1 },
      ]),
    );
    expect(report.transitions).toHaveLength(2);
    // The third echo was refused by max_calls live and is refused again: counters replay.
    expect(report.changed.map((c) => [c['tool'], c['from'], c['to'], c['old_rule'], c['new_rule']])).toEqual([
      ['shell_exec', 'deny', 'allow', 'no-shell', 'shell-ok'],
      ['big', 'allow', 'approve', 'default', 'big-needs-human'],
    ]);
    expect(report.changed[0]).toMatchObject({
      server: 'files',
      run: expect.any(String),
      id: expect.any(String),
    });
    expect(Object.keys(report.changed[0] ?? {}).sort()).toEqual(
      ['from', 'id', 'new_rule', 'old_rule', 'run', 'server', 'to', 'tool', 'ts'].sort(),
    );
    expect(report.not_replayable).toEqual([
      { id: expect.any(String), reason: expect.stringContaining("rule 'leak-check'") },
    ]);
    expect(r.stdout).not.toContain(TOKEN);
  });

  it('replays the old policy onto itself with no change, and a tighter limit exactly', async () => {
    const same = await runGov(['policy', 'replay', '--policy', join(home, 'old.yaml'), '--json'], {
      env: { GOV_HOME: home },
    });
    expect(JSON.parse(same.stdout)).toEqual({ transitions: [], changed: [], not_replayable: [] });
    writeFileSync(join(home, 'tight.yaml'), OLD.replace('max_calls: 2', 'max_calls: 1'));
    const tight = await runGov(['policy', 'replay', '--policy', join(home, 'tight.yaml')], {
      env: { GOV_HOME: home },
    });
    expect(tight.code).toBe(0);
    expect(tight.stdout).toMatch(
      /^replayed \d+ calls under .*tight\.yaml: 1 would change\n {2}allow → deny\t1\n/,
    );
    expect(tight.stdout).toMatch(/echo on files {2}allow → deny {2}\(rule bounded-echo → bounded-echo\)/);
  });
});
