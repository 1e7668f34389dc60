import { notPendingText } from './ended-calls.js';
import { chmodSync, rmSync, rmdirSync } from 'node:fs';
import { writeFileAtomic } from '../../vault/atomic-file.js';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { GovError } from '../errors.js';
import { ensureDir, homePaths } from '../home.js';
import type { ApprovalBroker, BrokerEvent } from './broker.js';
import type { PinAlert } from '../safety/pins-config.js';
import { summariseHeldCall } from './args-summary.js';
import { LineSplitter } from './line-splitter.js';
import {
  MAX_LINE_BYTES,
  RUN_ID_RE,
  requestSchema,
  type ControlRequest,
  type RunDescriptor,
} from './protocol.js';
import { chooseSocketPath } from './socket-path.js';

export interface ControlServerOptions {
  /** GOV_HOME. */
  home: string;
  run: string;
  broker: ApprovalBroker;
  /** The governed command line, shown by `gov approvals`. */
  command: string[];
  /** Where the policy came from (a path or 'built-in'). */
  policySource: string;
  /** Answers `audit_head`: the run's audit chain head, signed together with the nonce. */
  auditHead?: ((nonce: string) => object) | undefined;
  /** Tool pin alerts, streamed to `gov approvals` (the last few also to a screen opened later). */
  pinAlerts?: { subscribe(listener: (a: PinAlert) => void): () => void } | undefined;
}

/** The run's recent pin alerts and new ones as they come. */
interface AlertFeed {
  recent: PinAlert[];
  listeners: Set<(a: PinAlert) => void>;
}
const RECENT_ALERTS = 3;

export interface ControlServer {
  /** The socket path actually used (may be the short temp-dir fallback). */
  readonly socket: string;
  readonly descriptorPath: string;
  close(): Promise<void>;
}

// A subscriber that stops reading is dropped rather than buffered for without bound.
const MAX_SUBSCRIBER_BACKLOG = 8 * 1024 * 1024;

/**
 * The per-run control socket: `gov pending|approve|deny|approvals` in another terminal
 * reach this run's broker through it. Owner-only (0600 socket in a 0700 directory).
 */
export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const { home, run, broker } = opts;
  if (!RUN_ID_RE.test(run)) throw new GovError('approvals', `invalid run id '${run}'`);
  const runsDir = ensureDir(homePaths(home).runs);
  const { socket, fallbackDir } = chooseSocketPath(runsDir, run);
  const descriptorPath = join(runsDir, `${run}.json`);

  const alerts: AlertFeed = { recent: [], listeners: new Set() };
  const connections = new Set<Socket>();
  const server = createServer({ allowHalfOpen: false }, (conn) => {
    connections.add(conn);
    conn.on('close', () => connections.delete(conn));
    serveConnection(conn, run, broker, opts.auditHead, alerts);
  });
  server.on('error', () => {});

  await listenReplacingStale(server, socket);
  chmodSync(socket, 0o600);

  const descriptor: RunDescriptor = {
    run,
    pid: process.pid,
    socket,
    command: opts.command,
    started: new Date().toISOString(),
    policy: opts.policySource,
  };
  // Describes a live run only: it needs no fsync (a reboot ends the run it describes).
  writeFileAtomic(descriptorPath, JSON.stringify(descriptor, null, 2) + '\n', 0o600, { durable: false });
  const offAlerts = opts.pinAlerts?.subscribe((a) => {
    alerts.recent = [...alerts.recent, a].slice(-RECENT_ALERTS);
    for (const l of alerts.listeners) l(a);
  });

  let closing: Promise<void> | undefined;
  return {
    socket,
    descriptorPath,
    close() {
      closing ??= new Promise<void>((resolve) => {
        offAlerts?.();
        rmSync(descriptorPath, { force: true });
        for (const c of connections) c.destroy();
        server.close(() => {
          rmSync(socket, { force: true });
          if (fallbackDir) {
            try {
              rmdirSync(fallbackDir);
            } catch {
              // not empty or already gone: leave it
            }
          }
          resolve();
        });
      });
      return closing;
    },
  };
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(path);
  });
}

/** A socket file left by a crashed run with the same id is replaced; a live one is not. */
async function listenReplacingStale(server: Server, path: string): Promise<void> {
  try {
    await listen(server, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (await socketAnswers(path)) {
      throw new GovError('approvals', `control socket ${path} is in use by another run`);
    }
    rmSync(path, { force: true });
    await listen(server, path);
  }
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    const done = (alive: boolean) => {
      c.destroy();
      resolve(alive);
    };
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
    c.setTimeout(1000, () => done(false));
  });
}

