// `npm run build`, after tsc: bundle the CLI for start-up time (issue 13, docs/performance.md).
// Node's ESM loader spends most of gov's start-up resolving, reading and linking modules; one
// CommonJS file loads in a fraction of that (modules imported on demand are evaluated only
// then). Input is tsc's output, so the source maps chain back to the .ts files.
// - Bundled: gov's own code and the policy parser's packages (yaml, zod), loaded by every run.
// - Left in node_modules and loaded as installed: every other package (the TUI's, OpenTelemetry,
//   undici, libsodium, native modules), which gov loads on demand.
// - The terminal UI (cli/ui, imported on demand) is loaded from tsc's tree as ES modules:
//   Ink's layout engine uses top-level await, which require() cannot load.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const BUNDLED = new Set(['yaml', 'zod']);
const outdir = join(root, 'dist', 'bundle');

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { gov: join(root, 'dist', 'cli', 'main.js') },
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Less text to parse on every start; names are kept, so stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
  external: Object.keys(pkg.dependencies).filter((d) => !BUNDLED.has(d)),
  define: { 'import.meta.url': '__govModuleUrl' },
  banner: { js: "const __govModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [
    {
      name: 'terminal-ui-from-tsc-tree',
      setup(b) {
        b.onResolve({ filter: /\/ui\/[^/]+\.js$/ }, (a) =>
          a.kind === 'dynamic-import'
            ? { path: relative(outdir, join(a.resolveDir, a.path)), external: true }
            : undefined,
        );
      },
    },
  ],
  logLevel: 'warning',
});
