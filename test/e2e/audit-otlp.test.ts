import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { GOV_BIN, ROOT, runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { startOtlpReceiver, type OtlpReceiver } from '../audit/otlp-receiver.js';

const SERVER = join(ROOT, 'test', 'fixtures', 'servers', 'stdio-server.mjs');
let home: string;
let rx: OtlpReceiver;
beforeEach(async () => {
  home = tempHome();
  rx = await startOtlpReceiver();
});
afterEach(async () => {
  await rx.close();
  rmSync(home, { recursive: true, force: true });
});

it('gov mcp wrap --audit-otlp ships every record of the run; gov audit export backfills them', async () => {
  const policy = join(home, 'gov.yaml');
  writeFileSync(policy, 'version: 1\ndefault: allow\n');
  const env: Record<string, string> = { ...(process.env as Record<string, string>), GOV_HOME: home };
  delete env['NODE_OPTIONS'];
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      GOV_BIN,
      'mcp',
      'wrap',
      '--policy',
      policy,
      '--audit-otlp',
      rx.url,
      '--',
      process.execPath,
      SERVER,
    ],
    env,
    stderr: 'pipe',
  });
  const client = new Client({ name: 'otlp-test', version: '1' });
  await client.connect(transport);
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  await client.callTool({
    name: 'echo',
    arguments: { text: 'hello' },
    _meta: { traceparent, tracestate: 'k=v' },
  });
  await client.close();

  const audit = join(home, 'audit');
  const file = readdirSync(audit).find((n) => n.endsWith('.jsonl'))!;
  const lines = () => readFileSync(join(audit, file), 'utf8').trim().split('\n');
  // The run is sealed when gov exits; every record, run_end included, reaches the collector.
  const deadline = Date.now() + 15_000;
  while (!lines().at(-1)!.includes('"run_end"') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  const recs = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  await rx.waitFor(recs.length);
  expect(rx.logs.map((l) => l.body)).toEqual(lines());
  expect(rx.logs.map((l) => l.attributes['gov.seq'])).toEqual(recs.map((r) => r['seq']));
  // The call's records carry the request's W3C trace context, and so do their LogRecords.
  const echo = rx.logs.filter((l) => l.attributes['gov.tool'] === 'echo');
  expect(echo.length).toBeGreaterThan(0);
  for (const l of echo) {
    expect(l).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' });
    expect(JSON.parse(l.attributes['gov.trace'] as string)).toEqual({ traceparent, tracestate: 'k=v' });
  }
  expect(recs.at(-1)!['detail']).toMatchObject({ export: { dropped: 0, pending: 0 } });

  const before = rx.logs.length;
  const backfill = await runGov(['audit', 'export', '--otlp', rx.url], { env: { GOV_HOME: home } });
  expect(backfill.code, backfill.stderr).toBe(0);
  expect(backfill.stdout).toBe(`shipped ${recs.length} records\n`);
  expect(rx.logs.slice(before).map((l) => l.body)).toEqual(lines());
}, 60_000);

it('audit.export.otlp (http/json) headers from the vault reach the collector, and never the output, the audit or another URL', async () => {
  const TOKEN = 'otlp-token-value-9f8e7d6c5b4a';
  await sealWithFastKdf(home, 'correct horse battery');
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    GOV_HOME: home,
    GOV_VAULT_BACKEND: 'passphrase',
    GOV_VAULT_PASSPHRASE: 'correct horse battery',
  };
  delete env['NODE_OPTIONS'];
  const set = await runGov(['vault', 'set', 'otlp-token'], { env, input: TOKEN + '\n' });
  expect(set.code, set.stderr).toBe(0);
  const policy = join(home, 'gov.yaml');
  writeFileSync(
    policy,
    `version: 1\ndefault: allow\naudit:\n  export:\n    otlp:\n      endpoint: ${rx.url}\n      headers: { Authorization: { secret: otlp-token } }\n      protocol: http/json\n`,
  );
  let stderr = '';
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [GOV_BIN, 'mcp', 'wrap', '--policy', policy, '--', process.execPath, SERVER],
    env,
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'otlp-headers', version: '1' });
  await client.connect(transport);
  await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
  await client.close();

  const audit = join(home, 'audit');
  const file = join(
    audit,
    readdirSync(audit).find((n) => n.endsWith('.jsonl'))!,
  );
  const deadline = Date.now() + 15_000;
  while (!readFileSync(file, 'utf8').includes('"run_end"') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  const count = readFileSync(file, 'utf8').trim().split('\n').length;
  await rx.waitFor(count);
  expect(new Set(rx.logs.map((l) => l.headers['authorization']))).toEqual(new Set([TOKEN]));
  expect(new Set(rx.logs.map((l) => l.headers['content-type']))).toEqual(new Set(['application/json']));

  // The backfill sends the configured headers to the configured endpoint only.
  const backfill = await runGov(['audit', 'export', '--policy', policy], { env });
  expect(backfill.code, backfill.stderr).toBe(0);
  expect(backfill.stdout).toBe(`shipped ${count} records\n`);
  await rx.waitFor(2 * count);
  expect(new Set(rx.logs.map((l) => l.headers['authorization']))).toEqual(new Set([TOKEN]));
  const other = await startOtlpReceiver();
  try {
    const elsewhere = await runGov(['audit', 'export', '--policy', policy, '--otlp', other.url], { env });
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    await other.waitFor(count);
    expect(other.logs.every((l) => l.headers['authorization'] === undefined)).toBe(true);
  } finally {
    await other.close();
  }
  for (const text of [stderr, readFileSync(file, 'utf8'), backfill.stdout, backfill.stderr])
    expect(text).not.toContain(TOKEN);
  expect(Buffer.concat(rx.raw).toString('latin1')).not.toContain(TOKEN);
}, 60_000);

