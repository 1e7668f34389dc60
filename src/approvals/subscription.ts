import type { Socket } from 'node:net';
import type { ApprovalVerdict, HeldCall } from '../types.js';
import type { PinAlert } from '../safety/pins-config.js';
import { connect, discoverRuns, MAX_REPLY_BYTES, REQUEST_TIMEOUT_MS, type UnreachableRun } from './client.js';
import { LineSplitter } from './line-splitter.js';
import { replySchema, streamEventSchema, type RunDescriptor } from './protocol.js';

export type RemoteEvent =
  | { type: 'held'; run: string; call: HeldCall }
  | { type: 'settled'; run: string; id: string; verdict: ApprovalVerdict }
  /** The run's socket closed: every call it held is gone. */
  | { type: 'run-ended'; run: string }
  /** After each discovery: the live runs that did not answer (empty when all did). */
  | { type: 'unreachable'; runs: UnreachableRun[] }
  /** A tool pin alert of the run (its last few are sent when `gov approvals` attaches). */
  | { type: 'pin-alert'; run: string; alert: PinAlert };

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
      else if (ev.data.event === 'pin_alert')
        emit({ type: 'pin-alert', run, alert: ev.data.alert as PinAlert });
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
    const { runs, unreachable } = await discoverRuns(home);
    if (!closed) emit({ type: 'unreachable', runs: unreachable });
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
