import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { ROOT, runGov, spawnGov, tempHome } from '../helpers/gov-process.js';
import { eventually } from '../helpers/until.js';

const RAW_SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'raw-stdio-server.mjs');
const HELD = 5;
const ARG_BYTES = 3 * 1024 * 1024;

type Pending = { id: string; args: unknown; args_truncated?: boolean; args_bytes?: number };

describe('a flood of held calls with 3 MiB arguments each (gov mcp wrap)', () => {
  let home: string;
  let execLog: string;
  let gov: ChildProcess;
  let stderr = '';
  const answers = new Map<number, Record<string, unknown>>();

  /** gov's stderr goes with a timeout: what it said while the calls piled up. */
  const waitFor = <T>(what: string, f: () => Promise<T | undefined> | T | undefined): Promise<T> =>
    eventually(what, f, 30_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${stderr}`);
    });

  const gov_ = (args: string[]) => runGov(args, { env: { GOV_HOME: home }, timeoutMs: 60_000 });

  beforeAll(() => {
    home = tempHome();
    execLog = join(home, 'exec.log');
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: allow\nrules:\n  - id: big\n    tool: echo\n    decision: approve\n    reason: Needs a human\n',
    );
    gov = spawnGov(
      [
        'mcp',
        'wrap',
        '--policy',
        policy,
        '--name',
        'files',
        '--approval-timeout',
        '5m',
        '--',
        process.execPath,
        RAW_SERVER,
      ],
      { env: { GOV_HOME: home, EXEC_LOG: execLog } },
    );
    gov.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: gov.stdout!, crlfDelay: Infinity }).on('line', (l) => {
      const m = JSON.parse(l) as Record<string, unknown>;
      answers.set(m['id'] as number, m);
    });
    for (let i = 1; i <= HELD; i++) {
      const text = String(i).repeat(ARG_BYTES);
      gov.stdin!.write(
        JSON.stringify({
          jsonrpc: '2.0',
          id: i,
          method: 'tools/call',
          params: { name: 'echo', arguments: { text } },
        }) + '\n',
      );
    }
  });

  afterAll(() => {
    gov.kill('SIGKILL');
  });

  it('gov pending --json lists every one, arguments truncated with a marker', async () => {
    const list = await waitFor('all calls to be held', async () => {
      const r = await gov_(['pending', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const calls = JSON.parse(r.stdout) as Pending[];
      return calls.length === HELD ? { calls, bytes: r.stdout.length } : undefined;
    });
    expect(list.bytes).toBeLessThan(64 * 1024);
    for (const c of list.calls) {
      expect(c.args_truncated).toBe(true);
      expect(c.args_bytes).toBeGreaterThan(ARG_BYTES);
      expect(JSON.stringify(c.args)).toMatch(/…\(truncated, 3\.0 MiB\)/);
    }
    const table = await gov_(['pending']);
    expect(table.code).toBe(0);
    expect(table.stdout.trim().split('\n')).toHaveLength(HELD + 1);
  });

  it('gov pending --full ID prints one call whole; approve and deny by id work', async () => {
    const calls = JSON.parse((await gov_(['pending', '--json'])).stdout) as Array<
      Pending & { held_since: string }
    >;
    const [first, second] = calls;
    const full = await gov_(['pending', '--full', first!.id]);
    expect(full.code, full.stderr).toBe(0);
    const whole = JSON.parse(full.stdout) as Pending;
    const text = (whole.args as { text: string }).text;
    expect(text.length).toBe(ARG_BYTES);
    expect(whole.args_truncated).toBeUndefined();
    const approvedId = Number(text[0]);

    const a = await gov_(['approve', first!.id]);
    expect(a.code, a.stderr).toBe(0);
    const answer = await waitFor('the approved call to be answered', () => answers.get(approvedId));
    expect(answer).toMatchObject({ result: { content: [{ text: 'ok' }] } });
    expect(readFileSync(execLog, 'utf8')).toContain(`"id":${approvedId},`);

    const secondId = Number(
      (JSON.parse((await gov_(['pending', '--full', second!.id])).stdout) as { args: { text: string } }).args
        .text[0],
    );
    const d = await gov_(['deny', second!.id, '--reason', 'too big']);
    expect(d.code, d.stderr).toBe(0);
    const denied = await waitFor('the denied call to be answered', () => answers.get(secondId));
    expect(denied).toMatchObject({ error: { code: -32003, message: 'Denied by approver: too big' } });
    expect(existsSync(execLog) ? readFileSync(execLog, 'utf8') : '').not.toContain(`"id":${secondId},`);

    const unknown = await gov_(['pending', '--full', 'h-nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^gov: no held call 'h-nope'/);
  });
});
