import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalBroker, type HeldCallRequest } from '../../src/approvals/broker.js';
import { approve, deny, discoverRuns, getPending, listPending } from '../../src/approvals/client.js';
import { subscribeAll, type RemoteEvent } from '../../src/approvals/subscription.js';
import { startControlServer, type ControlServer } from '../../src/approvals/control-socket.js';
import { MAX_LINE_BYTES } from '../../src/approvals/protocol.js';
import type { ApprovalVerdict } from '../../src/types.js';
import type { PinAlert } from '../../src/safety/pins-config.js';
import { heldCallRequest } from '../helpers/held-call.js';
import { eventually } from '../helpers/until.js';

const call = (over: Partial<HeldCallRequest> = {}): HeldCallRequest =>
  heldCallRequest({ ...{ run: 'run-a', args: { amount: 5000, note: 'x' } }, ...over });

let home: string;
const servers: ControlServer[] = [];
const brokers: ApprovalBroker[] = [];

async function startRun(run: string, h = home) {
  const broker = new ApprovalBroker();
  brokers.push(broker);
  const server = await startControlServer({
    home: h,
    run,
    broker,
    command: ['agent', '--x'],
    policySource: 'gov.yaml',
  });
  servers.push(server);
  return { broker, server };
}

/** Raw NDJSON exchange: send text, collect reply lines until `count` lines or the timeout. */
function raw(socket: string, text: string | Buffer, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket);
    let buf = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`timeout; got ${JSON.stringify(buf)}`));
    }, 3000);
    c.on('data', (d) => {
      buf += d.toString();
      const lines = buf.split('\n').filter(Boolean);
      if (lines.length >= count) {
        clearTimeout(timer);
        c.destroy();
        resolve(lines);
      }
    });
    c.on('error', () => {});
    c.write(text);
  });
}

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'gov-ctl-'));
});

afterEach(async () => {
  for (const b of brokers.splice(0)) b.close('test over');
  await Promise.all(servers.splice(0).map((s) => s.close()));
  rmSync(home, { recursive: true, force: true });
});