function serveConnection(
  conn: Socket,
  run: string,
  broker: ApprovalBroker,
  auditHead: ControlServerOptions['auditHead'],
  alerts: AlertFeed,
): void {
  const splitter = new LineSplitter(MAX_LINE_BYTES);
  let unsubscribe: (() => void) | undefined;
  const send = (msg: unknown) => {
    if (conn.destroyed || !conn.writable) return;
    conn.write(JSON.stringify(msg) + '\n');
  };
  conn.on('error', () => {});
  conn.on('close', () => unsubscribe?.());
  conn.on('data', (chunk: Buffer) => {
    let lines: string[];
    try {
      lines = splitter.push(chunk);
    } catch {
      send({ ok: false, error: `request line longer than ${MAX_LINE_BYTES} bytes` });
      conn.end();
      return;
    }
    for (const line of lines) {
      if (line.trim() === '') continue;
      const req = parseRequest(line);
      if ('error' in req) {
        send({ ok: false, error: req.error });
        continue;
      }
      if (req.op === 'subscribe') {
        if (unsubscribe) {
          send({ ok: false, error: 'already subscribed' });
          continue;
        }
        // Snapshot and subscription happen in the same tick, so no event falls between them.
        send({ ok: true, run, calls: broker.list().map((c) => summariseHeldCall(c)) });
        // A `gov approvals` screen is a live channel while it is subscribed.
        const detach = broker.attachChannel('cli');
        const stream = (msg: unknown) => {
          if (conn.writableLength > MAX_SUBSCRIBER_BACKLOG) conn.destroy();
          else send(msg);
        };
        const off = broker.subscribe((ev: BrokerEvent) =>
          stream(
            ev.type === 'held'
              ? { event: 'held', call: summariseHeldCall(ev.call) }
              : { event: 'settled', id: ev.id, verdict: ev.verdict },
          ),
        );
        for (const alert of alerts.recent) send({ event: 'pin_alert', alert });
        const onAlert = (alert: PinAlert) => stream({ event: 'pin_alert', alert });
        alerts.listeners.add(onAlert);
        unsubscribe = () => {
          off();
          alerts.listeners.delete(onAlert);
          detach();
        };
        continue;
      }
      if (req.op === 'audit_head') {
        send(auditHead ? { ok: true, run, ...auditHead(req.nonce) } : { ok: false, error: 'no audit head' });
        continue;
      }
      send(handle(req, run, broker));
    }
  });
}

function parseRequest(line: string): ControlRequest | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: 'malformed request: not JSON' };
  }
  const parsed = requestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      error: `malformed request: ${issue ? `${issue.path.join('.') || 'request'}: ${issue.message}` : 'invalid'}`,
    };
  }
  return parsed.data;
}

function handle(
  req: Exclude<ControlRequest, { op: 'subscribe' | 'audit_head' }>,
  run: string,
  broker: ApprovalBroker,
): object {
  switch (req.op) {
    case 'list':
      return {
        ok: true,
        run,
        calls: broker.list().map((c) => summariseHeldCall(c)),
        ended: broker.recentlyEnded(),
      };
    case 'get': {
      const call = broker.list().find((c) => c.id === req.id);
      return call ? { ok: true, run, calls: [call] } : notPending(broker, req.id);
    }
    case 'approve': {
      const held = broker.get(req.id);
      if (held && req.args_digest !== undefined && held.args_digest !== req.args_digest)
        return {
          ok: false,
          error: `held call ${req.id} is not the call that was shown (its arguments differ); nothing approved`,
        };
      const verdict = {
        approved: true,
        approver: req.approver ?? 'cli',
        ...(req.always ? { always: true } : {}),
      } as const;
      return broker.settle(req.id, verdict) ? { ok: true, run } : notPending(broker, req.id);
    }
    case 'deny': {
      const verdict = {
        approved: false,
        approver: req.approver ?? 'cli',
        ...(req.reason !== undefined && req.reason !== '' ? { reason: req.reason } : {}),
      } as const;
      return broker.settle(req.id, verdict) ? { ok: true, run } : notPending(broker, req.id);
    }
  }
}

function notPending(broker: ApprovalBroker, id: string): object {
  return { ok: false, error: notPendingText(id, broker.endedCall(id)) };
}
