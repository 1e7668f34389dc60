import { describe, expect, it } from 'vitest';
import { ServerMessageProcessor } from '../../src/pipeline/server-messages.js';
import { passesUnchanged } from '../../src/pipeline/unchanged-text.js';
import { createRedactor } from '../../src/safety/redact.js';
import { toEnvelope } from '../../src/mcp/envelope.js';
import type { CallContext } from '../../src/pipeline.js';
import type { Envelope, JsonObject } from '../../src/types.js';
import { testPipeline } from '../helpers/test-pipeline.js';

// The fast path for server→client text that needs no change (no parse, no re-serialisation),
// and the messages it must leave to the full path.
const SECRET = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
/** The same secret spelled with JSON escapes a raw-text scan does not see. */
const ESCAPED = [`\\u0067hp_${SECRET.slice(4)}`, `gh\\u0070_${SECRET.slice(4)}`];

const POLICY = `version: 1
servers:
  pay: https://pay.example/*
tools_list: hide_denied
default: allow
rules:
  - id: no-shell
    tool: "shell*"
    decision: deny
  - id: no-roots
    method: roots/list
    decision: deny
`;
const SERVER = { name: 'pay', url: 'https://pay.example/mcp' };

const redactor = createRedactor({
  vaultValues: new Map([['k', 'vault-secret-value']]),
  vault: true,
  secrets: true,
});

async function build() {
  const { pipeline, records } = await testPipeline(POLICY);
  const pending = new Map<string | number, CallContext>();
  const toServer: unknown[] = [];
  const processor = new ServerMessageProcessor(pipeline, pending, {
    origin: { server: SERVER, transport: 'http' },
    answerServer: (m) => toServer.push(m),
  });
  /** Govern and "forward" a call, as the transport does, so its answer is correlated. */
  const forward = async (id: number, method: string, params: JsonObject = {}) => {
    const raw: JsonObject = { jsonrpc: '2.0', id, method, params };
    const env: Envelope = toEnvelope(
      { kind: 'request', id, method, params, raw },
      { transport: 'http', server: SERVER },
    );
    const g = await pipeline.govern(env);
    pending.set(id, g.call!);
    return g.call!;
  };
  const outcome = async (id: string) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const r = records().find(
        (x) => x['status'] !== 'pending' && (x['detail'] as { call_id?: string } | undefined)?.call_id === id,
      );
      if (r || Date.now() > deadline) return r;
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  return { processor, forward, outcome, toServer };
}

describe('passesUnchanged: what may skip the parse', () => {
  const note = (data: unknown) =>
    JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { data } });

  it('takes ordinary notifications, plain text and errors nobody waits for', () => {
    expect(passesUnchanged(note('bench event payload'), redactor, true)).toBe(true);
    expect(passesUnchanged('not json at all', redactor, true)).toBe(true);
    expect(passesUnchanged('{"jsonrpc":"2.0","id":1,"error":{}}', redactor, false)).toBe(true);
  });

  it('parses a result nobody waits for here: it may answer a call sent on another stream', () => {
    expect(passesUnchanged('{"jsonrpc":"2.0","id":1,"result":{}}', redactor, false)).toBe(false);
  });

  it('leaves to the full path: secrets, escapes, answers to waiting calls, server requests, blobs', () => {
    expect(passesUnchanged(note(`token ${SECRET}`), redactor, false)).toBe(false);
    expect(passesUnchanged(note('vault-secret-value'), redactor, false)).toBe(false);
    for (const e of ESCAPED)
      expect(passesUnchanged(`{"params":{"data":"${e}"}}`, redactor, false)).toBe(false);
    expect(passesUnchanged(note('a\nb'), redactor, false)).toBe(false);
    expect(passesUnchanged('{"jsonrpc":"2.0","id":1,"result":{}}', redactor, true)).toBe(false);
    expect(passesUnchanged('{"jsonrpc":"2.0","id":1,"error":{}}', redactor, true)).toBe(false);
    expect(passesUnchanged('{"jsonrpc":"2.0","id":"s","method":"roots/list"}', redactor, false)).toBe(false);
    expect(passesUnchanged('{"result":{"resultType":"input_required"}}', redactor, false)).toBe(false);
    expect(passesUnchanged('{"contents":[{"uri":"file:///x","blob":"Z2hw"}]}', redactor, false)).toBe(false);
  });
});

describe('ServerMessageProcessor with the fast path', () => {
  it('passes a message that needs no change as its original bytes (null: nothing rewritten)', async () => {
    const { processor } = await build();
    const text = '{ "jsonrpc": "2.0",  "method": "notifications/progress", "params": {"progress": 1.50} }';
    expect(processor.processText(text)).toBeNull();
  });

  it('still redacts a secret hidden by JSON escapes, in a stream event and in a large result', async () => {
    const { processor, forward, outcome } = await build();
    for (const e of ESCAPED) {
      const out = processor.processText(
        `{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"${e}"}}`,
      );
      expect(out).not.toBeNull();
      expect(JSON.parse(out!)).toMatchObject({ params: { data: '[REDACTED:github-token]' } });
    }
    const call = await forward(7, 'tools/call', { name: 'logs' });
    const filler = 'INFO all good '.repeat(200_000);
    const big = `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"${filler}${ESCAPED[0]}"}]}}`;
    const out = processor.processText(big);
    expect(out).not.toBeNull();
    expect(out).not.toContain(SECRET.slice(4));
    expect(out).toContain('[REDACTED:github-token]');
    expect(await outcome(call.auditId)).toMatchObject({ status: 'ok', redactions: { 'github-token': 1 } });
  });

  it('still correlates an unchanged answer with its call and writes the outcome', async () => {
    const { processor, forward, outcome } = await build();
    const call = await forward(3, 'tools/call', { name: 'get_x' });
    expect(processor.processText('{"jsonrpc":"2.0","id":3,"result":{"content":[]}}')).toBeNull();
    expect(await outcome(call.auditId)).toMatchObject({ status: 'ok' });
  });

  it('still filters a tools/list answer', async () => {
    const { processor, forward } = await build();
    await forward(4, 'tools/list');
    const out = processor.processText(
      '{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"get_x","inputSchema":{}},{"name":"shell_exec","inputSchema":{}}]}}',
    );
    const tools = (JSON.parse(out!) as { result: { tools: { name: string }[] } }).result.tools;
    expect(tools.map((t) => t.name)).toEqual(['get_x']);
  });

  it('still governs a server request in a stream', async () => {
    const { processor, toServer } = await build();
    const out = processor.processText('{"jsonrpc":"2.0","id":"s1","method":"roots/list"}');
    expect(JSON.parse(out!)).toMatchObject({ method: 'notifications/message' });
    expect(toServer).toEqual([expect.objectContaining({ id: 's1' })]);
  });
});
