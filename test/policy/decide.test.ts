import { describe, expect, it } from 'vitest';
import { call, httpServer, message, policy, stdioServer } from './helpers.js';

describe('decide: first match wins', () => {
  const p = policy(`version: 1
default: deny
rules:
  - id: first
    tool: "get_*"
    decision: allow
  - id: second
    tool: "get_secret"
    decision: deny
  - id: held
    tool: ["pay", "refund"]
    decision: approve
    timeout: 5m
  - id: fs-only
    server: [fs, disk]
    tool: rm
    decision: deny
    reason: no deleting
`);

  it('takes the first rule that matches, in file order', () => {
    expect(p.decide(call('get_secret'))).toEqual({
      decision: 'allow',
      rule: 'first',
      reason: 'tools/call of a tool matching get_* on any server',
    });
  });

  it('carries the rule timeout as approvalTimeoutMs', () => {
    expect(p.decide(call('refund'))).toEqual({
      decision: 'approve',
      rule: 'held',
      reason: 'tools/call of tool pay or refund on any server',
      approvalTimeoutMs: 300_000,
    });
  });

  it('matches servers by name', () => {
    expect(p.decide(call('rm', { server: stdioServer('disk') }))).toMatchObject({
      decision: 'deny',
      rule: 'fs-only',
      reason: 'no deleting',
    });
    expect(p.decide(call('rm', { server: stdioServer('other') }))).toMatchObject({
      decision: 'deny',
      rule: 'default',
    });
  });

  it('falls back to default for an unmatched tools/call', () => {
    expect(p.decide(call('unknown_tool'))).toEqual({
      decision: 'deny',
      rule: 'default',
      reason: 'no rule matches tools/call of tool unknown_tool; the policy default is deny',
    });
  });

  it('allows only true discovery that no rule matches', () => {
    for (const m of [
      'initialize',
      'ping',
      'tools/list',
      'resources/list',
      'resources/templates/list',
      'prompts/list',
      'notifications/initialized',
    ]) {
      expect(p.decide(message(m))).toMatchObject({ decision: 'allow', rule: 'discovery' });
    }
  });

  it('the default governs every method that reads data or acts', () => {
    expect(p.decide(message('resources/read', { uri: 'file:///etc/shadow' }))).toEqual({
      decision: 'deny',
      rule: 'default',
      reason: 'no rule matches resources/read of file:///etc/shadow; the policy default is deny',
    });
    for (const m of [
      'prompts/get',
      'completion/complete',
      'tasks/get',
      'tasks/result',
      'sampling/createMessage',
    ])
      expect(p.decide(message(m))).toMatchObject({ decision: 'deny', rule: 'default' });
  });

  it('globs are case-sensitive and anchored', () => {
    expect(p.decide(call('GET_x')).rule).toBe('default');
    expect(p.decide(call('xget_x')).rule).toBe('default');
    expect(p.decide(call('get_')).rule).toBe('first');
  });

  it('returns fresh decision objects', () => {
    const a = p.decide(call('get_a'));
    a.reason = 'mutated';
    expect(p.decide(call('get_a')).reason).not.toBe('mutated');
  });
});

describe('decide: methods, resources and prompts', () => {
  const p = policy(`version: 1
rules:
  - id: env
    method: resources/read
    uri: "file:///**/.env"
    decision: deny
  - id: one-level
    method: resources/read
    uri: "file:///tmp/*"
    decision: allow
  - id: prompt
    method: prompts/get
    tool: "secret_*"
    decision: deny
  - id: no-listing
    method: [tools/list, resources/list]
    server: locked
    decision: deny
  - id: anything-on-x
    method: "*"
    server: x
    decision: approve
`);

  it('matches resources/read by uri glob (** crosses /, * does not)', () => {
    expect(p.decide(message('resources/read', { uri: 'file:///home/u/.env' })).rule).toBe('env');
    expect(p.decide(message('resources/read', { uri: 'file:///.env' })).rule).toBe('env');
    expect(p.decide(message('resources/read', { uri: 'file:///tmp/a.txt' })).rule).toBe('one-level');
    expect(p.decide(message('resources/read', { uri: 'file:///tmp/a/b.txt' })).rule).toBe('default');
    expect(p.decide(message('resources/read', { uri: 'file:///home/u/.envrc' })).rule).toBe('default');
  });

  it('matches prompts/get by prompt name', () => {
    expect(p.decide(message('prompts/get', { tool: 'secret_plan' }))).toMatchObject({
      decision: 'deny',
      rule: 'prompt',
    });
    expect(p.decide(call('secret_plan')).rule).toBe('default');
  });

  it('matches listed methods and method globs', () => {
    expect(p.decide(message('tools/list', { server: stdioServer('locked') })).decision).toBe('deny');
    expect(p.decide(message('prompts/list', { server: stdioServer('locked') })).decision).toBe('allow');
    expect(p.decide(message('initialize', { server: stdioServer('x') }))).toMatchObject({
      decision: 'approve',
      rule: 'anything-on-x',
    });
  });

  it('default applies to prompts/get as to tools/call', () => {
    const deny = policy('version: 1\ndefault: deny\n');
    expect(deny.decide(message('prompts/get', { tool: 'p' })).decision).toBe('deny');
    expect(deny.decide(call('t')).decision).toBe('deny');
  });
});

