import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  auditKeyPaths,
  openAuditSigner,
  parsePublicKey,
  readAuditPublicKey,
  verifySignature,
} from '../../src/audit/signing-key.js';
import type { MasterKeyStore } from '../../vault/keyring.js';
import { noKeyring, tempHome } from './helpers.js';

let t: ReturnType<typeof tempHome>;
beforeEach(() => {
  t = tempHome();
});
afterEach(() => t.cleanup());

/** An in-memory keyring that answers like the Secret Service. */
function memoryKeyring(): MasterKeyStore & { value: string | null } {
  const k = {
    value: null as string | null,
    description: 'test keyring',
    get: () => Promise.resolve(k.value),
    set: (v: string) => {
      k.value = v;
      return Promise.resolve();
    },
    delete: () => Promise.resolve(true),
  };
  return k;
}

describe('the audit signing key', () => {
  it('is created once, in the keyring when one answers; key.pub is one base64 line; signatures verify', async () => {
    const keyring = memoryKeyring();
    const a = await openAuditSigner({ home: t.home, env: {}, keyring });
    expect(keyring.value).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const doc = JSON.parse(fs.readFileSync(auditKeyPaths(t.home).keyFile, 'utf8')) as { private: unknown };
    expect(doc.private).toEqual({ kind: 'keyring' });
    expect(fs.readFileSync(auditKeyPaths(t.home).pubFile, 'utf8')).toBe(`${a.publicKey}\n`);
    expect(readAuditPublicKey(t.home)).toBe(a.publicKey);
    const b = await openAuditSigner({ home: t.home, env: {}, keyring });
    expect(b.publicKey).toBe(a.publicKey);
    const key = parsePublicKey(a.publicKey);
    expect(verifySignature(key, 'abc', b.sign('abc'))).toBe(true);
    expect(verifySignature(key, 'abd', b.sign('abc'))).toBe(false);
  });

  it('an emptied keyring is an error, never a new key', async () => {
    const keyring = memoryKeyring();
    await openAuditSigner({ home: t.home, env: {}, keyring });
    keyring.value = null;
    await expect(openAuditSigner({ home: t.home, env: {}, keyring })).rejects.toThrow(
      /holds no audit signing key/,
    );
  });

  it('without a keyring, GOV_VAULT_PASSPHRASE seals it (Argon2id); a wrong passphrase fails', async () => {
    const env = { GOV_VAULT_PASSPHRASE: 'correct horse' };
    const a = await openAuditSigner({ home: t.home, env, keyring: noKeyring });
    const text = fs.readFileSync(auditKeyPaths(t.home).keyFile, 'utf8');
    expect(JSON.parse(text)).toMatchObject({ private: { kind: 'argon2id' } });
    // The first run signs with the key as minted; what the file seals is that same key
    // (Ed25519 signatures are deterministic).
    const b = await openAuditSigner({ home: t.home, env, keyring: noKeyring });
    expect(b.publicKey).toBe(a.publicKey);
    expect(verifySignature(parsePublicKey(a.publicKey), 'abc', a.sign('abc'))).toBe(true);
    expect(b.sign('abc')).toBe(a.sign('abc'));
    await expect(
      openAuditSigner({ home: t.home, env: { GOV_VAULT_PASSPHRASE: 'wrong' }, keyring: noKeyring }),
    ).rejects.toThrow(/wrong passphrase/);
    await expect(openAuditSigner({ home: t.home, env: {}, keyring: noKeyring })).rejects.toThrow(
      /passphrase/,
    );
  });

  it('with neither, it is kept in key.json, mode 0600', async () => {
    await openAuditSigner({ home: t.home, env: {}, keyring: noKeyring });
    const { keyFile } = auditKeyPaths(t.home);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(keyFile, 'utf8'))).toMatchObject({ private: { kind: 'file' } });
  });

  it('refuses a key file whose private half does not match its public key', async () => {
    await openAuditSigner({ home: t.home, env: {}, keyring: noKeyring });
    const { keyFile } = auditKeyPaths(t.home);
    const doc = JSON.parse(fs.readFileSync(keyFile, 'utf8')) as { public: string };
    doc.public = Buffer.alloc(32, 1).toString('base64');
    fs.writeFileSync(keyFile, JSON.stringify(doc));
    await expect(openAuditSigner({ home: t.home, env: {}, keyring: noKeyring })).rejects.toThrow(
      /does not match/,
    );
  });
});
