/**
 * Summarise a V8 .cpuprofile (from `--cpu-prof`): self time per function and per file, and
 * inclusive time for gov's own functions. Usage: node dist/scripts/bench/profile-summary.js FILE [TOP]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
const top = Number(process.argv[3] ?? '25');
if (!file) {
  process.stderr.write('usage: profile-summary FILE.cpuprofile [TOP]\n');
  process.exit(2);
}
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map<number, number>();
p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const short = (url: string): string =>
  url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/').replace(/^node:/, 'node:');
const label = (n: ProfileNode): string =>
  `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const selfByFn = new Map<string, number>();
const selfByFile = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  selfByFn.set(label(n), (selfByFn.get(label(n)) ?? 0) + us);
  const f = short(n.callFrame.url) || `(${n.callFrame.functionName})`;
  selfByFile.set(f, (selfByFile.get(f) ?? 0) + us);
  // Inclusive time for gov's own code: walk up once per distinct frame label.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const c = byId.get(cur)!;
    if (!c.callFrame.url.includes('/dist/')) continue;
    const l = label(c);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + us);
  }
}

const print = (title: string, m: Map<string, number>): void => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(
      `${((us / total) * 100).toFixed(1).padStart(6)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`,
    );
  }
};
process.stdout.write(`profile ${file}: ${(total / 1000).toFixed(0)} ms sampled\n`);
print('self time by file', selfByFile);
print('self time by function', selfByFn);
print("inclusive time, gov's own functions (dist/)", inclusive);
