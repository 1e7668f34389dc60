import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { GOV_BIN, ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { auditRecords } from '../helpers/audit-records.js';
import { RELOAD_V1, RELOAD_V2 } from '../helpers/reload-policies.js';
import { eventually } from '../helpers/until.js';
import { childEnv } from '../helpers/approval-peers.js';

const SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'stdio-server.mjs');

/** Save like an editor: write a temp file beside it, then rename it over the policy. */
function save(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

describe('live policy reload in gov mcp wrap', () => {
  let home: string;
  let policy: string;
  let execLog: string;
  let client: Client;
  let stderr = '';

  beforeAll(async () => {
    home = tempHome();
    policy = join(home, 'gov.yaml');
    execLog = join(home, 'exec.log');
    writeFileSync(policy, RELOAD_V1);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [GOV_BIN, 'mcp', 'wrap', '--policy', policy, '--name', 'files', '--', process.execPath, SERVER],
      env: childEnv({ GOV_HOME: home, EXEC_LOG: execLog }),
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    client = new Client({ name: 'gov-e2e-reload', version: '1.0.0' });
    await client.connect(transport);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('a valid edit decides the next call; a held call keeps its decision; an invalid edit is refused', async () => {
    await expect(client.callTool({ name: 'shell_exec', arguments: { cmd: 'one' } })).rejects.toThrow(
      /no-shell/,
    );
    expect(existsSync(execLog)).toBe(false);

    const heldEcho = client.callTool({ name: 'echo', arguments: { text: 'hold' } });
    const held = await eventually('the held echo', async () => {
      const r = await runGov(['pending', '--json'], { env: { GOV_HOME: home } });
      return (JSON.parse(r.stdout) as Array<{ id: string; tool: string }>).find((c) => c.tool === 'echo');
    });

    const oldDigest = auditRecords(home).find((r) => r['kind'] === 'run_start')?.['policy_digest'];
    save(policy, RELOAD_V2);
    const reload = await eventually('the policy_reload record', () =>
      auditRecords(home).find((r) => r['kind'] === 'policy_reload'),
    );
    expect(reload['detail']).toMatchObject({ old_policy_digest: oldDigest });
    expect(reload['policy_digest']).not.toBe(oldDigest);

    const r = await client.callTool({ name: 'shell_exec', arguments: { cmd: 'two' } });
    expect(JSON.stringify(r)).toContain('ran: two');
    expect(readFileSync(execLog, 'utf8')).toBe('two\n');

    // Held under RELOAD_V1 (approve); RELOAD_V2 would deny it, but the approver's word still counts.
    const approved = await runGov(['approve', held.id], { env: { GOV_HOME: home } });
    expect(approved.code, approved.stderr).toBe(0);
    expect(JSON.stringify(await heldEcho)).toContain('hold');
    await expect(client.callTool({ name: 'echo', arguments: { text: 'hold' } })).rejects.toThrow(/no-echo/);

    save(policy, 'version: 1\nrules:\n  - id: broken\n    decison: deny\n');
    const line = await eventually('the reload error', () =>
      stderr.split('\n').find((l) => l.includes('policy not reloaded')),
    );
    expect(line).toBe(
      `gov: warning: policy not reloaded: ${policy}:4:5: unknown key 'decison' (expected one of: id, server, tool, uri, method, when, decision, reason, timeout, constraints, mode) — keeping the previous policy`,
    );
    const again = await client.callTool({ name: 'shell_exec', arguments: { cmd: 'three' } });
    expect(JSON.stringify(again)).toContain('ran: three');
    expect(auditRecords(home).filter((x) => x['kind'] === 'policy_reload')).toHaveLength(1);
  });
});
