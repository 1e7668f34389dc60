/**
 * The CPU floor under the cpu_per_call rows: a bare TLS-terminating forward proxy built from
 * the same parts as gov (node:http on the TLS socket of each CONNECT, undici towards the
 * upstream, bodies read whole), with no governance at all: no JSON-RPC parsing, policy,
 * audit, scanning or credentials. What it costs per call is what any Node proxy that
 * re-encrypts both sides pays; what gov costs above it is governance.
 *
 * Run as a child: `node proxy-floor.js KEY CERT UPSTREAM_CA -- node loadgen.js PLAN`. It
 * presents the upstream's own certificate (the load generator trusts that CA) and runs the
 * load generator as its own child, as `gov run` does, so the load generator measures it (its
 * command line names gov, which is how the load generator finds the proxy's pid).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { TLSSocket, createSecureContext } from 'node:tls';
import type { Readable } from 'node:stream';
import { Agent } from 'undici';
import { cleanEnv, LOADGEN, ROOT, runForResult } from './processes.js';
import type { LoadPlan, LoadResult } from './loadgen.js';

const FLAG = '--gov-bench-proxy-floor';

/** Run the load generator behind the bare proxy. */
export function runUnderProxyFloor(
  plan: LoadPlan,
  pki: { keyPath: string; certPath: string; caPath: string },
  o: { nodeFlags?: string[]; env?: Record<string, string> } = {},
): Promise<LoadResult> {
  const self = new URL(import.meta.url).pathname;
  return runForResult(
    process.execPath,
    [
      ...(o.nodeFlags ?? []),
      self,
      FLAG,
      pki.keyPath,
      pki.certPath,
      pki.caPath,
      JSON.stringify({ ...plan, viaProxy: true }),
    ],
    cleanEnv(o.env),
  );
}

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function serve(keyPath: string, certPath: string, caPath: string, plan: string): void {
  const context = createSecureContext({ key: readFileSync(keyPath), cert: readFileSync(certPath) });
  const agent = new Agent({ connect: { ca: readFileSync(caPath) }, keepAliveTimeout: 30_000 });
  const origins = new WeakMap<object, string>();
  const inner = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const headers = { ...req.headers };
      delete headers.host;
      delete headers.connection;
      const up = await agent.request({
        origin: origins.get(req.socket)!,
        method: req.method as 'POST',
        path: req.url ?? '/',
        headers: headers as Record<string, string>,
        body: await readAll(req),
      });
      const body = await readAll(up.body);
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) {
        if (v !== undefined && k !== 'transfer-encoding' && k !== 'connection') out[k] = v;
      }
      out['content-length'] = String(body.length);
      res.writeHead(up.statusCode, out);
      res.end(body);
    })().catch(() => res.destroy());
  });
  const outer = createServer();
  outer.on('connect', (req: IncomingMessage, socket) => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    const tls = new TLSSocket(socket, { isServer: true, secureContext: context });
    origins.set(tls, `https://${req.url}`);
    inner.emit('connection', tls);
  });
  outer.listen(0, '127.0.0.1', () => {
    const { port } = outer.address() as { port: number };
    const child = spawn(process.execPath, [LOADGEN, plan], {
      cwd: ROOT,
      env: { ...process.env, HTTPS_PROXY: `http://127.0.0.1:${port}`, NODE_EXTRA_CA_CERTS: caPath },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('exit', (code) => process.exit(code ?? 1));
  });
}

if (process.argv[2] === FLAG) {
  const [keyPath, certPath, caPath, plan] = process.argv.slice(3);
  serve(keyPath!, certPath!, caPath!, plan!);
}
