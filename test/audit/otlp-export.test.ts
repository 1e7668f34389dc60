import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditOtlpExporter, logsUrl } from '../../src/audit/otlp-export.js';
import { openRunAudit } from '../../src/audit/run-audit.js';
import type { AuditRecord } from '../../src/types.js';
import { call, tempHome, testSigner } from './helpers.js';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';

let t: ReturnType<typeof tempHome>;
let rx: OtlpReceiver;
beforeEach(async () => {
  t = tempHome();
  rx = await startOtlpReceiver();
});
afterEach(async () => {
  await rx.close();
  t.cleanup();
});

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

/** A signed run whose records all go to `exporter`; returns them as written. */
async function writeExportedRun(exporter: AuditOtlpExporter, calls: number): Promise<AuditRecord[]> {
  const written: AuditRecord[] = [];
  const ra = await openRunAudit({
    dir: t.audit,
    run: 'run-x',
    sync: 'interval',
    signer: await testSigner(t.audit),
    start: { kind: 'run_start', transport: 'http' },
    onRecord: (r) => {
      written.push(r);
      exporter.push(r);
    },
  });
  for (let i = 1; i <= calls; i++) {
    await ra.sink.append(call(i, i === 1 ? { trace: { traceparent: `00-${TRACE}-${SPAN}-01` } } : {}));
  }
  await ra.seal();
  return written;
}

describe('OTLP export of audit records', () => {
  it('endpoint: /v1/logs is appended to a base URL', () => {
    expect(logsUrl('https://otel.example:4318')).toBe('https://otel.example:4318/v1/logs');
    expect(logsUrl('http://h/otel/v1/logs')).toBe('http://h/otel/v1/logs');
  });

  it('every record of a run arrives as one LogRecord with gov.* attributes and its trace context', async () => {
    const exporter = new AuditOtlpExporter(
      { endpoint: rx.url, headers: { 'x-tenant': 'team-a' } },
      { delayMs: 10 },
    );
    const written = await writeExportedRun(exporter, 5);
    await exporter.flush(10_000);
    expect(exporter.counts()).toEqual({ shipped: 7, dropped: 0, pending: 0 });
    expect(rx.logs).toHaveLength(7);
    rx.logs.forEach((log, i) => {
      const r = written[i]!;
      expect(log.attributes).toMatchObject({
        'gov.run': 'run-x',
        'gov.seq': r.seq,
        'gov.kind': r.kind,
        'gov.hash': r.hash,
      });
      expect(log.body).toBe(JSON.stringify(r));
      if (r.signature !== undefined) expect(log.attributes['gov.signature']).toBe(r.signature);
    });
    expect(rx.logs[1]!.attributes).toMatchObject({ 'gov.decision': 'allow', 'gov.tool': 'get_item_1' });
    expect(rx.logs[1]).toMatchObject({ traceId: TRACE, spanId: SPAN });
    expect(rx.logs[0]!.traceId).toBe('');
    expect(rx.logs[0]!.headers['x-tenant']).toBe('team-a');
    await exporter.shutdown();
  });

  it('http/json: the same LogRecords as OTLP/JSON', async () => {
    const exporter = new AuditOtlpExporter(
      { endpoint: rx.url, headers: {}, protocol: 'http/json' },
      { delayMs: 10 },
    );
    const written = await writeExportedRun(exporter, 2);
    await exporter.flush(10_000);
    expect(exporter.counts()).toEqual({ shipped: 4, dropped: 0, pending: 0 });
    expect(rx.logs.map((l) => l.headers['content-type'])).toEqual(Array(4).fill('application/json'));
    expect(rx.logs.map((l) => l.body)).toEqual(written.map((r) => JSON.stringify(r)));
    expect(rx.logs.map((l) => l.attributes['gov.seq'])).toEqual(written.map((r) => r.seq));
    expect(rx.logs.at(-1)!.attributes['gov.signature']).toBe(written.at(-1)!.signature);
    expect(rx.logs[1]).toMatchObject({ traceId: TRACE, spanId: SPAN });
    await exporter.shutdown();
  });

  it('a receiver that never answers does not hold up records; when it answers again the queue drains', async () => {
    rx.mode = 'hang';
    const failures: string[] = [];
    const exporter = new AuditOtlpExporter(
      { endpoint: rx.url, headers: { authorization: 'Bearer s3cr3t-token-value' } },
      { delayMs: 1, timeoutMs: 300, backoffMs: 20, maxBackoffMs: 50, onFailure: (m) => failures.push(m) },
    );
    await writeExportedRun(exporter, 3);
    // Causal: the receiver holds the first export open, and records keep being committed.
    const deadline = Date.now() + 10_000;
    while (rx.requests === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(rx.requests).toBeGreaterThan(0);
    for (let i = 0; i < 50; i++) exporter.push(call(i) as AuditRecord);
    expect(exporter.counts()).toMatchObject({ shipped: 0, pending: 55 });
    rx.mode = 'ok';
    await rx.waitFor(55);
    await exporter.flush(10_000);
    expect(exporter.counts()).toEqual({ shipped: 55, dropped: 0, pending: 0 });
    expect(failures).toHaveLength(1);
    expect(failures[0]).not.toContain('s3cr3t');
    await exporter.shutdown();
  });

  it('a collector that refuses connections is reported at its first refusal; the end of a run does not wait out the retries', async () => {
    await rx.close();
    const down = await startOtlpReceiver();
    await down.close(); // its port now refuses
    const failures: string[] = [];
    // The exporter's own retries of a refused connection would run for its whole timeout: a
    // flush that waited for them would outlast this test's limit.
    const exporter = new AuditOtlpExporter(
      { endpoint: down.url, headers: { authorization: 'Bearer s3cr3t-token-value' } },
      { delayMs: 60_000, timeoutMs: 600_000, onFailure: (m) => failures.push(m) },
    );
    for (let i = 0; i < 3; i++) exporter.push(call(i) as AuditRecord);
    await exporter.flush(2 ** 31 - 1, { whileReachable: true });
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/is failing \(connect ECONNREFUSED /);
    expect(failures[0]).not.toContain('s3cr3t');
    expect(exporter.counts()).toEqual({ shipped: 0, dropped: 0, pending: 3 });
    await exporter.flush(2 ** 31 - 1, { whileReachable: true });
    // A patient flush (gov audit export's backfill) keeps waiting for the collector to come up.
    const patient = exporter.flush(200);
    const first = await Promise.race([
      patient.then(() => 'returned'),
      new Promise((r) => setImmediate(r, 'waiting')),
    ]);
    expect(first).toBe('waiting');
    await patient;
    await exporter.shutdown();
    rx = await startOtlpReceiver(); // for afterEach
  });

  it('a full queue drops (and counts) instead of growing', () => {
    const exporter = new AuditOtlpExporter(
      { endpoint: rx.url, headers: {} },
      { maxQueue: 3, delayMs: 60_000 },
    );
    for (let i = 0; i < 5; i++) exporter.push(call(i) as AuditRecord);
    expect(exporter.counts()).toEqual({ shipped: 0, dropped: 2, pending: 3 });
    void exporter.shutdown();
  });
});
