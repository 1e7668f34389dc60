/**
 * gov serve's SSE replay buffer is shared by every client of the gateway. A
 * stream evicted from it while its client is still connected keeps writing: those events
 * must not count against the shared byte budget for ever, or one client's long stream
 * makes the gateway evict every other client's replay buffer (a lost answer on resume).
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

describe('SseReplay shared budget', () => {
  it('an evicted live stream does not inflate the byte count and evict other clients', async () => {
    const replay = new SseReplay({ maxEvents: 10_000, maxAgeMs: 60_000, maxStreams: 100, maxBytes: 4_000 });
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
    const a1 = /^id: ([0-9a-f]{32})\.0$/m.exec(bodies.get('a1')!)![1]!;
    await openStream('a2', 'alice');
    open.get('a2')!.end('data: x\n\n');

    // Events are kept as they are written (synchronously): no wait is needed before resuming.
    // Alice's first stream (a few dozen bytes, far under 4,000) must still be resumable.
    const r = await new Promise<{ status: number; body: string }>((resolve) =>
      request(`${base}/resume`, { headers: { 'last-event-id': `${a1}.0` } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).end(),
    );
    expect(r.status).toBe(200);
    expect(r.body).toContain('alice-answer');
    open.get('m1')!.end();
  });
});
