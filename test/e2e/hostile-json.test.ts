import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProxyAgent, request } from 'undici';
import { ROOT, runGov, spawnGov, tempHome } from '../helpers/gov-process.js';
import { hostileCases, type HostileCase } from '../helpers/hostile-json.js';
import { startHttpsServer, type TestServer } from '../helpers/https-server.js';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { auditRecords } from '../helpers/audit-records.js';
import { startServe, type ServeProcess } from '../helpers/gov-serve.js';

const RAW_SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'raw-stdio-server.mjs');
const SEED = 11;
const COUNT = 120;
const POLICY = 'version: 1\ndefault: allow\n';

type Json = Record<string, unknown>;

function call(id: number, args: string): string {
  return `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":${args}}}`;
}

/** The JSON-RPC responses in an answer (one message or a batch). */
function responsesIn(text: string): Json[] {
  const v = JSON.parse(text) as unknown;
  const all = (Array.isArray(v) ? v : [v]) as Json[];
  return all.filter((r) => r['jsonrpc'] === '2.0' && ('result' in r || 'error' in r));
}

/** Asserts that `answer` (gov's reply to one hostile case) is what the case requires. */
function checkAnswer(c: HostileCase, answer: string | null): void {
  const where = `case '${c.label}'`;
  if (c.answer.kind === 'none') {
    expect(answer, where).toBeNull();
    return;
  }
  expect(answer, where).not.toBeNull();
  const responses = responsesIn(answer!);
  expect(responses.length, `${where}: ${answer!.slice(0, 300)}`).toBeGreaterThan(0);
  if (c.answer.kind === 'id') {
    const id = c.answer.id;
    expect(
      responses.some((r) => r['id'] === id),
      `${where}: ${answer!.slice(0, 300)}`,
    ).toBe(true);
  }
}

/** A JSON-RPC peer that answers every request, like the stdio one, and keeps what it got. */
function jsonRpcPeer(received: string[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push(body);
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch {
        value = undefined;
      }
      const answer = (m: unknown) => {
        const o = m as Json | null;
        return o && typeof o === 'object' && typeof o['method'] === 'string' && 'id' in o
          ? { jsonrpc: '2.0', id: o['id'], result: { content: [{ type: 'text', text: 'ok' }] } }
          : undefined;
      };
      const out = Array.isArray(value) ? value.map(answer).filter(Boolean) : answer(value);
      if (Array.isArray(out) ? out.length === 0 : out === undefined) {
        const isNotification =
          value && typeof value === 'object' && !Array.isArray(value) && 'method' in value;
        if (isNotification) {
          res.writeHead(202).end();
          return;
        }
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            jsonrpc: '2.0',
            id: null,
            error: { code: -32600, message: 'server: no request' },
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    });
  };
}

