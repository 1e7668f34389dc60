import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { runGov, spawnGov, tempHome } from '../helpers/gov-process.js';

function pythonWith(module: string): string | null {
  for (const py of ['python3', '/usr/bin/python3']) {
    if (spawnSync(py, ['-c', `import ${module}`]).status === 0) return py;
  }
  return null;
}

describe('gov run: every client reaches an HTTPS upstream through the governed proxy', () => {
  let pki: TestPki;
  let server: TestServer;
  let home: string;
  const seen: Array<{ method: string; url: string; proxied: boolean }> = [];
  let inflight = 0;
  let peak = 0;
  const waiting: import('node:http').ServerResponse[] = [];
  let sseOpen: import('node:http').ServerResponse | undefined;

  beforeAll(async () => {
    pki = makeTestPki();
    server = await startHttpsServer(pki, (req, res) => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        proxied: req.headers['proxy-authorization'] !== undefined,
      });
      if (req.url?.startsWith('/many/')) {
        // Hold every answer until all 500 requests are in flight at once (or a safety timeout).
        inflight++;
        peak = Math.max(peak, inflight);
        waiting.push(res);
        const release = () => {
          for (const w of waiting.splice(0)) w.end('ok');
          inflight = 0;
        };
        if (inflight >= 500) release();
        else if (waiting.length === 1) setTimeout(release, 20_000).unref();
        return;
      }
      if (req.url === '/sse') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('data: first\n\n');
        // The second event is sent only once the client has acknowledged the first: a proxy
        // that buffered the stream would never let that happen.
        sseOpen = res;
        const t = setTimeout(() => res.end('data: no-ack\n\n'), 8000);
        res.on('close', () => clearTimeout(t));
        return;
      }
      if (req.url === '/sse-ack') {
        sseOpen?.end('data: second\n\n');
        res.end('ack');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`hello ${req.method} ${req.url}`);
    });
    home = tempHome();
  });
  afterAll(async () => {
    await server.close();
  });

  const env = () => ({ GOV_HOME: home, NO_PROXY: 'localhost,127.0.0.1', no_proxy: '127.0.0.1' });
  const args = (cmd: string[]) => ['run', '--no-tui', '--upstream-ca', pki.caPath, '--', ...cmd];

  it('curl', async () => {
    const r = await runGov(args(['curl', '-sS', '--max-time', '10', `${server.url}/curl`]), { env: env() });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.stdout).toBe('hello GET /curl');
    expect(r.code).toBe(0);
  });

  it('Python urllib (standard library)', async () => {
    const code = `import urllib.request; print(urllib.request.urlopen("${server.url}/urllib", timeout=10).read().decode())`;
    const r = await runGov(args(['python3', '-c', code]), { env: env() });
    expect(r.stdout.trim()).toBe('hello GET /urllib');
    expect(r.code).toBe(0);
  });

  it('Python requests', async () => {
    const py = pythonWith('requests');
    expect(py, 'python3-requests must be installed (.ci/run installs it)').not.toBeNull();
    const code = `import requests; print(requests.get("${server.url}/requests", timeout=10).text)`;
    const r = await runGov(args([py!, '-c', code]), { env: env() });
    expect(r.stdout.trim()).toBe('hello GET /requests');
    expect(r.code).toBe(0);
  });

  it('plain Node fetch with no proxy code in the child', async () => {
    const code = `fetch("${server.url}/fetch").then(r => r.text()).then(t => console.log(t))`;
    const r = await runGov(args([process.execPath, '-e', code]), { env: env() });
    expect(r.stdout.trim()).toBe('hello GET /fetch');
    expect(r.code).toBe(0);
  });

  it('every request went through the proxy (the upstream never sees proxy credentials)', () => {
    const urls = seen.map((s) => s.url);
    expect(urls).toEqual(expect.arrayContaining(['/curl', '/urllib', '/requests', '/fetch']));
    expect(seen.every((s) => !s.proxied)).toBe(true);
  });

  it('SSE passes through event by event, without waiting for the stream to end', async () => {
    const code = `
import urllib.request
r = urllib.request.urlopen("${server.url}/sse", timeout=10)
print(r.readline().decode().strip(), flush=True)
r.readline()
urllib.request.urlopen("${server.url}/sse-ack", timeout=10).read()
print(r.readline().decode().strip(), flush=True)`;
    const r = await runGov(args(['python3', '-c', code]), { env: env() });
    expect(r.stdout.trim().split('\n'), r.stderr).toEqual(['data: first', 'data: second']);
  });

  it('carries 500 concurrent connections', async () => {
    const code = `const u = ${JSON.stringify(server.url)};
      const rs = await Promise.allSettled(Array.from({ length: 500 }, (_, i) => fetch(u + '/many/' + i).then((r) => r.text())));
      console.log(rs.filter((r) => r.status === 'fulfilled' && r.value === 'ok').length);`;
    const r = await runGov(args([process.execPath, '--input-type=module', '-e', code]), {
      env: env(),
      timeoutMs: 60_000,
    });
    expect(r.stdout.trim(), r.stderr).toBe('500');
    expect(peak).toBe(500);
  });

  it('handles a child that never makes a request, and one that exits mid-request', async () => {
    expect((await runGov(['run', '--no-tui', '--', 'true'], { env: env() })).code).toBe(0);
    const code = `fetch(${JSON.stringify(server.url + '/sse')}).then(() => process.exit(5))`;
    const r = await runGov(args([process.execPath, '-e', code]), { env: env() });
    expect(r.code).toBe(5);
    expect(r.stderr).not.toMatch(/internal error|Unhandled|TypeError/);
  });

  it('propagates the exit code and 128+signal', async () => {
    expect((await runGov(['run', '--no-tui', '--', 'sh', '-c', 'exit 7'], { env: env() })).code).toBe(7);
    expect((await runGov(['run', '--no-tui', '--', 'sh', '-c', 'kill -TERM $$'], { env: env() })).code).toBe(
      143,
    );
  });

  it('forwards SIGTERM to the child and leaves no orphan', async () => {
    const marker = join(home, 'child.pid');
    const gov = spawnGov(['run', '--no-tui', '--', 'sh', '-c', `echo $$ > ${marker}; exec sleep 30`], {
      env: env(),
    });
    const started = Date.now();
    while (Date.now() - started < 10_000) {
      try {
        if (readFileSync(marker, 'utf8').trim()) break;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const childPid = Number(readFileSync(marker, 'utf8').trim());
    let stderr = '';
    gov.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<string>((r) => gov.on('exit', (c, s) => r(`code ${c} signal ${s}`)));
    gov.kill('SIGTERM');
    expect(await exited, stderr).toBe('code 143 signal null');
    expect(() => process.kill(childPid, 0)).toThrow();
  });

  it('answers 407 without the run token and listens on 127.0.0.1 only', async () => {
    const script = join(home, 'probe.sh');
    writeFileSync(
      script,
      [
        'set -u',
        'P=${HTTPS_PROXY#http://*@}',
        'PORT=${P##*:}',
        'PORT=${PORT%/}',
        `curl -s -o /dev/null -w '%{http_code}\\n' -x "http://127.0.0.1:$PORT" http://127.0.0.1:1/x`,
        `curl -s -o /dev/null -w '%{http_code}\\n' -p -x "http://127.0.0.1:$PORT" https://127.0.0.1:1/x || true`,
        `curl -s -o /dev/null -w '%{http_code}\\n' -x "http://gov:wrong@127.0.0.1:$PORT" http://127.0.0.1:1/x`,
        'ss -ltn 2>/dev/null | grep ":$PORT " || netstat -ltn 2>/dev/null | grep ":$PORT "',
      ].join('\n'),
    );
    const r = await runGov(['run', '--no-tui', '--', 'sh', script], { env: env() });
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('407');
    expect(lines[1]).toMatch(/^(407|000)$/);
    expect(lines[2]).toBe('407');
    // ss/netstat: the local address column of the listening socket is the loopback address only.
    for (const l of lines.slice(3)) {
      const local = l.trim().split(/\s+/)[l.startsWith('LISTEN') ? 3 : 3]!;
      expect(local).toMatch(/^127\.0\.0\.1:\d+$/);
    }
  });

  it('an upstream with an untrusted certificate gets a 502 naming the host', async () => {
    const r = await runGov(
      ['run', '--no-tui', '--', 'curl', '-s', '-w', '\n%{http_code}', `${server.url}/untrusted`],
      { env: env() },
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines.pop()).toBe('502');
    expect(lines.join('\n')).toMatch(/TLS verification failed for 127\.0\.0\.1:\d+/);
  });

  it('refuses a Host header that disagrees with the CONNECT target', async () => {
    const r = await runGov(
      args(['curl', '-s', '-H', 'Host: evil.example', '-w', '\n%{http_code}', `${server.url}/host-mismatch`]),
      { env: env() },
    );
    expect(r.stdout.trim().split('\n').pop()).toBe('421');
    expect(seen.some((s) => s.url === '/host-mismatch')).toBe(false);
  });

  it('tunnels passthrough hosts without decrypting them', async () => {
    const policy = join(home, 'passthrough.yaml');
    writeFileSync(policy, `version: 1\npassthrough: ["127.0.0.1:${server.port}"]\n`);
    // Trusting only the upstream's own CA works only if gov did not put its certificate in between.
    const r = await runGov(
      [
        'run',
        '--no-tui',
        '--policy',
        policy,
        '--',
        'curl',
        '-sS',
        '--cacert',
        pki.caPath,
        `${server.url}/passthrough`,
      ],
      { env: env() },
    );
    expect(r.stdout, r.stderr).toBe('hello GET /passthrough');
    const intercepted = await runGov(
      [
        'run',
        '--no-tui',
        '--',
        'curl',
        '-sS',
        '--cacert',
        pki.caPath,
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `${server.url}/x`,
      ],
      { env: env() },
    );
    expect(intercepted.stdout).toBe('000');
  });

  it('reaches an IPv6 literal upstream', async () => {
    const v6 = await startHttpsServer(pki, (_req, res) => res.end('v6 ok'), '::1').catch(() => null);
    if (!v6) return; // no IPv6 loopback on this machine
    try {
      const r = await runGov(args(['curl', '-sS', '--max-time', '10', `${v6.url}/`]), { env: env() });
      expect(r.stdout).toBe('v6 ok');
    } finally {
      await v6.close();
    }
  });

  it('creates the CA with an owner-only key in an owner-only directory', async () => {
    const r = await runGov(['ca', 'path'], { env: env() });
    const cert = new X509Certificate(readFileSync(r.stdout.trim()));
    expect(cert.ca).toBe(true);
    expect(statSync(join(home, 'ca', 'ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'ca')).mode & 0o777).toBe(0o700);
  });
});
