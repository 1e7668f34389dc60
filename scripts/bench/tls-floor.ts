/**
 * The memory floor under the held-calls row: what N idle TLS connections cost a plain Node
 * process that does nothing else (no HTTP, no gov). gov holds three TLS sockets for the row's
 * 1,000 held calls and 1,000 SSE streams (the held calls' and the streams' agent sides, the
 * streams' upstream sides), so 3,000 connections here are the part of gov's RSS that no code
 * of gov's can remove.
 */
import { fork } from 'node:child_process';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { rssMb } from './stats.js';

export interface TlsFloor {
  connections: number;
  /** RSS of the plain Node TLS server before any connection, MB. */
  baseMb: number;
  /** RSS with every connection open and idle, MB. */
  openMb: number;
}

const CHILD_FLAG = '--gov-bench-tls-floor-server';

/** Measure in a child process (its RSS is only Node's and the connections'). */
export async function measureTlsFloor(o: {
  keyPath: string;
  certPath: string;
  connections: number;
}): Promise<TlsFloor> {
  const child = fork(new URL(import.meta.url).pathname, [CHILD_FLAG, o.keyPath, o.certPath], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const clients: TLSSocket[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { port: number }).port));
      child.once('exit', (code) => reject(new Error(`TLS floor server exited (${code})`)));
    });
    const baseMb = rssMb(child.pid!) ?? 0;
    for (let i = 0; i < o.connections; i += 50) {
      await Promise.all(
        Array.from(
          { length: Math.min(50, o.connections - i) },
          () =>
            new Promise<void>((resolve, reject) => {
              const c = connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => resolve());
              c.once('error', reject);
              clients.push(c);
            }),
        ),
      );
    }
    // Every handshake is finished on the server too once it has counted them all.
    await new Promise<void>((resolve) => {
      const ask = () => child.send('count');
      child.on('message', (m) => {
        if ((m as { accepted?: number }).accepted === o.connections) resolve();
        else setTimeout(ask, 50);
      });
      ask();
    });
    return { connections: o.connections, baseMb, openMb: rssMb(child.pid!) ?? 0 };
  } finally {
    clearTimeout(timer);
    for (const c of clients) c.destroy();
    child.kill('SIGKILL');
  }
}

/** The child: a TLS server that accepts and holds connections, reading nothing. */
function serve(keyPath: string, certPath: string): void {
  const held: TLSSocket[] = [];
  const server = createServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) }, (s) => {
    s.on('error', () => undefined);
    held.push(s);
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    process.send!({ port: typeof addr === 'object' && addr ? addr.port : 0 });
  });
  process.on('message', () => process.send!({ accepted: held.length }));
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[2] === CHILD_FLAG) serve(process.argv[3]!, process.argv[4]!);
