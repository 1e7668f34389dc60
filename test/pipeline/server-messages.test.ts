import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ServerMessageProcessor } from '../../src/pipeline/server-messages.js';
import { testPipeline } from '../helpers/test-pipeline.js';

const POLICY = `version: 1
servers:
  pay: https://pay.example/*
rules:
  - id: no-roots
    server: pay
    method: roots/list
    decision: deny
    reason: Roots stay private
  - id: ask-sampling
    method: sampling/createMessage
    decision: approve
`;

async function build() {
  const { pipeline, audit } = await testPipeline(POLICY);
  const toServer: unknown[] = [];
  const processor = new ServerMessageProcessor(pipeline, new Map(), {
    origin: { server: { name: 'pay', url: 'https://pay.example/mcp' }, transport: 'http' },
    answerServer: (m) => toServer.push(m),
  });
  // Server-request records are appended without waiting: poll for the one wanted.
  const recordFor = async (method: string) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = readFileSync(audit.path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((r) => r['method'] === method);
      if (found || Date.now() > deadline) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { processor, recordFor, toServer };
}

describe('ServerMessageProcessor: server-initiated requests under policy', () => {
  it('replaces a denied 2025-era request in a stream by a warning notification, and records it', async () => {
    const { processor, recordFor, toServer } = await build();
    const out = processor.processText('{"jsonrpc":"2.0","id":"s1","method":"roots/list"}');
    // The server gets the denial as the answer to its request.
    expect(toServer).toEqual([
      expect.objectContaining({
        id: 's1',
        error: expect.objectContaining({ data: expect.objectContaining({ rule: 'no-roots' }) }),
      }),
    ]);
    expect(JSON.parse(out!)).toMatchObject({
      method: 'notifications/message',
      params: { level: 'warning', data: expect.stringContaining('Roots stay private (rule no-roots)') },
    });
    const rec = await recordFor('roots/list');
    expect(rec).toMatchObject({
      decision: 'deny',
      rule: 'no-roots',
      detail: { direction: 'server-to-client' },
    });
  });

  it('passes an allowed request unchanged; an approve rule denies (nobody can approve it in flight)', async () => {
    const { processor } = await build();
    const form = {
      jsonrpc: '2.0',
      id: 's2',
      method: 'elicitation/create',
      params: {
        message: 'm',
        requestedSchema: { type: 'object', properties: { email: { type: 'string' } } },
      },
    };
    expect(processor.processText(JSON.stringify(form))).toBeNull();
    const sampling = processor.processText(
      '{"jsonrpc":"2.0","id":"s3","method":"sampling/createMessage","params":{}}',
    );
    expect(sampling).toContain('cannot be held for approval');
  });
});
