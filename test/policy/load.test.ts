import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GovError } from '../../src/errors.js';
import { BUILTIN_POLICY_SOURCE } from '../../src/policy/default-policy.js';
import {
  builtinPolicy,
  findPolicyPath,
  loadPolicy,
  loadPolicyFromText,
  PolicyLoadError,
} from '../../src/policy/load.js';
import { STARTER_POLICY_TEXT } from '../../src/policy/starter-policy.js';
import { call, message } from './helpers.js';

let dir: string;
let cwd: string;
let home: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gov-policy-'));
  cwd = join(dir, 'project');
  home = join(dir, 'home');
  mkdirSync(cwd);
  mkdirSync(home);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('findPolicyPath', () => {
  it('prefers --policy, then ./gov.yaml, then $GOV_HOME/policy.yaml, else null', () => {
    expect(findPolicyPath({ cwd, home })).toBeNull();
    writeFileSync(join(home, 'policy.yaml'), 'version: 1\n');
    expect(findPolicyPath({ cwd, home })).toBe(join(home, 'policy.yaml'));
    writeFileSync(join(cwd, 'gov.yaml'), 'version: 1\n');
    expect(findPolicyPath({ cwd, home })).toBe(join(cwd, 'gov.yaml'));
    writeFileSync(join(cwd, 'other.yaml'), 'version: 1\n');
    expect(findPolicyPath({ explicit: 'other.yaml', cwd, home })).toBe(join(cwd, 'other.yaml'));
    expect(findPolicyPath({ explicit: join(cwd, 'other.yaml'), cwd, home })).toBe(join(cwd, 'other.yaml'));
  });

  it('an explicit path that does not exist is a policy error (exit 2)', () => {
    let err: unknown;
    try {
      findPolicyPath({ explicit: 'missing.yaml', cwd, home });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GovError);
    expect((err as GovError).code).toBe('policy');
    expect((err as GovError).exitCode).toBe(2);
    expect((err as GovError).message).toContain('missing.yaml');
  });
});

describe('loadPolicy', () => {
  it('null loads the built-in default: every tools/call needs approval, discovery allowed', () => {
    const p = loadPolicy(null);
    expect(p.source).toBe(BUILTIN_POLICY_SOURCE);
    expect(p.digest).toBe(builtinPolicy().digest);
    expect(p.ruleCount).toBe(0);
    expect(p.registryEnabled).toBe(false);
    expect(p.toolsList).toBe('hide_denied');
    expect(p.denyAs).toBe('error');
    expect(p.decide(call('anything'))).toMatchObject({ decision: 'approve', rule: 'default' });
    expect(p.decide(message('tools/list'))).toMatchObject({ decision: 'allow', rule: 'discovery' });
    expect(p.isToolHidden({ name: null, url: 'https://x/mcp' }, 'anything')).toBe(false);
  });

  it('reads a file and labels errors with its path', () => {
    const f = join(cwd, 'gov.yaml');
    writeFileSync(f, 'version: 1\nrules:\n  - id: a\n');
    expect(() => loadPolicy(f)).toThrow(PolicyLoadError);
    try {
      loadPolicy(f);
    } catch (e) {
      const err = e as PolicyLoadError;
      expect(err.exitCode).toBe(2);
      expect(err.message).toBe(`${f}:3:5: missing required key 'decision'`);
      expect(err.problems).toEqual([`${f}:3:5: missing required key 'decision'`]);
    }
  });

  it('counts further problems in the one-line message', () => {
    try {
      loadPolicyFromText('version: 1\nfoo: 1\nrules:\n  - id: a\n', 'p.yaml');
    } catch (e) {
      expect((e as PolicyLoadError).message).toMatch(
        /^p\.yaml:2:1: unknown key 'foo'.* \(and 1 more problem\)$/,
      );
    }
  });

  it('an unreadable path is a policy error', () => {
    expect(() => loadPolicy(join(cwd, 'nope.yaml'))).toThrow(/cannot read policy file/);
  });
});

describe('the gov init starter policy', () => {
  it('compiles and decides sensibly', () => {
    const p = loadPolicyFromText(STARTER_POLICY_TEXT, 'gov.yaml');
    expect(p.ruleCount).toBeGreaterThan(0);
    expect(p.decide(call('get_file')).decision).toBe('allow');
    expect(p.decide(call('shell_exec')).decision).toBe('deny');
    expect(p.decide(call('delete_repo'))).toMatchObject({ decision: 'approve', rule: 'destructive-tools' });
    const hints = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
    const readOnly = (pinned: boolean) => ({ ...call('lookup'), toolInfo: { annotations: hints, pinned } });
    // readOnlyHint is believed only while the definition is pinned
    expect(p.decide(readOnly(true))).toMatchObject({ decision: 'allow', rule: 'pinned-read-only' });
    expect(p.decide(readOnly(false))).toMatchObject({ decision: 'approve', rule: 'default' });
    expect(p.pins).toMatchObject({ onChange: 'approve', onPoison: 'approve', changedTools: 'mark' });
    expect(p.decide(message('resources/read', { uri: 'file:///home/me/.env' })).decision).toBe('deny');
    expect(p.approvalTimeoutMs).toBe(120_000);
  });
});
