// `npm run build`, after tsc: bundle the CLI for start-up time (issue 13, docs/performance.md).
// Node's ESM loader spends most of gov's start-up resolving and compiling ~200 small modules;
// one bundle with a chunk per command loads in a fraction of that. Input is tsc's output, so
// the source maps chain back to the .ts files. Only what every run loads (gov's own code and
// the policy parser's packages) is bundled; the packages that are loaded on demand (TUI,
// OpenTelemetry, undici, libsodium, native modules) stay in node_modules, loaded as installed.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const BUNDLED = new Set(['yaml', 'zod']);
const outdir = join(root, 'dist', 'bundle');

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'dist', 'cli', 'main.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Less text to parse on every start; names are kept, so stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
  external: Object.keys(pkg.dependencies).filter((d) => !BUNDLED.has(d)),
  // Bundled CommonJS (yaml) calls require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __govRequire } from 'node:module'; const require = __govRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
