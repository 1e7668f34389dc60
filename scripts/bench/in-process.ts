/**
 * Figures measured in this process, without the network: policy decide() and output
 * redaction. Timed with process.hrtime.bigint over small batches; loops are bounded.
 */
import { loadPolicyFromText } from '../../src/policy/load.js';
import type { PolicyInput } from '../../src/policy/compiled.js';
import { createRedactor } from '../../src/safety/redact.js';
import type { JsonValue } from '../../src/types.js';
import { logText, toolResult } from './payload.js';
import { median, percentile, round } from './stats.js';

/** n rules in three shapes (tool glob allow, tool + CEL approve, server-scoped deny), default deny. */
export function policyText(n: number): string {
  const lines = ['version: 1', 'default: deny', 'rules:'];
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0) lines.push(`  - id: r${i}`, `    tool: "t${i}_*"`, '    decision: allow');
    else if (i % 3 === 1)
      lines.push(`  - id: r${i}`, `    tool: t${i}`, `    when: args.n < ${i}`, '    decision: approve');
    else lines.push(`  - id: r${i}`, `    server: s${i}`, `    tool: "*"`, '    decision: deny');
  }
  return lines.join('\n') + '\n';
}

function input(tool: string, args: Record<string, JsonValue> = {}): PolicyInput {
  return {
    server: { name: null, url: 'https://mcp.example/mcp' },
    transport: 'http',
    method: 'tools/call',
    tool,
    args,
    run: 'bench',
  };
}

export interface DecideFigure {
  rules: number;
  p50Us: number;
  p99Us: number;
  maxBatchUs: number;
  calls: number;
}

export function benchDecide(rules: number, batches: number, batchSize = 16): DecideFigure {
  const p = loadPolicyFromText(policyText(rules), `bench-${rules}.yaml`);
  const last = rules - 1;
  const whenRule = last % 3 === 1 ? last : Math.max(1, last - ((last + 2) % 3));
  // A mix: last rules (worst case for first-match), a CEL rule, the default, a first rule.
  const inputs = [
    input(`t${last - (last % 3)}_x`),
    input(`t${whenRule}`, { n: 0 }),
    input(`t${whenRule}`, { n: 1_000_000 }),
    input('nothing_matches'),
    input('t0_read'),
  ];
  let sink = 0;
  for (let i = 0; i < 5000; i++) sink += p.decide(inputs[i % inputs.length]!).rule.length;
  const perCall: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batchSize; i++) sink += p.decide(inputs[(b + i) % inputs.length]!).rule.length;
    perCall.push(Number(process.hrtime.bigint() - t0) / 1000 / batchSize);
  }
  if (sink < 0) throw new Error('unreachable');
  return {
    rules,
    p50Us: round(percentile(perCall, 50)),
    p99Us: round(percentile(perCall, 99)),
    maxBatchUs: round(Math.max(...perCall)),
    calls: batches * batchSize,
  };
}

export interface ScanFigure {
  bytes: number;
  redactStringMBps: number;
  redactJsonMBps: number;
  /** Reference: JSON.parse of the same text, the cheapest thing a proxy that reads it must do. */
  jsonParseMBps: number;
  redactions: number;
}

export function benchScan(bytes: number, rounds: number): ScanFigure {
  const text = toolResult(1, logText(bytes));
  const size = Buffer.byteLength(text);
  const r = createRedactor({
    vaultValues: new Map([['api-key', 'sk-bench-vault-value-0123456789']]),
    vault: true,
    secrets: true,
  });
  const mbps = (fn: () => void): number => {
    fn();
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = process.hrtime.bigint();
      fn();
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    return round(size / 1e6 / median(times), 1);
  };
  let redactions = 0;
  const parsed = JSON.parse(text) as JsonValue;
  const redactStringMBps = mbps(() => {
    const out = r.redactString(text);
    redactions = Object.values(out.counts).reduce((a, b) => a + b, 0);
  });
  const redactJsonMBps = mbps(() => void r.redactJson(parsed));
  const jsonParseMBps = mbps(() => void JSON.parse(text));
  return { bytes: size, redactStringMBps, redactJsonMBps, jsonParseMBps, redactions };
}
