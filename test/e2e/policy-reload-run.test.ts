import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { GOV_BIN, ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { auditRecords, jsonLines } from '../helpers/audit-records.js';
import { RELOAD_V1, RELOAD_V2 } from '../helpers/reload-policies.js';
import { eventually } from '../helpers/until.js';
import { pendingCalls } from '../helpers/approval-peers.js';
import { hasTmux, tmuxServer } from '../helpers/tmux.js';

/**
 * Issue 20's reload test on a live `gov run` with its TUI (in tmux): a valid edit decides the
 * next call, a held call keeps the decision it was held under, and an invalid edit keeps the
 * old policy with one line naming file:line:col, shown in the TUI (as is the run's taint).
 */
const AGENT = join(ROOT, 'test', 'fixtures', 'clients', 'fifo-agent.mjs');

interface Outcome {
  tag?: string;
  tool?: string;
  text?: string;
  error?: string;
  explanation?: string;
}

describe.skipIf(!hasTmux)('live policy reload in gov run (TUI in tmux)', () => {
  let pki: TestPki;
  let server: McpTestServer;
  let home: string;
  const { tmux, screen: screenOf, kill } = tmuxServer(`gov-reload-${process.pid}`);
  const screen = () => screenOf('reload', true);

  beforeAll(async () => {
    pki = makeTestPki();
    server = await startMcpServer(pki, 'stateless');
    home = tempHome();
  });
  afterAll(async () => {
    kill();
    await server?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('a valid edit decides the next call, a held call keeps its decision, an invalid edit is refused on screen', async () => {
    const policy = join(home, 'gov.yaml');
    const fifo = join(home, 'steps.fifo');
    const outFile = join(home, 'outcomes.jsonl');
    writeFileSync(policy, RELOAD_V1);
    execFileSync('mkfifo', [fifo]);
    tmux(
      'new-session',
      '-d',
      '-s',
      'reload',
      '-x',
      '200',
      '-y',
      '40',
      `env CI=true GOV_HOME=${home} ${process.execPath} ${GOV_BIN} run --policy ${policy} --upstream-ca ${pki.caPath} ` +
        `-- ${process.execPath} ${AGENT} ${server.url}/mcp ${fifo} ${outFile}; echo "GOV-EXIT=$?"; sleep 60`,
    );
    const outcomes = (): Outcome[] =>
      existsSync(outFile) ? jsonLines<Outcome>(readFileSync(outFile, 'utf8')) : [];
    const outcome = (tag: string) =>
      eventually(`outcome ${tag}`, () => outcomes().find((o) => o.tag === tag), 30_000);
    const step = (tag: string, tool: string, args: object) =>
      appendFileSync(fifo, JSON.stringify(['call', tool, args, tag]) + '\n');
    const save = (text: string) => {
      writeFileSync(`${policy}.tmp`, text);
      renameSync(`${policy}.tmp`, policy);
    };
    const shellRuns = () =>
      server.executed.filter((e) => e.tool === 'shell_exec').map((e) => (e.args as { cmd: string }).cmd);

    await eventually('the agent to connect', () => outcomes().find((o) => o.tag === undefined), 30_000);
    step('s1', 'shell_exec', { cmd: 'one' });
    const s1 = await outcome('s1');
    expect(s1.error).toContain("Denied by gov policy rule 'no-shell'");
    // The denial names the part of the rule that matched.
    expect(s1.explanation).toBe('tool "shell_exec" matched "shell_exec", any server');
    expect(shellRuns()).toEqual([]);

    step('held', 'echo', { text: 'hold' });
    const held = await eventually(
      'the held echo',
      async () => (await pendingCalls(home)).find((c) => c['tool'] === 'echo'),
      30_000,
    );
    expect(String(held['reason'])).toContain(
      '(matched: tool "echo" matched "echo", any server, when args.text == "hold" saw args.text = "hold")',
    );

    const oldDigest = auditRecords(home).find((r) => r['kind'] === 'run_start')?.['policy_digest'];
    save(RELOAD_V2);
    const reload = await eventually(
      'the policy_reload record',
      () => auditRecords(home).find((r) => r['kind'] === 'policy_reload'),
      30_000,
    );
    expect(reload['detail']).toMatchObject({ old_policy_digest: oldDigest });
    expect(reload['policy_digest']).not.toBe(oldDigest);
    step('s2', 'shell_exec', { cmd: 'two' });
    expect((await outcome('s2')).text).toBe('ran two');
    expect(shellRuns()).toEqual(['two']);

    // Held under RELOAD_V1 (approve); RELOAD_V2 would deny it, but it keeps the decision it was held under.
    const approved = await runGov(['approve', String(held['id'])], { env: { GOV_HOME: home } });
    expect(approved.code, approved.stderr).toBe(0);
    expect((await outcome('held')).text).toBe('echo: hold');
    // Its approval and outcome records name the policy it was decided under, not the new one.
    const approval = auditRecords(home).find((r) => r['kind'] === 'approval')!;
    expect(approval['policy_digest']).toBe(oldDigest);
    const callId = (approval['detail'] as { call_id: string }).call_id;
    const heldOutcome = await eventually(
      'the held call outcome',
      () =>
        auditRecords(home).find(
          (r) =>
            r['status'] === 'ok' && (r['detail'] as { call_id?: string } | undefined)?.call_id === callId,
        ),
      30_000,
    );
    expect(heldOutcome['policy_digest']).toBe(oldDigest);
    step('e2', 'echo', { text: 'hold' });
    const e2 = await outcome('e2');
    expect(e2.error).toContain("Denied by gov policy rule 'no-echo'");
    expect(e2.explanation).toContain('when args.text == "hold" saw args.text = "hold"');

    save('version: 1\nrules:\n  - id: broken\n    decison: deny\n');
    const expected = `gov: warning: policy not reloaded: ${policy}:4:5: unknown key 'decison'`;
    await eventually(
      'the reload error in the TUI',
      () => (screen().includes(expected) ? true : undefined),
      30_000,
    );
    step('s3', 'shell_exec', { cmd: 'three' });
    expect((await outcome('s3')).text).toBe('ran three');
    expect(shellRuns()).toEqual(['two', 'three']);
    expect(auditRecords(home).filter((r) => r['kind'] === 'policy_reload')).toHaveLength(1);

    // Session taint shows in the TUI too: a read that returned a secret taints the run.
    step('leak', 'leak', {});
    expect((await outcome('leak')).text).toContain('[REDACTED:');
    await eventually(
      'the taint line in the TUI',
      () =>
        /run tainted: the output of tools\/call leak \(audit \S+\) contained a secret/.test(screen())
          ? true
          : undefined,
      30_000,
    );

    appendFileSync(fifo, '["quit"]\n');
    const done = await eventually('gov to exit', () => /GOV-EXIT=\d+/.exec(screen())?.[0], 30_000);
    expect(done).toBe('GOV-EXIT=0');
  }, 120_000);
});
