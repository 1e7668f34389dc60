/** Rows measured inside one process (policy, pins, the output scan): no sockets, no gov run. */
import type { Row } from './report.js';
import type { Inputs } from './rows.js';

export function inProcessRows(i: Inputs): Row[] {
  const rows: Row[] = [];
  for (const d of i.decide) {
    rows.push({
      id: `decide_${d.rules}`,
      figure: `policy decide() at ${d.rules} rules, p99 per call`,
      unit: 'µs',
      method: 'in-process',
      direct: null,
      gov: d.p99Us,
      target: '≤ 10 µs',
      pass: d.p99Us <= 10,
      note: `p50 ${d.p50Us} µs over ${d.calls} calls in batches of 16`,
    });
  }
  const pt = i.policyTest;
  rows.push({
    id: 'policy_test_1000',
    figure: `gov policy test, ${pt.cases} cases at ${pt.rules} rules, wall time`,
    unit: 'ms',
    method: 'cli',
    direct: null,
    gov: pt.wallMs,
    target: '< 1000 ms',
    pass: pt.wallMs < 1000,
    note: `median of ${pt.runs} runs of the real CLI, node start-up included`,
  });
  rows.push(
    {
      id: 'pins_list_first',
      figure: `pins + poisoning scan of a ${i.pins.tools}-tool tools/list, first time in a process`,
      unit: 'ms',
      method: 'in-process',
      direct: null,
      gov: i.pins.firstMedianMs,
      target: '≤ 1 ms',
      pass: i.pins.firstMedianMs <= 1,
      note: 'median; a new ToolPins (pins.json loaded at start-up): fingerprints, pin check, full scan',
    },
    {
      id: 'pins_list_unseen',
      figure: `fingerprints + poisoning scan of ${i.pins.tools} tool definitions gov has never seen`,
      unit: 'ms',
      method: 'in-process',
      direct: null,
      gov: i.pins.unseenMedianMs,
      target: '≤ 1 ms',
      pass: i.pins.unseenMedianMs <= 1,
      note: 'median; a new server (plus its one-off pins.json write) or every tool changed',
    },
    {
      id: 'pins_list_again',
      figure: `pins + poisoning scan of a ${i.pins.tools}-tool tools/list seen before`,
      unit: 'ms',
      method: 'in-process',
      direct: null,
      gov: i.pins.againMedianMs,
      target: '≤ 1 ms',
      pass: i.pins.againMedianMs <= 1,
      note: 'median; another session listing the same tools reuses fingerprints and scan',
    },
    {
      id: 'pins_call',
      figure: 'pin check per tools/call, p50',
      unit: 'µs',
      method: 'in-process',
      direct: null,
      gov: i.pins.callP50Us,
      target: 'no measurable change',
      pass: null,
    },
  );
  rows.push({
    id: 'scan_string',
    figure: `output scan, redactString of ${(i.scan.bytes / 1e6).toFixed(1)} MB result`,
    unit: 'MB/s',
    method: 'in-process',
    direct: i.scan.jsonParseMBps,
    gov: i.scan.redactStringMBps,
    target: '≥ 200 MB/s',
    pass: i.scan.redactStringMBps >= 200,
    note: `direct column: JSON.parse of the same text, for scale; ${i.scan.redactions} planted secrets redacted`,
  });
  rows.push({
    id: 'scan_json',
    figure: `output scan, redactJson of ${(i.scan.bytes / 1e6).toFixed(1)} MB result`,
    unit: 'MB/s',
    method: 'in-process',
    direct: i.scan.jsonParseMBps,
    gov: i.scan.redactJsonMBps,
    target: '≥ 200 MB/s',
    pass: i.scan.redactJsonMBps >= 200,
  });
  return rows;
}
