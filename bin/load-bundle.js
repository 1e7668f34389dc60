// Loads gov's bundle (dist/bundle/gov.cjs, scripts/bundle.mjs). Most of what is left of gov's
// start-up is V8 compiling the bundle's code (docs/performance.md, "Start-up"). Node 22.1+
// keeps that compiled code between runs itself (`module.enableCompileCache`). Node 20 has no
// such call, so there the bundle is compiled with a V8 code cache that `npm run build` writes
// next to it (scripts/write-code-cache.mjs) and that is only ever read at run time.
//
// CommonJS (bin/package.json): an ES module entry costs a start about 8 ms more.
'use strict';
const module_ = require('node:module');
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');

const BUNDLE = join(__dirname, '..', 'dist', 'bundle', 'gov.cjs');
const CODE_CACHE = `${BUNDLE}.cache`;

/**
 * The code cache's first line: a hash of the bundle it was made from. V8 checks its own
 * version and flags, and only the length of the source; this keeps a cache from being used
 * with any other bundle.
 */
function cacheStamp(source) {
  return `gov-code-cache sha256:${createHash('sha256').update(source).digest('hex')}\n`;
}

/** The V8 data in `cacheFile` if it was made from `source`, else undefined. */
function cachedDataFor(source, cacheFile) {
  if (cacheFile === null) return undefined;
  let bytes;
  try {
    bytes = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const stamp = Buffer.from(cacheStamp(source));
  return bytes.subarray(0, stamp.length).equals(stamp) ? bytes.subarray(stamp.length) : undefined;
}

/** Compiles `file` as CommonJS, with the code cache (null: none) when it fits; `cached` tells. */
function compileBundle(file = BUNDLE, cacheFile = CODE_CACHE) {
  const source = readFileSync(file, 'utf8');
  const cachedData = cachedDataFor(source, cacheFile);
  const wrapped = `(function (exports, require, module, __filename, __dirname, __govHostImport) {${source}\n})`;
  const script = new vm.Script(wrapped, { filename: file, ...(cachedData ? { cachedData } : {}) });
  return { script, source, cached: cachedData !== undefined && !script.cachedDataRejected };
}

/**
 * Runs a compiled bundle as the CommonJS module `file` and returns its exports. Code restored
 * from a V8 code cache loses its `import()` callback on Node 20, so the bundle's few
 * `import()`s (the terminal UI, ES-module-only packages; scripts/bundle.mjs) come here,
 * resolved as from the bundle.
 */
function runBundle(script, file = BUNDLE) {
  const base = pathToFileURL(file);
  const hostImport = (specifier) =>
    import(specifier.startsWith('.') ? new URL(specifier, base).href : specifier);
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, module_.createRequire(file), mod, file, dirname(file), hostImport);
  return mod.exports;
}

/**
 * The exports of a bundle gov loads on demand (dist/bundle/undici.cjs), compiled with its own
 * code cache (`<file>.cache`, written by the build) on Node 20; Node 22.1+ caches it itself.
 */
function requireBundle(file) {
  if (module_.enableCompileCache) return require(file);
  return runBundle(compileBundle(file, `${file}.cache`).script, file);
}

function loadGov() {
  if (module_.enableCompileCache) {
    module_.enableCompileCache();
    require(BUNDLE);
  } else {
    runBundle(compileBundle().script);
  }
}

module.exports = { BUNDLE, CODE_CACHE, cacheStamp, compileBundle, runBundle, requireBundle, loadGov };
