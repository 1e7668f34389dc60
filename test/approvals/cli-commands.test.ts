import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalBroker, type HeldCallRequest } from '../../src/approvals/broker.js';
import { startControlServer, type ControlServer } from '../../src/approvals/control-socket.js';
import { heldCallRequest } from '../helpers/held-call.js';

// Runs the built CLI (`npm run build` first) against a control server in this process.
const GOV = resolve(import.meta.dirname, '../../bin/gov.js');
const built = existsSync(resolve(import.meta.dirname, '../../dist/cli/commands/pending.js'));

function gov(home: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [GOV, ...args],
      { env: { ...process.env, GOV_HOME: home, NO_COLOR: '1' }, timeout: 15_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

const call = (over: Partial<HeldCallRequest> = {}): HeldCallRequest =>
  heldCallRequest({ ...{ run: 'run-cli' }, ...over });

let home: string;
let broker: ApprovalBroker;
let server: ControlServer;

beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), 'gov-cli-'));
  broker = new ApprovalBroker();
  server = await startControlServer({
    home,
    run: 'run-cli',
    broker,
    command: ['agent'],
    policySource: 'built-in',
  });
});

afterEach(async () => {
  broker.close('test over');
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

beforeAll(() => {
  if (!built) throw new Error('dist/ is missing: run `npm run build` before these tests');
});

describe('gov pending / approve / deny against a live run', () => {
  it('pending --json prints exactly the documented fields', async () => {
    void broker.request(call({ tool: 'evil\u202e\x1b[31m' }));
    const r = await gov(home, 'pending', '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout);
    expect(list).toHaveLength(1);
    expect(Object.keys(list[0])).toEqual([
      'id',
      'run',
      'server',
      'tool',
      'method',
      'args',
      'rule',
      'reason',
      'held_since',
      'expires_at',
    ]);
    expect(Date.parse(list[0].expires_at) - Date.parse(list[0].held_since)).toBe(60_000);
    expect(list[0]).toMatchObject({
      run: 'run-cli',
      server: 'payments',
      args: { amount: 5000 },
      rule: 'refunds',
    });
    expect(list[0].id).toBe(broker.list()[0]!.id);
  });

  it('pending prints a sanitised table, or "No held calls"', async () => {
    expect((await gov(home, 'pending')).stdout).toBe('No held calls\n');
    void broker.request(call({ tool: 'evil\u202e\x1b[31mtool' }));
    const r = await gov(home, 'pending');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ID\s+RUN\s+SERVER\s+TOOL\s+RULE\s+HELD\s+LEFT\s+REASON\n/);
    expect(r.stdout).toMatch(/\s(59|60)s\s/);
    expect(r.stdout).toContain('evil<U+202E>tool');
    expect(r.stdout).not.toMatch(/[\x1b\u202e]/);
  });

  it('approve ID --always approves as "cli"; a second approve exits 1', async () => {
    const p = broker.request(call());
    const id = broker.list()[0]!.id;
    const r = await gov(home, 'approve', id, '--always');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`approved ${id} (run run-cli)`);
    await expect(p).resolves.toEqual({ approved: true, approver: 'cli', always: true });
    expect(broker.isAlwaysAllowed({ server: 'payments', method: 'tools/call', tool: 'refund' })).toBe(true);
    const again = await gov(home, 'approve', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^gov: no held call '.*' \(unknown or no longer pending\) — /);
  });

  it('deny ID --reason denies with the reason; an unknown id exits 1; a missing id exits 2', async () => {
    const p = broker.request(call());
    const id = broker.list()[0]!.id;
    const r = await gov(home, 'deny', id, '--reason', 'not this one');
    expect(r.code).toBe(0);
    await expect(p).resolves.toEqual({ approved: false, approver: 'cli', reason: 'not this one' });
    expect((await gov(home, 'deny', 'h-ffffff')).code).toBe(1);
    expect((await gov(home, 'deny')).code).toBe(2);
  });

  it('approvals without a TTY points at pending/approve and exits 2; --help works everywhere', async () => {
    const r = await gov(home, 'approvals');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('gov pending');
    for (const cmd of ['approvals', 'pending', 'approve', 'deny']) {
      const h = await gov(home, cmd, '--help');
      expect(h.code).toBe(0);
      expect(h.stdout).toContain(`usage: gov ${cmd}`);
    }
  });
});
