import {
  generateKeyPairSync,
  createPrivateKey,
  createPublicKey,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  chmodSync,
  rmSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { GovError } from '../errors.js';
import { ensureDir, type HomePaths } from '../home.js';
import { writeFileAtomic } from '../../vault/atomic-file.js';
import { caCertificatePem, signatureAlgorithmFor } from './x509.js';

export interface CertificateAuthority {
  certPem: string;
  key: KeyObject;
  certPath: string;
}

const CA_CN = 'gov local interception CA';
const CA_ORG = 'gov';
// Another gov creating the CA holds the lock this long at most (creating one takes milliseconds
// with an ECDSA key, and took up to a second with the RSA keys of earlier versions).
const CREATE_WAIT_MS = 20_000;
const STALE_LOCK_MS = 60_000;

function createCa(paths: HomePaths): CertificateAuthority {
  // ECDSA P-256: generated in about a millisecond (an RSA-2048 key took 0.1–1 s of a fresh
  // GOV_HOME's first start) and every leaf's signature is cheaper too.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const now = Date.now();
  const certPem = caCertificatePem({
    cn: CA_CN,
    org: CA_ORG,
    publicKeyDer: publicKey.export({ type: 'spki', format: 'der' }),
    key: privateKey,
    notBefore: new Date(now - 24 * 3600_000),
    notAfter: new Date(now + 5 * 365 * 24 * 3600_000),
  });
  ensureDir(paths.ca);
  // Key first (0600), then the certificate: a crash in between leaves no half CA in use.
  writeFileAtomic(paths.caKey, keyPem, 0o600);
  writeFileAtomic(paths.caCert, certPem, 0o644);
  return { certPem, key: privateKey, certPath: paths.caCert };
}

function readCa(paths: HomePaths): CertificateAuthority {
  try {
    const certPem = readFileSync(paths.caCert, 'utf8');
    const keyPem = readFileSync(paths.caKey, 'utf8');
    chmodSync(paths.caKey, 0o600);
    const x = new X509Certificate(certPem);
    if (new Date(x.validTo).getTime() < Date.now() + 24 * 3600_000) {
      throw new Error('the CA certificate has expired or expires within a day');
    }
    const key = createPrivateKey(keyPem);
    signatureAlgorithmFor(key); // throws for a key type gov cannot sign leaves with
    if (!x.publicKey.equals(createPublicKey(key))) {
      throw new Error('the CA key does not belong to the CA certificate');
    }
    return { certPem, key, certPath: paths.caCert };
  } catch (err) {
    throw new GovError('config', `cannot load the CA in ${paths.ca}: ${(err as Error).message}`, {
      hint: "run 'gov ca regenerate'",
      cause: err,
    });
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Create the CA unless another process is doing it: the lock file is created exclusively,
 * so of several `gov run`s starting at once on a fresh GOV_HOME exactly one creates the CA
 * and the others read it. Returns null when someone else holds the lock.
 */
function createUnderLock(paths: HomePaths, lock: string): CertificateAuthority | null {
  let fd: number;
  try {
    fd = openSync(lock, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // A creator that died leaves its lock behind; past any real creation time it is void.
    try {
      if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) unlinkSync(lock);
    } catch {
      /* gone already */
    }
    return null;
  }
  try {
    closeSync(fd);
    // The previous holder may have finished between our look and our lock.
    if (existsSync(paths.caCert) && existsSync(paths.caKey)) return readCa(paths);
    return createCa(paths);
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Load the per-user CA, creating it on first use (key 0600 in a 0700 directory). */
export function loadOrCreateCa(paths: HomePaths): CertificateAuthority {
  ensureDir(paths.home);
  ensureDir(paths.ca);
  const lock = join(paths.ca, 'ca.lock');
  const deadline = Date.now() + CREATE_WAIT_MS;
  for (;;) {
    const haveCert = existsSync(paths.caCert);
    const haveKey = existsSync(paths.caKey);
    if (haveCert && haveKey) return readCa(paths);
    const creating = existsSync(lock);
    if (!haveCert && !haveKey && !creating) {
      const made = createUnderLock(paths, lock);
      if (made) return made;
    } else if (!creating) {
      throw new GovError('config', `incomplete CA in ${paths.ca} (certificate or key missing)`, {
        hint: "run 'gov ca regenerate'",
      });
    }
    if (Date.now() > deadline) {
      throw new GovError('config', `another gov has been creating the CA in ${paths.ca} for too long`, {
        hint: `if no other gov is starting, remove ${lock}`,
      });
    }
    sleepSync(25);
  }
}

export function regenerateCa(paths: HomePaths): CertificateAuthority {
  rmSync(paths.caCert, { force: true });
  rmSync(paths.caKey, { force: true });
  // Leaves signed by the old CA are useless (and never used: they fail verification).
  rmSync(paths.caLeaves, { recursive: true, force: true });
  return createCa(paths);
}
