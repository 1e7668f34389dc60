import { generateKeyPairSync, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import forge from 'node-forge';
import { GovError } from '../errors.js';
import { ensureDir, type HomePaths } from '../home.js';
import { positiveSerial, signCertificate } from './x509.js';

export interface CertificateAuthority {
  certPem: string;
  key: KeyObject;
  cert: forge.pki.Certificate;
  certPath: string;
}

const CA_SUBJECT = [
  { name: 'commonName', value: 'gov local interception CA' },
  { name: 'organizationName', value: 'gov' },
];

function writePrivate(path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

function createCa(paths: HomePaths): CertificateAuthority {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pubPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(pubPem);
  cert.serialNumber = positiveSerial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 24 * 3600_000);
  cert.validity.notAfter = new Date(now + 5 * 365 * 24 * 3600_000);
  cert.setSubject(CA_SUBJECT);
  cert.setIssuer(CA_SUBJECT);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true, pathLenConstraint: 0 },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signCertificate(cert, privateKey);
  const certPem = forge.pki.certificateToPem(cert);
  ensureDir(paths.ca);
  // Key first (0600), then the certificate: a crash in between leaves no half CA in use.
  writePrivate(paths.caKey, keyPem, 0o600);
  writePrivate(paths.caCert, certPem, 0o644);
  return { certPem, key: privateKey, cert, certPath: paths.caCert };
}

/** Load the per-user CA, creating it on first use (key 0600 in a 0700 directory). */
export function loadOrCreateCa(paths: HomePaths): CertificateAuthority {
  ensureDir(paths.home);
  ensureDir(paths.ca);
  const haveCert = existsSync(paths.caCert);
  const haveKey = existsSync(paths.caKey);
  if (!haveCert && !haveKey) return createCa(paths);
  if (haveCert !== haveKey) {
    throw new GovError('config', `incomplete CA in ${paths.ca} (certificate or key missing)`, {
      hint: "run 'gov ca regenerate'",
    });
  }
  try {
    const certPem = readFileSync(paths.caCert, 'utf8');
    const keyPem = readFileSync(paths.caKey, 'utf8');
    chmodSync(paths.caKey, 0o600);
    const x = new X509Certificate(certPem);
    if (new Date(x.validTo).getTime() < Date.now() + 24 * 3600_000) {
      throw new Error('the CA certificate has expired or expires within a day');
    }
    return {
      certPem,
      key: createPrivateKey(keyPem),
      cert: forge.pki.certificateFromPem(certPem),
      certPath: paths.caCert,
    };
  } catch (err) {
    throw new GovError('config', `cannot load the CA in ${paths.ca}: ${(err as Error).message}`, {
      hint: "run 'gov ca regenerate'",
      cause: err,
    });
  }
}

export function regenerateCa(paths: HomePaths): CertificateAuthority {
  rmSync(paths.caCert, { force: true });
  rmSync(paths.caKey, { force: true });
  return createCa(paths);
}