function serverLog(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

describe('hostile JSON through a running gov mcp wrap', () => {
  let home: string;
  let execLog: string;
  let gov: ChildProcess;
  let stderr = '';
  const lines: string[] = [];
  let wake: () => void = () => undefined;

  /** The next line gov writes to the client, or null when none comes within `ms`. */
  async function nextLine(ms = 10_000): Promise<string | null> {
    const deadline = Date.now() + ms;
    while (lines.length === 0) {
      if (Date.now() > deadline || gov.exitCode !== null) return null;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
    return lines.shift()!;
  }

  const send = (body: Buffer | string) =>
    gov.stdin!.write(Buffer.concat([Buffer.from(body), Buffer.from('\n')]));

  beforeAll(() => {
    home = tempHome();
    execLog = join(home, 'exec.log');
    writeFileSync(join(home, 'gov.yaml'), POLICY);
    gov = spawnGov(
      [
        'mcp',
        'wrap',
        '--policy',
        join(home, 'gov.yaml'),
        '--name',
        'files',
        '--',
        process.execPath,
        RAW_SERVER,
      ],
      { env: { GOV_HOME: home, EXEC_LOG: execLog } },
    );
    gov.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: gov.stdout!, crlfDelay: Infinity }).on('line', (l) => {
      lines.push(l);
      wake();
    });
  });

  afterAll(() => {
    gov.kill('SIGKILL');
  });

  it('answers every hostile message that has an id, and keeps serving', async () => {
    for (const c of hostileCases(SEED, COUNT)) {
      send(c.body);
      // A notification has no answer: the next check (a normal call) shows none came instead.
      checkAnswer(c, c.answer.kind === 'none' ? null : await nextLine());
      expect(gov.exitCode, stderr).toBeNull();
    }
    send(call(1, '{"text":"still alive"}'));
    expect(responsesIn((await nextLine())!)).toEqual([
      { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'ok' }] } },
    ]);
    expect(stderr).not.toMatch(/internal error|Unhandled|TypeError|RangeError| {4}at /);
  });

  it('a 1e400 argument is refused under its id, audited, never reaches the server; the next call works', async () => {
    const alerts = auditRecords(home).filter((r) => r['kind'] === 'alert').length;
    send(call(2, '{"text":"must-not-run-stdio","n":1e400}'));
    const r = responsesIn((await nextLine())!);
    expect(r).toMatchObject([{ id: 2, error: { code: -32600 } }]);
    expect(JSON.stringify(r)).toContain('number out of range: 1e400');
    const after = await (async () => {
      for (let i = 0; i < 50; i++) {
        const a = auditRecords(home).filter((x) => x['kind'] === 'alert');
        if (a.length > alerts) return a;
        await new Promise((res) => setTimeout(res, 100));
      }
      return [];
    })();
    expect(JSON.stringify(after.at(-1))).toContain('number out of range: 1e400');
    send(call(3, '{"text":"after"}'));
    expect(responsesIn((await nextLine())!)).toMatchObject([{ id: 3, result: {} }]);
    const log = serverLog(execLog);
    expect(log).not.toContain('must-not-run-stdio');
    expect(log).toContain('"text":"after"');
  });

  it('ends cleanly when the client closes, and the audit verifies', async () => {
    const exited = new Promise<number | null>((r) =>
      gov.exitCode !== null ? r(gov.exitCode) : gov.once('exit', (code) => r(code)),
    );
    gov.stdin!.end();
    expect(await exited, stderr).toBe(0);
    const v = await runGov(['audit', 'verify'], { env: { GOV_HOME: home } });
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });
});

