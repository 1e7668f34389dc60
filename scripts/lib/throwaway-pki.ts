import { generateKeyPairSync } from 'node:crypto';
import { caCertificatePem, issuerOf, leafCertificatePem } from '../../src/proxy/x509.js';

/**
 * A throwaway CA (never gov's) and one server certificate signed by it, for the bundled demo
 * server, the benchmark's upstream and the tests' HTTPS servers.
 */
export interface ThrowawayPki {
  caPem: string;
  keyPem: string;
  certPem: string;
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
  const notBefore = new Date(Date.now() - 3600_000);
  const notAfter = new Date(Date.now() + days * 24 * 3600_000);
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const caPem = caCertificatePem({
    cn: opts.name,
    publicKeyDer: ca.publicKey.export({ type: 'spki', format: 'der' }),
    key: ca.privateKey,
    notBefore,
    notAfter,
  });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const certPem = leafCertificatePem({
    hosts: [...(opts.dnsNames ?? ['localhost']), ...(opts.ips ?? ['127.0.0.1'])],
    spkiDer: leaf.publicKey.export({ type: 'spki', format: 'der' }),
    issuer: issuerOf(caPem, ca.privateKey),
    notBefore,
    notAfter,
    clientAuth: opts.clientAuth === true,
  });
  return {
    caPem,
    keyPem: leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certPem,
  };
}
