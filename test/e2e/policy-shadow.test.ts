import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { GOV_BIN, ROOT, runGov, tempHome } from '../helpers/gov-process.js';

const SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'stdio-server.mjs');
const TOKEN_TAIL = 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';

function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, ...extra };
}

function textOf(r: unknown): string {
  return ((r as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('');
}

describe('shadow mode through gov mcp wrap --shadow', () => {
  let home: string;
  let execLog: string;
  let client: Client;

  beforeAll(async () => {
    home = tempHome();
    execLog = join(home, 'exec.log');
    writeFileSync(
      join(home, 'gov.yaml'),
      [
        'version: 1',
        'default: allow',
        'rules:',
        '  - id: no-shell',
        '    tool: "shell*"',
        '    decision: deny',
        '  - id: leak-needs-human',
        '    tool: leak',
        '    decision: approve',
        '',
      ].join('\n'),
    );
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [
        GOV_BIN,
        'mcp',
        'wrap',
        '--shadow',
        '--policy',
        join(home, 'gov.yaml'),
        '--name',
        'files',
        '--',
        process.execPath,
        SERVER,
      ],
      env: childEnv({ GOV_HOME: home, EXEC_LOG: execLog }),
      stderr: 'pipe',
    });
    client = new Client({ name: 'gov-e2e-shadow', version: '1.0.0' });
    await client.connect(transport);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('a denied tool executes and the audit says shadow_decision: deny', async () => {
    const r = await client.callTool({ name: 'shell_exec', arguments: { cmd: 'echo shadowed' } });
    expect(textOf(r)).toBe('ran: echo shadowed');
    expect(existsSync(execLog) && readFileSync(execLog, 'utf8')).toBe('echo shadowed\n');
    const tail = await runGov(['audit', 'tail', '--shadow', '--json'], { env: { GOV_HOME: home } });
    expect(tail.code, tail.stderr).toBe(0);
    const recs = tail.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recs).toEqual([
      expect.objectContaining({
        tool: 'shell_exec',
        decision: 'allow',
        shadow_decision: 'deny',
        shadow_rule: 'no-shell',
      }),
    ]);
  });

  it('a held call is not held, and redaction still happens', async () => {
    const r = await client.callTool({ name: 'leak', arguments: {} });
    expect(textOf(r)).toMatch(/^token: \[REDACTED:[a-z_-]+\] end$/);
    expect(textOf(r)).not.toContain(TOKEN_TAIL);
    const dir = join(home, 'audit');
    const all = readdirSync(dir)
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('');
    expect(all).not.toContain(TOKEN_TAIL);
    expect(all).toContain('"shadow_decision":"approve"');
    const pending = await runGov(['pending', '--json'], { env: { GOV_HOME: home } });
    expect(JSON.parse(pending.stdout)).toEqual([]);
  });
});
