import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { writeFileAtomicAsync } from '../../vault/atomic-file.js';

/** A cached leaf is used only while it has at least this long left. */
const MIN_REMAINING_MS = 24 * 3600_000;

/**
 * Minted leaf certificates on disk (`$GOV_HOME/ca/leaves/`, 0700), so a host seen in an
 * earlier run costs a file read instead of a signature. The shared leaf key lives there too
 * (`key.pem`, 0600, written atomically). A certificate file is named by the CA's fingerprint
 * and the host, and is trusted only after checking what it says: signed by this CA, for this
 * host, for this key, inside its validity. A tampered, expired or foreign file is ignored
 * (and removed), so the worst it can do is cost a fresh mint.
 */
export class LeafStore {
  private readonly dir: string;
  private readonly ca: X509Certificate;
  private readonly caFingerprint: string;
  private ready: Promise<void> | undefined;
  /** The file names present at start-up: a never-seen host costs no file system round trip. */
  private listing: Promise<Set<string>> | undefined;

  constructor(dir: string, caCertPem: string) {
    this.dir = dir;
    this.ca = new X509Certificate(caCertPem);
    this.caFingerprint = this.ca.fingerprint256;
  }

  private ensureDir(): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    return this.ready;
  }

  private get keyPath(): string {
    return join(this.dir, 'key.pem');
  }

  private list(): Promise<Set<string>> {
    this.listing ??= readdir(this.dir).then(
      (names) => new Set(names),
      () => new Set<string>(),
    );
    return this.listing;
  }

  /** The stored leaf key, or undefined when there is none or it is not an EC P-256 key. */
  async loadKey(): Promise<string | undefined> {
    void this.list();
    try {
      const pem = await readFile(this.keyPath, 'utf8');
      const key = createPrivateKey(pem);
      return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
        ? pem
        : undefined;
    } catch {
      return undefined;
    }
  }

  async saveKey(keyPem: string): Promise<void> {
    await this.ensureDir();
    await writeFileAtomicAsync(this.keyPath, keyPem, 0o600);
  }

  private nameFor(host: string): string {
    const digest = createHash('sha256').update(`${this.caFingerprint}\n${host}`).digest('hex');
    return `${digest.slice(0, 40)}.pem`;
  }

  /** The cached certificate PEM for `host` and `publicKey`, if it passes every check. */
  async load(host: string, publicKey: KeyObject, now = Date.now()): Promise<string | undefined> {
    const name = this.nameFor(host);
    if (!(await this.list()).has(name)) return undefined;
    const path = join(this.dir, name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return undefined;
    }
    const cert = this.verified(text, host, publicKey, now);
    if (!cert) await rm(path, { force: true }).catch(() => undefined);
    return cert;
  }

  /** Remember a freshly minted leaf; failures only cost a mint in a later run. */
  async save(host: string, certPem: string): Promise<void> {
    await this.ensureDir();
    const name = this.nameFor(host);
    await writeFileAtomicAsync(join(this.dir, name), certPem, 0o600);
    (await this.list()).add(name);
  }

  /** The certificate re-encoded from its parsed form, or undefined when any check fails. */
  private verified(text: string, host: string, publicKey: KeyObject, now: number): string | undefined {
    try {
      return this.check(new X509Certificate(text), host, publicKey, now);
    } catch {
      return undefined; // unparsable, or a host the checks reject: a fresh mint, never a failure
    }
  }

  private check(x: X509Certificate, host: string, publicKey: KeyObject, now: number): string | undefined {
    const coversHost = isIP(bare(host))
      ? x.checkIP(bare(host)) !== undefined
      : x.checkHost(host, { subject: 'never', wildcards: false }) !== undefined;
    const ok =
      x.checkIssued(this.ca) &&
      x.verify(this.ca.publicKey) &&
      x.publicKey.equals(publicKey) &&
      !x.ca &&
      Date.parse(x.validFrom) <= now &&
      Date.parse(x.validTo) - now >= MIN_REMAINING_MS &&
      coversHost;
    // Re-encoded from the DER just checked: nothing else in the file reaches a TLS context.
    return ok ? x.toString() : undefined;
  }
}

function bare(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
