/**
 * The master key in the OS keyring (@napi-rs/keyring, the maintained keytar replacement).
 * On Linux the entry is pinned to the Secret Service: the binding's silent fallback, the
 * kernel keyutils store, forgets everything at reboot and would orphan the vault.
 *
 * Two outcomes are kept apart on purpose: `get()` resolving null means "the keyring works
 * and holds no key for this vault"; a rejection (GovError 'keyring') means "no usable
 * keyring" (no session bus, locked collection, no daemon).
 */
import { AsyncEntry } from '@napi-rs/keyring';
import { resolve } from 'node:path';
import { GovError } from '../src/errors.js';

export const KEYRING_SERVICE = 'gov';

/** Where a vault's master key lives; an injectable seam so store logic is testable without D-Bus. */
export interface MasterKeyStore {
  /** Human description for messages, e.g. "OS keyring (service gov, account vault:/home/u/.gov)". */
  readonly description: string;
  /** null: no key stored. Rejects with GovError('keyring') when the keyring is unusable. */
  get(): Promise<string | null>;
  set(keyB64: string): Promise<void>;
  delete(): Promise<boolean>;
}

/** One account per GOV_HOME so temporary homes (tests, CI) never share or clobber a key. */
export function keyringAccount(home: string): string {
  return `vault:${resolve(home)}`;
}

function timeoutMs(env: NodeJS.ProcessEnv): number {
  const n = Number(env['GOV_KEYRING_TIMEOUT_MS']);
  return Number.isFinite(n) && n > 0 ? n : 10_000;
}

function unavailable(err: unknown): GovError {
  const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new GovError('keyring', `OS keyring unavailable (${detail})`, {
    hint: 'unlock or start the keyring (Secret Service on Linux), or set GOV_VAULT_BACKEND=passphrase and GOV_VAULT_PASSPHRASE',
    cause: err,
  });
}

/** `account` defaults to the vault's; the audit signing key uses its own (see src/audit/signing-key.ts). */
export function osKeyring(
  home: string,
  env: NodeJS.ProcessEnv = process.env,
  account: string = keyringAccount(home),
): MasterKeyStore {
  const limit = timeoutMs(env);
  let entry: AsyncEntry | undefined;
  const open = (): AsyncEntry => {
    // Constructing a pinned entry throws when the Secret Service is absent: no fallback.
    entry ??= new AsyncEntry(KEYRING_SERVICE, account, { linux: { store: 'secret-service' } });
    return entry;
  };
  const guarded = async <T>(op: (e: AsyncEntry, signal: AbortSignal) => Promise<T>): Promise<T> => {
    try {
      // A locked collection may wait on an unlock prompt nobody can answer: bound it.
      return await op(open(), AbortSignal.timeout(limit));
    } catch (err) {
      throw unavailable(err);
    }
  };
  return {
    description: `OS keyring (service ${KEYRING_SERVICE}, account ${account})`,
    get: () => guarded((e, signal) => e.getPassword(signal)),
    set: (keyB64) => guarded((e, signal) => e.setPassword(keyB64, signal)),
    delete: () => guarded((e, signal) => e.deletePassword(signal)),
  };
}

/** GOV_VAULT_BACKEND: 'keyring' (require it), 'passphrase' (never touch it), else auto. */
export type BackendChoice = 'auto' | 'keyring' | 'passphrase';

export function backendChoice(env: NodeJS.ProcessEnv = process.env): BackendChoice {
  const v = (env['GOV_VAULT_BACKEND'] ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'keyring' || v === 'passphrase') return v;
  throw new GovError('config', `GOV_VAULT_BACKEND must be keyring, passphrase or auto (got '${v}')`, {
    hint: 'unset it to pick the keyring when available',
  });
}
