import { readdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { GovError } from '../errors.js';
import { homePaths } from '../home.js';
import type { ApprovalVerdict, HeldCall } from '../types.js';
import { LineSplitter } from './line-splitter.js';
import {
  descriptorSchema,
  replySchema,
  streamEventSchema,
  type ControlReply,
  type ControlRequest,
  type RunDescriptor,
} from './protocol.js';

/** A held call as seen from outside its run. */
export type PendingCall = HeldCall & { run: string };

export type SettleOutcome = { settled: true; run: string } | { settled: false; error: string };

export type RemoteEvent =
  | { type: 'held'; run: string; call: HeldCall }
  | { type: 'settled'; run: string; id: string; verdict: ApprovalVerdict }
  /** The run's socket closed: every call it held is gone. */
  | { type: 'run-ended'; run: string };

const REQUEST_TIMEOUT_MS = 3000;
// Replies carry whole argument objects; allow more than a request line.
const MAX_REPLY_BYTES = 64 * 1024 * 1024;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readDescriptors(home: string): Array<{ path: string; desc: RunDescriptor | null }> {
  const dir = homePaths(home).runs;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: Array<{ path: string; desc: RunDescriptor | null }> = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.json')) continue;
    const path = join(dir, name);
    try {
      const parsed = descriptorSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
      out.push({ path, desc: parsed.success && `${parsed.data.run}.json` === name ? parsed.data : null });
    } catch {
      // Vanished between readdir and read, or half-written: not a run we can talk to.
      out.push({ path, desc: null });
    }
  }
  return out;
}

function removeStale(home: string, descPath: string, desc: RunDescriptor | null): void {
  rmSync(descPath, { force: true });
  if (!desc) return;
  const runsDir = homePaths(home).runs;
  // Only ever delete the socket the descriptor names in the two places gov puts sockets.
  if (desc.socket === join(runsDir, `${desc.run}.sock`)) {
    rmSync(desc.socket, { force: true });
  } else if (/[\\/]gov-[^\\/]+[\\/]control\.sock$/.test(desc.socket)) {
    rmSync(desc.socket, { force: true });
    try {
      rmdirSync(dirname(desc.socket));
    } catch {
      // not empty or gone
    }
  }
}

function connect(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error('timed out connecting'));
    }, timeoutMs);
    c.once('connect', () => {
      clearTimeout(timer);
      c.removeAllListeners('error');
      resolve(c);
    });
    c.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** One request, one reply, over a fresh connection. */
export async function request(
  socketPath: string,
  req: ControlRequest,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<ControlReply> {
  const conn = await connect(socketPath, timeoutMs);
  return new Promise<ControlReply>((resolve, reject) => {
    const splitter = new LineSplitter(MAX_REPLY_BYTES);
    const timer = setTimeout(() => fail(new Error('timed out waiting for the run to answer')), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      conn.destroy();
      reject(err);
    };
    conn.on('error', fail);
    conn.on('close', () => fail(new Error('the run closed the connection')));
    conn.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (err) {
        fail(err as Error);
        return;
      }
      const first = lines.find((l) => l.trim() !== '');
      if (first === undefined) return;
      clearTimeout(timer);
      conn.removeAllListeners('close');
      conn.destroy();
      try {
        const parsed = replySchema.safeParse(JSON.parse(first));
        if (parsed.success) resolve(parsed.data);
        else reject(new Error('unexpected reply from the run'));
      } catch {
        reject(new Error('malformed reply from the run'));
      }
    });
    conn.write(JSON.stringify(req) + '\n');
  });
}

/**
 * Live runs under $GOV_HOME/runs. A run whose process is gone or whose socket refuses
 * connections is stale: its descriptor and socket are removed.
 */
export async function discoverRuns(home: string): Promise<RunDescriptor[]> {
  const found = readDescriptors(home);
  const checks = found.map(async ({ path, desc }) => {
    if (!desc || !isAlive(desc.pid)) {
      removeStale(home, path, desc);
      return null;
    }
    try {
      const c = await connect(desc.socket, REQUEST_TIMEOUT_MS);
      c.destroy();
      return desc;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ENOTSOCK') removeStale(home, path, desc);
      return null;
    }
  });
  return (await Promise.all(checks)).filter((d): d is RunDescriptor => d !== null);
}

/** Every held call in every live run, oldest first. Runs that fail to answer are skipped. */
export async function listPending(home: string): Promise<PendingCall[]> {
  const runs = await discoverRuns(home);
  const lists = await Promise.all(
    runs.map(async (r) => {
      try {
        const reply = await request(r.socket, { op: 'list' });
        return reply.ok && reply.calls ? reply.calls.map((c) => ({ ...c, run: r.run })) : [];
      } catch {
        return [];
      }
    }),
  );
  return lists.flat().sort((a, b) => a.held_since.localeCompare(b.held_since));
}