describe('control socket', () => {
  it('writes a 0600 socket in a 0700 dir and a descriptor; close removes both', async () => {
    const { server } = await startRun('run-a');
    expect(statSync(join(home, 'runs')).mode & 0o777).toBe(0o700);
    expect(server.socket).toBe(join(home, 'runs', 'run-a.sock'));
    expect(statSync(server.socket).mode & 0o777).toBe(0o600);
    const desc = JSON.parse(readFileSync(join(home, 'runs', 'run-a.json'), 'utf8'));
    expect(desc).toMatchObject({
      run: 'run-a',
      pid: process.pid,
      socket: server.socket,
      command: ['agent', '--x'],
      policy: 'gov.yaml',
    });
    expect(Date.parse(desc.started)).not.toBeNaN();
    expect(statSync(join(home, 'runs', 'run-a.json')).mode & 0o777).toBe(0o600);
    await server.close();
    expect(existsSync(server.socket)).toBe(false);
    expect(existsSync(join(home, 'runs', 'run-a.json'))).toBe(false);
  });

  it('falls back to a short socket path when GOV_HOME is deep', async () => {
    const deep = join(home, 'x'.repeat(60), 'y'.repeat(60));
    const { server } = await startRun('run-deep', deep);
    expect(server.socket.startsWith(tmpdir())).toBe(true);
    expect(Buffer.byteLength(server.socket)).toBeLessThanOrEqual(100);
    expect(statSync(server.socket).mode & 0o777).toBe(0o600);
    const dir = join(server.socket, '..');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const desc = JSON.parse(readFileSync(join(deep, 'runs', 'run-deep.json'), 'utf8'));
    expect(desc.socket).toBe(server.socket);
    expect((await discoverRuns(deep)).runs.map((r) => r.run)).toEqual(['run-deep']);
    await server.close();
    expect(existsSync(dir)).toBe(false);
  });

  it('answers malformed and oversized input with errors and keeps serving', async () => {
    const { server, broker } = await startRun('run-a');
    const replies = await raw(
      server.socket,
      'not json\n{"op":"explode"}\n{"op":"approve"}\n[]\n{"op":"list"}\n',
      5,
    );
    const parsed = replies.map((l) => JSON.parse(l));
    expect(parsed.slice(0, 4).every((r) => r.ok === false && typeof r.error === 'string')).toBe(true);
    expect(parsed[0].error).toMatch(/not JSON/);
    expect(parsed[4]).toEqual({ ok: true, run: 'run-a', calls: [], ended: [] });
    const big = await raw(server.socket, Buffer.alloc(MAX_LINE_BYTES + 10, 0x61), 1);
    expect(JSON.parse(big[0]!)).toMatchObject({ ok: false, error: expect.stringMatching(/longer than/) });
    // still alive
    void broker.request(call());
    expect((await listPending(home)).calls.length).toBe(1);
  });

  it('lists, approves and denies held calls across the socket', async () => {
    const a = await startRun('run-a');
    const b = await startRun('run-b');
    const pa = a.broker.request(call());
    const pb = b.broker.request(call({ run: 'run-b', tool: 'delete_repo', server: 'github' }));
    const { calls: pending } = await listPending(home);
    expect(pending.map((p) => [p.run, p.tool])).toEqual([
      ['run-a', 'refund'],
      ['run-b', 'delete_repo'],
    ]);
    const idA = pending[0]!.id;
    const idB = pending[1]!.id;

    expect(await approve(home, idA, { always: true })).toEqual({ settled: true, run: 'run-a' });
    await expect(pa).resolves.toEqual({ approved: true, approver: 'cli', always: true });
    expect(a.broker.isAlwaysAllowed({ server: 'payments', method: 'tools/call', tool: 'refund' })).toBe(true);
    expect(await approve(home, idA)).toMatchObject({
      settled: false,
      error: expect.stringMatching(/no longer pending/),
    });

    expect(await deny(home, idB, { reason: 'not today', approver: 'tui' })).toEqual({
      settled: true,
      run: 'run-b',
    });
    await expect(pb).resolves.toEqual({ approved: false, approver: 'tui', reason: 'not today' });
    expect(await deny(home, 'h-000000')).toMatchObject({ settled: false });
  });

  it('streams held and settled events to subscribers, including runs that start later', async () => {
    const a = await startRun('run-a');
    void a.broker.request(call());
    const events: RemoteEvent[] = [];
    const sub = subscribeAll(home, (e) => events.push(e), { pollMs: 50 });
    try {
      await eventually('run-a held', () => events.find((e) => e.type === 'held' && e.run === 'run-a'));
      const b = await startRun('run-b');
      const pb = b.broker.request(call({ run: 'run-b', tool: 'late' }));
      const held = await eventually('run-b held', () =>
        events.find((e) => e.type === 'held' && e.run === 'run-b'),
      );
      expect(held.type === 'held' && held.call.tool).toBe('late');
      const id = b.broker.list()[0]!.id;
      b.broker.settle(id, { approved: true, approver: 'tui' });
      await pb;
      const settled = await eventually('settled', () =>
        events.find((e) => e.type === 'settled' && e.id === id),
      );
      expect(settled).toMatchObject({
        run: 'run-b',
        verdict: { approved: true, approver: 'tui' } as ApprovalVerdict,
      });
      await b.server.close();
      await eventually('run-b ended', () => events.find((e) => e.type === 'run-ended' && e.run === 'run-b'));
    } finally {
      sub.close();
    }
  });

  it('streams tool pin alerts: the last few to a subscriber that attaches later, then new ones', async () => {
    const broker = new ApprovalBroker();
    brokers.push(broker);
    const listeners = new Set<(a: PinAlert) => void>();
    const server = await startControlServer({
      home,
      run: 'run-p',
      broker,
      command: ['agent'],
      policySource: 'gov.yaml',
      pinAlerts: {
        subscribe: (l) => {
          listeners.add(l);
          return () => listeners.delete(l);
        },
      },
    });
    servers.push(server);
    const alert = (tool: string): PinAlert => ({
      reason: `suspected tool poisoning in tool '${tool}'`,
      server: { name: 'notes', url: 'stdio:notes' },
      detail: {
        pins: 'poison',
        tool,
        findings: [{ rule: 'hidden-markup', severity: 'high', excerpt: '<IMPORTANT>' }],
      },
    });
    for (const t of ['a', 'b', 'c', 'd']) for (const l of listeners) l(alert(t));
    const events: RemoteEvent[] = [];
    const sub = subscribeAll(home, (e) => events.push(e), { pollMs: 50 });
    const tools = () => events.flatMap((e) => (e.type === 'pin-alert' ? [e.alert.detail['tool']] : []));
    try {
      await eventually('three tools', () => tools().length === 3 || undefined);
      expect(tools()).toEqual(['b', 'c', 'd']);
      for (const l of listeners) l(alert('e'));
      await eventually('four tools', () => tools().length === 4 || undefined);
      // Other events (a poll that found no run yet) may come between; the alerts keep their order.
      expect(events.filter((e) => e.type === 'pin-alert').at(-1)).toEqual({
        type: 'pin-alert',
        run: 'run-p',
        alert: alert('e'),
      });
    } finally {
      sub.close();
    }
    await server.close();
    expect(listeners.size).toBe(0);
  });

  it('lists huge arguments summarised, gives one call in full on request, and settles it by id', async () => {
    const { broker } = await startRun('run-a');
    const text = 'y'.repeat(3 * 1024 * 1024);
    const held = [0, 1, 2].map((i) => broker.request(call({ args: { text, i } })));
    const { calls, unreachable } = await listPending(home);
    expect(unreachable).toEqual([]);
    expect(calls).toHaveLength(3);
    for (const c of calls) {
      expect(c).toMatchObject({
        args_truncated: true,
        args_bytes: Buffer.byteLength(JSON.stringify({ text, i: 0 })),
      });
      expect(JSON.stringify(c.args).length).toBeLessThan(4096);
      expect(JSON.stringify(c.args)).toContain('…(truncated, 3.0 MiB)');
    }
    const full = await getPending(home, calls[1]!.id);
    expect(full?.args).toEqual({ text, i: 1 });
    expect(full?.args_truncated).toBeUndefined();
    expect(await approve(home, calls[1]!.id)).toEqual({ settled: true, run: 'run-a' });
    await expect(held[1]).resolves.toMatchObject({ approved: true });
    for (const c of broker.list()) broker.settle(c.id, { approved: false, approver: 'cli' });
    await Promise.all(held);
  });

  it('approves with an argument digest only the call with exactly those arguments', async () => {
    const { broker } = await startRun('run-a');
    const held = broker.request(call({ args_digest: 'sha256:shown' }));
    const id = broker.list()[0]!.id;
    // Another run holding the same id, or a reused id: the digest of what was shown differs.
    const other = await approve(home, id, { run: 'run-a', argsDigest: 'sha256:other' });
    expect(other).toEqual({ settled: false, error: expect.stringMatching(/not the call that was shown/) });
    expect(broker.size).toBe(1);
    expect(await approve(home, id, { run: 'run-a', argsDigest: 'sha256:shown' })).toEqual({
      settled: true,
      run: 'run-a',
    });
    await expect(held).resolves.toMatchObject({ approved: true });
  });

  it('names a live run that does not answer instead of skipping it', async () => {
    const runs = join(home, 'runs');
    await startRun('run-live');
    // A process that exists (this one) whose socket accepts but never answers.
    const mute = createServer(() => undefined);
    const sock = join(home, 'mute.sock');
    await new Promise<void>((r) => mute.listen(sock, r));
    try {
      writeFileSync(
        join(runs, 'run-mute.json'),
        JSON.stringify({
          run: 'run-mute',
          pid: process.pid,
          socket: sock,
          command: ['x'],
          started: 'x',
          policy: 'p',
        }),
      );
      // Both wait out the run's request timeout: side by side, not one after the other.
      const [listing, r] = await Promise.all([
        listPending(home),
        approve(home, 'h-unknown').catch((e: unknown) => e),
      ]);
      expect(listing.unreachable).toEqual([{ run: 'run-mute', error: expect.stringMatching(/timed out/) }]);
      expect(String((r as Error).message)).toMatch(/run run-mute did not answer/);
    } finally {
      mute.close();
    }
  });

  it('removes descriptors of dead runs and refused sockets', async () => {
    const runs = join(home, 'runs');
    await startRun('run-live');
    // a dead pid
    writeFileSync(
      join(runs, 'run-dead.json'),
      JSON.stringify({
        run: 'run-dead',
        pid: 2 ** 22 + 12345,
        socket: join(runs, 'run-dead.sock'),
        command: [],
        started: 'x',
        policy: 'p',
      }),
    );
    writeFileSync(join(runs, 'run-dead.sock'), '');
    // a live pid (ours) but nothing listening on the socket
    writeFileSync(
      join(runs, 'run-refused.json'),
      JSON.stringify({
        run: 'run-refused',
        pid: process.pid,
        socket: join(runs, 'run-refused.sock'),
        command: [],
        started: 'x',
        policy: 'p',
      }),
    );
    // garbage
    writeFileSync(join(runs, 'junk.json'), '{');
    const live = await discoverRuns(home);
    expect(live.runs.map((r) => r.run)).toEqual(['run-live']);
    expect(live.unreachable).toEqual([]);
    expect(existsSync(join(runs, 'run-dead.json'))).toBe(false);
    expect(existsSync(join(runs, 'run-dead.sock'))).toBe(false);
    expect(existsSync(join(runs, 'run-refused.json'))).toBe(false);
    expect(existsSync(join(runs, 'junk.json'))).toBe(false);
    expect(existsSync(join(runs, 'run-live.json'))).toBe(true);
  });

  it('rejects run ids that are not safe file names', async () => {
    await expect(startRun('../evil')).rejects.toThrow(/invalid run id/);
  });
});
