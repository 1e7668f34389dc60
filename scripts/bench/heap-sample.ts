/**
 * Preload (`node --import …/heap-sample.js`) for `npm run bench -- --heap-sample DIR`: what a
 * proxy allocates per HTTP request it serves, by allocation site. After WARMUP requests (the
 * bench's unmeasured calls), V8's sampling heap profiler runs with collected objects kept, so
 * short-lived garbage counts too; at exit the top sites per request go to
 * DIR/heap-<name>-<pid>.txt. Allocation per call barely depends on the machine, unlike time.
 */
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env['GOV_BENCH_HEAP_SAMPLE_DIR'];
const name = process.env['GOV_BENCH_HEAP_SAMPLE_NAME'] ?? 'process';
const WARMUP = 2_000;
const TOP = 40;

interface SampleNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SampleNode[];
}

if (dir) {
  const session = new Session();
  session.connect();
  let requests = 0;
  let sampled = 0;
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (this: http.Server, event: string | symbol, ...args: unknown[]) {
    if (event === 'request') {
      requests++;
      if (requests === WARMUP)
        session.post('HeapProfiler.startSampling', {
          samplingInterval: 1024,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        });
      else if (requests > WARMUP) sampled++;
    }
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as typeof emit;
  process.on('exit', () => {
    if (requests < WARMUP) return;
    // An in-process session answers synchronously, so this runs before the process exits.
    session.post('HeapProfiler.stopSampling', (err, r) => {
      if (err) return;
      const bySite = new Map<string, number>();
      let total = 0;
      const walk = (n: SampleNode): void => {
        const f = n.callFrame;
        const site = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}`;
        bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
        total += n.selfSize;
        n.children.forEach(walk);
      };
      walk((r as unknown as { profile: { head: SampleNode } }).profile.head);
      const per = (bytes: number): string => (bytes / Math.max(sampled, 1)).toFixed(0).padStart(7);
      const lines = [...bySite]
        .sort((a, b) => b[1] - a[1])
        .slice(0, TOP)
        .map(([site, bytes]) => `${per(bytes)} B  ${site}`);
      appendFileSync(
        join(dir, `heap-${name}-${process.pid}.txt`),
        `${name}: ${sampled} requests sampled, ${(total / Math.max(sampled, 1) / 1024).toFixed(1)} KB allocated per request\n` +
          `${lines.join('\n')}\n`,
      );
    });
  });
}
