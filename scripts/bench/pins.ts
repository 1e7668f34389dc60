/**
 * Pins and the poisoning scan, in process, for a 100-tool tools/list: a list seen for the
 * first time in a process (the whole `observeList` of a new ToolPins: fingerprints, pin check,
 * full scan, marking; pins.json already written and loaded at start-up, as on every run after
 * the first), definitions gov has never seen (fingerprints and scan only: the once-per-server
 * pins.json write is disk-bound), the same list again (another session listing the same
 * tools), and the per-call pin check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolPins } from '../../src/safety/tool-pins.js';
import { scanServer } from '../../src/safety/poison-scan.js';
import { definitionOf, fingerprintOf } from '../../src/safety/tool-definition.js';
import type { JsonValue } from '../../src/types.js';
import { median, percentile, round } from './stats.js';

export interface PinsFigure {
  tools: number;
  /** observeList of a list a new ToolPins has not seen: nothing cached */
  firstMedianMs: number;
  /** fingerprints and scan of definitions gov has never seen (a new or changed server) */
  unseenMedianMs: number;
  /** observeList of a list already seen by this process */
  againMedianMs: number;
  callP50Us: number;
}

function toolList(n: number): JsonValue {
  const tools: JsonValue[] = [];
  for (let i = 0; i < n; i++)
    tools.push({
      name: `tool_${i}`,
      title: `Tool ${i}`,
      description: `Reads record ${i} from the inventory service and returns it as JSON. Use it to look up stock levels, prices and the warehouse a product ships from.`,
      inputSchema: {
        type: 'object',
        properties: {
          id: { type: 'string', description: 'The product id, e.g. SKU-1234' },
          fields: { type: 'array', items: { type: 'string' }, description: 'Fields to return' },
        },
        required: ['id'],
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    });
  return { tools };
}

export function benchPins(tools: number, rounds: number): PinsFigure {
  const dir = mkdtempSync(join(tmpdir(), 'gov-bench-pins-'));
  try {
    const path = join(dir, 'pins.json');
    const list = toolList(tools);
    const server = { name: 'inventory', url: 'https://inventory.example/mcp' };
    const config = {
      onChange: 'approve',
      onPoison: 'approve',
      changedTools: 'mark',
      declared: new Map(),
    } as const;
    const tools_ = (list as { tools: JsonValue[] }).tools;
    const pins = new ToolPins(path, config);
    pins.observeList(server, 's', list); // first use: pins.json written
    const time = (fn: (i: number) => void, setup?: () => void): number[] => {
      const out: number[] = [];
      for (let i = 0; i < rounds; i++) {
        setup?.();
        const t0 = process.hrtime.bigint();
        fn(i);
        out.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return out;
    };
    // As in a new process: its ToolPins reads pins.json at start-up, outside the timing.
    let fresh = pins;
    const first = time(
      () => void fresh.observeList(server, 's', list),
      () => (fresh = new ToolPins(path, config)),
    );
    const unseen = time(() => {
      const defs = tools_.map((t) => definitionOf(t)!);
      for (const d of defs) fingerprintOf(d);
      scanServer(defs);
    });
    const again = time((i) => void pins.observeList(server, `s${i}`, list));
    const calls = time(() => void pins.checkCall(server, 's', 'tool_7')).map((ms) => ms * 1000);
    return {
      tools,
      firstMedianMs: round(median(first), 3),
      unseenMedianMs: round(median(unseen), 3),
      againMedianMs: round(median(again), 3),
      callP50Us: round(percentile(calls, 50), 2),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
