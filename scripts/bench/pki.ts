import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeThrowawayPki } from '../lib/throwaway-pki.js';

/** The bench upstream's CA and server certificate, written to files. */
export interface BenchPki {
  caPath: string;
  keyPath: string;
  certPath: string;
}

/** Writes upstream-ca.pem, server-key.pem and server-cert.pem (SANs: localhost and every IP in `ips`) to dir. */
export function makeBenchPki(dir: string, ips: string[]): BenchPki {
  const pki = makeThrowawayPki({ name: 'gov bench upstream CA', ips });
  const out: BenchPki = {
    caPath: join(dir, 'upstream-ca.pem'),
    keyPath: join(dir, 'server-key.pem'),
    certPath: join(dir, 'server-cert.pem'),
  };
  writeFileSync(out.caPath, pki.caPem);
  writeFileSync(out.keyPath, pki.keyPem, { mode: 0o600 });
  writeFileSync(out.certPath, pki.certPem);
  return out;
}
