import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { GOV_BIN, ROOT, runGov, tempHome } from '../helpers/gov-process.js';
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
