import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { homePaths } from '../../src/home.js';
import {
  deriveKeyFromPassphrase,
  initCrypto,
  makeKeyCheck,
  sealEntry,
  type Argon2idParams,
} from '../../vault/crypto.js';

/** libsodium's crypto_pwhash_OPSLIMIT_MIN and crypto_pwhash_MEMLIMIT_MIN. */
const FASTEST = { opslimit: 1, memlimit: 8192 };
/** src/audit/signing-key.ts: the associated data of the sealed audit seed. */
const AUDIT_SEED_AD = 'gov:audit-signing-key:v1';

function fastestParams(): Argon2idParams {
  return { kind: 'argon2id', salt: randomBytes(16).toString('base64'), ...FASTEST };
}

/**
 * Seed `home` with what gov would create on first use under GOV_VAULT_PASSPHRASE (an empty
 * vault and the audit signing key, both sealed with `passphrase`), but with Argon2id's minimum
 * limits. gov reads the limits from the files, so each gov process of the test unlocks them in
 * microseconds instead of about 0.3 s of CPU per key: 129 derivations were a tenth of all the
 * CPU gov spent in the suite. For tests where a passphrase home is the setting, not the
 * subject; test/vault and test/audit/signing-key cover the limits gov itself picks.
 */
export async function sealWithFastKdf(home: string, passphrase: string): Promise<void> {
  await initCrypto();
  const paths = homePaths(home);
  const vaultKdf = fastestParams();
  const vaultKey = deriveKeyFromPassphrase(passphrase, vaultKdf);
  const vault = { version: 1, kdf: vaultKdf, check: makeKeyCheck(vaultKey), entries: {} };
  writeFileSync(paths.vault, JSON.stringify(vault, null, 2) + '\n', { mode: 0o600 });

  const pair = generateKeyPairSync('ed25519');
  const jwk = pair.privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url').toString('base64');
  const pub = Buffer.from(jwk.x!, 'base64url').toString('base64');
  const auditKdf = fastestParams();
  const auditKey = deriveKeyFromPassphrase(passphrase, auditKdf);
  const sealed = sealEntry(auditKey, AUDIT_SEED_AD, seed);
  mkdirSync(paths.audit, { recursive: true, mode: 0o700 });
  const keyFile = { version: 1, public: pub, private: { ...auditKdf, ...sealed } };
  writeFileSync(`${paths.audit}/key.json`, JSON.stringify(keyFile, null, 2) + '\n', { mode: 0o600 });
  writeFileSync(`${paths.audit}/key.pub`, `${pub}\n`, { mode: 0o644 });
}
