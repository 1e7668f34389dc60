import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openVault, readVaultFile } from '../../vault/store.js';
import type { MasterKeyStore } from '../../vault/keyring.js';
import { GovError } from '../../src/errors.js';

const PASS_ENV = { GOV_VAULT_BACKEND: 'passphrase', GOV_VAULT_PASSPHRASE: 'correct horse battery staple' };

function fakeKeyring(initial: string | null = null): MasterKeyStore & { value: string | null; sets: number } {
  const k = {
    description: 'fake keyring',
    value: initial,
    sets: 0,
    async get() {
      return k.value;
    },
    async set(v: string) {
      k.sets++;
      k.value = v;
    },
    async delete() {
      const had = k.value !== null;
      k.value = null;
      return had;
    },
  };
  return k;
}

const brokenKeyring: MasterKeyStore = {
  description: 'broken keyring',
  get: () => Promise.reject(new GovError('keyring', 'OS keyring unavailable (no bus)')),
  set: () => Promise.reject(new GovError('keyring', 'OS keyring unavailable (no bus)')),
  delete: () => Promise.reject(new GovError('keyring', 'OS keyring unavailable (no bus)')),
};

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'gov-vault-'));
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

describe('passphrase vault', () => {
  it('round-trips entries and lists names with timestamps, never values', async () => {
    const v = await openVault({ home, env: PASS_ENV });
    expect(v.kdfKind()).toBeNull();
    await v.set('github-token', 'ghp_value_1');
    await v.set('other.key_2', 'second value ✓');
    expect(v.get('github-token')).toBe('ghp_value_1');
    expect(v.get('missing')).toBeUndefined();
    expect(v.list().map((e) => e.name)).toEqual(['github-token', 'other.key_2']);
    const again = await openVault({ home, env: PASS_ENV });
    expect(again.kdfKind()).toBe('argon2id');
    expect(again.get('other.key_2')).toBe('second value ✓');
    expect([...again.values().entries()]).toEqual([
      ['github-token', 'ghp_value_1'],
      ['other.key_2', 'second value ✓'],
    ]);
    const text = readFileSync(join(home, 'vault.json'), 'utf8');
    expect(text).not.toContain('ghp_value_1');
    const file = readVaultFile(join(home, 'vault.json'));
    expect(file?.kdf.kind).toBe('argon2id');
    if (file?.kdf.kind === 'argon2id') {
      expect(file.kdf.opslimit).toBeGreaterThan(0);
      expect(file.kdf.memlimit).toBeGreaterThan(0);
    }
  });

  it('keeps created and bumps updated on overwrite', async () => {
    const v = await openVault({ home, env: PASS_ENV });
    await v.set('a', 'one');
    const first = v.list()[0]!;
    await new Promise((r) => setTimeout(r, 5));
    await v.set('a', 'two');
    const second = v.list()[0]!;
    expect(second.created).toBe(first.created);
    expect(second.updated > first.updated).toBe(true);
    expect(v.get('a')).toBe('two');
  });

  it('rm reports whether the entry existed and needs no passphrase', async () => {
    const v = await openVault({ home, env: PASS_ENV });
    await v.set('a', 'one');
    const locked = await openVault({ home, env: { GOV_VAULT_BACKEND: 'passphrase' }, skipUnlock: true });
    expect(locked.list().map((e) => e.name)).toEqual(['a']);
    expect(await locked.rm('a')).toBe(true);
    expect(await locked.rm('a')).toBe(false);
  });

  it('a wrong passphrase is a clear error and leaves the file byte-identical', async () => {
    const v = await openVault({ home, env: PASS_ENV });
    await v.set('a', 'one');
    const before = readFileSync(join(home, 'vault.json'));
    const err = await openVault({ home, env: { ...PASS_ENV, GOV_VAULT_PASSPHRASE: 'nope' } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GovError);
    expect((err as GovError).message).toMatch(/wrong passphrase/);
    expect(readFileSync(join(home, 'vault.json'))).toEqual(before);
  });

  it('asks the prompt when no passphrase is configured, with the purpose', async () => {
    const asked: string[] = [];
    const prompt = async (p: string) => {
      asked.push(p);
      return 'typed-passphrase';
    };
    const v = await openVault({ home, env: { GOV_VAULT_BACKEND: 'passphrase' }, prompt });
    await v.set('a', 'one');
    const again = await openVault({ home, env: { GOV_VAULT_BACKEND: 'passphrase' }, prompt });
    expect(again.get('a')).toBe('one');
    expect(asked).toEqual(['create', 'unlock']);
  });

  it('without passphrase or prompt a passphrase vault cannot open', async () => {
    const v = await openVault({ home, env: PASS_ENV });
    await v.set('a', 'one');
    await expect(openVault({ home, env: { GOV_VAULT_BACKEND: 'passphrase' } })).rejects.toThrow(/passphrase/);
  });

  it('rejects invalid names (usage, exit 2) and empty values', async () => {
    const v = await openVault({ home, env: PASS_ENV });
    for (const bad of ['', 'a b', 'x'.repeat(65), 'a/b', 'ä', 'a:b', '__proto__']) {
      const err = await v.set(bad, 'v').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GovError);
      expect((err as GovError).exitCode).toBe(2);
    }
    await expect(v.set('ok', '')).rejects.toThrow(/empty/);
    await v.set('x'.repeat(64), 'fine');
  });
});

