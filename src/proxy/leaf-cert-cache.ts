import { generateKeyPair, type KeyObject } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import forge from 'node-forge';
import type { CertificateAuthority } from './ca.js';
import { altNamesFor, positiveSerial, signCertificate } from './x509.js';

const LEAF_VALIDITY_MS = 7 * 24 * 3600_000;
const MAX_CACHED = 2000;

/**
 * Mints leaf certificates in memory for intercepted hosts. One ECDSA P-256 key pair is
 * generated per process and reused for every leaf (cheap to load into a TLS context and to
 * handshake with, unlike RSA); each leaf costs one native signature by the CA. Contexts are
 * cached by host; the cache is bounded.
 */
export class LeafCertCache {
  private readonly ca: CertificateAuthority;
  private keyPair: Promise<{ keyPem: string; publicKey: forge.asn1.Asn1 }>;
  private readonly cache = new Map<string, SecureContext>();
  private readonly pending = new Map<string, Promise<SecureContext>>();

  constructor(ca: CertificateAuthority) {
    this.ca = ca;
    this.keyPair = new Promise((resolve, reject) => {
      generateKeyPair(
        'ec',
        { namedCurve: 'prime256v1' },
        (err, publicKey: KeyObject, privateKey: KeyObject) => {
          if (err) return reject(err);
          const spki = publicKey.export({ type: 'spki', format: 'der' });
          resolve({
            keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
            publicKey: forge.asn1.fromDer(forge.util.createBuffer(spki.toString('binary'))),
          });
        },
      );
    });
    this.keyPair.catch(() => undefined);
  }

  /** Resolves once the shared leaf key exists (call at start-up so the first mint is cheap). */
  async ready(): Promise<void> {
    await this.keyPair;
  }

  get size(): number {
    return this.cache.size;
  }

  async contextFor(host: string): Promise<SecureContext> {
    const key = host.toLowerCase();
    const hit = this.cache.get(key);
    if (hit) return hit;
    let p = this.pending.get(key);
    if (!p) {
      p = this.mint(key).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async mint(host: string): Promise<SecureContext> {
    const { keyPem, publicKey } = await this.keyPair;
    const pem = this.certificatePem(host, publicKey);
    // `ca: []` keeps Node from loading its whole root store into every server context.
    const ctx = createSecureContext({ key: keyPem, cert: pem + this.ca.certPem, ca: [] });
    if (this.cache.size >= MAX_CACHED) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(host, ctx);
    return ctx;
  }

  /** Exposed for tests: the PEM of a leaf for `host` carrying the given SPKI. */
  certificatePem(host: string, spki: forge.asn1.Asn1): string {
    const cert = forge.pki.createCertificate();
    // forge only encodes RSA keys: it builds the structure around the CA's key, and
    // signCertificate swaps in the leaf's EC SubjectPublicKeyInfo before signing.
    cert.publicKey = this.ca.cert.publicKey;
    cert.serialNumber = positiveSerial();
    const now = Date.now();
    cert.validity.notBefore = new Date(now - 3600_000);
    cert.validity.notAfter = new Date(now + LEAF_VALIDITY_MS);
    const cn = host.length <= 64 ? host : 'gov-intercepted';
    cert.setSubject([{ name: 'commonName', value: cn }]);
    cert.setIssuer(this.ca.cert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: altNamesFor(host) },
    ]);
    signCertificate(cert, this.ca.key, spki);
    return forge.pki.certificateToPem(cert);
  }

  async leafPem(host: string): Promise<string> {
    const { publicKey } = await this.keyPair;
    return this.certificatePem(host, publicKey);
  }
}
