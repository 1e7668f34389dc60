import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/load.js';
import { call, httpServer, message } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/policy/spec-example.yaml', import.meta.url));

describe('the SPEC §4 example policy', () => {
  const p = loadPolicy(FIXTURE);
  const github = httpServer('github', 'https://api.githubcopilot.com/mcp/');
  const payments = httpServer('payments', 'https://mcp.payments.internal/mcp');
  const onGithub = (tool: string, args = {}) => call(tool, { server: github, transport: 'http', args });
  const onPayments = (tool: string, args = {}) => call(tool, { server: payments, transport: 'http', args });

  it('loads with its settings', () => {
    expect(p.source).toBe(FIXTURE);
    expect(p.digest).toMatch(/^sha256:/);
    expect(p.ruleCount).toBe(6);
    expect(p.registryEnabled).toBe(true);
    expect(p.unknownServers).toBe('deny');
    expect(p.approvalTimeoutMs).toBe(120_000);
    expect(p.credentials).toEqual([
      {
        secret: 'github-token',
        hosts: ['api.githubcopilot.com:443'],
        header: 'Authorization',
        format: 'Bearer {secret}',
        env: 'GITHUB_TOKEN',
        scheme: 'https',
        inject: ['header'],
      },
    ]);
    expect(p.redact).toEqual({ vault: true, secrets: true });
    expect(p.toolsList).toBe('hide_denied');
    expect(p.denyAs).toBe('error');
    expect(p.isPassthrough('api.githubcopilot.com', 443)).toBe(false);
  });

  it('loads the second-wave settings', () => {
    expect(p.isWebSocketHost('api.githubcopilot.com', 443)).toBe(false);
    expect(p.isolateRequired).toBe(true);
    expect(p.mode).toBe('enforce');
    expect(p.pins).toMatchObject({ onChange: 'approve', onPoison: 'approve' });
    expect(p.approvals).toMatchObject({ whenUnattended: 'wait' });
    expect(p.auditOtlp?.endpoint).toBe('https://otel.example:4318');
  });

  it('the registry names github and payments and nothing else', () => {
    expect(p.resolveServer('https://api.githubcopilot.com/mcp/')).toBe('github');
    expect(p.resolveServer('https://mcp.payments.internal/mcp')).toBe('payments');
    expect(p.resolveServer('https://mcp.example.com/mcp')).toBeNull();
  });

  it('github-reads: get_/list_/search_ on github are allowed', () => {
    for (const t of ['get_issue', 'list_repos', 'search_code'])
      expect(p.decide(onGithub(t))).toMatchObject({ decision: 'allow', rule: 'github-reads' });
    // Not on another server.
    expect(p.decide(onPayments('get_balance'))).toMatchObject({ decision: 'approve', rule: 'default' });
  });

  it('small-refunds: refunds up to 1000 on payments are allowed', () => {
    expect(p.decide(onPayments('refund', { amount: 1000 }))).toMatchObject({
      decision: 'allow',
      rule: 'small-refunds',
    });
    expect(p.decide(onPayments('refund', { amount: 1000.01 }))).toMatchObject({
      decision: 'approve',
      rule: 'refunds',
    });
  });

  it('refunds: other refunds need approval within 10m', () => {
    expect(p.decide(onGithub('refund', { amount: 5 }))).toEqual({
      decision: 'approve',
      rule: 'refunds',
      reason: 'tools/call of tool refund on any server',
      approvalTimeoutMs: 600_000,
    });
  });

  it('small-refunds: a refund without an amount is denied (when fails to evaluate)', () => {
    expect(p.decide(onPayments('refund'))).toMatchObject({ decision: 'deny', rule: 'small-refunds' });
  });

  it('no-shell: shell tools are denied with the rule reason, and hidden', () => {
    expect(p.decide(onGithub('shell_exec'))).toEqual({
      decision: 'deny',
      rule: 'no-shell',
      reason: 'Shell tools are not allowed',
    });
    expect(p.isToolHidden(github, 'shell_exec')).toBe(true);
    expect(p.isToolHidden(github, 'refund')).toBe(false);
  });

  it('bounded-writes: write_* is allowed with constraints', () => {
    expect(p.decide(onGithub('write_file'))).toEqual({
      decision: 'allow',
      rule: 'bounded-writes',
      reason: 'tools/call of a tool matching write_* on any server',
      constraints: { maxCalls: 20, rate: { count: 10, perMs: 60_000 }, timeoutMs: 30_000 },
    });
  });

  it('no-secret-reads: reading .env files is denied', () => {
    const read = (uri: string) => ({
      ...message('resources/read', { uri }),
      server: github,
      transport: 'http' as const,
    });
    expect(p.decide(read('file:///home/me/project/.env'))).toMatchObject({
      decision: 'deny',
      rule: 'no-secret-reads',
    });
    expect(p.decide(read('file:///home/me/README.md'))).toMatchObject({
      decision: 'approve',
      rule: 'default',
    });
  });

  it('default: anything else is held for approval; discovery is allowed', () => {
    expect(p.decide(onGithub('create_issue'))).toMatchObject({ decision: 'approve', rule: 'default' });
    expect(p.decide({ ...message('tools/list'), server: github, transport: 'http' })).toMatchObject({
      decision: 'allow',
      rule: 'discovery',
    });
  });

  it('unknown_servers: deny refuses an unlisted server, initialize included', () => {
    const evil = httpServer(null, 'https://mcp.example.com/mcp');
    expect(p.decide({ ...message('initialize'), server: evil, transport: 'http' })).toMatchObject({
      decision: 'deny',
      rule: 'unknown-server',
    });
  });

  it('matches the fixture text of SPEC §4', () => {
    const specPath = fileURLToPath(new URL('../../../shared/SPEC.md', import.meta.url));
    if (!existsSync(specPath)) return; // SPEC not next to the repo
    const spec = readFileSync(specPath, 'utf8');
    const block = /## 4\. Policy file[\s\S]*?```yaml\n([\s\S]*?)```/.exec(spec)?.[1];
    if (block === undefined) return; // SPEC not next to the repo (e.g. a CI checkout)
    expect(readFileSync(FIXTURE, 'utf8')).toBe(block);
  });
});
