import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every regular file below `dir` (sockets and other special files left out): what gov wrote. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}
