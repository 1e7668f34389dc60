import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GOV = join(ROOT, 'bin', 'gov.js');
const SPEC_EXAMPLE = join(ROOT, 'test', 'fixtures', 'policy', 'spec-example.yaml');

let tmp: string;
let home: string;
let cwd: string;

function gov(args: string[], opts: { cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [GOV, ...args], {
    cwd: opts.cwd ?? cwd,
    env: { ...process.env, GOV_HOME: home, GOV_DEBUG: '' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// The built CLI (`npm test` builds first). Rebuilding here would rewrite dist/ under the
// other test files running at the same time.
beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'bundle', 'gov.cjs')))
    throw new Error('dist/ is missing: run `npm run build` before the CLI tests');
  tmp = mkdtempSync(join(tmpdir(), 'gov-cli-policy-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeEach((ctx) => {
  const dir = join(tmp, ctx.task.id);
  home = join(dir, 'home');
  cwd = join(dir, 'work');
  mkdirSync(home, { recursive: true });
  mkdirSync(cwd, { recursive: true });
});

describe('gov policy check', () => {
  it('validates a file given as an argument', () => {
    const r = gov(['policy', 'check', SPEC_EXAMPLE]);
    expect(r).toMatchObject({ code: 0, stdout: `ok: ${SPEC_EXAMPLE}: 6 rules\n` });
  });

  it('finds ./gov.yaml, then $GOV_HOME/policy.yaml, else the built-in default', () => {
    expect(gov(['policy', 'check'])).toMatchObject({ code: 0, stdout: 'ok: (built-in default): 0 rules\n' });
    writeFileSync(
      join(home, 'policy.yaml'),
      'version: 1\nrules:\n  - id: a\n    tool: x\n    decision: deny\n',
    );
    expect(gov(['policy', 'check']).stdout).toBe(`ok: ${join(home, 'policy.yaml')}: 1 rule\n`);
    writeFileSync(join(cwd, 'gov.yaml'), 'version: 1\n');
    expect(gov(['policy', 'check']).stdout).toBe('ok: gov.yaml: 0 rules\n');
  });

  it('exits 2 with every problem as file:line:col', () => {
    writeFileSync(join(cwd, 'bad.yaml'), 'version: 1\nrules:\n  - id: a\n    decison: deny\n');
    const r = gov(['policy', 'check', 'bad.yaml']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      "gov: bad.yaml:4:5: unknown key 'decison' (expected one of: id, server, tool, uri, method, when, decision, reason, timeout, constraints, mode)\n" +
        "gov: bad.yaml:3:5: missing required key 'decision'\n",
    );
  });

  it('exits 2 for a file that does not exist', () => {
    const r = gov(['policy', 'check', 'missing.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^gov: policy file missing\.yaml does not exist — /);
  });

  it('--help exits 0; unknown subcommands and flags exit 2', () => {
    expect(gov(['policy', '--help'])).toMatchObject({ code: 0 });
    expect(gov(['policy', 'check', '--help']).stdout).toContain('usage: gov policy check');
    expect(gov(['policy', 'frobnicate']).code).toBe(2);
    expect(gov(['policy', 'check', '--nope']).code).toBe(2);
  });
});

describe('gov policy eval', () => {
  const p = ['--policy', SPEC_EXAMPLE];

  it('prints decision, rule and reason', () => {
    expect(gov(['policy', 'eval', ...p, '--tool', 'shell_exec'])).toMatchObject({
      code: 0,
      stdout:
        'deny (rule no-shell): Shell tools are not allowed\n  matched: tool "shell_exec" matched "shell*", any server\n',
    });
  });

  it('--json prints exactly {decision, rule, reason}', () => {
    const r = gov(['policy', 'eval', ...p, '--tool', 'write_x', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      decision: 'allow',
      rule: 'bounded-writes',
      reason: 'tools/call of a tool matching write_* on any server',
    });
  });

  it('resolves a --server URL through the registry; a name is taken as is', () => {
    const url = ['--server', 'https://mcp.payments.internal/mcp', '--tool', 'refund'];
    expect(gov(['policy', 'eval', ...p, ...url, '--args', '{"amount": 10}']).stdout).toMatch(
      /^allow \(rule small-refunds\)/,
    );
    expect(gov(['policy', 'eval', ...p, ...url, '--args', '{"amount": 10000}']).stdout).toMatch(
      /^approve \(rule refunds\)/,
    );
    expect(gov(['policy', 'eval', ...p, '--server', 'github', '--tool', 'get_me']).stdout).toMatch(
      /^allow \(rule github-reads\)/,
    );
    expect(
      gov(['policy', 'eval', ...p, '--server', 'https://evil.example/mcp', '--tool', 'get_me']).stdout,
    ).toBe(
      'deny (rule unknown-server): server https://evil.example/mcp is not listed under servers (unknown_servers: deny)\n',
    );
  });

  it('evaluates other methods with --method and --uri', () => {
    const r = gov(['policy', 'eval', ...p, '--method', 'resources/read', '--uri', 'file:///srv/app/.env']);
    expect(r.stdout).toMatch(/^deny \(rule no-secret-reads\)/);
    expect(gov(['policy', 'eval', ...p, '--method', 'tools/list']).stdout).toMatch(
      /^allow \(rule discovery\)/,
    );
  });

  it('shows that default: deny governs data access, and only discovery is allowed without a rule', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gov-eval-deny-'));
    const deny = join(dir, 'gov.yaml');
    writeFileSync(deny, 'version: 1\ndefault: deny\n');
    expect(
      gov(['policy', 'eval', '--policy', deny, '--method', 'resources/read', '--uri', 'file:///etc/shadow'])
        .stdout,
    ).toBe(
      'deny (rule default): no rule matches resources/read of file:///etc/shadow; the policy default is deny\n',
    );
    expect(gov(['policy', 'eval', '--policy', deny, '--method', 'completion/complete']).stdout).toMatch(
      /^deny \(rule default\)/,
    );
    expect(gov(['policy', 'eval', '--policy', deny, '--method', 'resources/list']).stdout).toMatch(
      /^allow \(rule discovery\)/,
    );
  });

  it('uses the built-in default without a policy file', () => {
    expect(gov(['policy', 'eval', '--tool', 'x']).stdout).toBe(
      'approve (rule default): no rule matches tools/call of tool x; the policy default is approve\n',
    );
  });

  it('exits 2 on bad --args, a missing --tool, or a broken policy', () => {
    const bad = gov(['policy', 'eval', ...p, '--tool', 'x', '--args', '{nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^gov: policy eval: --args is not valid JSON/);
    expect(gov(['policy', 'eval', ...p, '--tool', 'x', '--args', '[1]']).code).toBe(2);
    expect(gov(['policy', 'eval', ...p]).code).toBe(2);
    writeFileSync(join(cwd, 'gov.yaml'), 'version: 1\ndefault: sometimes\n');
    const broken = gov(['policy', 'eval', '--tool', 'x']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(
      /^gov: gov\.yaml:2:10: expected one of allow, deny, approve, got 'sometimes' — /,
    );
  });
});

describe('gov policy test', () => {
  const POLICY = 'version: 1\nrules:\n  - id: no-shell\n    tool: "shell*"\n    decision: deny\n';
  const PASSING =
    'cases:\n  - name: shell is denied\n    call: {tool: shell_exec}\n    expect: {decision: deny, rule: no-shell}\n';

  it('finds gov.test.yaml beside the policy and exits 0 when every case passes', () => {
    mkdirSync(join(cwd, 'pol'));
    writeFileSync(join(cwd, 'pol', 'gov.yaml'), POLICY);
    writeFileSync(join(cwd, 'pol', 'gov.test.yaml'), PASSING);
    expect(gov(['policy', 'test', '--policy', 'pol/gov.yaml'])).toMatchObject({
      code: 0,
      stdout: 'ok\tpol/gov.test.yaml\t1 case\n',
    });
  });

  it('prints failing cases with expected and actual, exit 1; --json for machines', () => {
    writeFileSync(join(cwd, 'gov.yaml'), POLICY);
    writeFileSync(
      join(cwd, 't.yaml'),
      PASSING + '  - name: reads pass\n    call: {tool: read_file}\n    expect: {decision: allow}\n',
    );
    const r = gov(['policy', 'test', 't.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      '--- FAIL: reads pass (t.yaml:5:5)\n' +
        '    expected: allow\n' +
        '    actual:   approve (rule default): no rule matches tools/call of tool read_file; the policy default is approve\n' +
        'FAIL\tt.yaml\t1 of 2 cases failed\n',
    );
    const j = gov(['policy', 'test', 't.yaml', '--json']);
    expect(j.code).toBe(1);
    const out = JSON.parse(j.stdout) as { passed: number; failed: number; files: unknown[] };
    expect(out).toMatchObject({ policy: 'gov.yaml', passed: 1, failed: 1 });
    expect(out.files).toEqual([
      {
        file: 't.yaml',
        cases: [
          expect.objectContaining({ name: 'shell is denied', ok: true }),
          expect.objectContaining({
            name: 'reads pass',
            at: 't.yaml:5:5',
            ok: false,
            expected: { decision: 'allow' },
            actual: expect.objectContaining({ decision: 'approve', rule: 'default' }),
          }),
        ],
      },
    ]);
  });

  it('exits 2 on a malformed test file with file:line:col, and without a test file', () => {
    writeFileSync(
      join(cwd, 'bad.yaml'),
      'cases:\n  - name: x\n    call: {tool: a}\n    expect: {decison: deny}\n',
    );
    const r = gov(['policy', 'test', 'bad.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^gov: bad\.yaml:4:14: unknown key 'decison'/);
    const none = gov(['policy', 'test']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^gov: policy test: no test file \(looked for gov\.test\.yaml\) — /);
  });
});

describe('gov init', () => {
  it('writes a starter gov.yaml and gov.test.yaml that pass check and test', () => {
    const r = gov(['init']);
    expect(r.code).toBe(0);
    const text = readFileSync(join(cwd, 'gov.yaml'), 'utf8');
    expect(text).toMatch(/^# /);
    expect(gov(['policy', 'check'])).toMatchObject({ code: 0 });
    expect(gov(['policy', 'check']).stdout).toMatch(/^ok: gov\.yaml: \d+ rules\n$/);
    expect(gov(['policy', 'test'])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^ok\tgov\.test\.yaml\t\d+ cases\n$/),
    });
  });

  it('exits 2 and leaves an existing gov.yaml untouched', () => {
    writeFileSync(join(cwd, 'gov.yaml'), 'mine\n');
    const r = gov(['init']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^gov: gov\.yaml already exists/);
    expect(readFileSync(join(cwd, 'gov.yaml'), 'utf8')).toBe('mine\n');
  });

  it('--help exits 0', () => {
    expect(gov(['init', '--help'])).toMatchObject({ code: 0 });
  });
});