async function findRunHolding(home: string, id: string, run?: string): Promise<RunDescriptor | null> {
  const runs = (await discoverRuns(home)).filter((r) => run === undefined || r.run === run);
  const holders: RunDescriptor[] = [];
  await Promise.all(
    runs.map(async (r) => {
      try {
        const reply = await request(r.socket, { op: 'list' });
        if (reply.ok && reply.calls?.some((c) => c.id === id)) holders.push(r);
      } catch {
        // an unresponsive run cannot be holding anything we can settle
      }
    }),
  );
  if (holders.length > 1) {
    throw new GovError(
      'approvals',
      `held call id '${id}' exists in several runs (${holders.map((h) => h.run).join(', ')})`,
      {
        hint: 'approve it from `gov approvals`, which knows each call’s run',
      },
    );
  }
  return holders[0] ?? null;
}

async function settleRemote(
  home: string,
  id: string,
  run: string | undefined,
  build: () => ControlRequest,
): Promise<SettleOutcome> {
  const holder = await findRunHolding(home, id, run);
  if (!holder) return { settled: false, error: `no held call '${id}' (unknown or no longer pending)` };
  const reply = await request(holder.socket, build());
  return reply.ok ? { settled: true, run: holder.run } : { settled: false, error: reply.error };
}

export interface ApproveOptions {
  always?: boolean;
  /** Who is approving, for the audit trail: `cli` (default) or `tui` (`gov approvals`). */
  approver?: 'cli' | 'tui';
  /** Skip the search when the caller already knows the run. */
  run?: string;
}

export function approve(home: string, id: string, opts: ApproveOptions = {}): Promise<SettleOutcome> {
  return settleRemote(home, id, opts.run, () => ({
    op: 'approve',
    id,
    ...(opts.always ? { always: true } : {}),
    approver: opts.approver ?? 'cli',
  }));
}

export interface DenyOptions {
  reason?: string;
  approver?: 'cli' | 'tui';
  run?: string;
}

export function deny(home: string, id: string, opts: DenyOptions = {}): Promise<SettleOutcome> {
  return settleRemote(home, id, opts.run, () => ({
    op: 'deny',
    id,
    ...(opts.reason ? { reason: opts.reason } : {}),
    approver: opts.approver ?? 'cli',
  }));
}

export interface Subscription {
  close(): void;
}

/**
 * Streams held/settled events from every live run, connecting to new runs as their
 * descriptors appear (polled) and reporting `run-ended` when a run's socket closes.
 * The current held calls of each run arrive first as `held` events.
 */
export function subscribeAll(
  home: string,
  onEvent: (ev: RemoteEvent) => void,
  opts: { pollMs?: number } = {},
): Subscription {
  const conns = new Map<string, Socket | null>();
  let closed = false;

  const emit = (ev: RemoteEvent) => {
    try {
      onEvent(ev);
    } catch {
      // the UI's problem, not the subscription's
    }
  };

  const attach = async (desc: RunDescriptor) => {
    let conn: Socket;
    try {
      conn = await connect(desc.socket, REQUEST_TIMEOUT_MS);
    } catch {
      conns.delete(desc.run);
      return;
    }
    if (closed) {
      conn.destroy();
      return;
    }
    conns.set(desc.run, conn);
    const splitter = new LineSplitter(MAX_REPLY_BYTES);
    conn.on('error', () => {});
    conn.on('close', () => {
      if (conns.get(desc.run) === conn) conns.delete(desc.run);
      if (!closed) emit({ type: 'run-ended', run: desc.run });
    });
    conn.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch {
        conn.destroy();
        return;
      }
      for (const line of lines) handleLine(desc.run, line);
    });
    conn.write(JSON.stringify({ op: 'subscribe' }) + '\n');
  };

  const handleLine = (run: string, line: string) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return;
    }
    const ev = streamEventSchema.safeParse(value);
    if (ev.success) {
      if (ev.data.event === 'held') emit({ type: 'held', run, call: ev.data.call });
      else emit({ type: 'settled', run, id: ev.data.id, verdict: ev.data.verdict });
      return;
    }
    const reply = replySchema.safeParse(value);
    if (reply.success && reply.data.ok && reply.data.calls) {
      for (const call of reply.data.calls) emit({ type: 'held', run, call });
    }
  };

  const poll = async () => {
    if (closed) return;
    const runs = await discoverRuns(home);
    for (const r of runs) {
      if (closed || conns.has(r.run)) continue;
      // Reserve the slot before connecting so the next poll does not attach twice.
      conns.set(r.run, null);
      void attach(r);
    }
  };

  // A failed discovery (an unreadable runs directory) is retried on the next poll.
  const pollSafely = () => poll().catch(() => undefined);
  void pollSafely();
  const timer = setInterval(() => void pollSafely(), opts.pollMs ?? 1000);
  timer.unref();

  return {
    close() {
      closed = true;
      clearInterval(timer);
      for (const c of conns.values()) c?.destroy();
      conns.clear();
    },
  };
}
