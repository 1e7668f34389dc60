import { describe, expect, it } from 'vitest';
import { classifyBody } from '../../src/mcp/classify.js';
import { enc, fixture, hostileFixtures, versionFixtures } from './corpus.js';

const classify = (s: string) => classifyBody(enc(s));

describe('classifyBody on the spec corpus', () => {
  const all = versionFixtures();

  it('has fixtures for every version', () => {
    expect(new Set(all.map((f) => f.version)).size).toBe(5);
    expect(all.length).toBeGreaterThan(60);
  });

  for (const f of all) {
    it(`${f.version}/${f.name} is MCP of the right kind`, () => {
      const r = classifyBody(f.bytes);
      expect(r.kind).toBe('mcp');
      if (r.kind !== 'mcp') return;
      const parsed = JSON.parse(new TextDecoder().decode(f.bytes)) as unknown;
      expect(r.batch).toBe(Array.isArray(parsed));
      const expected = f.name.endsWith('-request.json')
        ? 'request'
        : f.name.endsWith('-notification.json')
          ? 'notification'
          : 'response';
      if (!r.batch) expect(r.messages[0]!.kind).toBe(expected);
      expect(r.messages.map((m) => m.raw)).toEqual(Array.isArray(parsed) ? parsed : [parsed]);
    });
  }

  it('reads a batch element by element', () => {
    const r = classifyBody(fixture('2025-03-26', 'batch-request.json'));
    expect(r).toMatchObject({ kind: 'mcp', batch: true });
    if (r.kind !== 'mcp') return;
    expect(r.messages.map((m) => m.kind)).toEqual(['request', 'request', 'notification']);
    expect(r.messages.map((m) => ('method' in m ? m.method : ''))).toEqual([
      'tools/call',
      'tools/call',
      'notifications/progress',
    ]);
  });
});

describe('classifyBody on hostile input', () => {
  const expectations: Record<string, { kind: string; code?: number; reason?: RegExp }> = {
    'batch-hiding-shell.bin': { kind: 'mcp' },
    'batch-with-invalid-element.bin': {
      kind: 'malformed',
      code: -32600,
      reason: /batch element 1: missing jsonrpc/,
    },
    'bom.bin': { kind: 'mcp' },
    'case-folded-method.bin': { kind: 'malformed', code: -32600, reason: /unexpected member "Method"/ },
    'case-folded-name.bin': { kind: 'malformed', code: -32600, reason: /ambiguous member "Name"/ },
    'deep-nesting.bin': { kind: 'malformed', code: -32700, reason: /nesting deeper than 128/ },
    'duplicate-escaped-name.bin': { kind: 'malformed', code: -32700, reason: /duplicate key "name"/ },
    'duplicate-in-arguments.bin': { kind: 'malformed', code: -32700, reason: /duplicate key "path"/ },
    'duplicate-method.bin': { kind: 'malformed', code: -32700, reason: /duplicate key "method"/ },
    'duplicate-name.bin': { kind: 'malformed', code: -32700, reason: /duplicate key "name"/ },
    'empty-batch.bin': { kind: 'malformed', code: -32600, reason: /empty batch/ },
    'form-body.bin': { kind: 'other' },
    'invalid-utf8.bin': { kind: 'malformed', code: -32700, reason: /invalid UTF-8/ },
    'lone-surrogate.bin': { kind: 'malformed', code: -32700, reason: /lone surrogate/ },
    'long-s-params.bin': { kind: 'malformed', code: -32600, reason: /unexpected member "paramſ"/ },
    'name-not-string.bin': { kind: 'malformed', code: -32600, reason: /params.name must be a string/ },
    'nested-batch.bin': { kind: 'malformed', code: -32600, reason: /batch element 0/ },
    'no-jsonrpc-member.bin': { kind: 'malformed', code: -32600, reason: /missing jsonrpc/ },
    'null-id-request.bin': { kind: 'malformed', code: -32600, reason: /id must be/ },
    'overlong-utf8.bin': { kind: 'malformed', code: -32700, reason: /invalid UTF-8/ },
    'params-array-tools-call.bin': { kind: 'malformed', code: -32600, reason: /params must be an object/ },
    'proto-key.bin': { kind: 'mcp' },
    'result-and-error.bin': { kind: 'malformed', code: -32600, reason: /both result and error/ },
    'scalar-number.bin': { kind: 'malformed', code: -32600, reason: /not an object or array/ },
    'scalar-string.bin': { kind: 'malformed', code: -32600, reason: /not an object or array/ },
    'trailing-comma.bin': { kind: 'malformed', code: -32700 },
    'trailing-garbage.bin': { kind: 'malformed', code: -32700, reason: /unexpected data after/ },
    'unicode-escaped-method.bin': { kind: 'mcp' },
    'unicode-escaped-tool.bin': { kind: 'mcp' },
    // Python's json.loads detects UTF-16 in bytes: a server would read this call.
    'utf16le.bin': { kind: 'malformed', code: -32600, reason: /must be UTF-8; .* utf-16le/ },
    'wrong-jsonrpc-version.bin': { kind: 'malformed', code: -32600, reason: /jsonrpc must be "2.0"/ },
  };

  for (const f of hostileFixtures()) {
    it(`hostile/${f.name}`, () => {
      const want = expectations[f.name];
      expect(want, `no expectation for ${f.name}`).toBeDefined();
      const r = classifyBody(f.bytes);
      expect(r.kind).toBe(want!.kind);
      if (r.kind === 'malformed') {
        if (want!.code !== undefined) expect(r.code).toBe(want!.code);
        if (want!.reason) expect(r.reason).toMatch(want!.reason);
      }
    });
  }

  it('decodes escapes so policy sees the real tool name and method', () => {
    for (const name of ['unicode-escaped-tool.bin', 'unicode-escaped-method.bin']) {
      const r = classifyBody(fixture('hostile', name));
      expect(r.kind).toBe('mcp');
      if (r.kind !== 'mcp') continue;
      const m = r.messages[0]!;
      expect(m.kind === 'request' && m.method).toBe('tools/call');
      expect(m.kind === 'request' && (m.params as { name: string }).name).toBe('shell_exec');
    }
  });
});

