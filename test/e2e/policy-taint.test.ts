import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { GOV_BIN, ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { auditRecords } from '../helpers/audit-records.js';
import { eventually } from '../helpers/until.js';
import { childEnv } from '../helpers/approval-peers.js';

const SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'stdio-server.mjs');

describe('session taint through gov mcp wrap', () => {
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
        '  - id: tainted-writes',
        '    tool: shell_exec',
        '    when: run.tainted',
        '    decision: approve',
        '    reason: this run read untrusted output',
        '',
      ].join('\n'),
    );
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [
        GOV_BIN,
        'mcp',
        'wrap',
        '--policy',
        join(home, 'gov.yaml'),
        '--name',
        'web',
        '--',
        process.execPath,
        SERVER,
      ],
      env: childEnv({ GOV_HOME: home, EXEC_LOG: execLog }),
      stderr: 'pipe',
    });
    client = new Client({ name: 'gov-e2e-taint', version: '1.0.0' });
    await client.connect(transport);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('an allowed read returns an injection; the next write is held and names the taint source', async () => {
    await client.callTool({ name: 'shell_exec', arguments: { cmd: 'before' } });
    expect(readFileSync(execLog, 'utf8')).toBe('before\n');
    await client.callTool({ name: 'read_page', arguments: { url: 'https://evil.example' } });
    const source = auditRecords(home).find((r) => r['tool'] === 'read_page' && r['status'] === 'forwarded');
    const sourceId = String(source?.['id']);
    const alert = await eventually('the taint alert', async () =>
      auditRecords(home).find((r) => r['kind'] === 'alert' && String(r['reason']).startsWith('run tainted')),
    );
    expect(alert['reason']).toContain(`(audit ${sourceId})`);
    expect(alert['reason']).toContain('injection pattern (ignore-instructions)');

    // The rejection is expected as soon as the call is denied: handle it from the start.
    const writeDenied = expect(
      client.callTool({ name: 'shell_exec', arguments: { cmd: 'after' } }),
    ).rejects.toThrow(/Denied by approver/);
    const held = await eventually('the held write', async () => {
      const r = await runGov(['pending', '--json'], { env: { GOV_HOME: home } });
      const calls = JSON.parse(r.stdout) as Array<{ id: string; tool: string; rule: string; reason: string }>;
      return calls.find((c) => c.tool === 'shell_exec');
    });
    expect(held.rule).toBe('tainted-writes');
    expect(held.reason).toContain(`run tainted by ${sourceId}`);
    expect(held.reason).toContain('run.tainted = true');
    expect(readFileSync(execLog, 'utf8')).toBe('before\n');
    const denied = await runGov(['deny', held.id], { env: { GOV_HOME: home } });
    expect(denied.code, denied.stderr).toBe(0);
    await writeDenied;
    expect(existsSync(execLog) && readFileSync(execLog, 'utf8')).toBe('before\n');
  });
});
