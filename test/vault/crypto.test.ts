import { beforeAll, describe, expect, it } from 'vitest';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deriveKeyFromPassphrase,
  initCrypto,
  makeKeyCheck,
  newArgon2idParams,
  openEntry,
  randomMasterKey,
  sealEntry,
  verifyKeyCheck,
} from '../../vault/crypto.js';
import { writeFileAtomic, writeFileAtomicAsync } from '../../vault/atomic-file.js';

beforeAll(async () => {
  await initCrypto();
});

describe('vault crypto', () => {
  it('round-trips a value and uses a fresh nonce each time', () => {
    const key = randomMasterKey();
    expect(key).toHaveLength(32);
    const a = sealEntry(key, 'name', 'välue ✓');
    const b = sealEntry(key, 'name', 'välue ✓');
    expect(a.nonce).not.toBe(b.nonce);
    expect(openEntry(key, 'name', a)).toBe('välue ✓');
  });

  it('binds the entry name as associated data', () => {
    const key = randomMasterKey();
    const sealed = sealEntry(key, 'github-token', 'v');
    expect(() => openEntry(key, 'other', sealed)).toThrow(/'other' failed to decrypt/);
  });

  it('detects tampering and a wrong key without revealing the value', () => {
    const key = randomMasterKey();
    const sealed = sealEntry(key, 'n', 'top-secret-value');
    const bytes = Buffer.from(sealed.ciphertext, 'base64');
    bytes[0] = bytes[0]! ^ 1;
    let err: unknown;
    try {
      openEntry(key, 'n', { ...sealed, ciphertext: bytes.toString('base64') });
    } catch (e) {
      err = e;
    }
    expect(String(err)).not.toContain('top-secret');
    expect(() => openEntry(randomMasterKey(), 'n', sealed)).toThrow(/failed to decrypt/);
  });

  it('the key check accepts the right key only', () => {
    const key = randomMasterKey();
    const check = makeKeyCheck(key);
    expect(verifyKeyCheck(key, check)).toBe(true);
    expect(verifyKeyCheck(randomMasterKey(), check)).toBe(false);
  });

  it('Argon2id is deterministic for one salt and differs across salts and passphrases', () => {
    const p = newArgon2idParams('interactive');
    const k1 = deriveKeyFromPassphrase('pw', p);
    expect(deriveKeyFromPassphrase('pw', p)).toEqual(k1);
    expect(deriveKeyFromPassphrase('pw2', p)).not.toEqual(k1);
    expect(deriveKeyFromPassphrase('pw', newArgon2idParams('interactive'))).not.toEqual(k1);
  });

  it('refuses absurd Argon2id limits from a hostile file', () => {
    const p = newArgon2idParams();
    expect(() => deriveKeyFromPassphrase('pw', { ...p, memlimit: 2 ** 40 })).toThrow(/out of range/);
    expect(() => deriveKeyFromPassphrase('pw', { ...p, opslimit: 0 })).toThrow(/out of range/);
  });
});

describe('atomic file write', () => {
  it('replaces the file by rename (new inode), 0600 even over a 0644 file, no temp left', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gov-atomic-'));
    try {
      const path = join(dir, 'f.json');
      writeFileSync(path, 'old');
      chmodSync(path, 0o644);
      const inode = statSync(path).ino;
      writeFileAtomic(path, 'new content');
      expect(readFileSync(path, 'utf8')).toBe('new content');
      expect(statSync(path).ino).not.toBe(inode);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(readdirSync(dir)).toEqual(['f.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cleans up its temp file and leaves the target alone when the rename fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gov-atomic-'));
    try {
      // A non-empty directory cannot be replaced by a file: the rename fails after the write.
      mkdirSync(join(dir, 'target'));
      writeFileSync(join(dir, 'target', 'keep'), 'x');
      expect(() => writeFileAtomic(join(dir, 'target'), 'data')).toThrow();
      expect(readdirSync(dir)).toEqual(['target']);
      expect(readFileSync(join(dir, 'target', 'keep'), 'utf8')).toBe('x');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('async: replaces with the given mode, and cleans up when the rename fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gov-atomic-'));
    try {
      // A non-empty directory cannot be replaced by a file: the rename fails after the write.
      mkdirSync(join(dir, 'target'));
      writeFileSync(join(dir, 'target', 'keep'), 'x');
      await writeFileAtomicAsync(join(dir, 'head.json'), '{}\n', 0o644);
      expect(statSync(join(dir, 'head.json')).mode & 0o777).toBe(0o644);
      await expect(writeFileAtomicAsync(join(dir, 'target'), 'data')).rejects.toThrow();
      expect(readdirSync(dir).sort()).toEqual(['head.json', 'target']);
      expect(readFileSync(join(dir, 'target', 'keep'), 'utf8')).toBe('x');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
