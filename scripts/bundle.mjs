// `npm run build`, after tsc: bundle the CLI for start-up time (issue 13, docs/performance.md).
// Node's ESM loader spends most of gov's start-up resolving, reading and linking modules; one
// CommonJS file loads in a fraction of that (modules imported on demand are evaluated only
// then). Input is tsc's output, so the source maps chain back to the .ts files.
// - Bundled: gov's own code and the policy parser's packages (yaml, zod), loaded by every run.
// - Left in node_modules and loaded as installed: every other package (the TUI's, OpenTelemetry,
//   libsodium, native modules), which gov loads on demand.
// - The parts of undici gov uses, and the proxy agent a governed Node child's fetch uses: bundles
//   of their own (dist/bundle/undici.cjs, env-proxy-agent.cjs), loaded on demand.
// - The isolation sandbox's init: a bundle of its own (dist/bundle/sandbox-init.cjs).
// - The terminal UI (cli/ui, imported on demand) and its packages (Ink, React, xterm) are a
//   bundle of ES modules of their own (dist/bundle/ui): Ink's layout engine uses top-level await,
//   which a CommonJS bundle cannot hold.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const BUNDLED = new Set(['yaml', 'zod']);
const outdir = join(root, 'dist', 'bundle');
// `import('…')` with a literal specifier, in tsc's output.
const DYNAMIC_IMPORT = /\bimport\((['"])([^'"]+)\1\)/g;
const UI_MODULE = /\/ui\/[^/]+\.js$/;
/** The UI modules gov imports on demand: the UI bundle's entry points. */
const UI_ENTRIES = ['run-tui', 'pty-tui', 'ApprovalsApp'];

rmSync(outdir, { recursive: true, force: true });

/** A CommonJS bundle as dist/bundle/<name>.cjs; `options`: its entry, and esbuild's options of its own. */
function cjsBundle(name, options) {
  return build({
    ...options,
    outfile: join(outdir, `${name}.cjs`),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    // Less text to parse on every start; names are kept, so stack traces still read.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
  });
}

await cjsBundle('gov', {
  entryPoints: [join(root, 'dist', 'cli', 'main.js')],
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
            if (UI_MODULE.test(specifier)) {
              const entry = basename(specifier, '.js');
              if (!UI_ENTRIES.includes(entry))
                throw new Error(`${a.path} imports ${specifier}: add it to UI_ENTRIES in scripts/bundle.mjs`);
              return `__govImport(${JSON.stringify(`./ui/${entry}.js`)})`;
            }
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
});

// The parts of undici gov uses (src/transport/http/undici-parts.ts), loaded by every process
// that reaches an upstream server, with a code cache of their own (scripts/write-code-cache.mjs).
await cjsBundle('undici', {
  entryPoints: [join(root, 'dist', 'src', 'transport', 'http', 'undici-parts.js')],
});

// undici's EnvHttpProxyAgent, which the preload (preload/node-proxy.cjs) makes a governed Node
// child's fetch dispatcher on its first request: undici's entry point cost that request about
// 150 ms of the child's CPU (fetch, WebSocket, the cache and mock layers, loaded for nothing).
await cjsBundle('env-proxy-agent', {
  stdin: {
    // The methods undici's entry point adds to every dispatcher (ProxyAgent tunnels with `connect`).
    contents: [
      "Object.assign(require('undici/lib/dispatcher/dispatcher.js').prototype, require('undici/lib/api/index.js'));",
      "module.exports = require('undici/lib/dispatcher/env-http-proxy-agent.js');",
    ].join('\n'),
    resolveDir: root,
    sourcefile: 'env-proxy-agent.cjs',
    loader: 'js',
  },
});

// The isolation sandbox's init (PID 1 of `gov run --isolate`): a Node process of its own on the
// path to the child's start, where resolving and linking its ES modules cost about 12 ms.
await cjsBundle('sandbox-init', { entryPoints: [join(root, 'dist', 'src', 'isolation', 'sandbox-init.js')] });

// The terminal UI: loaded from node_modules, its few hundred modules were resolved, read and
// linked (CommonJS ones scanned for their exports) on every start of the panel or of
// `gov approvals`, 1.4-2.0 s of CPU here; from this bundle 0.35-0.6 s. Its chunks are shared
// between the entries, so there is one React and one Ink. gov's own modules the UI imports
// (text sanitising, formatting) are copied in; they hold no state.
await build({
  entryPoints: Object.fromEntries(UI_ENTRIES.map((n) => [n, join(root, 'dist', 'cli', 'ui', `${n}.js`)])),
  outdir: join(outdir, 'ui'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  // React's production build, fixed at bundle time (the development build checks every render);
  // the process's own NODE_ENV is left alone.
  define: { 'process.env.NODE_ENV': '"production"' },
  // The CommonJS packages inside (React, xterm) require Node's built-ins.
  banner: {
    js: "import { createRequire as __govCreateRequire } from 'node:module';\nconst require = __govCreateRequire(import.meta.url);",
  },
  // node-pty is native; Ink loads react-devtools-core only under DEV=true, and gov does not ship it.
  external: ['@lydell/node-pty', 'react-devtools-core'],
  logLevel: 'warning',
});
