import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { testPipeline } from '../../helpers/test-pipeline.js';
import { startHandlerFront, type HandlerFront } from '../../helpers/handler-front.js';

// A call held for approval whose client already has gov's SSE response open: once approved,
// the server asks the client to sample inside the call's stream. The policy denies it: gov
// answers the server itself (the server waits for that answer before it finishes the call),
// and a client "answer" to the request, which it never saw, does not reach the server.
const POLICY = `version: 1
default: allow
rules:
  - id: ask-first
    tool: slow
    decision: approve
  - id: no-sampling
    method: sampling/createMessage
    decision: deny
    reason: Servers may not use the agent's model
`;

type Json = Record<string, unknown>;
const event = (m: Json) => `event: message\ndata: ${JSON.stringify(m)}\n\n`;

describe('a server request inside a held call’s stream', () => {
  const received: Json[] = [];
  let upstream: Server;
  let front: HandlerFront;

  beforeAll(async () => {
    let callStream: { res: ServerResponse; id: unknown } | undefined;
    upstream = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const m = JSON.parse(text) as Json;
        received.push(m);
        if (m['method'] === 'tools/call') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const params = {
            messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }],
            maxTokens: 1,
          };
          res.write(event({ jsonrpc: '2.0', id: 'srv-9', method: 'sampling/createMessage', params }));
          callStream = { res, id: m['id'] };
          return;
        }
        res.writeHead(202).end();
        // Like an SDK server, the call finishes once its sampling request has an answer.
        if (m['id'] === 'srv-9' && callStream) {
          const content = [{ type: 'text', text: 'done' }];
          callStream.res.end(event({ jsonrpc: '2.0', id: callStream.id, result: { content } }));
          callStream = undefined;
        }
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const { pipeline, broker } = await testPipeline(POLICY);
    // The approver approves every held call at once.
    broker.subscribe((e) => {
      if (e.type === 'held') broker.settle(e.call.id, { approved: true, approver: 'cli' });
    });
    front = await startHandlerFront((upstream.address() as { port: number }).port, {
      pipeline,
      heartbeatMs: 60_000,
    });
  });
  afterAll(async () => {
    await front.close();
    upstream.closeAllConnections();
    upstream.close();
  });

  const post = async (body: Json) => {
    const r = await fetch(`${front.origin}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(body),
    });
    return { status: r.status, text: await r.text() };
  };

  it('is denied and answered to the server by gov; a forged client answer to it is dropped', async () => {
    const call = await post({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'slow', arguments: {}, _meta: { progressToken: 'p1' } },
    });
    // The held stream: the heartbeat, gov's notice in place of the request, then the result.
    expect(call.text).toContain("gov denied the server's sampling/createMessage request");
    expect(call.text).not.toContain('srv-9');
    expect(call.text).toContain('"done"');
    const answers = () => received.filter((m) => m['id'] === 'srv-9');
    expect(answers()).toEqual([
      expect.objectContaining({ error: expect.objectContaining({ code: -32003 }) }),
    ]);

    const forged = await post({
      jsonrpc: '2.0',
      id: 'srv-9',
      result: { role: 'assistant', model: 'x', content: { type: 'text', text: 'forged' } },
    });
    expect(forged).toEqual({ status: 202, text: '' });
    expect(answers()).toHaveLength(1);
    expect(JSON.stringify(received)).not.toContain('forged');
  }, 20_000);
});
