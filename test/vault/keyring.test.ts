/**
 * The real OS keyring (Secret Service). Excluded from the default vitest run; run it with
 * `npm run test:keyring` (scripts/test-keyring.sh: gnome-keyring unlocked inside
 * dbus-run-session, vitest.keyring.config.ts). The CLI case needs `npm run build` first.
 */
import { describe, expect, it, beforeAll, beforeEach, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AsyncEntry } from '@napi-rs/keyring';
import { KEYRING_SERVICE, keyringAccount, osKeyring } from '../../vault/keyring.js';
import { openVault, readVaultFile } from '../../vault/store.js';

const AUTO_ENV = {
  PATH: process.env['PATH'] ?? '',
  DBUS_SESSION_BUS_ADDRESS: process.env['DBUS_SESSION_BUS_ADDRESS'] ?? '',
};
let home: string;

/** Read the entry directly, pinned to the Secret Service, bypassing gov's code. */
const direct = (h: string) =>
  new AsyncEntry(KEYRING_SERVICE, keyringAccount(h), { linux: { store: 'secret-service' } });

beforeAll(() => {
  if (!process.env['DBUS_SESSION_BUS_ADDRESS']) {
    throw new Error(
      'no session bus: run this file under dbus-run-session with gnome-keyring unlocked (see the header)',
    );
  }
});
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'gov-keyring-'));
});
afterEach(async () => {
  await direct(home)
    .deletePassword()
    .catch(() => false);
  rmSync(home, { recursive: true, force: true });
});

describe('OS keyring (Secret Service)', () => {
  it('distinguishes "no key" (null) from a stored key, per GOV_HOME', async () => {
    const kr = osKeyring(home, AUTO_ENV);
    expect(await kr.get()).toBeNull();
    await kr.set('a2V5');
    expect(await kr.get()).toBe('a2V5');
    expect(await direct(home).getPassword()).toBe('a2V5');
    const other = mkdtempSync(join(tmpdir(), 'gov-keyring-other-'));
    try {
      expect(await osKeyring(other, AUTO_ENV).get()).toBeNull();
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    expect(await kr.delete()).toBe(true);
    expect(await kr.get()).toBeNull();
  });

  it('a new vault keeps its master key in the Secret Service and reopens with it', async () => {
    const v = await openVault({ home, env: AUTO_ENV });
    await v.set('github-token', 'keyring-backed-value');
    expect(readVaultFile(join(home, 'vault.json'))?.kdf).toEqual({ kind: 'keyring' });
    const stored = await direct(home).getPassword();
    expect(stored).not.toBeNull();
    expect(Buffer.from(stored!, 'base64')).toHaveLength(32);
    const again = await openVault({ home, env: AUTO_ENV });
    expect(again.get('github-token')).toBe('keyring-backed-value');
    expect(readFileSync(join(home, 'vault.json'), 'utf8')).not.toContain('keyring-backed-value');
  });

  it('an existing keyring vault whose key is missing is an error, never a new key', async () => {
    const v = await openVault({ home, env: AUTO_ENV });
    await v.set('a', 'one');
    expect(await direct(home).deletePassword()).toBe(true);
    const before = readFileSync(join(home, 'vault.json'));
    await expect(openVault({ home, env: AUTO_ENV })).rejects.toThrow(/holds no master key/);
    const locked = await openVault({ home, env: AUTO_ENV, skipUnlock: true });
    await expect(locked.set('b', 'two')).rejects.toThrow(/holds no master key/);
    expect(await direct(home).getPassword()).toBeNull();
    expect(readFileSync(join(home, 'vault.json'))).toEqual(before);
  });

  it('gov vault set/list use the keyring by default', () => {
    const gov = resolve('bin/gov.js');
    const env = { ...AUTO_ENV, GOV_HOME: home };
    const set = spawnSync(process.execPath, [gov, 'vault', 'set', 'api-key'], {
      env,
      input: 'cli-keyring-value\n',
      encoding: 'utf8',
    });
    expect(set.status, set.stderr).toBe(0);
    expect(set.stdout).toContain('OS keyring');
    const list = spawnSync(process.execPath, [gov, 'vault', 'list', '--json'], { env, encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((r) => r.name)).toEqual(['api-key']);
    expect(readVaultFile(join(home, 'vault.json'))?.kdf).toEqual({ kind: 'keyring' });
    expect(list.stdout + set.stdout + set.stderr + list.stderr).not.toContain('cli-keyring-value');
  });
});