describe('decide: when (CEL)', () => {
  const p = policy(`version: 1
default: deny
rules:
  - id: small
    tool: refund
    when: args.amount <= 1000 && args.currency == "EUR"
    decision: allow
  - id: by-context
    tool: "*"
    when: tool.startsWith("ro_") && server == "fs" && method == "tools/call" && run.id == "run-1"
    decision: allow
  - id: nested
    tool: q
    when: args.filter.tags.exists(t, t == "public") && size(args.filter.tags) < 3
    decision: allow
  - id: not-bool
    tool: weird
    when: args.flag
    decision: allow
  - id: arith
    tool: inc
    when: args.n + 1 == 3 && args.ratio < 0.5
    decision: allow
`);

  it('allows when the expression is true and falls through when false', () => {
    expect(p.decide(call('refund', { args: { amount: 500, currency: 'EUR' } })).rule).toBe('small');
    expect(p.decide(call('refund', { args: { amount: 1000.5, currency: 'EUR' } })).rule).toBe('default');
    expect(p.decide(call('refund', { args: { amount: 5, currency: 'USD' } })).rule).toBe('default');
  });

  it('sees tool, server, method and run', () => {
    expect(p.decide(call('ro_list')).rule).toBe('by-context');
    expect(p.decide(call('ro_list', { server: stdioServer('other') })).rule).toBe('default');
  });

  it('handles nested arguments, lists and macros', () => {
    expect(p.decide(call('q', { args: { filter: { tags: ['public', 'x'] } } })).rule).toBe('nested');
    expect(p.decide(call('q', { args: { filter: { tags: ['private'] } } })).rule).toBe('default');
  });

  it('treats whole JSON numbers as ints and fractions as doubles', () => {
    expect(p.decide(call('inc', { args: { n: 2, ratio: 0.25 } })).rule).toBe('arith');
  });

  it('denies with the rule id when the expression fails to evaluate (fail closed)', () => {
    const d = p.decide(call('refund', { args: { currency: 'EUR' } }));
    expect(d.decision).toBe('deny');
    expect(d.rule).toBe('small');
    expect(d.reason).toMatch(
      /^the condition of rule 'small' failed to evaluate \(.*amount.*\); denied to fail closed$/,
    );
  });

  it('denies when the expression gives a non-boolean', () => {
    const d = p.decide(call('weird', { args: { flag: 'yes' } }));
    expect(d).toMatchObject({ decision: 'deny', rule: 'not-bool' });
    expect(d.reason).toContain('not a boolean');
    expect(p.decide(call('weird', { args: { flag: true } })).decision).toBe('allow');
  });

  it('a key named __proto__ is an ordinary argument', () => {
    const q = policy(
      'version: 1\ndefault: deny\nrules:\n  - id: p\n    tool: t\n    when: args["__proto__"] == 1\n    decision: allow\n',
    );
    expect(q.decide(call('t', { args: JSON.parse('{"__proto__": 1}') as Record<string, number> })).rule).toBe(
      'p',
    );
  });
});

