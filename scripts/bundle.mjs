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
// `import('…')` with a literal specifier, in tsc's output.
const DYNAMIC_IMPORT = /\bimport\((['"])([^'"]+)\1\)/g;
const UI_MODULE = /\/ui\/[^/]+\.js$/;

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
  banner: {
    js: [
      "const __govModuleUrl = require('node:url').pathToFileURL(__filename).href;",
      // bin/load-bundle.js passes `__govHostImport` when it loads the bundle from its code cache.
      "const __govImport = typeof __govHostImport === 'function' ? __govHostImport : (s) => import(s);",
    ].join('\n'),
  },
  plugins: [
    {
      // The modules that stay `import()` (the terminal UI from tsc's tree, and ES-module-only
      // packages: Ink, node-pty) are imported through `__govImport` (defined in the banner).
      // bin/load-bundle.js compiles the bundle with a V8 code cache on Node 20, and code
      // restored from a cache loses the `import()` callback (Node 20 answers
      // ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), so there the loader hands in an importer of
      // its own. The UI's paths are rewritten relative to the bundle, where they resolve.
      name: 'dynamic-imports-through-the-loader',
      setup(b) {
        b.onLoad({ filter: /\/dist\/(src|cli|vault)\/.*\.js$/ }, (a) => {
          const source = readFileSync(a.path, 'utf8');
          if (!source.includes('import(')) return undefined;
          const contents = source.replace(DYNAMIC_IMPORT, (whole, quote, specifier) => {
            if (specifier.startsWith('.') && !UI_MODULE.test(specifier)) return whole;
            if (!specifier.startsWith('.') && BUNDLED.has(specifier)) return whole;
            const target = specifier.startsWith('.')
              ? relative(outdir, join(dirname(a.path), specifier))
              : specifier;
            return `__govImport(${JSON.stringify(target)})`;
          });
          return { contents, loader: 'js', resolveDir: dirname(a.path) };
        });
      },
    },
  ],
  logLevel: 'warning',
});