describe('file safety', () => {
  it('writes vault.json 0600 and leaves no temp or lock files', async () => {
    const v = await openVault({ home, env: PASS_ENV });
    await v.set('a', 'one');
    await v.set('b', 'two');
    expect(statSync(join(home, 'vault.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(home).sort()).toEqual(['vault.json']);
  });

  it('reports a corrupted file by name and never overwrites it', async () => {
    const path = join(home, 'vault.json');
    writeFileSync(path, '{"version":1, "kdf": {"kind": "argon2id"', { mode: 0o600 });
    const before = readFileSync(path);
    await expect(openVault({ home, env: PASS_ENV })).rejects.toThrow(
      new RegExp(`vault file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is corrupted`),
    );
    const v = await openVault({ home, env: PASS_ENV, skipUnlock: true }).catch((e: unknown) => e);
    expect(v).toBeInstanceOf(GovError);
    expect(readFileSync(path)).toEqual(before);
  });

  it('a file corrupted after open is not overwritten by set', async () => {
    const v = await openVault({ home, env: PASS_ENV });
    await v.set('a', 'one');
    const path = join(home, 'vault.json');
    writeFileSync(path, 'garbage');
    await expect(v.set('b', 'two')).rejects.toThrow(/corrupted/);
    expect(readFileSync(path, 'utf8')).toBe('garbage');
  });

  it('a wrong shape (unknown kdf) is reported as corrupted', async () => {
    const path = join(home, 'vault.json');
    writeFileSync(
      path,
      JSON.stringify({
        version: 1,
        kdf: { kind: 'rot13' },
        check: { nonce: '', ciphertext: '' },
        entries: {},
      }),
    );
    await expect(openVault({ home, env: PASS_ENV })).rejects.toThrow(/corrupted \(kdf/);
  });

  it('an entry copied under another name fails to decrypt (name is associated data)', async () => {
    const v = await openVault({ home, env: PASS_ENV });
    await v.set('a', 'secret-a');
    const path = join(home, 'vault.json');
    const doc = JSON.parse(readFileSync(path, 'utf8'));
    doc.entries.b = doc.entries.a;
    writeFileSync(path, JSON.stringify(doc));
    const again = await openVault({ home, env: PASS_ENV });
    expect(again.get('a')).toBe('secret-a');
    expect(() => again.get('b')).toThrow(/'b' failed to decrypt/);
  });

  it('a stale lock left by a dead process is broken', async () => {
    writeFileSync(
      join(home, 'vault.json.lock'),
      `999999999\n${(await import('node:os')).hostname()}\nx\n0\n`,
    );
    const v = await openVault({ home, env: PASS_ENV });
    await v.set('a', 'one');
    expect(existsSync(join(home, 'vault.json.lock'))).toBe(false);
  });

  it('a live lock makes set wait, then time out with a clear error', async () => {
    writeFileSync(
      join(home, 'vault.json.lock'),
      `${process.pid}\n${(await import('node:os')).hostname()}\nx\n0\n`,
    );
    const v = await openVault({ home, env: PASS_ENV, lock: { timeoutMs: 200 } });
    await expect(v.set('a', 'one')).rejects.toThrow(/locked by another gov process/);
  });
});

describe('keyring vault (fake keyring)', () => {
  it('a new vault mints a key in the keyring and records kdf keyring', async () => {
    const kr = fakeKeyring();
    const v = await openVault({ home, env: {}, keyring: kr });
    await v.set('a', 'one');
    expect(kr.value).not.toBeNull();
    expect(kr.sets).toBe(1);
    expect(readVaultFile(join(home, 'vault.json'))?.kdf).toEqual({ kind: 'keyring' });
    const again = await openVault({ home, env: {}, keyring: kr });
    expect(again.get('a')).toBe('one');
  });

  it('an existing keyring vault whose key is missing is an error, never a new key', async () => {
    const kr = fakeKeyring();
    const v = await openVault({ home, env: {}, keyring: kr });
    await v.set('a', 'one');
    kr.value = null;
    const before = readFileSync(join(home, 'vault.json'));
    await expect(openVault({ home, env: {}, keyring: kr })).rejects.toThrow(/holds no master key/);
    const locked = await openVault({ home, env: {}, keyring: kr, skipUnlock: true });
    await expect(locked.set('b', 'two')).rejects.toThrow(/holds no master key/);
    expect(kr.value).toBeNull();
    expect(kr.sets).toBe(1);
    expect(readFileSync(join(home, 'vault.json'))).toEqual(before);
  });

  it('a keyring holding another vault key is detected by the key check', async () => {
    const kr = fakeKeyring();
    const v = await openVault({ home, env: {}, keyring: kr });
    await v.set('a', 'one');
    kr.value = Buffer.alloc(32, 7).toString('base64');
    await expect(openVault({ home, env: {}, keyring: kr })).rejects.toThrow(/does not open the vault/);
  });

  it('an unavailable keyring falls back to a passphrase vault in auto mode', async () => {
    const v = await openVault({
      home,
      env: { GOV_VAULT_PASSPHRASE: 'pw-long-enough' },
      keyring: brokenKeyring,
    });
    await v.set('a', 'one');
    expect(v.kdfKind()).toBe('argon2id');
  });

  it('GOV_VAULT_BACKEND=keyring refuses to fall back', async () => {
    const v = await openVault({
      home,
      env: { GOV_VAULT_BACKEND: 'keyring', GOV_VAULT_PASSPHRASE: 'pw-long-enough' },
      keyring: brokenKeyring,
    });
    await expect(v.set('a', 'one')).rejects.toThrow(/keyring unavailable/);
    expect(existsSync(join(home, 'vault.json'))).toBe(false);
  });

  it('an existing keyring vault with an unavailable keyring is a keyring error', async () => {
    const kr = fakeKeyring();
    await (await openVault({ home, env: {}, keyring: kr })).set('a', 'one');
    const err = await openVault({ home, env: PASS_ENV, keyring: brokenKeyring }).catch((e: unknown) => e);
    expect((err as GovError).code).toBe('keyring');
  });
});
