// `npm run build`, after the bundle: write the V8 code cache that bin/load-bundle.js uses on
// Node 20 (Node 22.1+ keeps its own). The cache holds the code compiled while the bundle ran,
// so this runs the bundle once through the path every start takes: `gov run` with a fresh
// home, its proxy and a child. The cache is written only here, never at run time.
//
// Usage (by `npm run build`): node scripts/write-code-cache.mjs
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE, CODE_CACHE, cacheStamp, compileBundle, runBundle } from '../bin/load-bundle.js';

const WORKLOAD = ['run', '--no-tui', '--quiet', '--', 'true'];

if (process.argv[2] === '--workload') {
  const { script, source } = compileBundle(BUNDLE, null);
  process.argv = [process.argv[0], fileURLToPath(new URL('../bin/gov.js', import.meta.url)), ...WORKLOAD];
  process.on('exit', (code) => {
    if (code === 0)
      writeFileSync(CODE_CACHE, Buffer.concat([Buffer.from(cacheStamp(source)), script.createCachedData()]));
  });
  runBundle(script);
} else {
  rmSync(CODE_CACHE, { force: true });
  const home = mkdtempSync(join(tmpdir(), 'gov-code-cache-'));
  try {
    const env = { ...process.env, GOV_HOME: home };
    for (const name of ['NODE_OPTIONS', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'])
      delete env[name];
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--workload'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 60_000,
    });
    // Without a cache gov still starts, only slower: say so and let the build finish.
    if (r.status !== 0) {
      process.stderr.write(
        `write-code-cache: no code cache (gov ${WORKLOAD.join(' ')} failed: ${r.error?.message ?? r.stderr})\n`,
      );
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
