import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '../../src/policy/load.js';
import { watchPolicy } from '../../src/policy/watch.js';

const V1 = 'version: 1\nrules:\n  - id: a\n    tool: x\n    decision: deny\n';
const V2 = 'version: 1\nrules:\n  - id: b\n    tool: x\n    decision: allow\n';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** The next callback, or a failure after a bounded wait. */
function next<T>(what: string, register: (resolve: (v: T) => void) => void, ms = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    register((v) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}

describe('watching the policy file', () => {
  it('hands over a valid edit (saved by rename) and names file:line:col for an invalid one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gov-watch-'));
    const path = join(dir, 'gov.yaml');
    writeFileSync(path, V1);
    let onReload: (d: string) => void = () => {};
    let onInvalid: (p: string) => void = () => {};
    const w = watchPolicy({
      path,
      digest: loadPolicy(path).digest,
      onReload: (p) => onReload(p.describeRules()[0]?.id ?? ''),
      onInvalid: (p) => onInvalid(p),
      settleMs: 10,
    });
    cleanups.push(
      () => w.close(),
      () => rmSync(dir, { recursive: true, force: true }),
    );

    const reloaded = next<string>('the reload', (r) => (onReload = r));
    writeFileSync(join(dir, 'gov.yaml.tmp'), V2);
    renameSync(join(dir, 'gov.yaml.tmp'), path);
    expect(await reloaded).toBe('b');

    const invalid = next<string>('the problem', (r) => (onInvalid = r));
    writeFileSync(path, 'version: 1\nrules:\n  - id: c\n    decision: sometimes\n');
    expect(await invalid).toBe(`${path}:4:15: expected one of allow, deny, approve, got 'sometimes'`);
  });
});
