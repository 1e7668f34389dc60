/**
 * A server that echoes the credential gov injected, asked for a byte range of its answer,
 * hands back a slice of the credential: no scan can recognise part of a value as the value,
 * and a few overlapping ranges rebuild it whole. gov drops `Range` (and `Request-Range`) and `If-Range` from every
 * request it injects a credential into, so the server answers whole and the scan redacts it.
 * Proven by what the server received and by grepping what the agent received and what gov wrote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { readUntilClose, startLiveRun, tlsThroughProxy, type LiveRun } from '../helpers/raw-proxy-client.js';
import { filesUnder } from '../helpers/home-files.js';

const TOKEN = 'sk-Rq7w2Lp9Zx4Vb8Nm3Kc6Tf1Hy5Gd0Js';

/** Every 6-character piece of the token: what a range could carry out. */
const pieces = Array.from({ length: TOKEN.length - 5 }, (_, i) => TOKEN.slice(i, i + 6));

/** Answers `auth=<Authorization header>` and honours a single `Range: bytes=a-b`, as file servers do. */
function echoingRangeServer(
  seen: Array<{ port: number; range?: string; ifRange?: string }>,
  port: () => number,
) {
  return (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      // Apache httpd also reads the old Request-Range header when Range is absent.
      const range = req.headers.range ?? (req.headers['request-range'] as string | undefined);
      const ifRange = req.headers['if-range'] as string | undefined;
      seen.push({ port: port(), ...(range ? { range } : {}), ...(ifRange ? { ifRange } : {}) });
      const body = Buffer.from(`auth=${String(req.headers.authorization ?? 'none')}\n`);
      const m = /^bytes=(\d+)-(\d+)$/.exec(range ?? '');
      if (m) {
        const [from, to] = [Number(m[1]), Math.min(Number(m[2]), body.length - 1)];
        res.writeHead(206, {
          'content-type': 'text/plain',
          'content-range': `bytes ${from}-${to}/${body.length}`,
          etag: '"e1"',
        });
        return res.end(body.subarray(from, to + 1));
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'accept-ranges': 'bytes', etag: '"e1"' });
      res.end(body);
    });
  };
}

describe('gov run: a byte range of an answer that echoes an injected credential', () => {
  let pki: TestPki;
  let home: string;
  let bound: TestServer;
  let unbound: TestServer;
  let run: LiveRun;
  let govCa: string;
  const agentSaw: string[] = [];
  const seen: Array<{ port: number; range?: string; ifRange?: string }> = [];

  const get = async (server: TestServer, extra: string): Promise<string> => {
    const t = await tlsThroughProxy(run.proxy, '127.0.0.1', server.port, govCa);
    t.write(`GET /echo HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n${extra}\r\n`);
    const r = await readUntilClose(t);
    agentSaw.push(r);
    return r;
  };
  const leaked = (text: string) => pieces.filter((p) => text.includes(p));

  beforeAll(async () => {
    pki = makeTestPki();
    home = tempHome();
    await sealWithFastKdf(home, 'correct horse battery');
    bound = await startHttpsServer(
      pki,
      echoingRangeServer(seen, () => bound.port),
    );
    unbound = await startHttpsServer(
      pki,
      echoingRangeServer(seen, () => unbound.port),
    );
    const env = { GOV_HOME: home, GOV_VAULT_PASSPHRASE: 'correct horse battery' };
    const set = await runGov(['vault', 'set', 'api-token'], { env, input: TOKEN + '\n' });
    expect(set.code, set.stderr).toBe(0);
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1
default: allow
credentials:
  - secret: api-token
    hosts: ["127.0.0.1:${bound.port}"]
    env: API_TOKEN
`,
    );
    run = await startLiveRun(['--policy', policy, '--upstream-ca', pki.caPath], env);
    govCa = readFileSync(run.env['NODE_EXTRA_CA_CERTS']!, 'utf8');
  }, 60_000);

  afterAll(async () => {
    await run?.stop();
    await bound?.close();
    await unbound?.close();
    for (const f of filesUnder(home).filter((f) => statSync(f).isFile() && !f.endsWith('vault.json')))
      expect(leaked(readFileSync(f, 'latin1')), f).toEqual([]);
    expect(leaked(agentSaw.join('\n'))).toEqual([]);
  });

  it('the server never sees Range, Request-Range or If-Range on an injected request, and the agent gets the whole answer redacted', async () => {
    // "auth=Bearer " is 12 bytes: these ranges are slices of the token alone.
    for (const range of ['bytes=12-20', 'bytes=18-26', 'bytes=24-32', 'bytes=30-48']) {
      const r = await get(bound, `Range: ${range}\r\nIf-Range: "e1"\r\n`);
      expect(r, range).toMatch(/^HTTP\/1\.1 200/);
      expect(r, range).toContain('auth=Bearer [REDACTED:vault]');
      expect(leaked(r), range).toEqual([]);
    }
    const old = await get(bound, 'Request-Range: bytes=12-20\r\n');
    expect(old).toMatch(/^HTTP\/1\.1 200/);
    expect(leaked(old)).toEqual([]);
    const atBound = seen.filter((s) => s.port === bound.port);
    expect(atBound).toHaveLength(5);
    expect(atBound.filter((s) => s.range !== undefined || s.ifRange !== undefined)).toEqual([]);
  });

  it('a request gov injects nothing into keeps its Range', async () => {
    const r = await get(unbound, 'Range: bytes=0-3\r\n');
    expect(r).toMatch(/^HTTP\/1\.1 206/);
    expect(r).toContain('content-range: bytes 0-3/');
    expect(r).not.toContain('auth=');
    expect(seen.filter((s) => s.port === unbound.port)).toEqual([{ port: unbound.port, range: 'bytes=0-3' }]);
  });
});
