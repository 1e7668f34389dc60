import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startMcpServer, type McpTestServer } from '../helpers/mcp-http-server.js';
import { ROOT, runGov, spawnGov, tempHome } from '../helpers/gov-process.js';
import { eventually } from '../helpers/until.js';

const POLICY = `version: 1
default: deny
rules:
  - id: refunds
    tool: refund
    decision: approve
    reason: Refunds need a human
`;
const CLIENT = join(ROOT, 'test', 'fixtures', 'clients', 'held_client.py');

describe('human approval of held calls through gov run (no TTY)', () => {
  let pki: TestPki;
  let server: McpTestServer;
  let home: string;
  let policy: string;
  beforeAll(async () => {
    pki = makeTestPki();
    server = await startMcpServer(pki, 'stateless');
    home = tempHome();
    policy = join(home, 'gov.yaml');
    writeFileSync(policy, POLICY);
  });
  afterAll(async () => {
    await server.close();
  });

  /** Start `gov run` with the held client, wait for the held call, act on it, collect the output. */
  async function withHeld(
    mode: string,
    act: (
      id: string,
      seen: (re: RegExp) => Promise<RegExpExecArray>,
      tellClient: (line: string) => void,
      /** What the client printed so far. */
      output: () => string,
    ) => Promise<void>,
    env: Record<string, string> = {},
    flags: string[] = [],
  ) {
    const gov = spawnGov(
      [
        'run',
        '--no-tui',
        '--policy',
        policy,
        '--upstream-ca',
        pki.caPath,
        '--approval-timeout',
        '30s',
        ...flags,
        '--',
        'python3',
        CLIENT,
        `${server.url}/mcp`,
        mode,
      ],
      { env: { GOV_HOME: home, ...env } },
    );
    let stdout = '';
    let stderr = '';
    gov.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    // Lines gov printed, awaited as they arrive (no polling of `gov pending` processes).
    const waiters: Array<{ re: RegExp; resolve: (m: RegExpExecArray) => void }> = [];
    const check = () => {
      for (const w of waiters.splice(0)) {
        const m = w.re.exec(stderr);
        if (m) w.resolve(m);
        else waiters.push(w);
      }
    };
    gov.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      check();
    });
    const seen = (re: RegExp) =>
      Promise.race([
        new Promise<RegExpExecArray>((resolve) => {
          waiters.push({ re, resolve });
          check();
        }),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`gov never printed ${String(re)}:\n${stderr}`)), 30_000).unref(),
        ),
      ]);
    const exited = new Promise<number | null>((r) => gov.on('exit', (c) => r(c)));
    const kill = setTimeout(() => gov.kill('SIGKILL'), 45_000);
    try {
      const id = (await seen(/^gov: held (\S+): /m))[1];
      {
        const p = await runGov(['pending', '--json'], { env: { GOV_HOME: home } });
        const list = JSON.parse(p.stdout || '[]') as Array<{
          id: string;
          tool: string;
          run: string;
          args: unknown;
          rule: string;
          reason: string;
          held_since: string;
          server: string;
          method: string;
        }>;
        expect(list).toHaveLength(1);
        expect(Object.keys(list[0]!).sort()).toEqual([
          'args',
          'expires_at',
          'held_since',
          'id',
          'method',
          'reason',
          'rule',
          'run',
          'server',
          'tool',
        ]);
        expect(list[0]).toMatchObject({
          id,
          tool: 'refund',
          method: 'tools/call',
          rule: 'refunds',
          args: { amount: 5000 },
        });
      }
      expect(id, stderr).toBeDefined();
      expect(stderr).toContain(`gov: held ${id}: `);
      if (!flags.includes('--quiet'))
        expect(stderr).toMatch(/^gov: approve tools\/call refund \(rule refunds\)$/m);
      await act(
        id!,
        seen,
        (line) => gov.stdin!.write(`${line}\n`),
        () => stdout,
      );
      gov.stdin!.end(); // the hangup client waits for this
      const code = await exited;
      return { stdout, stderr, code };
    } finally {
      clearTimeout(kill);
      gov.kill('SIGKILL');
    }
  }

  it('gov approve from another process lets the held call through', async () => {
    const before = server.executed.length;
    const r = await withHeld('plain', async (id) => {
      const a = await runGov(['approve', id], { env: { GOV_HOME: home } });
      expect(a.code).toBe(0);
      // Settled ids are refused afterwards.
      expect((await runGov(['approve', id], { env: { GOV_HOME: home } })).code).toBe(1);
    });
    expect(r.stdout).toContain('refunded 5000');
    expect(server.executed.length).toBe(before + 1);
    const audit = readdirSync(join(home, 'audit'))
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => readFileSync(join(home, 'audit', f), 'utf8'))
      .join('');
    expect(audit).toMatch(/"approver":"cli"/);
  });

  it('gov deny with a reason answers -32003 "Denied by approver" and never forwards', async () => {
    const before = server.executed.length;
    const r = await withHeld('plain', async (id) => {
      expect((await runGov(['deny', id, '--reason', 'not today'], { env: { GOV_HOME: home } })).code).toBe(0);
    });
    expect(r.stdout).toContain('-32003');
    expect(r.stdout).toContain('Denied by approver: not today');
    expect(r.stderr).toMatch(/^gov: deny tools\/call refund \(rule refunds\) — denied by cli: not today$/m);
    expect(server.executed.length).toBe(before);
  });

  it('--quiet still prints the held-call hint', async () => {
    const r = await withHeld(
      'plain',
      async (id) => {
        expect((await runGov(['deny', id], { env: { GOV_HOME: home } })).code).toBe(0);
      },
      {},
      ['--quiet'],
    );
    expect(r.stderr).not.toContain('gov: deny');
  });

  it('notifications/cancelled withdraws the held call', async () => {
    const before = server.executed.length;
    const r = await withHeld('cancel', async (_id, seen, tellClient) => {
      tellClient('cancel'); // the client sends notifications/cancelled now
      await seen(/\(call withdrawn\)$/m);
    });
    expect(r.stdout).toContain('cancelled');
    expect(r.stderr).toMatch(
      /^gov: deny tools\/call refund \(rule refunds\) — the client stopped waiting after \S+ \(it sent notifications\/cancelled\) \(call withdrawn\)$/m,
    );
    expect(server.executed.length).toBe(before);
    const audit = readdirSync(join(home, 'audit'))
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => readFileSync(join(home, 'audit', f), 'utf8'))
      .join('');
    expect(audit).toMatch(/"approver":"cancelled"/);
  });

  it('a client that hangs up withdraws its held call, and a late approver is told why', async () => {
    const before = server.executed.length;
    const r = await withHeld('hangup', async (id, seen, tellClient) => {
      // While held: the time left before the hold times out.
      const table = await runGov(['pending'], { env: { GOV_HOME: home } });
      expect(table.stdout).toMatch(/\bLEFT\b/);
      tellClient('hang up'); // the client's connection closes now, not on a timer
      await seen(/\(call withdrawn\)$/m);
      expect(JSON.parse((await runGov(['pending', '--json'], { env: { GOV_HOME: home } })).stdout)).toEqual(
        [],
      );
      const why = /withdrawn: the client stopped waiting after \d+(\.\d)?m?s \(it closed the connection\)/;
      const listing = await runGov(['pending'], { env: { GOV_HOME: home } });
      expect(listing.stdout).toContain('Ended without an answer:');
      expect(listing.stdout).toMatch(why);
      const late = await runGov(['approve', id], { env: { GOV_HOME: home } });
      expect(late.code).toBe(1);
      expect(late.stderr).toContain(`held call '${id}' (refund)`);
      expect(late.stderr).toMatch(why);
    });
    expect(r.stdout).toContain('gave up');
    expect(r.stderr).toMatch(
      /^gov: deny tools\/call refund \(rule refunds\) — the client stopped waiting after \S+ \(it closed the connection\) \(call withdrawn\)$/m,
    );
    expect(server.executed.length).toBe(before);
    const approval = readdirSync(join(home, 'audit'))
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(home, 'audit', f), 'utf8').split('\n'))
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((a) => a['kind'] === 'approval' && a['status'] === 'cancelled')
      .at(-1);
    expect(String(approval?.['reason'])).toMatch(
      /^the client stopped waiting after \S+ \(it closed the connection\)$/,
    );
  });

  it('a client with a progressToken gets "awaiting approval" heartbeats, then the result on the same stream', async () => {
    const r = await withHeld(
      'progress',
      async (id, _seen, _tell, output) => {
        // Approved once the client has printed two heartbeats.
        await eventually('two heartbeats', () =>
          (output().match(/"notifications\/progress"/g) ?? []).length >= 2 ? true : undefined,
        );
        expect((await runGov(['approve', id], { env: { GOV_HOME: home } })).code).toBe(0);
      },
      { GOV_HEARTBEAT_MS: '200' },
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toContain('text/event-stream');
    const events = lines.slice(1).map(
      (l) =>
        JSON.parse(l) as {
          method?: string;
          params?: { progress: number; message: string; progressToken: string };
          result?: { content: Array<{ text: string }> };
        },
    );
    const beats = events.filter((e) => e.method === 'notifications/progress');
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats[0]!.params).toMatchObject({ progressToken: 'tok-1', message: 'awaiting approval' });
    expect(beats.map((b) => b.params!.progress)).toEqual(
      [...beats.map((b) => b.params!.progress)].sort((a, b) => a - b),
    );
    expect(events.at(-1)!.result!.content[0]!.text).toBe('refunded 5000');
  });
});
