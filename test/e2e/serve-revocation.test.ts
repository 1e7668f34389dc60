/**
 * `gov serve token rm NAME` while gov serve runs: what the token opened ends at once. Its open
 * streams (GET and POST) stop delivering and are closed at the server, its held call is denied
 * (an approval that comes later forwards nothing), and its next request gets 401.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { makeTestPki } from '../helpers/test-ca.js';
import { startHttpsServer } from '../helpers/https-server.js';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { startServe } from '../helpers/gov-serve.js';
import { auditRecords, pendingCalls, type Json } from '../helpers/approval-peers.js';
import { eventually } from '../helpers/until.js';

const SESSION = 'revocation-session-1';

/** A Streamable HTTP server whose streams stay open until the test (or gov) ends them. */
async function startStreamingServer() {
  const pki = makeTestPki();
  const log: string[] = [];
  const open = new Map<string, ServerResponse>();
  const stream = (name: string, res: ServerResponse, first: Json) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': SESSION });
    res.write(`data: ${JSON.stringify(first)}\n\n`);
    open.set(name, res);
    log.push(`${name} opened`);
    res.on('close', () => {
      open.delete(name);
      log.push(`${name} closed`);
    });
  };
  const notice = (text: string): Json => ({
    jsonrpc: '2.0',
    method: 'notifications/message',
    params: { level: 'info', data: text },
  });
  const server = await startHttpsServer(pki, (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET') return stream('GET stream', res, notice('hello on GET'));
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const msg = JSON.parse(body) as Json;
      const params = (msg['params'] ?? {}) as Json;
      log.push(`received ${String(msg['method'])} ${String(params['name'] ?? '')}`.trim());
      if (!('id' in msg)) return res.writeHead(202).end();
      const answer = (result: Json) => {
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': SESSION });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: msg['id'], result }));
      };
      if (msg['method'] === 'initialize')
        return answer({
          protocolVersion: '2025-06-18',
          capabilities: { tools: {} },
          serverInfo: { name: 'streams', version: '1' },
        });
      if (params['name'] === 'watch') return stream('POST stream', res, notice('first on POST'));
      log.push(`executed ${String(params['name'])}`);
      answer({ content: [{ type: 'text', text: 'done' }] });
    });
  });
  /** The server sends one more event on every stream still open from its side. */
  const push = (text: string) => {
    for (const res of open.values()) res.write(`data: ${JSON.stringify(notice(text))}\n\n`);
  };
  return { pki, server, log, push };
}

/** Reads an SSE body until `want` shows up or the stream ends; returns what it read. */
async function readUntil(body: ReadableStream<Uint8Array>, want: string): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (!text.includes(want)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // gov cut the connection: the stream is over.
  } finally {
    reader.releaseLock();
  }
  return text;
}

describe('gov serve: revoking a token ends what it opened', () => {
  it('token rm cuts open GET and POST streams and denies the held call; the token gets 401', async () => {
    const { pki, server, log, push } = await startStreamingServer();
    const home = tempHome();
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      'version: 1\ndefault: allow\napproval_timeout: 1h\nrules:\n  - id: refunds\n    tool: refund\n    decision: approve\n',
    );
    const added = await runGov(['serve', 'token', 'add', 'alice'], { env: { GOV_HOME: home } });
    expect(added.code, added.stderr).toBe(0);
    const alice = added.stdout.trim();
    const gov = await startServe(
      ['--target', `${server.url}/mcp`, '--policy', policy, '--upstream-ca', pki.caPath, '--auth', 'bearer'],
      { ...process.env, GOV_HOME: home },
    );
    const headers = {
      authorization: `Bearer ${alice}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
    };
    const inSession = { ...headers, 'mcp-session-id': SESSION };
    const post = (id: number, method: string, params: Json, h: Record<string, string> = inSession) =>
      fetch(`${gov.url}/mcp`, {
        method: 'POST',
        headers: h,
        body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
      });
    const readers: Array<ReadableStream<Uint8Array>> = [];
    try {
      const init = await post(
        1,
        'initialize',
        { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
        headers,
      );
      expect(init.headers.get('mcp-session-id')).toBe(SESSION);
      await init.text();

      const get = await fetch(`${gov.url}/mcp`, { headers: { ...inSession, accept: 'text/event-stream' } });
      expect(get.status).toBe(200);
      const getBody = get.body!;
      readers.push(getBody);
      expect(await readUntil(getBody, 'hello on GET')).toContain('hello on GET');
      const watch = await post(2, 'tools/call', { name: 'watch', arguments: {} });
      const postBody = watch.body!;
      readers.push(postBody);
      expect(await readUntil(postBody, 'first on POST')).toContain('first on POST');

      const refund = post(3, 'tools/call', { name: 'refund', arguments: { amount: 500 } }).then(
        async (r) => r.text(),
        () => 'connection cut',
      );
      const held = await eventually('the refund held', async () => {
        const p = await pendingCalls(home);
        return p.length ? p : undefined;
      });

      const rm = await runGov(['serve', 'token', 'rm', 'alice'], { env: { GOV_HOME: home } });
      expect(rm.code, rm.stderr).toBe(0);
      // No request of alice's comes to tell gov: it must notice the revocation itself.
      await eventually('the server saw both streams closed', () =>
        log.includes('GET stream closed') && log.includes('POST stream closed') ? true : undefined,
      );
      const approval = await eventually('the held refund denied', () =>
        auditRecords(home).find((r) => r['kind'] === 'approval'),
      );
      expect(approval['approver']).toBe('revoked');
      expect(String(approval['reason'])).toContain('revoked');
      expect(await refund).not.toContain('refunded');

      // An approver who answers after the revocation forwards nothing.
      const late = await runGov(['approve', String(held[0]!['id'])], { env: { GOV_HOME: home } });
      expect(late.code).not.toBe(0);
      expect(late.stderr).toContain('revoked');
      const again = await post(4, 'tools/list', {});
      expect(again.status).toBe(401);
      await again.text();

      // The streams deliver nothing more.
      push('after revocation');
      expect(await readUntil(getBody, 'after revocation')).not.toContain('after revocation');
      expect(await readUntil(postBody, 'after revocation')).not.toContain('after revocation');
      expect(log, 'the held refund ran after its token was revoked').not.toContain('executed refund');
      expect(log.filter((l) => l.startsWith('received'))).toEqual([
        'received initialize',
        'received tools/call watch',
      ]);
    } finally {
      for (const r of readers) await r.cancel().catch(() => undefined);
      await gov.stop();
      await server.close();
    }
  }, 90_000);
});
