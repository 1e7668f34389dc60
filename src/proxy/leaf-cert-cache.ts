import { generateKeyPair, type KeyObject } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { CertificateAuthority } from './ca.js';
import { issuerOf, leafCertificatePem, warmX509, type Issuer } from './x509.js';

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
  private keyPair: Promise<{ keyPem: string; spkiDer: Buffer }>;
  private issuer: Issuer | undefined;
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
          resolve({
            keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
            spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
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

  /** Load the certificate code in the background (call once the child is started). */
  warm(): void {
    setImmediate(() => {
      try {
        warmX509();
      } catch {
        /* the first mint reports it */
      }
    });
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
    const { keyPem, spkiDer } = await this.keyPair;
    const pem = this.certificatePem(host, spkiDer);
    // `ca: []` keeps Node from loading its whole root store into every server context.
    const ctx = createSecureContext({ key: keyPem, cert: pem + this.ca.certPem, ca: [] });
    if (this.cache.size >= MAX_CACHED) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(host, ctx);
    return ctx;
  }

  /** The PEM of a leaf for `host` carrying the public key `spkiDer`. */
  private certificatePem(host: string, spkiDer: Buffer): string {
    this.issuer ??= issuerOf(this.ca.certPem, this.ca.key);
    const now = Date.now();
    return leafCertificatePem({
      hosts: [host],
      spkiDer,
      issuer: this.issuer,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + LEAF_VALIDITY_MS),
    });
  }

  /** Exposed for tests: a leaf for `host` with the shared key. */
  async leafPem(host: string): Promise<string> {
    const { spkiDer } = await this.keyPair;
    return this.certificatePem(host, spkiDer);
  }
}
