import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { GOV_BIN, ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { childEnv } from '../helpers/approval-peers.js';

const SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'stdio-server.mjs');
const TOKEN_TAIL = 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';

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

describe('shadow mode in gov run: the bypass defences stay on', () => {
  it('a credential placeholder sent where it is not bound is still blocked; the shadowed deny is forwarded', async () => {
    const home = tempHome();
    await sealWithFastKdf(home, 'correct horse battery');
    const bodies: string[] = [];
    const server = createServer((req, res) => {
      let b = '';
      req.on('data', (d: Buffer) => (b += d.toString()));
      req.on('end', () => {
        bodies.push(b);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ jsonrpc: '2.0', id: 2, result: { content: [] } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
      const env = {
        GOV_HOME: home,
        GOV_VAULT_BACKEND: 'passphrase',
        GOV_VAULT_PASSPHRASE: 'correct horse battery',
      };
      const set = await runGov(['vault', 'set', 'tok'], { env, input: 'shadow-secret-value-31337\n' });
      expect(set.code, set.stderr).toBe(0);
      writeFileSync(
        join(home, 'gov.yaml'),
        'version: 1\ndefault: deny\nmode: shadow\ncredentials:\n  - secret: tok\n    hosts: ["api.example.com"]\n    header: Authorization\n    env: TOK\n',
      );
      const call = (id: number, args: string) =>
        `curl -sS --max-time 10 -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"t${id}","arguments":${args}}}' ${url}; echo`;
      const r = await runGov(
        [
          'run',
          '--no-tui',
          '--shadow',
          '--policy',
          join(home, 'gov.yaml'),
          '--',
          'sh',
          '-c',
          `${call(1, '{"k":"\'"$TOK"\'"}')}; ${call(2, '{}')}`,
        ],
        { env },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("credential placeholder for 'tok'");
      // The server never saw the placeholder; the call the policy would deny did reach it.
      expect(bodies).toHaveLength(1);
      expect(JSON.parse(bodies[0]!)).toMatchObject({ id: 2, params: { name: 't2' } });
      const dir = join(home, 'audit');
      const audit = readdirSync(dir)
        .filter((f) => f.endsWith('.jsonl'))
        .map((f) => readFileSync(join(dir, f), 'utf8'))
        .join('');
      expect(audit).toContain('"shadow_decision":"deny"');
      expect(audit).not.toContain('shadow-secret-value-31337');
    } finally {
      server.close();
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});
