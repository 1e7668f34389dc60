import { readdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { GovError } from '../errors.js';
import { homePaths } from '../home.js';
import type { EndedCall, HeldCall } from '../types.js';
import { notPendingText } from './ended-calls.js';
import { LineSplitter } from './line-splitter.js';
import {
  descriptorSchema,
  replySchema,
  type ControlReply,
  type ControlRequest,
  type RunDescriptor,
} from './protocol.js';
import { processExists } from '../pid.js';

/** A held call as seen from outside its run. */
export type PendingCall = HeldCall & { run: string };

export type SettleOutcome = { settled: true; run: string } | { settled: false; error: string };

export const REQUEST_TIMEOUT_MS = 3000;
// A call in full may be megabytes long.
const FULL_CALL_TIMEOUT_MS = 15_000;
// Replies carry whole argument objects; allow more than a request line.
export const MAX_REPLY_BYTES = 64 * 1024 * 1024;

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

export function connect(path: string, timeoutMs: number): Promise<Socket> {
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

/** A live run that did not answer: reported by name, never skipped in silence. */
export interface UnreachableRun {
  run: string;
  error: string;
}

export interface DiscoveredRuns {
  runs: RunDescriptor[];
  unreachable: UnreachableRun[];
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? (e instanceof Error ? e.message : String(err));
}

/**
 * Live runs under $GOV_HOME/runs. A run is provably gone — stale, its descriptor and socket
 * removed — when its process is dead, or nothing listens on its socket (refused, or the socket
 * file is gone). A run that exists but does not answer in time is `unreachable`.
 */
export async function discoverRuns(home: string): Promise<DiscoveredRuns> {
  const found = readDescriptors(home);
  const unreachable: UnreachableRun[] = [];
  const checks = found.map(async ({ path, desc }) => {
    if (!desc || !processExists(desc.pid)) {
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
      else unreachable.push({ run: desc.run, error: errorText(err) });
      return null;
    }
  });
  const runs = (await Promise.all(checks)).filter((d): d is RunDescriptor => d !== null);
  return { runs, unreachable };
}

export interface PendingListing {
  /** Every held call of every run that answered, oldest first (arguments summarised). */
  calls: PendingCall[];
  /** Held calls that recently ended without an approver (client gone, timeout), newest first. */
  ended: EndedCall[];
  unreachable: UnreachableRun[];
}

/** Every held call in every live run; the runs that failed to answer are named. */
export async function listPending(home: string): Promise<PendingListing> {
  const { calls, ended, unreachable } = await collectPending(home);
  return { calls, ended, unreachable };
}

async function collectPending(home: string): Promise<PendingListing & { runs: RunDescriptor[] }> {
  const { runs, unreachable } = await discoverRuns(home);
  const ended: EndedCall[] = [];
  const lists = await Promise.all(
    runs.map(async (r) => {
      try {
        const reply = await request(r.socket, { op: 'list' });
        if (reply.ok) {
          ended.push(...(reply.ended ?? []));
          return (reply.calls ?? []).map((c) => ({ ...c, run: r.run }));
        }
        unreachable.push({ run: r.run, error: reply.error });
      } catch (err) {
        unreachable.push({ run: r.run, error: errorText(err) });
      }
      return [];
    }),
  );
  const calls = lists.flat().sort((a, b) => a.held_since.localeCompare(b.held_since));
  ended.sort((a, b) => b.ended_at.localeCompare(a.ended_at));
  return { calls, ended, unreachable, runs };
}

/** One failure line per run that did not answer. */
export function unreachableError(unreachable: UnreachableRun[]): GovError {
  const names = unreachable.map((u) => `run ${u.run} did not answer (${u.error})`).join('; ');
  return new GovError('approvals', names, {
    hint: 'retry; if the run is hung, stop its gov process (its held calls are then denied)',
  });
}

async function findRunHolding(
  home: string,
  id: string,
  run?: string,
): Promise<{ holder: RunDescriptor | null; ended: EndedCall | undefined }> {
  const listing = await collectPending(home);
  const ended = listing.ended.find((e) => e.id === id && (run === undefined || e.run === run));
  const holders = [
    ...new Set(
      listing.calls.filter((c) => c.id === id && (run === undefined || c.run === run)).map((c) => c.run),
    ),
  ];
  if (holders.length > 1) {
    throw new GovError('approvals', `held call id '${id}' exists in several runs (${holders.join(', ')})`, {
      hint: 'approve it from `gov approvals`, which knows each call’s run',
    });
  }
  const unreachable = listing.unreachable.filter((u) => run === undefined || u.run === run);
  if (holders.length === 0 && !ended && unreachable.length > 0) throw unreachableError(unreachable);
  if (holders.length === 0) return { holder: null, ended };
  return { holder: listing.runs.find((r) => r.run === holders[0]) ?? null, ended };
}

/** One held call with its arguments in full; null when no run (or not `run`) holds it. */
export async function getPending(home: string, id: string, run?: string): Promise<PendingCall | null> {
  const { holder } = await findRunHolding(home, id, run);
  if (!holder) return null;
  const reply = await request(holder.socket, { op: 'get', id }, FULL_CALL_TIMEOUT_MS);
  if (!reply.ok) return null;
  const call = reply.calls?.[0];
  return call ? { ...call, run: holder.run } : null;
}

async function settleRemote(
  home: string,
  id: string,
  run: string | undefined,
  build: () => ControlRequest,
): Promise<SettleOutcome> {
  const { holder, ended } = await findRunHolding(home, id, run);
  if (!holder) return { settled: false, error: notPendingText(id, ended) };
  const reply = await request(holder.socket, build());
  return reply.ok ? { settled: true, run: holder.run } : { settled: false, error: reply.error };
}

export interface ApproveOptions {
  always?: boolean;
  /**
   * The `args_digest` of the call the approver was shown: the run approves only the call
   * with these exact arguments (a screen approves what it showed, never another call).
   */
  argsDigest?: string;
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
    ...(opts.argsDigest !== undefined ? { args_digest: opts.argsDigest } : {}),
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
