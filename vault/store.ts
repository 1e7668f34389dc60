/**
 * $GOV_HOME/vault.json: the encrypted secret store. The file's `kdf` decides where the key
 * comes from; a new vault uses the OS keyring when one answers, else a passphrase (Argon2id).
 * Writers serialise on a lock file and re-read under it, so concurrent `gov vault set`s
 * lose nothing; every write is atomic and 0600; a file that does not parse is reported and
 * never overwritten.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { GovError, usageError } from '../src/errors.js';
import { ensureDir, homePaths } from '../src/home.js';
import { writeFileAtomic } from './atomic-file.js';
import {
  fromB64,
  initCrypto,
  KEY_BYTES,
  makeKeyCheck,
  newArgon2idParams,
  openEntry,
  randomMasterKey,
  sealEntry,
  toB64,
  verifyKeyCheck,
  deriveKeyFromPassphrase,
  type Argon2idParams,
  type KdfStrength,
} from './crypto.js';
import { acquireLock, type LockOptions } from './file-lock.js';
import { backendChoice, osKeyring, type MasterKeyStore } from './keyring.js';

const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_VALUE_BYTES = 1 << 20;

export function isValidSecretName(name: string): boolean {
  // '__proto__' would be swallowed by object property semantics instead of stored.
  return NAME_RE.test(name) && name !== '__proto__';
}

export function assertSecretName(name: string): void {
  if (!isValidSecretName(name)) {
    throw usageError(
      `invalid secret name '${name.slice(0, 80)}'`,
      'names are 1-64 characters of A-Z a-z 0-9 . _ -',
    );
  }
}

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64');
const sealedSchema = z.object({ nonce: b64, ciphertext: b64 }).strict();
const entrySchema = sealedSchema.extend({ created: z.string(), updated: z.string() }).strict();
const kdfSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('keyring') }).strict(),
  z
    .object({
      kind: z.literal('argon2id'),
      salt: b64,
      opslimit: z.number().int().positive(),
      memlimit: z.number().int().positive(),
    })
    .strict(),
]);
const fileSchema = z
  .object({
    version: z.literal(1),
    kdf: kdfSchema,
    check: sealedSchema,
    entries: z.record(z.string().regex(NAME_RE, 'invalid entry name'), entrySchema),
  })
  .strict();

export type VaultFile = z.infer<typeof fileSchema>;
export type VaultKdf = VaultFile['kdf'];

export interface VaultEntryInfo {
  name: string;
  created: string;
  updated: string;
}

export interface Vault {
  /** Absolute path of vault.json. */
  readonly path: string;
  /** Key source of the file as opened; null while no vault file exists. */
  kdfKind(): VaultKdf['kind'] | null;
  /** Decrypted value, or undefined when there is no such entry. Needs an unlocked vault. */
  get(name: string): string | undefined;
  set(name: string, value: string): Promise<void>;
  /** False when there was no such entry. Needs no key. */
  rm(name: string): Promise<boolean>;
  /** Names and timestamps only, sorted by name. Needs no key. */
  list(): VaultEntryInfo[];
  /** Every entry decrypted (name → value), for the redactor and the credential injector. */
  values(): Map<string, string>;
}

export type PromptPurpose = 'unlock' | 'create';

export interface OpenVaultOptions {
  home: string;
  /** Wins over GOV_VAULT_PASSPHRASE and the prompt. */
  passphrase?: string;
  /** Asked only when a passphrase is needed and none was given ('create': confirm it). */
  prompt?: (purpose: PromptPurpose) => Promise<string>;
  /** Default false: resolve the key now (so a wrong passphrase fails at open). True: list/rm only. */
  skipUnlock?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Defaults to the OS keyring for this GOV_HOME (tests inject a fake). */
  keyring?: MasterKeyStore;
  /** Argon2id limits for a new passphrase vault (default interactive). */
  kdfStrength?: KdfStrength;
  lock?: LockOptions;
}

function corrupted(path: string, why: string, cause?: unknown): GovError {
  return new GovError('vault', `vault file ${path} is corrupted (${why})`, {
    hint: 'gov will not overwrite it; restore it from a backup or move it aside',
    cause,
  });
}