describe('classifyBody rules', () => {
  it('treats non-JSON and JSON without jsonrpc as other', () => {
    for (const s of [
      '',
      '   ',
      'hello',
      '<xml/>',
      'a=1&b=2',
      '{"query":"x"}',
      '[1,2,3]',
      '[{"a":1}]',
      '"unterminated',
    ])
      expect(classify(s).kind, s).toBe('other');
  });

  it('refuses JSON scalars at the top level', () => {
    for (const s of ['1', '"x"', 'true', 'null', ' \n -3.5 '])
      expect(classify(s)).toEqual({
        kind: 'malformed',
        code: -32600,
        reason: 'top-level value is not an object or array',
        id: null,
      });
  });

  it('treats objects that claim MCP methods without jsonrpc as malformed', () => {
    expect(classify('{"id":1,"method":"tools/list"}')).toMatchObject({
      kind: 'malformed',
      code: -32600,
      id: 1,
    });
    expect(classify('{"method":"card","amount":3}').kind).toBe('other');
    expect(classify('{"JsonRpc":"2.0","id":1,"method":"x"}').kind).toBe('malformed');
  });

  it('treats objects shaped like a JSON-RPC response without jsonrpc as malformed', () => {
    // A lenient server would take these as the answer to its sampling or elicitation request.
    for (const s of [
      '{"id":0,"result":{"content":{"type":"text","text":"forged"}}}',
      '{"ID":"0","Result":{}}',
      '{"id":3,"error":{"code":-1,"message":"no"}}',
      '[{"id":0,"result":{}}]',
    ])
      expect(classify(s).kind, s).toBe('malformed');
    // Other bodies that merely have an id, or a result among other members, stay other.
    for (const s of ['{"id":7}', '{"id":7,"name":"x","result":1}', '{"result":1}', '{"id":1,"data":[]}'])
      expect(classify(s).kind, s).toBe('other');
  });

  it('leaves a body that is no JSON-RPC message alone, even with a number beyond 2^53', () => {
    expect(classify('{"tweet_id":1234567890123456789012,"text":"hi"}').kind).toBe('other');
    expect(
      classify('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"n":9007199254740993}}'),
    ).toMatchObject({
      kind: 'malformed',
      code: -32600,
      id: 1,
    });
  });

  it('validates JSON-RPC shapes', () => {
    const bad = [
      '{"jsonrpc":"2.0"}',
      '{"jsonrpc":2,"id":1,"method":"x"}',
      '{"jsonrpc":"2.0","id":1,"method":5}',
      '{"jsonrpc":"2.0","id":true,"method":"x"}',
      '{"jsonrpc":"2.0","id":{},"method":"x"}',
      '{"jsonrpc":"2.0","id":1,"method":"x","params":"s"}',
      '{"jsonrpc":"2.0","id":1,"method":"x","params":null}',
      '{"jsonrpc":"2.0","id":1,"method":"x","extra":1}',
      '{"jsonrpc":"2.0","id":1,"result":{},"method":"x","x":1}',
      '{"jsonrpc":"2.0","result":{}}',
      '{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}',
      '{"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"m"}}',
      '{"jsonrpc":"2.0","id":1,"error":{"code":1}}',
      '{"jsonrpc":"2.0","id":1,"error":"x"}',
      '{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{}}',
      '{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p","arguments":[1]}}',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call"}',
    ];
    for (const s of bad) expect(classify(s), s).toMatchObject({ kind: 'malformed', code: -32600 });
    const good = [
      '{"jsonrpc":"2.0","id":"a","method":"x","params":[1]}',
      '{"jsonrpc":"2.0","method":"x"}',
      '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"m"}}',
      '{"jsonrpc":"2.0","error":{"code":-32700,"message":"m","data":{"a":1}}}',
      '{"jsonrpc":"2.0","id":0,"result":null}',
    ];
    for (const s of good) expect(classify(s).kind, s).toBe('mcp');
  });

  it('recovers the id of an invalid single message', () => {
    expect(classify('{"jsonrpc":"1.0","id":"abc","method":"x"}')).toMatchObject({
      kind: 'malformed',
      id: 'abc',
    });
    expect(classify('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}')).toMatchObject({ id: 7 });
  });

  it('needs every batch element to be valid JSON-RPC', () => {
    expect(classify('[{"jsonrpc":"2.0","method":"x"},1]').kind).toBe('malformed');
    expect(classify('[{"jsonrpc":"2.0","method":"x"},{"a":1}]').kind).toBe('malformed');
    expect(classify('[{"jsonrpc":"2.0","method":"x"},{"jsonrpc":"2.0","id":1,"result":{}}]')).toMatchObject({
      kind: 'mcp',
      batch: true,
    });
  });

  it('skips a BOM and leading whitespace', () => {
    expect(classify('\ufeff \r\n\t{"jsonrpc":"2.0","method":"x"}').kind).toBe('mcp');
    expect(classify('\ufeff').kind).toBe('other');
  });
});

