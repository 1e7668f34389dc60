import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki } from '../helpers/test-ca.js';
import { runGov, tempHome } from '../helpers/gov-process.js';

// Every mistake a new user makes on the command line is one line `gov: <what> — <fix>`, exit 2.
describe('first-hour usage errors are one clear line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gov-usage-'));
  const home = tempHome();
  const pki = makeTestPki();
  const oneLine = (stderr: string) => {
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^gov: .+ — .+\n$/);
  };
  const run = (args: string[], env: Record<string, string> = { GOV_HOME: home }) =>
    runGov(args, { env, timeoutMs: 20_000 });

  it('--upstream-ca: a missing file, garbage, or a private key', async () => {
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    const key = join(dir, 'key.pem');
    writeFileSync(key, pki.caPem + pki.keyPem);
    for (const [file, what] of [
      [join(dir, 'missing.pem'), 'no such file'],
      [junk, 'holds no PEM certificate'],
      [key, 'holds a private key'],
    ] as const) {
      const r = await run(['run', '--no-tui', '--upstream-ca', file, '--', 'true']);
      expect(r.stderr).toContain(`gov: --upstream-ca ${file}: ${what}`);
      oneLine(r.stderr);
      expect(r.code).toBe(2);
    }
  });

  it('a GOV_HOME that is a file or lies under one', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    for (const h of [file, join(file, 'sub')]) {
      const r = await run(['run', '--no-tui', '--', 'true'], { GOV_HOME: h });
      expect(r.stderr).toContain('a file is in the way — set GOV_HOME to a writable directory');
      oneLine(r.stderr);
      expect(r.code).toBe(2);
    }
  });

  it('--max-body -5, an unknown flag, a missing value', async () => {
    const neg = await run(['run', '--max-body', '-5', '--', 'true']);
    expect(neg.stderr).toBe("gov: invalid --max-body '-5' — use a byte count\n");
    expect(neg.code).toBe(2);
    const unknown = await run(['run', '--bogus', '--', 'true']);
    expect(unknown.stderr).toBe("gov: run: unknown option '--bogus' — see 'gov run --help'\n");
    expect(unknown.code).toBe(2);
    const missing = await run(['run', '--policy']);
    expect(missing.stderr).toBe("gov: run: option '--policy' needs a value — see 'gov run --help'\n");
    expect(missing.code).toBe(2);
  });

  it('gov help run prints the run help', async () => {
    const r = await run(['help', 'run']);
    expect(r.stdout).toMatch(/^usage: gov run \[options\] -- <command>/);
    expect(r.code).toBe(0);
  });
});
