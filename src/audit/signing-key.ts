/**
 * The installation's Ed25519 audit key. The public half is `$GOV_HOME/audit/key.pub` (one
 * line: the 32 raw key bytes in base64) and `key.json`; the private half is kept like the
 * vault's master key: in the OS keyring (account `audit:<GOV_HOME>`), else sealed under
 * GOV_VAULT_PASSPHRASE with the vault's Argon2id + XChaCha20-Poly1305, else — a headless
 * machine with neither — in `key.json` itself (0600, like the CA key). docs/audit.md says
 * what each choice protects against.
 *
 * Signing uses node:crypto's native Ed25519 (microseconds, no wasm); libsodium is loaded
 * only to open a passphrase-sealed key.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as edSign,
  verify as edVerify,
  type KeyObject,
} from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { GovError } from '../errors.js';
import { ensureDir, homePaths } from '../home.js';
import type { MasterKeyStore } from '../../vault/keyring.js';

/** What a signature covers: this prefix + the signed text (a record hash, a liveness answer). */
export const SIGNATURE_DOMAIN = 'gov-audit-v1:';

export interface AuditSigner {
  /** The public key: 32 raw bytes, base64. */
  readonly publicKey: string;
  /** Where the private half lives, for messages (never the key itself). */
  readonly where: string;
  /** Ed25519 signature (base64) over SIGNATURE_DOMAIN + text. */
  sign(text: string): string;
}

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64');
const keyFileSchema = z
  .object({
    version: z.literal(1),
    public: b64,
    private: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('keyring') }).strict(),
      z
        .object({
          kind: z.literal('argon2id'),
          salt: b64,
          opslimit: z.number().int().positive(),
          memlimit: z.number().int().positive(),
          nonce: b64,
          ciphertext: b64,
        })
        .strict(),
      z.object({ kind: z.literal('file'), seed: b64 }).strict(),
    ]),
  })
  .strict();
type KeyFile = z.infer<typeof keyFileSchema>;

/** Associated data of the sealed seed, so a vault entry can never be passed off as it. */
const SEALED_NAME = 'gov:audit-signing-key:v1';

export function auditKeyPaths(home: string): { keyFile: string; pubFile: string; dir: string } {
  const dir = homePaths(home).audit;
  return { dir, keyFile: join(dir, 'key.json'), pubFile: join(dir, 'key.pub') };
}

/** The keyring account of the audit key: one per GOV_HOME, apart from the vault's. */
export function auditKeyringAccount(home: string): string {
  return `audit:${resolve(home)}`;
}

const b64url = (b: Buffer): string => b.toString('base64url');

/** Parse `key.pub`'s format (or an auditor's copy of it): 32 raw bytes in base64. */
export function parsePublicKey(text: string): KeyObject {
  const t = text.trim();
  const raw = /^[A-Za-z0-9+/]{43}=$/.test(t) ? Buffer.from(t, 'base64') : undefined;
  if (raw?.length !== 32) {
    throw new GovError(
      'usage',
      'the audit public key must be 32 bytes in base64 (as `gov audit key` prints)',
      {
        hint: 'pass the one line `gov audit key` printed, or a file holding it',
      },
    );
  }
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' });
}

export function verifySignature(key: KeyObject, text: string, signature: unknown): boolean {
  if (typeof signature !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(signature)) return false;
  return edVerify(null, Buffer.from(SIGNATURE_DOMAIN + text, 'utf8'), key, Buffer.from(signature, 'base64'));
}

/** The installed public key (base64), or null before the first governed run created it. */
export function readAuditPublicKey(home: string): string | null {
  const { pubFile } = auditKeyPaths(home);
  if (!existsSync(pubFile)) return null;
  return readFileSync(pubFile, 'utf8').trim();
}

/** Undefined when Node refuses the pair (some versions check that x belongs to d). */
function importPrivate(seed: Buffer, pub: Buffer): KeyObject | undefined {
  try {
    return createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(pub) },
      format: 'jwk',
    });
  } catch {
    return undefined;
  }
}

