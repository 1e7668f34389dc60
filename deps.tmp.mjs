import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
const seen = new Set(); const pkgs = new Map();
function walk(f, from) {
  if (seen.has(f)) return; seen.add(f);
  let src; try { src = readFileSync(f, 'utf8'); } catch { return; }
  for (const m of src.matchAll(/^\s*import\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
    const s = m[1];
    if (s.startsWith('.')) walk(resolve(dirname(f), s), f);
    else if (!s.startsWith('node:')) { if (!pkgs.has(s)) pkgs.set(s, f.replace(process.cwd()+'/','')); }
  }
}
walk(resolve(process.argv[2]));
for (const [p, f] of pkgs) console.log(p.padEnd(45), f);