describe('decide: server registry and unknown_servers', () => {
  const registry = (unknown: string) => `version: 1
servers:
  github: https://api.githubcopilot.com/mcp/*
  local: http://127.0.0.1:8080/mcp
unknown_servers: ${unknown}
default: allow
rules:
  - id: no-shell
    tool: "shell*"
    decision: deny
  - id: gh
    server: github
    tool: "*"
    decision: approve
`;
  const unlisted = httpServer(null, 'https://evil.example/mcp');

  it('resolves URLs to registry names', () => {
    const p = policy(registry('deny'));
    expect(p.registryEnabled).toBe(true);
    expect(p.resolveServer('https://api.githubcopilot.com/mcp/')).toBe('github');
    expect(p.resolveServer('https://api.githubcopilot.com/mcp')).toBe('github');
    expect(p.resolveServer('https://API.githubcopilot.com:443/mcp/x/y?q=1')).toBe('github');
    expect(p.resolveServer('https://api.githubcopilot.com/other')).toBeNull();
    expect(p.resolveServer('http://127.0.0.1:8080/mcp')).toBe('local');
    expect(p.resolveServer('http://127.0.0.1:8081/mcp')).toBeNull();
    expect(p.resolveServer('not a url')).toBeNull();
    // Other spellings of the same host are the same server (an unlisted one skips its rules).
    expect(p.resolveServer('https://api.githubcopilot.com./mcp')).toBe('github');
    expect(p.resolveServer('http://[::ffff:127.0.0.1]:8080/mcp')).toBe('local');
    expect(p.resolveServer('http://[0:0:0:0:0:ffff:7f00:1]:8080/mcp')).toBe('local');
    expect(policy('version: 1\n').resolveServer('https://api.githubcopilot.com/mcp/')).toBeNull();
  });

  it('deny refuses every method of an unlisted HTTP server, initialize included', () => {
    const p = policy(registry('deny'));
    for (const m of ['initialize', 'tools/list', 'tools/call']) {
      expect(p.decide({ ...message(m), server: unlisted, transport: 'http', tool: 'x' })).toEqual({
        decision: 'deny',
        rule: 'unknown-server',
        reason: 'server https://evil.example/mcp is not listed under servers (unknown_servers: deny)',
      });
    }
  });

  it('approve holds tools/call of an unlisted server, allows discovery, keeps denials', () => {
    const p = policy(registry('approve'));
    expect(p.decide(call('read', { server: unlisted, transport: 'http' }))).toMatchObject({
      decision: 'approve',
      rule: 'unknown-server',
    });
    expect(p.decide({ ...message('tools/list'), server: unlisted, transport: 'http' })).toMatchObject({
      decision: 'allow',
      rule: 'discovery',
    });
    expect(p.decide(call('shell', { server: unlisted, transport: 'http' }))).toMatchObject({
      decision: 'deny',
      rule: 'no-shell',
    });
  });

  it('allow applies the rules as for any server', () => {
    const p = policy(registry('allow'));
    expect(p.decide(call('read', { server: unlisted, transport: 'http' }))).toMatchObject({
      decision: 'allow',
      rule: 'default',
    });
  });

  it('listed servers and stdio servers are always known', () => {
    const p = policy(registry('deny'));
    expect(p.decide(call('read', { server: httpServer('github'), transport: 'http' })).rule).toBe('gh');
    expect(p.decide(call('read', { server: stdioServer('fs'), transport: 'stdio' })).rule).toBe('default');
    expect(p.decide(call('read', { server: { name: null, url: 'stdio:x' }, transport: 'stdio' })).rule).toBe(
      'default',
    );
  });

  it('without a registry every server is known', () => {
    const p = policy('version: 1\nunknown_servers: deny\ndefault: allow\n');
    expect(p.registryEnabled).toBe(false);
    expect(p.decide(call('read', { server: unlisted, transport: 'http' })).rule).toBe('default');
  });
});