function signerFrom(seed: Buffer, publicB64: string, where: string): AuditSigner {
  const pub = Buffer.from(publicB64, 'base64');
  const key = seed.length === 32 && pub.length === 32 ? importPrivate(seed, pub) : undefined;
  // The private half must belong to the published public half, or every signature would fail verify.
  if (!key || (createPublicKey(key).export({ format: 'jwk' }) as { x?: string }).x !== b64url(pub)) {
    throw new GovError(
      'audit',
      `the audit signing key in the ${where} does not match the public key ${publicB64}`,
      {
        hint: 'restore the right key; gov never replaces an existing audit key (move audit/key.json aside to start a new one)',
      },
    );
  }
  return {
    publicKey: publicB64,
    where,
    sign: (text) => edSign(null, Buffer.from(SIGNATURE_DOMAIN + text, 'utf8'), key).toString('base64'),
  };
}

export interface OpenAuditSignerOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  /** Defaults to the OS keyring account of this GOV_HOME (tests inject a fake). */
  keyring?: MasterKeyStore;
}

/** The installation's signer, creating the key pair on first use. */
export async function openAuditSigner(opts: OpenAuditSignerOptions): Promise<AuditSigner> {
  const env = opts.env ?? process.env;
  const { keyFile, dir } = auditKeyPaths(opts.home);
  let keyring = opts.keyring;
  const getKeyring = async (): Promise<MasterKeyStore> => {
    if (keyring) return keyring;
    const { osKeyring } = await import('../../vault/keyring.js');
    keyring = osKeyring(opts.home, env, auditKeyringAccount(opts.home));
    return keyring;
  };
  let doc = readKeyFile(keyFile);
  if (doc === null) {
    ensureDir(dir);
    const { acquireLock } = await import('../../vault/file-lock.js');
    const lock = await acquireLock(`${keyFile}.lock`);
    try {
      // Re-read under the lock: two first runs must not mint two keys.
      doc = readKeyFile(keyFile);
      if (doc === null) {
        // Used as minted: unsealing it again would run the passphrase's key derivation twice.
        const created = await createKey(opts.home, env, getKeyring);
        const where = await keyLocation(created.doc, keyFile, getKeyring);
        return signerFrom(Buffer.from(created.seed, 'base64'), created.doc.public, where);
      }
    } finally {
      lock.release();
    }
  }
  return unlock(doc, keyFile, env, getKeyring);
}

/** Where the private half of `doc` is kept, as error messages name it. */
async function keyLocation(
  doc: KeyFile,
  keyFile: string,
  getKeyring: () => Promise<MasterKeyStore>,
): Promise<string> {
  const kind = doc.private.kind;
  if (kind === 'keyring') return (await getKeyring()).description;
  return kind === 'file' ? `file ${keyFile}` : `passphrase-sealed file ${keyFile}`;
}

function readKeyFile(path: string): KeyFile | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new GovError('audit', `cannot read the audit key ${path}: ${(err as Error).message}`);
  }
  let parsed: ReturnType<typeof keyFileSchema.safeParse>;
  try {
    parsed = keyFileSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = keyFileSchema.safeParse(undefined);
  }
  if (!parsed.success) {
    throw new GovError('audit', `the audit key file ${path} is corrupted`, {
      hint: 'restore it from a backup; gov never overwrites it',
    });
  }
  return parsed.data;
}

