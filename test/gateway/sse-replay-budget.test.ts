/**
 * gov serve's SSE replay buffer is shared by every client of the gateway. A
 * stream evicted from it while its client is still connected keeps writing: those events
 * must not count against the shared byte budget for ever, or one client's long stream
 * makes the gateway evict every other client's replay buffer (a lost answer on resume). And
 * over the limits, the principal holding the most gives way first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SseReplay, type StreamOwner } from '../../src/gateway/sse-replay.js';

const MALLORY: StreamOwner = { principal: 'token:mallory', sessionId: undefined };
const ALICE: StreamOwner = { principal: 'token:alice', sessionId: undefined };
let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A server whose /stream responses are tracked by `replay`, and a client for it. */
async function harness(replay: SseReplay) {
  const open = new Map<string, ServerResponse>();
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/stream') {
      replay.track(res, url.searchParams.get('who') === 'alice' ? ALICE : MALLORY);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      open.set(url.searchParams.get('name')!, res);
      return;
    }
    const r = replay.resume(String(req.headers['last-event-id']), ALICE, res);
    if (r !== 'resumed') res.writeHead(404).end(r);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const bodies = new Map<string, string>();
  const openStream = (name: string, who: string) =>
    new Promise<void>((resolve) => {
      request(`${base}/stream?name=${name}&who=${who}`, (res) => {
        bodies.set(name, '');
        res.on('data', (d: Buffer) => {
          bodies.set(name, bodies.get(name)! + d.toString());
          resolve();
        });
      }).end();
    });
  /** The stream's id from its priming event. */
  const streamId = (name: string) => /^id: ([0-9a-f]{32})\.0$/m.exec(bodies.get(name)!)![1]!;
  const resume = (lastEventId: string) =>
    new Promise<{ status: number; body: string }>((resolve) =>
      request(`${base}/resume`, { headers: { 'last-event-id': lastEventId } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).end(),
    );
  return { open, openStream, streamId, resume };
}

describe('SseReplay shared budget', () => {
  it('an evicted live stream does not inflate the byte count and evict other clients', async () => {
    const replay = new SseReplay({ maxEvents: 10_000, maxAgeMs: 60_000, maxStreams: 100, maxBytes: 4_000 });
    const { open, openStream, streamId, resume } = await harness(replay);

    // Mallory's long-lived stream, then a second one that pushes the first out of the buffer.
    await openStream('m1', 'mallory');
    await openStream('m2', 'mallory');
    open.get('m1')!.write(`data: ${'a'.repeat(1500)}\n\n`);
    open.get('m2')!.write(`data: ${'b'.repeat(3000)}\n\n`); // m1 evicted, still connected
    // m1 goes on; each event adds to the shared count although m1 is no longer kept.
    for (let i = 0; i < 50; i++) open.get('m1')!.write(`data: ${'c'.repeat(1000)}\n\n`);
    open.get('m2')!.end();

    // Alice: a small stream whose answer she has not yet seen, then one more small stream.
    await openStream('a1', 'alice');
    open.get('a1')!.end('data: alice-answer\n\n');
    await openStream('a2', 'alice');
    open.get('a2')!.end('data: x\n\n');

    // Events are kept as they are written (synchronously): no wait is needed before resuming.
    // Alice's first stream (a few dozen bytes, far under 4,000) must still be resumable.
    const r = await resume(`${streamId('a1')}.0`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('alice-answer');
    open.get('m1')!.end();
  });

  it('over the limits, the principal holding the most gives way first, not the oldest stream', async () => {
    const replay = new SseReplay({ maxEvents: 10_000, maxAgeMs: 60_000, maxStreams: 4, maxBytes: 8_000 });
    const { open, openStream, streamId, resume } = await harness(replay);
    // Alice's stream is the oldest in the buffer.
    await openStream('a1', 'alice');
    open.get('a1')!.end('data: alice-answer\n\n');
    // Mallory opens more streams than the buffer keeps, and writes more bytes than it holds.
    for (let i = 1; i <= 6; i++) {
      await openStream(`m${i}`, 'mallory');
      open.get(`m${i}`)!.end(`data: ${'m'.repeat(2500)}\n\n`);
    }
    const r = await resume(`${streamId('a1')}.0`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('alice-answer');
    // Mallory's oldest streams went instead (resumes are served to Alice's owner only, so a
    // stream of Mallory's that is still kept answers "foreign", a forgotten one "unknown").
    expect((await resume(`${streamId('m1')}.0`)).body).toBe('unknown');
    expect((await resume(`${streamId('m6')}.0`)).body).toBe('foreign');
  });
});
