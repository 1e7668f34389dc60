import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { CertificateAuthority } from './ca.js';
import type { LeafStore } from './leaf-store.js';
import { issuerOf, leafCertificatePem, type Issuer } from './x509.js';

const LEAF_VALIDITY_MS = 7 * 24 * 3600_000;
const MAX_CACHED = 2000;

interface LeafKey {
  keyPem: string;
  publicKey: KeyObject;
  spkiDer: Buffer;
}

function leafKeyOf(keyPem: string): LeafKey {
  const publicKey = createPublicKey(createPrivateKey(keyPem));
  return { keyPem, publicKey, spkiDer: publicKey.export({ type: 'spki', format: 'der' }) };
}

/** A new EC P-256 key on the thread pool: the event loop keeps serving meanwhile. */
function generateLeafKey(): Promise<LeafKey> {
  return new Promise((resolve, reject) => {
    generateKeyPair('ec', { namedCurve: 'prime256v1' }, (err, _publicKey, privateKey: KeyObject) => {
      if (err) return reject(err);
      resolve(leafKeyOf(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()));
    });
  });
}

/**
 * Mints leaf certificates for intercepted hosts. One ECDSA P-256 key pair serves every leaf
 * (cheap to load into a TLS context and to handshake with, unlike RSA); it is generated in
 * the background at start-up, or read from the leaf store so certificates from earlier runs
 * stay usable. A new host costs one native signature by the CA, or, with a store, a verified
 * file read when an earlier run minted it. Contexts are cached by host; the cache is bounded.
 */
export class LeafCertCache {
  private readonly ca: CertificateAuthority;
  private readonly store: LeafStore | undefined;
  private readonly leafKey: Promise<LeafKey>;
  private issuer: Issuer | undefined;
  private readonly cache = new Map<string, SecureContext>();
  private readonly pending = new Map<string, Promise<SecureContext>>();

  constructor(ca: CertificateAuthority, store?: LeafStore) {
    this.ca = ca;
    this.store = store;
    this.leafKey = store ? this.storedOrNewKey(store) : generateLeafKey();
    this.leafKey.catch(() => undefined);
  }

  private async storedOrNewKey(store: LeafStore): Promise<LeafKey> {
    const stored = await store.loadKey();
    if (stored !== undefined) return leafKeyOf(stored);
    const fresh = await generateLeafKey();
    // Not persisted means only that the next run mints afresh.
    await store.saveKey(fresh.keyPem).catch(() => undefined);
    return fresh;
  }

  /** Resolves once the shared leaf key exists (call at start-up so the first mint is cheap). */
  async ready(): Promise<void> {
    await this.leafKey;
  }

  /**
   * In the background (once the child runs): read the CA's name and key identifier,
   * then prepare the leaves of `hosts` (the policy's named hosts), one per event-loop turn.
   */
  warm(hosts: readonly string[] = []): void {
    setImmediate(() => {
      try {
        this.issuer ??= issuerOf(this.ca.certPem, this.ca.key);
      } catch {
        return; // the first mint reports it
      }
      this.prepare([...hosts]);
    });
  }

  private prepare(hosts: string[]): void {
    const host = hosts.shift();
    if (host === undefined) return;
    this.contextFor(host)
      .catch(() => undefined)
      .finally(() => setImmediate(() => this.prepare(hosts)));
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
    const leafKey = await this.leafKey;
    let pem = await this.store?.load(host, leafKey.publicKey).catch(() => undefined);
    if (pem === undefined) {
      pem = this.certificatePem(host, leafKey.spkiDer);
      this.store?.save(host, pem).catch(() => undefined);
    }
    // `ca: []` keeps Node from loading its whole root store into every server context. The
    // chain is the leaf alone: clients hold gov's CA as a trust anchor, and a root in the
    // chain is optional (RFC 8446 §4.4.2) but costs a parse here and in every handshake.
    const ctx = createSecureContext({ key: leafKey.keyPem, cert: pem, ca: [] });
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
    const { spkiDer } = await this.leafKey;
    return this.certificatePem(host, spkiDer);
  }
}
