import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { positiveSerial, signCertificate } from '../../src/proxy/x509.js';

/**
 * A throwaway CA (never gov's) and one server certificate signed by it, for the bundled demo
 * server, the benchmark's upstream and the tests' HTTPS servers.
 */
export interface ThrowawayPki {
  caPem: string;
  keyPem: string;
  certPem: string;
}

function rsaKey(): { privateKey: KeyObject; keyPem: string; publicKey: forge.pki.PublicKey } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}

function newCert(publicKey: forge.pki.PublicKey, validDays: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = positiveSerial();
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + validDays * 24 * 3600_000);
  return cert;
}

export function makeThrowawayPki(opts: {
  name: string;
  dnsNames?: string[];
  ips?: string[];
  validDays?: number;
  /** The leaf may also authenticate a TLS client (gov serve's mTLS tests). */
  clientAuth?: boolean;
}): ThrowawayPki {
  const days = opts.validDays ?? 7;
  const ca = rsaKey();
  const subject = [{ name: 'commonName', value: opts.name }];
  const caCert = newCert(ca.publicKey, days);
  caCert.setSubject(subject);
  caCert.setIssuer(subject);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  signCertificate(caCert, ca.privateKey);

  const leaf = rsaKey();
  const cert = newCert(leaf.publicKey, days);
  cert.setSubject([{ name: 'commonName', value: 'localhost' }]);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: opts.clientAuth === true },
    {
      name: 'subjectAltName',
      altNames: [
        ...(opts.dnsNames ?? ['localhost']).map((value) => ({ type: 2, value })),
        ...(opts.ips ?? ['127.0.0.1']).map((ip) => ({ type: 7, ip })),
      ],
    },
  ]);
  signCertificate(cert, ca.privateKey);
  return {
    caPem: forge.pki.certificateToPem(caCert),
    keyPem: leaf.keyPem,
    certPem: forge.pki.certificateToPem(cert),
  };
}
