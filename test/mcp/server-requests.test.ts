import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/types.js';
import { deniedServerRequestNotice, secretFieldOf, serverRequestsIn } from '../../src/mcp/server-requests.js';

describe('serverRequestsIn', () => {
  it('finds a 2025-era server→client request, and ignores notifications and other methods', () => {
    expect(serverRequestsIn({ jsonrpc: '2.0', id: 1, method: 'roots/list' })).toEqual([
      { method: 'roots/list', params: {} },
    ]);
    expect(serverRequestsIn({ jsonrpc: '2.0', method: 'sampling/createMessage' })).toEqual([]);
    expect(serverRequestsIn({ jsonrpc: '2.0', id: 1, method: 'ping' })).toEqual([]);
  });

  it('finds the inputRequests of a task waiting for input (tasks extension tasks/get)', () => {
    const llm = { method: 'sampling/createMessage', params: { messages: [] } };
    const task = { resultType: 'complete', taskId: 't', status: 'input_required', inputRequests: { llm } };
    expect(serverRequestsIn({ jsonrpc: '2.0', id: 2, result: task }).map((x) => x.key)).toEqual(['llm']);
    const done = { ...task, status: 'completed' };
    expect(serverRequestsIn({ jsonrpc: '2.0', id: 2, result: done })).toEqual([]);
  });

  it('finds 2026 MRTR inputRequests, with URL-mode targets and secret-asking form fields', () => {
    const r = serverRequestsIn({
      jsonrpc: '2.0',
      id: 4,
      result: {
        resultType: 'input_required',
        inputRequests: {
          login: {
            method: 'elicitation/create',
            params: { mode: 'url', url: 'https://auth.example.com/x?y=1' },
          },
          pw: {
            method: 'elicitation/create',
            params: {
              mode: 'form',
              requestedSchema: {
                type: 'object',
                properties: { pass: { type: 'string', title: 'Your password' } },
              },
            },
          },
          llm: { method: 'sampling/createMessage', params: { messages: [] } },
        },
      },
    });
    expect(r.map((x) => [x.key, x.method, x.domain, x.secretField])).toEqual([
      ['login', 'elicitation/create', 'auth.example.com', undefined],
      ['pw', 'elicitation/create', undefined, 'pass'],
      ['llm', 'sampling/createMessage', undefined, undefined],
    ]);
    expect(
      serverRequestsIn({ jsonrpc: '2.0', id: 4, result: { resultType: 'complete', inputRequests: {} } }),
    ).toEqual([]);
  });
});

describe('secretFieldOf', () => {
  it('names fields that ask for passwords, tokens or API keys by key, title or format, not description', () => {
    const schema = (p: Record<string, JsonValue>): JsonValue => ({ type: 'object', properties: p });
    expect(secretFieldOf(schema({ name: { type: 'string' }, api_key: { type: 'string' } }))).toBe('api_key');
    expect(secretFieldOf(schema({ x: { type: 'string', title: 'GitHub token' } }))).toBe('x');
    expect(
      secretFieldOf(schema({ n: { type: 'integer', description: 'not your phone number or pin' } })),
    ).toBeNull();
    expect(secretFieldOf(schema({ x: { type: 'string', format: 'password' } }))).toBe('x');
    expect(secretFieldOf(schema({ confirm: { type: 'boolean' }, email: { type: 'string' } }))).toBeNull();
    expect(secretFieldOf(undefined)).toBeNull();
  });
});

it('deniedServerRequestNotice is a logging notification naming the method and reason', () => {
  expect(deniedServerRequestNotice('roots/list', 'no')).toEqual({
    jsonrpc: '2.0',
    method: 'notifications/message',
    params: { level: 'warning', logger: 'gov', data: "gov denied the server's roots/list request: no" },
  });
});