describe('hostile JSON through a running gov run proxy', () => {
  let pki: TestPki;
  let upstream: TestServer;
  let home: string;
  let gov: ChildProcess;
  let stderr = '';
  let agent: ProxyAgent;
  const received: string[] = [];

  const handler = jsonRpcPeer(received);

  async function post(body: Buffer | string): Promise<{ status: number; text: string }> {
    const r = await request(`${upstream.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body,
      dispatcher: agent,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    return { status: r.statusCode, text: await r.body.text() };
  }

  beforeAll(async () => {
    pki = makeTestPki();
    upstream = await startHttpsServer(pki, handler);
    home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(policy, POLICY);
    const envFile = join(home, 'child.env');
    gov = spawnGov(
      [
        'run',
        '--no-tui',
        '--policy',
        policy,
        '--upstream-ca',
        pki.caPath,
        '--',
        'sh',
        '-c',
        `env > ${envFile}.tmp && mv ${envFile}.tmp ${envFile}; exec sleep 120`,
      ],
      { env: { GOV_HOME: home } },
    );
    gov.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 15_000;
    while (!existsSync(envFile)) {
      if (Date.now() > deadline) throw new Error(`gov run did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const env = Object.fromEntries(
      readFileSync(envFile, 'utf8')
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    ) as Record<string, string>;
    agent = new ProxyAgent({
      uri: env['HTTPS_PROXY']!,
      requestTls: { ca: readFileSync(env['NODE_EXTRA_CA_CERTS']!, 'utf8') },
    });
  });

  afterAll(async () => {
    gov.kill('SIGKILL');
    await agent?.close();
    await upstream?.close();
  });

  it('answers every hostile message that has an id, and keeps serving', async () => {
    for (const c of hostileCases(SEED, COUNT)) {
      const r = await post(c.body);
      expect(r.status, `case '${c.label}': ${r.text.slice(0, 300)}`).toBeLessThan(500);
      checkAnswer(c, r.status === 202 && r.text === '' ? null : r.text);
      expect(gov.exitCode, stderr).toBeNull();
    }
    const ok = await post(call(1, '{"text":"still alive"}'));
    expect(responsesIn(ok.text)).toMatchObject([{ id: 1, result: { content: [{ text: 'ok' }] } }]);
    expect(stderr).not.toMatch(/internal error|Unhandled|TypeError|RangeError| {4}at /);
  });

  it('a 1e400 argument is refused under its id, audited, never reaches the server; the next call works', async () => {
    const alerts = auditRecords(home).filter((r) => r['kind'] === 'alert').length;
    const r = await post(call(2, '{"text":"must-not-run-http","n":1e400}'));
    expect(responsesIn(r.text)).toMatchObject([{ id: 2, error: { code: -32600 } }]);
    expect(r.text).toContain('number out of range: 1e400');
    const newAlerts = auditRecords(home)
      .filter((x) => x['kind'] === 'alert')
      .slice(alerts);
    expect(JSON.stringify(newAlerts)).toContain('number out of range: 1e400');
    const next = await post(call(3, '{"text":"after"}'));
    expect(responsesIn(next.text)).toMatchObject([{ id: 3, result: {} }]);
    expect(received.join('\n')).not.toContain('must-not-run-http');
    expect(received.at(-1)).toContain('"text":"after"');
  });

  it('stops on SIGTERM, and the audit verifies', async () => {
    const exited = new Promise<number | null>((r) => gov.once('exit', (code) => r(code)));
    gov.kill('SIGTERM');
    expect(await exited, stderr).toBe(143);
    const v = await runGov(['audit', 'verify'], { env: { GOV_HOME: home } });
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });
});

describe('hostile JSON through a running gov serve', () => {
  let pki: TestPki;
  let upstream: TestServer;
  let home: string;
  let serve: ServeProcess;
  const received: string[] = [];

  const post = async (body: Buffer | string): Promise<{ status: number; text: string }> => {
    const r = await request(`${serve.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    return { status: r.statusCode, text: await r.body.text() };
  };

  beforeAll(async () => {
    pki = makeTestPki();
    upstream = await startHttpsServer(pki, jsonRpcPeer(received));
    home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(policy, POLICY);
    serve = await startServe(
      ['--target', `${upstream.url}/mcp`, '--policy', policy, '--upstream-ca', pki.caPath, '--auth', 'none'],
      { GOV_HOME: home },
    );
  });

  afterAll(async () => {
    await serve?.stop();
    await upstream?.close();
  });

  it('answers every hostile message that has an id, refuses 1e400 unforwarded, and keeps serving', async () => {
    for (const c of hostileCases(SEED + 1, COUNT)) {
      const r = await post(c.body);
      expect(r.status, `case '${c.label}': ${r.text.slice(0, 300)}`).toBeLessThan(500);
      checkAnswer(c, r.status === 202 && r.text === '' ? null : r.text);
      expect(serve.child.exitCode, serve.stderr()).toBeNull();
    }
    const r = await post(call(2, '{"text":"must-not-run-serve","n":1e400}'));
    expect(responsesIn(r.text)).toMatchObject([{ id: 2, error: { code: -32600 } }]);
    const ok = await post(call(1, '{"text":"still alive"}'));
    expect(responsesIn(ok.text)).toMatchObject([{ id: 1, result: { content: [{ text: 'ok' }] } }]);
    expect(received.join('\n')).not.toContain('must-not-run-serve');
    expect(serve.stderr()).not.toMatch(/internal error|Unhandled|TypeError|RangeError| {4}at /);
    expect(await serve.stop()).toBe(0);
    const v = await runGov(['audit', 'verify'], { env: { GOV_HOME: home } });
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });
});
