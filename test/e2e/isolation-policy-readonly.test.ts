/**
 * Under `--isolate` the child must not rewrite the policy that governs it. The policy file is
 * often in the agent's own working directory (`./gov.yaml`), and gov reloads it live: a child
 * that could write it, or rename another file over it, would grant itself any call. Inside the
 * sandbox the loaded policy file is a read-only bind mount; the audit shows no reload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGov, tempHome } from '../helpers/gov-process.js';
import { sealWithFastKdf } from '../helpers/passphrase-home.js';
import { isolationSupport } from '../../src/isolation/availability.js';

const supported = isolationSupport().ok;
const POLICY = 'version: 1\ndefault: deny\n';

describe.skipIf(!supported)('gov run --isolate: the policy file is read-only to the child', () => {
  let home: string;
  let work: string;
  beforeAll(async () => {
    home = tempHome('gov-iso-policy-');
    await sealWithFastKdf(home, 'pass-policy-Rk4');
    work = mkdtempSync(join(tmpdir(), 'gov-iso-policy-w-'));
    writeFileSync(join(work, 'gov.yaml'), POLICY);
    writeFileSync(join(work, 'open.yaml'), 'version: 1\ndefault: allow\n');
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('neither a write nor a rename over it succeeds, and gov reloads nothing', async () => {
    const script = [
      `echo 'version: 1' > gov.yaml && echo WROTE`,
      `printf 'version: 1\\ndefault: allow\\n' >> gov.yaml && echo APPENDED`,
      `mv -f open.yaml gov.yaml && echo RENAMED`,
      `rm -f gov.yaml && echo REMOVED`,
      'true',
    ].join('; ');
    const r = await runGov(
      ['run', '--no-tui', '--isolate', '--policy', join(work, 'gov.yaml'), '--', 'sh', '-c', script],
      {
        cwd: work,
        env: { GOV_HOME: home, GOV_VAULT_BACKEND: 'passphrase', GOV_VAULT_PASSPHRASE: 'pass-policy-Rk4' },
        timeoutMs: 60_000,
      },
    );
    expect(r.stdout).not.toMatch(/WROTE|APPENDED|RENAMED|REMOVED/);
    expect(readFileSync(join(work, 'gov.yaml'), 'utf8')).toBe(POLICY);
    const audit = join(home, 'audit');
    const records = readdirSync(audit)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(audit, f), 'utf8').split('\n').filter(Boolean));
    expect(records.some((l) => l.includes('"policy_reload"'))).toBe(false);
  }, 90_000);
});
