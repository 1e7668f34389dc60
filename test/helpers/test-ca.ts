import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { positiveSerial, signCertificate } from '../../src/proxy/x509.js';

export interface TestPki {
  caPem: string;
  caPath: string;
  keyPem: string;
  certPem: string;
  dir: string;
}

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    forgePub: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}

/** A throwaway CA (not gov's) and a server certificate for localhost, 127.0.0.1 and ::1. */
export function makeTestPki(name = 'gov test upstream CA'): TestPki {
  const ca = keyPair();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = ca.forgePub;
  caCert.serialNumber = positiveSerial();
  caCert.validity.notBefore = new Date(Date.now() - 3600_000);
  caCert.validity.notAfter = new Date(Date.now() + 30 * 24 * 3600_000);
  const subject = [{ name: 'commonName', value: name }];
  caCert.setSubject(subject);
  caCert.setIssuer(subject);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  signCertificate(caCert, ca.privateKey);
  const leaf = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = leaf.forgePub;
  cert.serialNumber = positiveSerial();
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 30 * 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: 'localhost' }]);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
        { type: 7, ip: '::1' },
      ],
    },
  ]);
  signCertificate(cert, ca.privateKey);
  const caPem = forge.pki.certificateToPem(caCert);
  const dir = mkdtempSync(join(tmpdir(), 'gov-pki-'));
  const caPath = join(dir, 'upstream-ca.pem');
  writeFileSync(caPath, caPem);
  return { caPem, caPath, keyPem: leaf.keyPem, certPem: forge.pki.certificateToPem(cert), dir };
}