async function unlock(
  doc: KeyFile,
  keyFile: string,
  env: NodeJS.ProcessEnv,
  getKeyring: () => Promise<MasterKeyStore>,
): Promise<AuditSigner> {
  const p = doc.private;
  const where = await keyLocation(doc, keyFile, getKeyring);
  if (p.kind === 'file') return signerFrom(Buffer.from(p.seed, 'base64'), doc.public, where);
  if (p.kind === 'keyring') {
    const seed = await (await getKeyring()).get();
    if (seed === null) {
      throw new GovError('keyring', `the ${where} holds no audit signing key`, {
        hint: 'restore the key to the keyring; gov never mints a new key for an existing installation (move audit/key.json aside to start over)',
      });
    }
    return signerFrom(Buffer.from(seed, 'base64'), doc.public, where);
  }
  const crypto = await import('../../vault/crypto.js');
  await crypto.initCrypto();
  const key = crypto.deriveKeyFromPassphrase(passphraseFrom(env), { ...p, kind: 'argon2id' });
  let seed: string;
  try {
    seed = crypto.openEntry(key, SEALED_NAME, p);
  } catch {
    throw new GovError('audit', `wrong passphrase for the audit signing key ${keyFile}`, {
      hint: 'set GOV_VAULT_PASSPHRASE to the passphrase the key was created with',
    });
  } finally {
    crypto.wipe(key);
  }
  return signerFrom(Buffer.from(seed, 'base64'), doc.public, where);
}

function passphraseFrom(env: NodeJS.ProcessEnv): string {
  const v = env['GOV_VAULT_PASSPHRASE'];
  if (v === undefined || v === '') {
    throw new GovError('audit', 'the audit signing key is protected by a passphrase', {
      hint: 'set GOV_VAULT_PASSPHRASE',
    });
  }
  return v;
}

/** Under the lock, with no key file: mint a key pair and store its private half. */
async function createKey(
  home: string,
  env: NodeJS.ProcessEnv,
  getKeyring: () => Promise<MasterKeyStore>,
): Promise<{ doc: KeyFile; seed: string }> {
  const { backendChoice } = await import('../../vault/keyring.js');
  const choice = backendChoice(env);
  const pair = generateKeyPairSync('ed25519');
  const jwk = pair.privateKey.export({ format: 'jwk' }) as { d: string; x: string };
  const seed = Buffer.from(jwk.d, 'base64url').toString('base64');
  const pub = Buffer.from(jwk.x, 'base64url').toString('base64');
  let priv: KeyFile['private'] | undefined =
    choice === 'passphrase' ? undefined : await storeInKeyring(choice, seed, getKeyring);
  // Without a keyring the key is sealed with the passphrase when there is one; with none (a
  // headless run that needs no vault value) it is kept 0600, like the CA key (docs/audit.md).
  if (!priv && (env['GOV_VAULT_PASSPHRASE'] ?? '') !== '') {
    const crypto = await import('../../vault/crypto.js');
    await crypto.initCrypto();
    const params = crypto.newArgon2idParams();
    const key = crypto.deriveKeyFromPassphrase(passphraseFrom(env), params);
    const sealed = crypto.sealEntry(key, SEALED_NAME, seed);
    crypto.wipe(key);
    priv = { ...params, ...sealed };
  }
  const doc: KeyFile = { version: 1, public: pub, private: priv ?? { kind: 'file', seed } };
  const { writeFileAtomic } = await import('../../vault/atomic-file.js');
  const { keyFile, pubFile } = auditKeyPaths(home);
  writeFileAtomic(keyFile, JSON.stringify(doc, null, 2) + '\n', 0o600);
  writeFileAtomic(pubFile, `${pub}\n`, 0o644);
  return { doc, seed };
}

/** The seed in the keyring, or undefined when (in auto mode) no usable keyring answers. */
async function storeInKeyring(
  choice: 'auto' | 'keyring',
  seed: string,
  getKeyring: () => Promise<MasterKeyStore>,
): Promise<{ kind: 'keyring' } | undefined> {
  let store: MasterKeyStore;
  let existing: string | null;
  try {
    store = await getKeyring();
    existing = await store.get();
  } catch (err) {
    if (choice === 'keyring') throw err;
    return undefined;
  }
  if (existing !== null) {
    // key.json was removed: minting a new key would disown every signed record so far.
    throw new GovError(
      'keyring',
      `the ${store.description} already holds an audit key but audit/key.json is missing`,
      {
        hint: 'restore audit/key.json from a backup, or delete the keyring entry to start a new key',
      },
    );
  }
  try {
    await store.set(seed);
  } catch (err) {
    if (choice === 'keyring') throw err;
    return undefined;
  }
  return { kind: 'keyring' };
}