describe('isToolHidden (tools_list: hide_denied)', () => {
  const p = policy(`version: 1
servers:
  fs: http://fs.example/*
default: approve
rules:
  - id: shell-if-root
    tool: shell
    when: args.user == "root"
    decision: deny
  - id: shell
    tool: "shell*"
    decision: deny
  - id: maybe-rm
    tool: rm
    when: args.path.startsWith("/tmp")
    decision: allow
  - id: rm
    tool: rm
    decision: deny
  - id: fs-delete
    server: fs
    tool: delete
    decision: deny
`);
  const fs = httpServer('fs');

  it('hides a tool denied whatever its arguments', () => {
    expect(p.isToolHidden(fs, 'shell')).toBe(true);
    expect(p.isToolHidden(fs, 'shell_exec')).toBe(true);
    expect(p.isToolHidden(fs, 'delete')).toBe(true);
  });

  it('keeps a tool a conditional rule may allow, or that no rule denies', () => {
    expect(p.isToolHidden(fs, 'rm')).toBe(false);
    expect(p.isToolHidden(fs, 'read')).toBe(false);
    expect(p.isToolHidden(httpServer('other'), 'delete')).toBe(false);
  });

  it('hides everything when the default denies', () => {
    const d = policy('version: 1\ndefault: deny\nrules:\n  - id: ok\n    tool: ok\n    decision: allow\n');
    expect(d.isToolHidden(fs, 'x')).toBe(true);
    expect(d.isToolHidden(fs, 'ok')).toBe(false);
  });

  it('evaluates conditions on who calls for the principal listing, and no others', () => {
    const q = policy(`version: 1
default: allow
rules:
  - id: ops-refund
    tool: refund
    when: principal in ["token:ops", "token:admin"] && server == "" && method == "tools/call"
    decision: allow
  - id: refund
    tool: refund
    decision: deny
  - id: no-export-for-interns
    tool: export
    when: principal.startsWith("token:intern")
    decision: deny
  - id: tainted-export
    tool: export
    when: principal == "token:ops" && run.tainted
    decision: deny
  - id: loop
    tool: loop
    when: '["token:x"].exists(p, p == principal)'
    decision: deny
`);
    const s = httpServer(null, 'https://pay.example/mcp');
    expect(q.isToolHidden(s, 'refund', 'token:ops')).toBe(false);
    expect(q.isToolHidden(s, 'refund', 'token:admin')).toBe(false);
    expect(q.isToolHidden(s, 'refund', 'token:bob')).toBe(true);
    expect(q.isToolHidden(s, 'refund')).toBe(true);
    expect(q.isToolHidden(s, 'export', 'token:intern-3')).toBe(true);
    expect(q.isToolHidden(s, 'export', 'token:bob')).toBe(false);
    // Conditions that read more than who calls stay unknown: the tool keeps its place.
    expect(q.isToolHidden(s, 'export', 'token:ops')).toBe(false);
    expect(q.isToolHidden(s, 'loop', 'token:x')).toBe(false);
  });

  it('hides every tool of an unknown server under unknown_servers: deny', () => {
    expect(p.isToolHidden(httpServer(null, 'https://evil.example/mcp'), 'read')).toBe(true);
  });

  it('reports the tools_list and deny_as settings', () => {
    expect(p.toolsList).toBe('hide_denied');
    expect(policy('version: 1\ntools_list: show\ndeny_as: result\n')).toMatchObject({
      toolsList: 'show',
      denyAs: 'result',
    });
  });
});

describe('toPolicyInput', () => {
  it('keeps what policy matches on and adds the run', async () => {
    const { toPolicyInput } = await import('../../src/policy/input.js');
    const env = {
      transport: 'http' as const,
      server: { name: 'gh', url: 'https://gh.example/mcp' },
      method: 'tools/call',
      id: 1,
      tool: 'get_x',
      args: { a: 1 },
      message: { kind: 'request' as const, id: 1, method: 'tools/call', raw: {} },
    };
    expect(toPolicyInput(env, 'run-9')).toEqual({
      server: env.server,
      transport: 'http',
      method: 'tools/call',
      tool: 'get_x',
      args: { a: 1 },
      run: 'run-9',
    });
  });
});

describe('decide: session taint in CEL', () => {
  const p = policy(`version: 1
default: allow
rules:
  - id: from-that-call
    tool: send_email
    when: run.tainted && "run-1.7" in run.taint_sources && run.id == "run-1"
    decision: deny
  - id: tainted-writes
    tool: "write_*"
    when: run.tainted && size(run.taint_sources) > 0
    decision: approve
`);

  it('run.tainted and run.taint_sources reflect the calls that tainted the run', () => {
    expect(p.decide(call('write_file')).decision).toBe('allow');
    expect(p.decide({ ...call('write_file'), taintSources: ['run-1.3'] })).toMatchObject({
      decision: 'approve',
      rule: 'tainted-writes',
    });
    expect(p.decide({ ...call('send_email'), taintSources: ['run-1.3'] }).decision).toBe('allow');
    expect(p.decide({ ...call('send_email'), taintSources: ['run-1.3', 'run-1.7'] })).toMatchObject({
      decision: 'deny',
      rule: 'from-that-call',
    });
  });
});
