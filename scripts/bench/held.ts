/**
 * The memory row: `gov run` holding N calls for approval and N open SSE streams, its RSS read
 * once gov lists every call as pending; then the floor under it (plain Node holding as many
 * idle TLS connections as gov does).
 */
import { listPending } from '../../src/approvals/client.js';
import type { LoadPlan, LoadResult } from './loadgen.js';
import type { BenchPki } from './pki.js';
import { runUnderGov } from './processes.js';
import { rssMb } from './stats.js';
import { measureTlsFloor, type TlsFloor } from './tls-floor.js';

export interface HeldFigures {
  held: LoadResult;
  heldRss: number | null;
  pendingSeen: number;
  tlsFloor: TlsFloor | null;
}

export async function benchHeld(
  plan: LoadPlan,
  o: { home: string; policyPath: string; pki: BenchPki; step: (msg: string) => void },
): Promise<HeldFigures> {
  const n = plan.held.calls;
  o.step(`gov: ${n} held calls + ${plan.held.streams} open SSE streams`);
  let heldRss: number | null = null;
  let pendingSeen = 0;
  const held = await runUnderGov(
    { ...plan, phases: ['held'] },
    {
      home: o.home,
      policyPath: o.policyPath,
      upstreamCa: o.pki.caPath,
      onReady: async (govPid) => {
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          pendingSeen = (await listPending(o.home)).calls.length;
          if (pendingSeen >= n) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        await new Promise((r) => setTimeout(r, 500));
        heldRss = rssMb(govPid);
      },
    },
  );
  // gov holds three TLS sockets per held call + stream pair: the call's, the stream's agent
  // side and the stream's upstream side.
  const connections = n + 2 * plan.held.streams;
  o.step(`the floor under it: ${connections} idle TLS connections to a plain Node process`);
  const tlsFloor = await measureTlsFloor({
    keyPath: o.pki.keyPath,
    certPath: o.pki.certPath,
    connections,
  }).catch(() => null);
  return { held, heldRss, pendingSeen, tlsFloor };
}
