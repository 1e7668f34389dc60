import { describe, expect, it } from 'vitest';
import { policy, problems } from './helpers.js';
import { parsePolicySpec } from '../../src/policy/schema.js';

describe('gov.yaml schema errors name file:line:col and what was expected', () => {
  it('rejects an unsupported version at the value', () => {
    expect(problems('version: 2\n')).toEqual(['gov.yaml:1:10: unsupported version 2 (expected version: 1)']);
  });

  it('requires version', () => {
    expect(problems('default: deny\n')).toEqual(["gov.yaml:1:1: missing required key 'version'"]);
  });

  it('rejects an empty file and a non-mapping top level', () => {
    expect(problems('')).toEqual(['gov.yaml:1:1: expected a mapping with version: 1 at the top level']);
    expect(problems('- a\n- b\n')).toEqual([
      'gov.yaml:1:1: expected a mapping with version: 1 at the top level',
    ]);
  });

  it('points at an unknown top-level key and lists the known ones', () => {
    const [p] = problems('version: 1\ndefualt: deny\n');
    expect(p).toMatch(
      /^gov\.yaml:2:1: unknown key 'defualt' \(expected one of: version, servers, unknown_servers, default,/,
    );
  });

  it('reports an unknown rule key before the missing key it caused', () => {
    expect(problems('version: 1\nrules:\n  - id: a\n    decison: deny\n')).toEqual([
      "gov.yaml:4:5: unknown key 'decison' (expected one of: id, server, tool, uri, method, when, decision, reason, timeout, constraints, mode)",
      "gov.yaml:3:5: missing required key 'decision'",
    ]);
  });

  it('names the allowed values of an enum', () => {
    expect(problems('version: 1\nrules:\n  - id: a\n    decision: maybe\n')).toEqual([
      "gov.yaml:4:15: expected one of allow, deny, approve, got 'maybe'",
    ]);
    expect(problems('version: 1\nunknown_servers: block\n')).toEqual([
      "gov.yaml:2:18: expected one of allow, deny, approve, got 'block'",
    ]);
    expect(problems('version: 1\ntools_list: hide\n')).toEqual([
      "gov.yaml:2:13: expected one of hide_denied, show, got 'hide'",
    ]);
    expect(problems('version: 1\ndeny_as: silent\n')).toEqual([
      "gov.yaml:2:10: expected one of error, result, got 'silent'",
    ]);
  });

  it('points into a list at the bad element', () => {
    expect(problems('version: 1\nrules:\n  - id: a\n    tool: [ok, 5]\n    decision: deny\n')).toEqual([
      'gov.yaml:4:16: expected a string, got a number',
    ]);
    expect(problems('version: 1\nrules:\n  - id: a\n    tool: []\n    decision: deny\n')).toEqual([
      'gov.yaml:4:11: expected a tool name or glob or a non-empty list of them',
    ]);
  });

  it('rejects duplicate and reserved rule ids', () => {
    const yaml =
      'version: 1\nrules:\n  - id: a\n    decision: deny\n  - id: a\n    decision: allow\n  - id: default\n    decision: allow\n';
    expect(problems(yaml)).toEqual([
      "gov.yaml:5:9: duplicate rule id 'a' (first used by rule 1)",
      "gov.yaml:7:9: rule id 'default' is reserved by gov; choose another",
    ]);
  });

  it('requires rule servers to be registry names when a registry exists', () => {
    const yaml =
      'version: 1\nservers:\n  gh: https://gh.example/*\nrules:\n  - id: a\n    server: [gh, pay]\n    decision: deny\n';
    expect(problems(yaml)).toEqual([
      "gov.yaml:6:18: unknown server 'pay' (expected one of the names under servers: gh)",
    ]);
    const scalar =
      'version: 1\nservers:\n  gh: https://gh.example/*\nrules:\n  - id: a\n    server: pay\n    decision: deny\n';
    expect(problems(scalar)).toEqual([
      "gov.yaml:6:13: unknown server 'pay' (expected one of the names under servers: gh)",
    ]);
    // Without a registry, server names refer to stdio servers (--name) and are not checked.
    expect(policy('version: 1\nrules:\n  - id: a\n    server: pay\n    decision: deny\n').ruleCount).toBe(1);
  });

  it('checks durations, rates and max_calls', () => {
    expect(problems('version: 1\napproval_timeout: soon\n')).toEqual([
      "gov.yaml:2:19: expected a duration like 30s, 10m or 500ms, got 'soon'",
    ]);
    const rate =
      'version: 1\nrules:\n  - id: a\n    decision: allow\n    constraints: { rate: 10/fortnight }\n';
    expect(problems(rate)).toEqual([
      "gov.yaml:5:26: expected a rate like 10/min, 5/sec or 100/hour, got '10/fortnight'",
    ]);
    const max = 'version: 1\nrules:\n  - id: a\n    decision: allow\n    constraints:\n      max_calls: 0\n';
    expect(problems(max)).toEqual(['gov.yaml:6:18: expected at least 1']);
    const unknown = 'version: 1\nrules:\n  - id: a\n    decision: allow\n    constraints: { burst: 3 }\n';
    expect(problems(unknown)).toEqual([
      "gov.yaml:5:20: unknown key 'burst' (expected one of: max_calls, rate, timeout)",
    ]);
  });

  it('rejects settings that could never take effect', () => {
    expect(problems('version: 1\nrules:\n  - id: a\n    decision: allow\n    timeout: 10s\n')).toEqual([
      'gov.yaml:5:14: timeout is an approval timeout and applies only to decision: approve',
    ]);
    expect(
      problems('version: 1\nrules:\n  - id: a\n    decision: deny\n    constraints: { max_calls: 1 }\n'),
    ).toEqual(['gov.yaml:5:18: constraints bound allowed calls; they do not apply to decision: deny']);
    expect(problems('version: 1\nrules:\n  - id: a\n    uri: "file:///*"\n    decision: deny\n')[0]).toMatch(
      /^gov\.yaml:4:10: uri applies only to method resources\/read/,
    );
    expect(
      problems(
        'version: 1\nrules:\n  - id: a\n    method: resources/read\n    tool: x\n    decision: deny\n',
      )[0],
    ).toMatch(/^gov\.yaml:5:11: tool applies only to method tools\/call or prompts\/get/);
  });

  it('sends a vault value to a notify hook only over https or to this machine', () => {
    const hook = (url: string, headers = '{Authorization: {secret: hook-token}}') =>
      `version: 1\napprovals:\n  notify: [{url: "${url}", headers: ${headers}}]\n`;
    expect(problems(hook('http://hooks.example/gov'))).toEqual([
      expect.stringContaining('needs an https:// URL (or a loopback one)'),
    ]);
    expect(problems(hook('file:///etc/passwd', '{}'))).toEqual([
      expect.stringContaining('expected an http(s) URL'),
    ]);
    for (const ok of [
      hook('https://hooks.example/gov'),
      hook('http://127.0.0.1:9/gov'),
      hook('http://hooks.example/gov', '{X-Team: ops}'),
    ])
      expect(() => policy(ok)).not.toThrow();
  });

  it('validates credentials', () => {
    const noSecret =
      'version: 1\ncredentials:\n  - secret: gh\n    hosts: [a.example]\n    format: "Bearer"\n';
    expect(problems(noSecret)).toEqual([
      "gov.yaml:5:13: expected a format containing {secret}, e.g. 'Bearer {secret}'",
    ]);
    const noHosts = 'version: 1\ncredentials:\n  - secret: gh\n    hosts: []\n';
    expect(problems(noHosts)).toEqual(['gov.yaml:4:12: expected a list with at least 1 entry']);
    const p = policy('version: 1\ncredentials:\n  - secret: gh\n    hosts: ["*.example.com"]\n');
    expect(p.credentials).toEqual([
      {
        secret: 'gh',
        hosts: ['*.example.com:443'],
        header: 'Authorization',
        format: 'Bearer {secret}',
        scheme: 'https',
        inject: ['header'],
      },
    ]);
  });

  it('writes out every credential host port (443 by default) and requires one for scheme: http', () => {
    const p = policy(
      'version: 1\ncredentials:\n  - secret: gh\n    hosts: [a.example, "b.example:8443", "::1", "[::1]:9443"]\n    inject: [header, body]\n',
    );
    expect(p.credentials[0]!.hosts).toEqual(['a.example:443', 'b.example:8443', '[::1]:443', '[::1]:9443']);
    expect(p.credentials[0]!.inject).toEqual(['header', 'body']);
    expect(p.hostMatches(p.credentials[0]!.hosts, 'a.example', 8443, 443)).toBe(false);
    expect(p.hostMatches(p.credentials[0]!.hosts, 'a.example', 443, 443)).toBe(true);
    expect(
      problems(
        'version: 1\ncredentials:\n  - secret: gh\n    scheme: http\n    hosts: ["127.0.0.1:8080", 127.0.0.1]\n',
      ),
    ).toEqual(["gov.yaml:5:31: scheme: http needs an explicit port on every host (e.g. '127.0.0.1:8080')"]);
    expect(
      problems('version: 1\ncredentials:\n  - secret: gh\n    scheme: ftp\n    hosts: [a]\n')[0],
    ).toMatch(/^gov\.yaml:4:13: /);
    expect(
      problems('version: 1\ncredentials:\n  - secret: gh\n    inject: url\n    hosts: [a]\n')[0],
    ).toMatch(/^gov\.yaml:4:13: /);
  });

  it('reports YAML syntax errors and duplicate keys with their position', () => {
    expect(problems('version: 1\nversion: 1\n')).toEqual(['gov.yaml:2:1: Map keys must be unique']);
    expect(problems('version: 1\nrules:\n  - id: a\n    tool: *shell\n    decision: deny\n')).toEqual([
      'gov.yaml:4:11: unknown alias *shell (quote a value that starts with *)',
    ]);
  });

  it('reports CEL errors at the offending character of the when expression', () => {
    expect(problems('version: 1\nrules:\n  - id: a\n    decision: deny\n    when: args.x +\n')).toEqual([
      'gov.yaml:5:19: invalid CEL expression: Unexpected token: EOF',
    ]);
    expect(
      problems('version: 1\nrules:\n  - id: a\n    decision: deny\n    when: "args.x == 1 && nope"\n'),
    ).toEqual(['gov.yaml:5:27: invalid CEL expression: Unknown variable: nope']);
    const block =
      'version: 1\nrules:\n  - id: a\n    decision: deny\n    when: |\n      args.x == 1 &&\n        nope\n';
    expect(problems(block)).toEqual(['gov.yaml:7:9: invalid CEL expression: Unknown variable: nope']);
    expect(problems('version: 1\nrules:\n  - id: a\n    decision: deny\n    when: tool + "x"\n')).toEqual([
      'gov.yaml:5:11: when must be a boolean expression, but this one gives string',
    ]);
  });

  it('applies the documented defaults', () => {
    const p = policy('version: 1\n');
    expect(p.ruleCount).toBe(0);
    expect(p.registryEnabled).toBe(false);
    expect(p.unknownServers).toBe('deny');
    expect(p.toolsList).toBe('hide_denied');
    expect(p.denyAs).toBe('error');
    expect(p.redact).toEqual({ vault: true, secrets: true });
    expect(p.approvalTimeoutMs).toBeUndefined();
    expect(p.credentials).toEqual([]);
    expect(policy('version: 1\napproval_timeout: 2m\n').approvalTimeoutMs).toBe(120_000);
    // Vault values are always redacted; the list only toggles well-known secret formats.
    expect(policy('version: 1\noutput: { redact: [vault] }\n').redact).toEqual({
      vault: true,
      secrets: false,
    });
  });

  it('reads a list key left empty (entries commented out) as an empty list', () => {
    const p = policy('version: 1\nrules:\n#  - id: a\ncredentials:\npassthrough:\n');
    expect(p.ruleCount).toBe(0);
    expect(p.credentials).toEqual([]);
  });

  it('digests the source text', () => {
    const p = policy('version: 1\n');
    expect(p.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(policy('version: 1\n').digest).toBe(p.digest);
    expect(policy('version: 1\n# changed\n').digest).not.toBe(p.digest);
    expect(p.source).toBe('gov.yaml');
  });
});

describe('pins section', () => {
  const fp = `sha256:${'a'.repeat(64)}`;
  it('defaults to approve/approve/mark and accepts declared pins inline or as a file', () => {
    const none = parsePolicySpec({ version: 1 });
    expect(none.ok && none.spec.pins).toEqual({
      onChange: 'approve',
      onPoison: 'approve',
      changedTools: 'mark',
      servers: [],
    });
    const r = parsePolicySpec({
      version: 1,
      pins: {
        on_change: 'deny',
        on_poison: 'warn',
        changed_tools: 'hide',
        servers: { gh: { get_issue: fp }, fs: { file: 'pins/fs.json' } },
      },
    });
    expect(r.ok && r.spec.pins).toEqual({
      onChange: 'deny',
      onPoison: 'warn',
      changedTools: 'hide',
      servers: [
        ['gh', { tools: { get_issue: fp } }],
        ['fs', { tools: {}, file: 'pins/fs.json' }],
      ],
    });
  });

  it('rejects unknown keys, bad values and malformed fingerprints', () => {
    expect(problems('version: 1\npins: { on_poison: allow }\n')[0]).toMatch(
      /expected one of deny, approve, warn/,
    );
    expect(problems('version: 1\npins: { bogus: 1 }\n')[0]).toMatch(/unknown key 'bogus'.*on_change/);
    expect(problems('version: 1\npins: { servers: { gh: { t: "sha256:xyz" } } }\n').join(' ')).toMatch(
      /fingerprint/,
    );
  });
});