export function readVaultFile(path: string): VaultFile | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new GovError('vault', `cannot read vault file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw corrupted(path, 'not valid JSON', err);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw corrupted(
      path,
      issue ? `${issue.path.join('.') || 'top level'}: ${issue.message}` : 'unexpected shape',
    );
  }
  return parsed.data;
}

function serialize(doc: VaultFile): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

type CreatePlan = { kind: 'keyring' } | { kind: 'argon2id'; passphrase: string };

/** The keyring answered the probe but could not store a new key (e.g. a locked collection). */
class KeyringCreateFailed extends Error {
  constructor(readonly original: unknown) {
    super('keyring create failed');
  }
}

/** The shortest passphrase a new vault accepts (Argon2id slows guessing; it cannot fix 'pw'). */
export const MIN_PASSPHRASE_LENGTH = 8;

export async function openVault(opts: OpenVaultOptions): Promise<Vault> {
  await initCrypto();
  const env = opts.env ?? process.env;
  const paths = homePaths(opts.home);
  const path = paths.vault;
  const lockPath = `${path}.lock`;
  let keyring: MasterKeyStore | undefined = opts.keyring;
  const getKeyring = (): MasterKeyStore => (keyring ??= osKeyring(opts.home, env));
  let passphrase: string | undefined = opts.passphrase;

  let doc = readVaultFile(path);
  let key: Uint8Array | undefined;
  /** The kdf + check that `key` was verified against. */
  let keyFor: string | undefined;

  const getPassphrase = async (purpose: PromptPurpose): Promise<string> => {
    if (passphrase === undefined) {
      const fromEnv = env['GOV_VAULT_PASSPHRASE'];
      if (fromEnv !== undefined && fromEnv !== '') passphrase = fromEnv;
      else if (opts.prompt) passphrase = await opts.prompt(purpose);
      else {
        throw new GovError(
          'vault',
          `the vault ${purpose === 'create' ? 'needs' : 'is protected by'} a passphrase`,
          {
            hint: 'set GOV_VAULT_PASSPHRASE or run gov on a terminal',
          },
        );
      }
    }
    if (passphrase === '')
      throw new GovError('vault', 'the vault passphrase is empty', { hint: 'use a non-empty passphrase' });
    // Only a new vault: an existing one keeps opening with the passphrase it was made with.
    if (purpose === 'create' && [...passphrase].length < MIN_PASSPHRASE_LENGTH)
      throw new GovError('vault', `the vault passphrase is too short`, {
        hint: `use at least ${MIN_PASSPHRASE_LENGTH} characters`,
      });
    return passphrase;
  };

  const identity = (d: VaultFile) => JSON.stringify([d.kdf, d.check]);

  const unlock = async (d: VaultFile): Promise<Uint8Array> => {
    if (key && keyFor === identity(d)) return key;
    let k: Uint8Array;
    if (d.kdf.kind === 'keyring') {
      const store = getKeyring();
      const stored = await store.get();
      if (stored === null) {
        throw new GovError('keyring', `the ${store.description} holds no master key for the vault ${path}`, {
          hint: 'restore the key to the keyring; gov never mints a new key for an existing vault (move vault.json aside to start over)',
        });
      }
      k = decodeMasterKey(stored, store.description);
      if (!verifyKeyCheck(k, d.check)) {
        throw new GovError(
          'keyring',
          `the master key in the ${store.description} does not open the vault ${path}`,
          {
            hint: 'the keyring entry belongs to another vault; restore the right key or move vault.json aside',
          },
        );
      }
    } else {
      k = deriveKeyFromPassphrase(await getPassphrase('unlock'), d.kdf);
      if (!verifyKeyCheck(k, d.check)) {
        passphrase = opts.passphrase === undefined ? undefined : passphrase;
        throw new GovError('vault', `wrong passphrase for the vault ${path}`, {
          hint: 'check GOV_VAULT_PASSPHRASE (the vault was not changed)',
        });
      }
    }
    key = k;
    keyFor = identity(d);
    return k;
  };

  /**
   * Which key source a new vault gets, decided before taking the lock so no prompt is shown
   * while other writers wait. Only a probe here: the key itself is minted under the lock,
   * or two first writers could each store a different key and orphan the other's vault.
   */
  const planCreate = async (): Promise<CreatePlan> => {
    const choice = backendChoice(env);
    if (choice !== 'passphrase') {
      try {
        await getKeyring().get();
        return { kind: 'keyring' };
      } catch (err) {
        if (choice === 'keyring') throw err;
        // auto: no usable keyring → passphrase below
      }
    }
    return { kind: 'argon2id', passphrase: await getPassphrase('create') };
  };

  /** Under the lock, with no vault file on disk. */
  const create = async (plan: CreatePlan): Promise<VaultFile> => {
    let k: Uint8Array;
    let kdf: VaultKdf;
    if (plan.kind === 'keyring') {
      const store = getKeyring();
      try {
        // A key left by a deleted vault for this GOV_HOME is reused: it protects nothing else.
        let stored = await store.get();
        if (stored === null) {
          const fresh = toB64(randomMasterKey());
          await store.set(fresh);
          stored = await store.get();
          // A keyring that accepts writes but cannot return them is no keyring.
          if (stored !== fresh)
            throw new GovError('keyring', `the ${store.description} did not keep the master key`);
        }
        k = decodeMasterKey(stored, store.description);
      } catch (err) {
        throw new KeyringCreateFailed(err);
      }
      kdf = { kind: 'keyring' };
    } else {
      const params: Argon2idParams = newArgon2idParams(opts.kdfStrength);
      k = deriveKeyFromPassphrase(plan.passphrase, params);
      kdf = params;
    }
    const fresh: VaultFile = { version: 1, kdf, check: makeKeyCheck(k), entries: {} };
    key = k;
    keyFor = identity(fresh);
    return fresh;
  };

  const underLock = async <T>(fn: () => T | Promise<T>): Promise<T> => {
    ensureDir(opts.home);
    const held = await acquireLock(lockPath, opts.lock);
    try {
      return await fn();
    } finally {
      held.release();
    }
  };

  if (doc && !opts.skipUnlock) await unlock(doc);

  const requireKey = (): Uint8Array => {
    if (!doc) throw new GovError('internal', 'no vault file');
    if (!key || keyFor !== identity(doc)) throw new GovError('internal', 'vault opened without unlocking');
    return key;
  };

  return {
    path,
    kdfKind: () => doc?.kdf.kind ?? null,
    get(name) {
      const e = doc?.entries[name];
      if (!doc || !e || !Object.hasOwn(doc.entries, name)) return undefined;
      return openEntry(requireKey(), name, e);
    },
    async set(name, value) {
      assertSecretName(name);
      if (value === '') throw usageError(`the value for '${name}' is empty`, 'provide a non-empty value');
      if (Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES)
        throw usageError(`the value for '${name}' is over 1 MiB`);
      let plan = readVaultFile(path) === null ? await planCreate() : undefined;
      for (;;) {
        try {
          await underLock(async () => {
            const disk = readVaultFile(path);
            const next = disk ?? (await create(plan ?? (await planCreate())));
            const k = await unlock(next);
            const now = new Date().toISOString();
            const prev = Object.hasOwn(next.entries, name) ? next.entries[name] : undefined;
            next.entries[name] = {
              ...sealEntry(k, name, value),
              created: prev?.created ?? now,
              updated: now,
            };
            writeFileAtomic(path, serialize(next));
            doc = next;
          });
          return;
        } catch (err) {
          if (!(err instanceof KeyringCreateFailed)) throw err;
          if (backendChoice(env) === 'keyring' || plan?.kind === 'argon2id') throw err.original;
          // auto: the keyring cannot take a key after all → passphrase vault (prompt outside the lock)
          plan = { kind: 'argon2id', passphrase: await getPassphrase('create') };
        }
      }
    },
    async rm(name) {
      assertSecretName(name);
      return underLock(() => {
        const disk = readVaultFile(path);
        doc = disk;
        if (!disk || !Object.hasOwn(disk.entries, name)) return false;
        delete disk.entries[name];
        writeFileAtomic(path, serialize(disk));
        return true;
      });
    },
    list() {
      if (!doc) return [];
      return Object.entries(doc.entries)
        .map(([name, e]) => ({ name, created: e.created, updated: e.updated }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    values() {
      const out = new Map<string, string>();
      if (!doc) return out;
      const k = requireKey();
      for (const [name, e] of Object.entries(doc.entries)) out.set(name, openEntry(k, name, e));
      return out;
    },
  };
}

function decodeMasterKey(b64text: string, where: string): Uint8Array {
  let k: Uint8Array;
  try {
    k = fromB64(b64text, 'master key');
  } catch {
    k = new Uint8Array(0);
  }
  if (k.length !== KEY_BYTES) {
    throw new GovError('keyring', `the ${where} holds a malformed gov master key`, {
      hint: 'remove it (service gov) and restore the right one',
    });
  }
  return k;
}
