import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect, type SecureContext } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Target } from '../transport/http/upstream.js';
import { closeFrame, frameGuard, type FrameVerdict } from './ws-frames.js';

/** An HTTP Upgrade request on an intercepted host, before anything reached the upstream. */
export interface UpgradeRequest {
  req: IncomingMessage;
  target: Target;
  /** Origin-form path with query. */
  path: string;
  /** Absolute URL: `scheme://host[:port]/path?query`. */
  url: string;
}

export type UpgradeDecision =
  /**
   * Open a raw tunnel, sending exactly these request headers upstream. Every client frame is
   * shown to `inspect` before it is forwarded; a reason it returns closes the tunnel (1008),
   * and `onRefused` hears every reason the tunnel was closed for.
   */
  | {
      action: 'tunnel';
      headers: Array<[string, string]>;
      inspect: (payload: Buffer) => string | null;
      /** The same for what the server sends (its 101 response head, then each frame). */
      inspectServer: (bytes: Buffer) => string | null;
      /** The longest text `inspectServer` looks for: so much of earlier frames is seen again. */
      serverLongest: number;
      onRefused: (reason: string) => void;
    }
  | { action: 'refuse'; status: number; message: string };

/**
 * Decides an upgrade. The proxy core carries the answer out and decides nothing itself;
 * without a gate every upgrade is refused.
 */
export type UpgradeGate = (u: UpgradeRequest) => Promise<UpgradeDecision>;

/** Largest upstream response head read while waiting for its `101 Switching Protocols`. */
const MAX_RESPONSE_HEAD = 16 * 1024;

/**
 * Answer an upgrade request with an HTTP error and close the connection: the socket has
 * left the HTTP parser, so whatever the client pipelined after the request is read and
 * dropped, never parsed and never forwarded.
 */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = message.endsWith('\n') ? message : message + '\n';
  socket.on('error', () => socket.destroy());
  socket.on('end', () => socket.destroy());
  socket.resume();
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

/**
 * Carry out the gate's decision for one upgrade request. A tunnel is opened only when the
 * upstream really switches to WebSocket: until its `101` arrives no client byte after the
 * handshake is forwarded, and any other answer is refused rather than relayed unscanned.
 */
export async function handleUpgrade(o: {
  gate: UpgradeGate | undefined;
  u: UpgradeRequest;
  socket: Duplex;
  head: Buffer;
  secureContext: () => SecureContext;
  log: { debug(msg: string): void; warn(msg: string): void };
}): Promise<void> {
  const { u, socket } = o;
  let d: UpgradeDecision;
  try {
    d = o.gate
      ? await o.gate(u)
      : { action: 'refuse', status: 403, message: `gov: upgrade to ${u.target.host} refused` };
  } catch (err) {
    o.log.warn(`upgrade gate failed for ${u.url}: ${(err as Error)?.message ?? String(err)}`);
    d = { action: 'refuse', status: 502, message: 'gov: internal error while handling the upgrade; refused' };
  }
  if (socket.destroyed) return;
  if (d.action === 'refuse') return refuseUpgrade(socket, d.status, d.message);
  tunnelWebSocket(u, d, socket, o.head, o.secureContext(), o.log);
}

function tunnelWebSocket(
  u: UpgradeRequest,
  d: Extract<UpgradeDecision, { action: 'tunnel' }>,
  client: Duplex,
  head: Buffer,
  secureContext: SecureContext,
  log: { debug(msg: string): void },
): void {
  const t = u.target;
  const up =
    t.scheme === 'https'
      ? tlsConnect({
          host: t.host,
          port: t.port,
          secureContext,
          ...(isIP(t.host) ? {} : { servername: t.host }),
        })
      : netConnect({ host: t.host, port: t.port });
  let switched = false;
  const fail = (status: number, message: string): void => {
    up.destroy();
    if (!client.destroyed) refuseUpgrade(client, status, message);
  };
  up.on('error', (err: Error) => {
    log.debug(`WebSocket upstream ${t.host}:${t.port} failed: ${err.message}`);
    if (switched) client.destroy();
    else fail(502, `gov: WebSocket upstream ${t.host}:${t.port} failed: ${err.message}`);
  });
  client.on('error', () => up.destroy());
  client.on('close', () => up.destroy());
  up.once(t.scheme === 'https' ? 'secureConnect' : 'connect', () => {
    const lines = [`GET ${u.path} HTTP/1.1`, ...d.headers.map(([k, v]) => `${k}: ${v}`)];
    up.write(lines.join('\r\n') + '\r\n\r\n');
  });
  let buffered = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end === -1) {
      if (buffered.length > MAX_RESPONSE_HEAD)
        fail(502, 'gov: WebSocket upstream sent an oversized response head');
      return;
    }
    up.off('data', onData);
    up.pause();
    // Not even its status line is quoted back when the head holds what must not reach the client.
    const responseBytes = buffered.subarray(0, end + 4);
    const refusedHead = d.inspectServer(responseBytes);
    if (refusedHead !== null) {
      d.onRefused(refusedHead);
      return fail(502, refusedHead);
    }
    const responseHead = buffered.subarray(0, end).toString('latin1');
    const [statusLine = '', ...fields] = responseHead.split('\r\n');
    const upgradeTo = fields.find((f) => /^upgrade\s*:/i.test(f))?.replace(/^upgrade\s*:\s*/i, '');
    if (!/^HTTP\/1\.1 101\b/.test(statusLine) || upgradeTo?.trim().toLowerCase() !== 'websocket') {
      return fail(
        502,
        `gov: ${t.host}:${t.port} did not switch to WebSocket (answered '${statusLine.slice(0, 80)}'); refused`,
      );
    }
    switched = true;
    client.write(responseBytes);
    // Frames are read before they go on, both ways: a placeholder from the client, or a vault
    // value from the server, ends the tunnel (the frames before it pass, then a close frame).
    let closing: FrameVerdict | null = null;
    const close = (v: FrameVerdict, fromTheServer: boolean): void => {
      if (closing) return;
      closing = v;
      d.onRefused(v.reason);
      client.unpipe(fromClient);
      client.resume(); // what the client still sends is dropped
      up.unpipe(fromServer);
      // A refused client frame: the ones before it still reach the server, then its FIN.
      if (fromTheServer) up.destroy();
      else up.resume();
      fromServer.end();
    };
    const fromClient = frameGuard(d.inspect, (v) => close(v, false));
    const fromServer = frameGuard(d.inspectServer, (v) => close(v, true), d.serverLongest);
    fromClient.on('error', () => up.destroy());
    fromServer.on('error', () => client.destroy());
    // The client's half ends after the server's last frame, with gov's close frame if it closed.
    fromServer.on('end', () => {
      if (!client.destroyed) client.end(closing ? closeFrame(closing) : undefined);
    });
    if (head.length) fromClient.write(head);
    const early = buffered.subarray(end + 4);
    if (early.length) fromServer.write(early);
    up.pipe(fromServer).pipe(client, { end: false });
    client.pipe(fromClient).pipe(up);
    up.resume();
  };
  up.on('data', onData);
}
