import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: bin/ is plain JavaScript without declarations
import { CODE_CACHE, cacheStamp, compileBundle, requireBundle, runBundle } from '../bin/load-bundle.js';
import { installPath } from '../src/install-path.js';

interface Compiled {
  script: { createCachedData(): Buffer };
  source: string;
  cached: boolean;
}
const compile = compileBundle as (file?: string, cacheFile?: string | null) => Compiled;
const run = runBundle as (script: Compiled['script'], file: string) => unknown;
const requireBuilt = requireBundle as (file: string) => unknown;

/** A bundle whose code reports what it is, and a cache made the way the build makes one. */
function bundleWithCache(dir: string, answer: string): { file: string; cache: string } {
  const file = join(dir, 'bundle.cjs');
  const cache = join(dir, 'bundle.cjs.cache');
  writeFileSync(file, `globalThis.__loadBundleTest = function answer() { return '${answer}'; };`);
  const { script, source } = compile(file, null);
  run(script, file);
  (globalThis as { __loadBundleTest?: () => string }).__loadBundleTest?.();
  writeFileSync(cache, Buffer.concat([Buffer.from(cacheStamp(source) as string), script.createCachedData()]));
  return { file, cache };
}

function answerOf(file: string, cache: string): { answer: string | undefined; cached: boolean } {
  const { script, cached } = compile(file, cache);
  run(script, file);
  return { answer: (globalThis as { __loadBundleTest?: () => string }).__loadBundleTest?.(), cached };
}

describe('bin/load-bundle.js: the bundle from its V8 code cache', () => {
  it('the build wrote a cache that fits each bundle loaded through it', () => {
    expect(compile(undefined, CODE_CACHE).cached).toBe(true);
    for (const name of ['undici.cjs', 'env-proxy-agent.cjs']) {
      const file = installPath('dist', 'bundle', name);
      expect(compile(file, `${file}.cache`).cached, name).toBe(true);
    }
  });

  it('a bundle loaded on demand gives its exports, from its own cache (<file>.cache)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gov-load-bundle-'));
    try {
      const file = join(dir, 'part.cjs');
      writeFileSync(file, `module.exports = { answer: () => 'part' };`);
      const { script, source } = compile(file, null);
      const exported = run(script, file) as { answer: () => string };
      expect(exported.answer()).toBe('part');
      writeFileSync(
        `${file}.cache`,
        Buffer.concat([Buffer.from(cacheStamp(source) as string), script.createCachedData()]),
      );
      expect(compile(file, `${file}.cache`).cached).toBe(true);
      expect((requireBuilt(file) as { answer: () => string }).answer()).toBe('part');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // A governed Node child's fetch dispatches through this agent (preload/node-proxy.cjs); undici's
  // ProxyAgent opens its tunnels with `connect`, one of the methods undici's entry point adds to
  // every dispatcher, which the bundle must add too.
  it("the preload's proxy agent has undici's dispatcher methods", () => {
    const EnvHttpProxyAgent = requireBuilt(
      installPath('dist', 'bundle', 'env-proxy-agent.cjs'),
    ) as new () => {
      connect: unknown;
      request: unknown;
      dispatch: unknown;
      close(): Promise<void>;
    };
    const agent = new EnvHttpProxyAgent();
    expect([typeof agent.connect, typeof agent.request, typeof agent.dispatch]).toEqual([
      'function',
      'function',
      'function',
    ]);
    return agent.close();
  });

  it('a cache made from another bundle of the same length is never used', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gov-load-bundle-'));
    try {
      const { file, cache } = bundleWithCache(dir, 'first');
      expect(answerOf(file, cache)).toEqual({ answer: 'first', cached: true });
      writeFileSync(file, `globalThis.__loadBundleTest = function answer() { return 'other'; };`);
      expect(answerOf(file, cache)).toEqual({ answer: 'other', cached: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing or truncated cache only costs the compile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gov-load-bundle-'));
    try {
      const { file, cache } = bundleWithCache(dir, 'same');
      expect(answerOf(file, join(dir, 'none'))).toEqual({ answer: 'same', cached: false });
      writeFileSync(cache, 'gov-code-cache');
      expect(answerOf(file, cache)).toEqual({ answer: 'same', cached: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The terminal UI and Ink are ES modules the bundle imports (with top-level await, which
  // require() cannot load). Code restored from a cache loses Node 20's import() callback
  // (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), so they come through the loader's importer.
  it('code from the cache imports an ES module relative to the bundle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gov-load-bundle-'));
    try {
      writeFileSync(
        join(dir, 'ui.mjs'),
        'await Promise.resolve();\nexport const drawn = "from the ES module";\n',
      );
      const file = join(dir, 'bundle.cjs');
      writeFileSync(file, `globalThis.__loadBundleTest = () => __govHostImport('./ui.mjs');`);
      const first = compile(file, null);
      run(first.script, file);
      const cache = join(dir, 'bundle.cjs.cache');
      writeFileSync(
        cache,
        Buffer.concat([Buffer.from(cacheStamp(first.source) as string), first.script.createCachedData()]),
      );
      const again = compile(file, cache);
      expect(again.cached).toBe(true);
      run(again.script, file);
      const load = (globalThis as unknown as { __loadBundleTest: () => Promise<{ drawn: string }> })
        .__loadBundleTest;
      await expect(load()).resolves.toMatchObject({ drawn: 'from the ES module' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
