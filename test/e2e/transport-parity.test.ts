import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ProxyAgent, request } from 'undici';
import { makeTestPki, type TestPki } from '../helpers/test-ca.js';
import { startSlowMcpServer, type SlowMcpServer } from '../helpers/slow-mcp-server.js';
import { ROOT, runGov, spawnGov, tempHome } from '../helpers/gov-process.js';
import { startLiveRun, type LiveRun } from '../helpers/raw-proxy-client.js';
import { until } from '../helpers/until.js';

// One core, two transports: the same exchanges through `gov run` (HTTP) and `gov mcp wrap`
// (stdio) against the same official-SDK tools give the same JSON-RPC answers — a denial's
// shape, a constraints.timeout error, and no answer at all for a held call the client
// withdrew (which the server never runs).
const POLICY = `version: 1
servers:
  slow: "https://127.0.0.1:*"
default: deny
rules:
  - id: quick
    tool: echo
    decision: allow
  - id: slow
    tool: stall
    decision: allow
    constraints: { timeout: 500ms }
  - id: ask-first
    tool: tick
    decision: approve
    timeout: 60s
`;

type Json = Record<string, unknown>;
const STDIO_SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'slow-stdio-server.mjs');

const call = (id: number, name: string, args: Json = {}): Json => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});
const cancel = (id: number): Json => ({
  jsonrpc: '2.0',
  method: 'notifications/cancelled',
  params: { requestId: id, reason: 'the user gave up' },
});

/** What may differ between two runs: audit ids. Everything else must match. */
function normalised(v: unknown): unknown {
  if (Array.isArray(v))
    return v.map(normalised).sort((a, b) => Number((a as Json)['id']) - Number((b as Json)['id']));
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v as Json)
        .filter(([k]) => k !== 'audit_id')
        .map(([k, x]) => [
          k,
          typeof x === 'string' ? x.replace(/\(audit [^)]+\)/g, '(audit …)') : normalised(x),
        ]),
    );
  return v;
}

interface Transport {
  /** Send one message or batch; resolves with gov's answer (undefined: none for it). */
  exchange(body: Json | Json[], ids: number[]): Promise<unknown>;
  /** Send without waiting (for a call that will be held). */
  start(body: Json): Promise<unknown>;
  executed(): string[];
}

async function heldCount(home: string): Promise<number> {
  const r = await runGov(['pending', '--json'], { env: { GOV_HOME: home } });
  return (JSON.parse(r.stdout || '[]') as unknown[]).length;
}

async function waitHeld(home: string, n: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await heldCount(home)) !== n) if (Date.now() > deadline) throw new Error(`never ${n} held`);
}

