import { afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pipeline, type PipelineDeps } from '../../src/pipeline.js';
import { loadPolicyFromText } from '../../src/policy/load.js';
import { ConstraintTracker } from '../../src/policy/constraints.js';
import { ApprovalBroker } from '../../src/approvals/broker.js';
import { createRedactor } from '../../src/safety/redact.js';
import { type FileAuditSink } from '../../src/audit/sink.js';
import { openAuditSink } from '../../src/audit/open-sink.js';
import { nodeAuditFs } from '../../src/audit/audit-fs.js';
import { digestArgs } from '../../src/audit/canonical.js';
import { tempHome } from './gov-process.js';

const sinks: FileAuditSink[] = [];
afterAll(async () => {
  for (const s of sinks.splice(0)) await s.close().catch(() => undefined);
});

/**
 * A real pipeline over real stages (policy from text, broker, redactor, a JSONL audit in a
 * temp dir), without any transport. Sinks close when the test file ends (a pipeline made in
 * beforeAll serves every test). `records()` reads the audit.
 */
export async function testPipeline(policyText: string, over: Partial<PipelineDeps> = {}) {
  const audit = await openAuditSink({ dir: join(tempHome(), 'audit'), run: 'r-test', fsImpl: nodeAuditFs });
  sinks.push(audit);
  const broker = new ApprovalBroker();
  const pipeline = new Pipeline({
    run: 'r-test',
    policy: loadPolicyFromText(policyText, 'test.yaml'),
    constraints: new ConstraintTracker(),
    approvals: broker,
    audit,
    redactor: createRedactor({ vaultValues: new Map(), vault: true, secrets: true }),
    digestArgs,
    log: { debug: () => {}, warn: () => {} },
    ...over,
  });
  const records = () =>
    readFileSync(audit.path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { pipeline, broker, audit, records };
}
