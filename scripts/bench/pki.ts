import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { positiveSerial, signCertificate } from '../../src/proxy/x509.js';

/** A throwaway upstream CA (not gov's) and one server certificate for the bench's loopback hosts. */
export interface BenchPki {
  caPath: string;
  keyPath: string;
  certPath: string;
}

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    forgePub: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}

function validity(cert: forge.pki.Certificate): void {
  cert.serialNumber = positiveSerial();
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 7 * 24 * 3600_000);
}

/** Writes ca.pem, server-key.pem and server-cert.pem (SANs: localhost and every IP in `ips`) to dir. */
export function makeBenchPki(dir: string, ips: string[]): BenchPki {
  const ca = keyPair();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = ca.forgePub;
  validity(caCert);
  const subject = [{ name: 'commonName', value: 'gov bench upstream CA' }];
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
  validity(cert);
  cert.setSubject([{ name: 'commonName', value: 'localhost' }]);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [{ type: 2, value: 'localhost' }, ...ips.map((ip) => ({ type: 7, ip }))],
    },
  ]);
  signCertificate(cert, ca.privateKey);

  const out: BenchPki = {
    caPath: join(dir, 'upstream-ca.pem'),
    keyPath: join(dir, 'server-key.pem'),
    certPath: join(dir, 'server-cert.pem'),
  };
  writeFileSync(out.caPath, forge.pki.certificateToPem(caCert));
  writeFileSync(out.keyPath, leaf.keyPem, { mode: 0o600 });
  writeFileSync(out.certPath, forge.pki.certificateToPem(cert));
  return out;
}
