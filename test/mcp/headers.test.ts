import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyBody, type McpParseResult } from '../../src/mcp/classify.js';
import { checkMcpHeaders, decodeHeaderValue, paramHeadersFrom } from '../../src/mcp/headers.js';

/** A client's Mcp-Name/Mcp-Param encoder (gov only decodes): plain printable ASCII as is, else base64. */
function encodeHeaderValue(value: string): string {
  const plain = value.length > 0 && value.trim() === value && /^[\x20-\x7e]*$/.test(value);
  if (plain && !(value.startsWith('=?base64?') && value.endsWith('?='))) return value;
  return `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}
import { paramHeadersOf } from '../../src/mcp/param-headers.js';
import { FIXTURES, enc, fixture } from './corpus.js';

function mcp(bytes: Uint8Array): McpParseResult {
  const r = classifyBody(bytes);
  if (r.kind !== 'mcp') throw new Error(`expected mcp, got ${r.kind}`);
  return r;
}
const call = (name: string) =>
  mcp(enc(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } })));

describe('checkMcpHeaders', () => {
  const samples = JSON.parse(readFileSync(path.join(FIXTURES, '2026-07-28', 'headers.json'), 'utf8')) as {
    file: string;
    headers: Record<string, string>;
    ok: boolean;
  }[];
  for (const s of samples) {
    it(`2026-07-28 ${s.file} with ${JSON.stringify(s.headers)} → ${s.ok ? 'accepted' : 'refused'}`, () => {
      const r = checkMcpHeaders(
        { method: s.headers['Mcp-Method'], name: s.headers['Mcp-Name'] },
        mcp(fixture('2026-07-28', s.file)),
      );
      if (s.ok) expect(r).toBeNull();
      else expect(r).toEqual(expect.any(String));
    });
  }

  it('accepts bodies without headers (older protocol versions)', () => {
    expect(checkMcpHeaders({}, call('shell_exec'))).toBeNull();
  });

  it('refuses a method mismatch, naming both values', () => {
    expect(checkMcpHeaders({ method: 'tools/list' }, call('x'))).toMatch(
      /Mcp-Method .*"tools\/list".*"tools\/call"/,
    );
    expect(checkMcpHeaders({ method: 'Tools/Call', name: 'x' }, call('x'))).not.toBeNull(); // values are case-sensitive
  });

  it('refuses a name mismatch and a missing required Mcp-Name', () => {
    expect(checkMcpHeaders({ method: 'tools/call', name: 'get_weather' }, call('shell_exec'))).toMatch(
      /Mcp-Name/,
    );
    expect(checkMcpHeaders({ method: 'tools/call' }, call('shell_exec'))).toMatch(/required/);
    expect(checkMcpHeaders({ name: 'shell_exec' }, call('shell_exec'))).toBeNull();
    expect(checkMcpHeaders({ name: 'get_weather' }, call('shell_exec'))).not.toBeNull();
  });

  it('refuses Mcp-Name on a method that names nothing; allows its absence on resources/subscribe', () => {
    const list = mcp(enc('{"jsonrpc":"2.0","id":1,"method":"tools/list"}'));
    expect(checkMcpHeaders({ method: 'tools/list', name: 'x' }, list)).not.toBeNull();
    const sub = mcp(
      enc('{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"file:///a"}}'),
    );
    expect(checkMcpHeaders({ method: 'resources/subscribe' }, sub)).toBeNull();
    expect(checkMcpHeaders({ method: 'resources/subscribe', name: 'file:///b' }, sub)).not.toBeNull();
  });

  it('checks notifications too', () => {
    const n = mcp(enc('{"jsonrpc":"2.0","method":"notifications/initialized"}'));
    expect(checkMcpHeaders({ method: 'notifications/initialized' }, n)).toBeNull();
    expect(checkMcpHeaders({ method: 'notifications/cancelled' }, n)).not.toBeNull();
  });

  it('refuses headers on a batch, a response, or a repeated header', () => {
    expect(
      checkMcpHeaders({ method: 'tools/call' }, mcp(fixture('2025-03-26', 'batch-request.json'))),
    ).toMatch(/batch/);
    expect(checkMcpHeaders({ method: 'x' }, mcp(fixture('2025-06-18', 'tools-call-response.json')))).toMatch(
      /response/,
    );
    expect(checkMcpHeaders({ method: ['tools/call', 'tools/call'], name: 'x' }, call('x'))).toMatch(
      /2 times/,
    );
    expect(checkMcpHeaders({ method: ['tools/call'], name: ['x'] }, call('x'))).toBeNull();
  });

  it('decodes Base64-sentinel names before comparing', () => {
    const name = 'tööl_unicode';
    expect(checkMcpHeaders({ method: 'tools/call', name: encodeHeaderValue(name) }, call(name))).toBeNull();
    expect(
      checkMcpHeaders({ method: 'tools/call', name: encodeHeaderValue('shell_exec') }, call('shell_exec')),
    ).toBeNull();
    expect(
      checkMcpHeaders({ method: 'tools/call', name: '=?base64?c2hlbGxfZXhlYw==?=' }, call('shell_exec')),
    ).toBeNull();
    expect(
      checkMcpHeaders({ method: 'tools/call', name: '=?base64?c2hlbGxfZXhlYw==?=' }, call('get_weather')),
    ).not.toBeNull();
    expect(checkMcpHeaders({ method: 'tools/call', name: '=?base64?!!!!?=' }, call('x'))).toMatch(
      /not valid/,
    );
  });
});

describe('tasks and Mcp-Param-* headers', () => {
  const task = (method: string, taskId: string) =>
    mcp(enc(JSON.stringify({ jsonrpc: '2.0', id: 3, method, params: { taskId } })));
  const withArgs = (args: Record<string, unknown>) =>
    mcp(
      enc(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'deploy', arguments: args },
        }),
      ),
    );
  const declared = paramHeadersOf({
    type: 'object',
    properties: {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      target: { type: 'object', properties: { replicas: { type: 'integer', 'x-mcp-header': 'Replicas' } } },
      dry: { type: 'boolean', 'x-mcp-header': 'Dry' },
      list: { type: 'array', items: { type: 'object', properties: { x: { 'x-mcp-header': 'Ignored' } } } },
    },
  });
  const lookup = (tool: string) => (tool === 'deploy' ? declared : undefined);
  const params = (o: Record<string, string>) => new Map(Object.entries(o));

  it('reads x-mcp-header declarations reachable through properties only', () => {
    expect([...declared]).toEqual([
      ['region', ['region']],
      ['replicas', ['target', 'replicas']],
      ['dry', ['dry']],
    ]);
  });

  it('accepts Mcp-Name = params.taskId on tasks/get, tasks/update and tasks/cancel', () => {
    for (const m of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
      expect(checkMcpHeaders({ method: m, name: 't-1' }, task(m, 't-1'))).toBeNull();
      expect(checkMcpHeaders({ method: m }, task(m, 't-1'))).toBeNull();
      expect(checkMcpHeaders({ method: m, name: 't-2' }, task(m, 't-1'))).toMatch(/Mcp-Name/);
    }
  });

  it('accepts declared params that mirror the body (sentinel-decoded, integers numerically)', () => {
    const body = withArgs({ region: 'Zürich', target: { replicas: 42 }, dry: false });
    const h = params({ region: '=?base64?WsO8cmljaA==?=', replicas: '42.0', dry: 'false' });
    expect(checkMcpHeaders({ method: 'tools/call', name: 'deploy', params: h }, body, lookup)).toBeNull();
  });

  it('refuses a declared param that disagrees, is missing, or mirrors an absent argument — naming no value', () => {
    const body = withArgs({ region: 'eu-secret-1' });
    const bad = checkMcpHeaders({ name: 'deploy', params: params({ region: 'us-west1' }) }, body, lookup);
    expect(bad).toMatch(/^Header mismatch: Mcp-Param-region/);
    expect(bad).not.toContain('us-west1');
    expect(bad).not.toContain('eu-secret-1');
    expect(checkMcpHeaders({ name: 'deploy', params: params({}) }, body, lookup)).toMatch(/required/);
    expect(
      checkMcpHeaders(
        { name: 'deploy', params: params({ region: 'eu-secret-1', dry: 'true' }) },
        body,
        lookup,
      ),
    ).toMatch(/Mcp-Param-dry header sent but arguments.dry is absent/);
  });

  it('refuses undecodable values always; ignores undeclared or unknown-tool params otherwise', () => {
    const body = withArgs({ region: 'a' });
    expect(checkMcpHeaders({ name: 'deploy', params: params({ region: '=?base64?!!?=' }) }, body)).toMatch(
      /not valid/,
    );
    expect(checkMcpHeaders({ name: 'deploy', params: params({ region: 'b' }) }, body)).toBeNull(); // definition not seen
    expect(
      checkMcpHeaders({ name: 'deploy', params: params({ region: 'a', other: 'x' }) }, body, lookup),
    ).toBeNull();
  });

  it('collects Mcp-Param-* headers from a Node header object', () => {
    expect(paramHeadersFrom({ 'mcp-method': 'x', 'mcp-param-region': 'a' })).toEqual(
      new Map([['region', 'a']]),
    );
    expect(paramHeadersFrom({ 'mcp-method': 'x' })).toBeUndefined();
  });
});

describe('header value encoding', () => {
  it('matches the spec examples', () => {
    expect(encodeHeaderValue('us-west1')).toBe('us-west1');
    expect(encodeHeaderValue('Hello, 世界')).toBe('=?base64?SGVsbG8sIOS4lueVjA==?=');
    expect(encodeHeaderValue(' padded ')).toBe('=?base64?IHBhZGRlZCA=?=');
    expect(encodeHeaderValue('line1\nline2')).toBe('=?base64?bGluZTEKbGluZTI=?=');
    expect(encodeHeaderValue('=?base64?literal?=')).toBe('=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=');
  });

  it('round-trips and rejects invalid values', () => {
    for (const v of ['a', 'Hello, 世界', ' x', 'a\tb', '=?base64?literal?=', '😀', 'ab', 'abc', 'abcd'])
      expect(decodeHeaderValue(encodeHeaderValue(v))).toBe(v);
    expect(decodeHeaderValue('bad\u0001')).toBeNull();
    expect(decodeHeaderValue('é')).toBeNull();
    expect(decodeHeaderValue('=?base64?abc?=')).toBeNull(); // bad length
    expect(decodeHeaderValue('=?base64?/w==?=')).toBeNull(); // 0xFF is not UTF-8
    expect(decodeHeaderValue('=?base64?YQ==YQ==?=')).toBeNull(); // padding in the middle
  });
});
