import { afterEach, describe, expect, it } from 'vitest';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SseReplay, type ReplayLimits, type StreamOwner } from '../../src/gateway/sse-replay.js';

const ALICE: StreamOwner = { principal: 'token:alice', sessionId: 's1' };
let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/**
 * A real HTTP server: `/stream` is tracked and written by `produce`; `/resume` resumes with the
 * request's Last-Event-ID as `x-owner` says, answering 404 with the result when not resumed.
 */
async function harness(
  limits: Partial<ReplayLimits>,
  produce: (res: ServerResponse) => void,
  now?: () => number,
) {
  const replay = new SseReplay(
    { maxEvents: 100, maxAgeMs: 60_000, maxStreams: 100, maxBytes: 1 << 20, ...limits },
    () => {},
    now,
  );
  server = createServer((req, res) => {
    if (req.url === '/stream') {
      replay.track(res, ALICE);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      produce(res);
      return;
    }
    const owner = JSON.parse(String(req.headers['x-owner'])) as StreamOwner;
    const r = replay.resume(String(req.headers['last-event-id']), owner, res);
    if (r !== 'resumed') res.writeHead(404).end(r);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const get = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      request(`${base}${path}`, { headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
        .on('error', reject)
        .end();
    });
  return {
    get,
    resume: (id: string, owner = ALICE) =>
      get('/resume', { 'last-event-id': id, 'x-owner': JSON.stringify(owner) }),
  };
}

const ids = (body: string) => [...body.matchAll(/^id: (.+)$/gm)].map((m) => m[1]!);
const datas = (body: string) => [...body.matchAll(/^data: (.+)$/gm)].map((m) => m[1]!);

describe('SseReplay', () => {
  it('numbers events with its own ids after a priming event; keep-alives are relayed unnumbered', async () => {
    const h = await harness({}, (res) => {
      res.write('id: upstream-7\ndata: one\n\n: keep-alive\n\n');
      res.end('data: two\n\n');
    });
    const { body } = await h.get('/stream');
    const got = ids(body);
    expect(got).toHaveLength(3);
    const stream = got[0]!.split('.')[0]!;
    expect(got).toEqual([`${stream}.0`, `${stream}.1`, `${stream}.2`]);
    expect(body).not.toContain('upstream-7');
    expect(body).toContain(': keep-alive');
    expect(datas(body)).toEqual(['one', 'two']);
    // A finished stream can still be replayed from any id (its client may not have got the end).
    const again = await h.resume(`${stream}.1`);
    expect(datas(again.body)).toEqual(['two']);
  });

  it('refuses another principal or session, and does not know a foreign id format', async () => {
    const h = await harness({}, (res) => res.end('data: secret-ish\n\n'));
    const stream = ids((await h.get('/stream')).body)[0]!.split('.')[0]!;
    expect(await h.resume(`${stream}.0`, { principal: 'token:bob', sessionId: 's1' })).toEqual({
      status: 404,
      body: 'foreign',
    });
    expect(await h.resume(`${stream}.0`, { principal: 'token:alice', sessionId: 's2' })).toEqual({
      status: 404,
      body: 'foreign',
    });
    // The same session id on another route is another server's session.
    expect(await h.resume(`${stream}.0`, { ...ALICE, route: '/b' })).toEqual({
      status: 404,
      body: 'foreign',
    });
    expect((await h.resume('up-1')).body).toBe('unknown');
    expect((await h.resume(`${'0'.repeat(32)}.1`)).body).toBe('unknown');
  });

  it('keeps at most maxEvents per stream and says how many a resume missed', async () => {
    const h = await harness({ maxEvents: 3 }, (res) => {
      for (let i = 1; i <= 6; i++) res.write(`data: e${i}\n\n`);
      res.end();
    });
    const stream = ids((await h.get('/stream')).body)[0]!.split('.')[0]!;
    const r = await h.resume(`${stream}.1`);
    expect(r.body).toContain(': gov: 2 event(s) after');
    expect(datas(r.body)).toEqual(['e4', 'e5', 'e6']);
  });

  it('drops events older than maxAgeMs (clock injected)', async () => {
    let now = 1_000;
    const h = await harness(
      { maxAgeMs: 100 },
      (res) => {
        res.write('data: old\n\n');
        now += 500;
        res.end('data: new\n\n');
      },
      () => now,
    );
    const stream = ids((await h.get('/stream')).body)[0]!.split('.')[0]!;
    const r = await h.resume(`${stream}.0`);
    expect(datas(r.body)).toEqual(['new']);
    expect(r.body).toContain(': gov: 1 event(s) after');
  });
});
