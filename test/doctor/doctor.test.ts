import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { checkCa, checkNode } from '../../src/doctor/checks.js';
import { homePaths } from '../../src/home.js';
import { loadOrCreateCa } from '../../src/proxy/ca.js';
import { GOV_BIN, runGov, tempHome } from '../helpers/gov-process.js';
import { isolationSupport } from '../../src/isolation/availability.js';

describe('gov doctor', () => {
  it('fails an old Node and passes a current one', () => {
    expect(checkNode('18.19.0').status).toBe('fail');
    expect(checkNode('20.20.2')).toMatchObject({ status: 'ok', detail: 'Node.js 20.20.2' });
  });

  it('names a CA key that others can read, with the fix', () => {
    const paths = homePaths(tempHome());
    expect(checkCa(paths).detail).toMatch(/not created yet/);
    loadOrCreateCa(paths);
    expect(checkCa(paths).status).toBe('ok');
    chmodSync(paths.caKey, 0o644);
    expect(checkCa(paths)).toMatchObject({ status: 'fail', fix: `chmod 600 ${paths.caKey}` });
  });

  it('--json reports every prerequisite, isolation included', async () => {
    const r = await runGov(['doctor', '--json'], { env: { GOV_HOME: tempHome() } });
    const out = JSON.parse(r.stdout) as { ok: boolean; checks: Array<{ name: string; status: string }> };
    expect(out.checks.map((c) => c.name)).toEqual(['node', 'keyring', 'ca', 'isolation']);
    expect(out.checks.find((c) => c.name === 'isolation')!.status).toBe(
      isolationSupport().ok ? 'ok' : 'warn',
    );
    expect(r.code).toBe(out.ok ? 0 : 1);
  });

  it.skipIf(!isolationSupport().ok)('says why isolation is unavailable when user namespaces are off', () => {
    // Per-user-namespace sysctl: switched off only inside this namespace.
    const r = spawnSync(
      'unshare',
      [
        '--user',
        '--map-root-user',
        'sh',
        '-c',
        `echo 0 > /proc/sys/user/max_user_namespaces && exec "${process.execPath}" "${GOV_BIN}" doctor`,
      ],
      { encoding: 'utf8', env: { ...process.env, GOV_HOME: tempHome() }, timeout: 30_000 },
    );
    expect(r.stdout).toMatch(
      /^warn +isolation +gov run --isolate is unavailable: user namespaces are disabled \(user.max_user_namespaces=0\) — enable them: sysctl -w user.max_user_namespaces=15000$/m,
    );
  });
});
