/**
 * The vault's cryptography, all from libsodium (sumo build: only it ships crypto_pwhash).
 * Entries: XChaCha20-Poly1305 IETF with the entry name as associated data, so a ciphertext
 * copied under another name fails to open. Keys: a random 32-byte master key (keyring) or
 * Argon2id over a passphrase. A key-check value lets a wrong key fail up front.
 */
import sodium from 'libsodium-wrappers-sumo';
import { GovError } from '../src/errors.js';

export const KEY_BYTES = 32;
/** Associated data of the key check; ':' cannot appear in an entry name, so no entry shares it. */
const CHECK_AD = 'gov:key-check:v1';
const CHECK_PLAINTEXT = 'gov vault key check v1';

export type KdfStrength = 'interactive' | 'moderate';

/** Argon2id parameters as recorded in vault.json (salt base64). */
export interface Argon2idParams {
  kind: 'argon2id';
  salt: string;
  opslimit: number;
  memlimit: number;
}

/** A sealed value as stored: both fields base64 (original alphabet, padded). */
export interface Sealed {
  nonce: string;
  ciphertext: string;
}

let ready: Promise<void> | undefined;

/** libsodium must finish loading (~60 ms) before any other function here is called. */
export function initCrypto(): Promise<void> {
  ready ??= sodium.ready;
  return ready;
}

function lib(): typeof sodium {
  // sodium.ready resolved means the wasm module is in place; calling earlier is a programming error.
  if (typeof sodium.crypto_aead_xchacha20poly1305_ietf_encrypt !== 'function') {
    throw new GovError('internal', 'libsodium used before initCrypto() resolved');
  }
  return sodium;
}

export function toB64(bytes: Uint8Array): string {
  const s = lib();
  return s.to_base64(bytes, s.base64_variants.ORIGINAL);
}

export function fromB64(text: string, what: string): Uint8Array {
  const s = lib();
  try {
    return s.from_base64(text, s.base64_variants.ORIGINAL);
  } catch {
    throw new GovError('vault', `${what} is not valid base64`);
  }
}

export function randomMasterKey(): Uint8Array {
  return lib().randombytes_buf(KEY_BYTES);
}

/** Fresh salt and limits for a new passphrase vault. */
export function newArgon2idParams(strength: KdfStrength = 'interactive'): Argon2idParams {
  const s = lib();
  const salt = s.randombytes_buf(s.crypto_pwhash_SALTBYTES);
  return {
    kind: 'argon2id',
    salt: toB64(salt),
    opslimit:
      strength === 'moderate' ? s.crypto_pwhash_OPSLIMIT_MODERATE : s.crypto_pwhash_OPSLIMIT_INTERACTIVE,
    memlimit:
      strength === 'moderate' ? s.crypto_pwhash_MEMLIMIT_MODERATE : s.crypto_pwhash_MEMLIMIT_INTERACTIVE,
  };
}

/** Argon2id (ALG_ARGON2ID13) → 32-byte key. Limits come from the file, bounded so a hostile file cannot exhaust memory. */
export function deriveKeyFromPassphrase(passphrase: string, params: Argon2idParams): Uint8Array {
  const s = lib();
  const salt = fromB64(params.salt, 'vault kdf salt');
  if (salt.length !== s.crypto_pwhash_SALTBYTES)
    throw new GovError('vault', 'vault kdf salt has the wrong length');
  const maxMem = s.crypto_pwhash_MEMLIMIT_SENSITIVE;
  const maxOps = s.crypto_pwhash_OPSLIMIT_SENSITIVE;
  if (
    !Number.isInteger(params.opslimit) ||
    !Number.isInteger(params.memlimit) ||
    params.opslimit < s.crypto_pwhash_OPSLIMIT_MIN ||
    params.opslimit > maxOps ||
    params.memlimit < s.crypto_pwhash_MEMLIMIT_MIN ||
    params.memlimit > maxMem
  ) {
    throw new GovError('vault', 'vault kdf limits are out of range');
  }
  return s.crypto_pwhash(
    KEY_BYTES,
    passphrase,
    salt,
    params.opslimit,
    params.memlimit,
    s.crypto_pwhash_ALG_ARGON2ID13,
  );
}

function sealRaw(key: Uint8Array, ad: string, plaintext: string): Sealed {
  const s = lib();
  const nonce = s.randombytes_buf(s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const ct = s.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key);
  return { nonce: toB64(nonce), ciphertext: toB64(ct) };
}

/** Returns null when authentication fails (wrong key, wrong name, tampered bytes). */
function openRaw(key: Uint8Array, ad: string, sealed: Sealed): string | null {
  const s = lib();
  const nonce = fromB64(sealed.nonce, 'vault nonce');
  const ct = fromB64(sealed.ciphertext, 'vault ciphertext');
  if (nonce.length !== s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES) return null;
  try {
    return s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct, ad, nonce, key, 'text');
  } catch {
    return null;
  }
}

export function sealEntry(key: Uint8Array, name: string, value: string): Sealed {
  return sealRaw(key, name, value);
}

/** Decrypts one entry; a failure names the entry, never its value. */
export function openEntry(key: Uint8Array, name: string, sealed: Sealed): string {
  const value = openRaw(key, name, sealed);
  if (value === null) {
    throw new GovError(
      'vault',
      `vault entry '${name}' failed to decrypt (tampered, or stored under another name)`,
      {
        hint: `set it again with 'gov vault set ${name}'`,
      },
    );
  }
  return value;
}

export function makeKeyCheck(key: Uint8Array): Sealed {
  return sealRaw(key, CHECK_AD, CHECK_PLAINTEXT);
}

export function verifyKeyCheck(key: Uint8Array, check: Sealed): boolean {
  return openRaw(key, CHECK_AD, check) === CHECK_PLAINTEXT;
}

/** Best-effort wipe of key material we no longer need. */
export function wipe(bytes: Uint8Array): void {
  lib().memzero(bytes);
}
