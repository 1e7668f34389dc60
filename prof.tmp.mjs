import { readFileSync, readdirSync } from 'node:fs';
const dir = process.argv[2];
const f = readdirSync(dir).find((n) => n.endsWith('.cpuprofile'));
const p = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const keyOf = (n) => { let key = (n.callFrame.url || '').replace(/^file:\/\//, '');
  const m = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(key); if (m) return 'pkg:' + m[1]; if (key.includes('/dist/')) return 'gov:' + key.split('/dist/')[1]; return null; };
const self = new Map(); let t = 0; let spawnAt = null;
const dt = p.timeDeltas;
p.samples.forEach((s, i) => {
  t += dt[i] / 1000;
  let id = s, key = null, chain = [];
  while (id !== undefined) { const n = byId.get(id); chain.push(n.callFrame.functionName); if (!key) key = keyOf(n); id = parent.get(id); }
  if (spawnAt === null && chain.includes('spawnProgram')) spawnAt = t;
  if (spawnAt !== null) return;
  key ??= '(other)';
  self.set(key, (self.get(key) ?? 0) + dt[i] / 1000);
});
console.log('until spawn', spawnAt?.toFixed(0));
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(v.toFixed(0).padStart(6), k);