describe('classifyBody answers refusals under the id it can see', () => {
  it('a body too deep to parse is answered under the id at its head or tail; an ambiguous id is not', () => {
    const deep = '['.repeat(500) + ']'.repeat(500);
    expect(classifyBody(enc(`{"jsonrpc":"2.0","id":9,"method":"x","params":{"d":${deep}}}`))).toMatchObject({
      kind: 'malformed',
      code: -32700,
      id: 9,
    });
    expect(classifyBody(enc(`{"method":"x","params":{"d":${deep}},"jsonrpc":"2.0","id":"t"}`))).toMatchObject(
      {
        id: 't',
      },
    );
    expect(classifyBody(enc('{"jsonrpc":"2.0","id":3,"id":4,"method":"ping"}'))).toMatchObject({ id: null });
  });

  it('a number JavaScript cannot hold exactly is refused with -32600 under an exact id only', () => {
    expect(classifyBody(enc('{"jsonrpc":"2.0","id":1,"method":"x","params":{"n":1e400}}'))).toMatchObject({
      kind: 'malformed',
      code: -32600,
      id: 1,
      reason: expect.stringContaining('number out of range: 1e400'),
    });
    expect(classifyBody(enc('{"jsonrpc":"2.0","id":9007199254740993,"method":"x"}'))).toMatchObject({
      id: null,
    });
  });
});

describe('classifyBody refuses what a server could read as JSON-RPC in another charset', () => {
  const call = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}';
  const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();
  const utf32le = (s: string) => {
    const b = Buffer.alloc(s.length * 4);
    for (let i = 0; i < s.length; i++) b.writeUInt32LE(s.charCodeAt(i), i * 4);
    return b;
  };

  it('UTF-16 and UTF-32 with or without a BOM, whatever the Content-Type says', () => {
    for (const bytes of [
      utf16be(call),
      Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(call)]),
      utf32le(call),
      Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), utf32le(call)]),
    ])
      expect(classifyBody(bytes, { contentType: 'application/octet-stream' })).toMatchObject({
        kind: 'malformed',
        code: -32600,
      });
  });

  it('the declared charset (any of several, quoted or not) is a reading; one gov cannot decode is refused', () => {
    const ucs2 = Buffer.from(' ' + call, 'utf16le');
    expect(classifyBody(ucs2, { contentType: 'application/json; charset=utf-8; charset="UCS-2"' }).kind).toBe(
      'malformed',
    );
    expect(classifyBody(enc('+AHs-'), { contentType: 'application/json; charset=utf-7' })).toMatchObject({
      kind: 'malformed',
      reason: expect.stringContaining('charset "utf-7" cannot be inspected'),
    });
  });

  it('a charset that reads the same text changes nothing; a non-JSON body stays other', () => {
    expect(classifyBody(enc(call), { contentType: 'application/json; charset=ISO-8859-1' }).kind).toBe('mcp');
    expect(classifyBody(enc(call), { contentType: 'application/json; charset="utf-8"' }).kind).toBe('mcp');
    expect(
      classifyBody(Buffer.from('hello world', 'utf16le'), { contentType: 'text/plain; charset=utf-16le' })
        .kind,
    ).toBe('other');
  });
});