describe('the HTTP and stdio transports answer the same batch the same way', () => {
  let pki: TestPki;
  let server: SlowMcpServer;
  let httpHome: string;
  let stdioHome: string;
  let run: LiveRun;
  let dispatcher: ProxyAgent;
  let wrap: ChildProcess;
  const stdioExecuted: string[] = [];
  const stdioReplies: Json[][] = [];
  const transports: Record<'http' | 'stdio', Transport> = {} as Record<'http' | 'stdio', Transport>;

  beforeAll(async () => {
    pki = makeTestPki();
    server = await startSlowMcpServer(pki, 'json');
    httpHome = tempHome();
    stdioHome = tempHome();
    for (const h of [httpHome, stdioHome]) writeFileSync(join(h, 'gov.yaml'), POLICY);

    run = await startLiveRun(['--policy', join(httpHome, 'gov.yaml'), '--upstream-ca', pki.caPath], {
      GOV_HOME: httpHome,
    });
    dispatcher = new ProxyAgent({
      uri: run.proxy.href,
      requestTls: { ca: readFileSync(run.env['NODE_EXTRA_CA_CERTS']!, 'utf8') },
    });
    const post = async (body: unknown) => {
      const r = await request(server.mcpUrl, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify(body),
      });
      const text = await r.body.text();
      return text === '' ? undefined : (JSON.parse(text) as unknown);
    };
    transports.http = {
      exchange: (body) => post(body),
      start: (body) => post(body),
      executed: () => server.started,
    };

    const log = join(stdioHome, 'exec.log');
    wrap = spawnGov(
      [
        'mcp',
        'wrap',
        '--policy',
        join(stdioHome, 'gov.yaml'),
        '--name',
        'slow',
        '--',
        process.execPath,
        STDIO_SERVER,
      ],
      { env: { GOV_HOME: stdioHome, EXEC_LOG: log } },
    );
    const killer = setTimeout(() => wrap.kill('SIGKILL'), 120_000);
    wrap.on('exit', () => clearTimeout(killer));
    let buf = '';
    wrap.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const v = JSON.parse(buf.slice(0, nl)) as Json | Json[];
        buf = buf.slice(nl + 1);
        stdioReplies.push(Array.isArray(v) ? v : [v]);
      }
    });
    /** Every answer to `ids`, once each has one (gov's own and the server's may be separate lines). */
    const replyTo = async (ids: number[]) => {
      const answers = () => stdioReplies.flat().filter((m) => ids.includes(m['id'] as number));
      await until(() => answers().length >= ids.length, `stdio reply to ${ids.join(',')}`, 20_000);
      return answers();
    };
    const send = (body: unknown) => wrap.stdin!.write(JSON.stringify(body) + '\n');
    send({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'parity', version: '1' },
      },
    });
    await replyTo([0]);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    transports.stdio = {
      exchange: async (body, ids) => {
        send(body);
        const r = await replyTo(ids);
        return Array.isArray(body) ? r : r[0];
      },
      start: async (body) => {
        send(body);
        return undefined;
      },
      executed: () => {
        stdioExecuted.length = 0;
        try {
          for (const l of readFileSync(log, 'utf8').split('\n'))
            if (l.startsWith('call ')) stdioExecuted.push(l.slice(5));
        } catch {
          // nothing ran yet
        }
        return stdioExecuted;
      },
    };
  }, 90_000);

  afterAll(async () => {
    await dispatcher?.close();
    await run?.stop();
    wrap?.stdin?.end();
    await server?.close();
  });

  it('a denial and an allowed call: the same answers', async () => {
    // One message each: the SDK's stdio server (2025-06-18) takes no JSON-RPC batches.
    for (const [id, message] of [
      [1, call(1, 'nope')],
      [2, call(2, 'echo', { text: 'hi' })],
    ] as const) {
      const http = await transports.http.exchange(message, [id]);
      const stdio = await transports.stdio.exchange(message, [id]);
      expect(normalised(http)).toEqual(normalised(stdio));
    }
    expect(await transports.http.exchange(call(6, 'nope'), [6])).toMatchObject({
      id: 6,
      error: { code: -32003, data: { rule: 'default' } },
    });
  });

  it('a call past its constraints.timeout: the same error', async () => {
    const http = await transports.http.exchange(call(3, 'stall'), [3]);
    const stdio = await transports.stdio.exchange(call(3, 'stall'), [3]);
    expect(normalised(http)).toEqual(normalised(stdio));
    expect(http).toMatchObject({ id: 3, error: { code: -32001, data: { rule: 'slow', timeout_ms: 500 } } });
  });

  it('a held call the client withdraws: no answer on either, and the server never runs it', async () => {
    for (const [name, t] of Object.entries(transports)) {
      const home = name === 'http' ? httpHome : stdioHome;
      const answered = t.start(call(4, 'tick'));
      await waitHeld(home, 1);
      // HTTP: the cancellation is its own POST; stdio: its own line.
      await t.start(cancel(4));
      await waitHeld(home, 0);
      expect(await answered, name).toBeUndefined();
      // A later call is answered, and nothing ever answered the withdrawn one.
      await t.exchange(call(5, 'echo', { text: 'after' }), [5]);
      if (name === 'stdio') expect(stdioReplies.flat().filter((m) => m['id'] === 4)).toEqual([]);
      expect(t.executed(), name).not.toContain('tick');
    }
  });
});