it('with the collector down, calls go through and the seal counts what was not shipped', async () => {
  const dead = await startOtlpReceiver();
  await dead.close();
  const policy = join(home, 'gov.yaml');
  writeFileSync(policy, 'version: 1\ndefault: allow\n');
  const env: Record<string, string> = { ...(process.env as Record<string, string>), GOV_HOME: home };
  delete env['NODE_OPTIONS'];
  let stderr = '';
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      GOV_BIN,
      'mcp',
      'wrap',
      '--policy',
      policy,
      '--audit-otlp',
      dead.url,
      '--',
      process.execPath,
      SERVER,
    ],
    env,
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'otlp-down', version: '1' });
  await client.connect(transport);
  for (const text of ['a', 'b', 'c'])
    expect(JSON.stringify(await client.callTool({ name: 'echo', arguments: { text } }))).toContain(text);
  await client.close();

  const audit = join(home, 'audit');
  const file = join(
    audit,
    readdirSync(audit).find((n) => n.endsWith('.jsonl'))!,
  );
  const deadline = Date.now() + 15_000;
  while (!readFileSync(file, 'utf8').includes('"run_end"') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  const recs = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  // Everything before the seal is still queued: nothing shipped, nothing dropped.
  expect(recs.at(-1)!['detail']).toMatchObject({
    export: { shipped: 0, dropped: 0, pending: recs.length - 1 },
  });
  while (!stderr.includes('audit export:') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  expect(stderr).toContain(`audit export: 0 records shipped, ${recs.length} not shipped, 0 dropped`);
  // Said when the connection was refused, not after the exporter's own retries (seconds later).
  expect(stderr).toMatch(/audit export to \S+ is failing \(connect ECONNREFUSED /);
}, 60_000);

it('a failing collector that echoes the vault header in its status line: the warning never shows it', async () => {
  const TOKEN = 'otlp-echoed-token-3c2b1a0f9e8d';
  const echoing = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(400, `unavailable for ${String(req.headers['authorization'])}`);
      res.end();
    });
  });
  await new Promise<void>((r) => echoing.listen(0, '127.0.0.1', r));
  try {
    await sealWithFastKdf(home, 'correct horse battery');
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      GOV_HOME: home,
      GOV_VAULT_BACKEND: 'passphrase',
      GOV_VAULT_PASSPHRASE: 'correct horse battery',
    };
    delete env['NODE_OPTIONS'];
    const set = await runGov(['vault', 'set', 'otlp-token'], { env, input: TOKEN + '\n' });
    expect(set.code, set.stderr).toBe(0);
    const url = `http://127.0.0.1:${(echoing.address() as AddressInfo).port}`;
    const policy = join(home, 'gov.yaml');
    writeFileSync(
      policy,
      `version: 1\ndefault: allow\naudit:\n  export:\n    otlp:\n      endpoint: ${url}\n      headers: { Authorization: { secret: otlp-token } }\n      protocol: http/json\n`,
    );
    const r = await runGov(['run', '--no-tui', '--policy', policy, '--', process.execPath, '-e', ''], {
      env,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('audit export to');
    expect(r.stderr).toContain('unavailable for');
    expect(r.stderr).not.toContain(TOKEN);
  } finally {
    await new Promise((r) => echoing.close(r));
  }
}, 60_000);
