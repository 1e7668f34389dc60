import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { spawnGov } from './gov-process.js';

/** A `gov run` whose child only reports the environment gov gave it and waits for stdin to close. */
export interface LiveRun {
  gov: ChildProcess;
  env: Record<string, string>;
  proxy: URL;
  stop(): Promise<void>;
}

export async function startLiveRun(args: string[], env: NodeJS.ProcessEnv): Promise<LiveRun> {
  const child = `process.stdout.write(JSON.stringify(process.env) + '\\n'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
  const gov = spawnGov(['run', '--no-tui', ...args, '--', process.execPath, '-e', child], { env });
  let stderr = '';
  gov.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: gov.stdout! });
  const first = await Promise.race([
    once(lines, 'line').then(([l]) => l as string),
    once(gov, 'exit').then(() => {
      throw new Error(`gov run exited early: ${stderr}`);
    }),
  ]);
  const childEnv = JSON.parse(first) as Record<string, string>;
  const kill = setTimeout(() => gov.kill('SIGKILL'), 60_000);
  const exited = once(gov, 'exit').then(() => clearTimeout(kill));
  return {
    gov,
    env: childEnv,
    proxy: new URL(childEnv['HTTPS_PROXY']!),
    stop: async () => {
      gov.stdin!.end();
      await exited;
    },
  };
}

function proxyAuth(proxy: URL): string {
  return (
    'Basic ' +
    Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString(
      'base64',
    )
  );
}

/** Read everything the peer sends until it closes the connection. */
export async function readUntilClose(s: Socket | TLSSocket): Promise<string> {
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  s.on('error', () => undefined);
  if (!s.destroyed) await once(s, 'close');
  return text;
}

/** Open a raw TCP connection to the proxy. */
export async function connectProxy(proxy: URL): Promise<Socket> {
  const s = netConnect({ host: proxy.hostname, port: Number(proxy.port) });
  await once(s, 'connect');
  return s;
}

/** CONNECT host:port through the proxy; resolves with the tunnel socket and the proxy's answer. */
export async function openTunnel(
  proxy: URL,
  host: string,
  port: number,
): Promise<{ socket: Socket; status: string; received: string }> {
  const s = await connectProxy(proxy);
  s.write(
    `CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\nProxy-Authorization: ${proxyAuth(proxy)}\r\n\r\n`,
  );
  let head = '';
  while (!head.includes('\r\n\r\n')) {
    const [chunk] = (await once(s, 'data')) as [Buffer];
    head += chunk.toString('latin1');
  }
  return { socket: s, status: head.split('\r\n')[0]!, received: head };
}

/** A TLS connection to host:port through a CONNECT tunnel, verified against the given CA (gov's). */
export async function tlsThroughProxy(
  proxy: URL,
  host: string,
  port: number,
  ca: string,
): Promise<TLSSocket> {
  const { socket, status } = await openTunnel(proxy, host, port);
  if (!status.includes(' 200 ')) throw new Error(`CONNECT refused: ${status}`);
  const t = tlsConnect({
    socket,
    host,
    ca,
    ...(isIP(host) ? {} : { servername: host }),
    ALPNProtocols: ['http/1.1'],
  });
  await once(t, 'secureConnect');
  return t;
}

export { proxyAuth };
