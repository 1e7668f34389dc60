import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { GovError } from '../errors.js';
import { writeFileAtomic } from '../../vault/atomic-file.js';

/** Where distributions keep the system trust store as one PEM file. */
export const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/cert.pem',
  '/etc/ssl/ca-bundle.pem',
];

/** The system trust store as PEM: the distribution's bundle, else Node's bundled roots. */
export function systemRootsPem(): string {
  for (const f of SYSTEM_BUNDLES) {
    if (existsSync(f)) {
      try {
        return readFileSync(f, 'utf8');
      } catch {
        /* try the next one */
      }
    }
  }
  return rootCertificates.join('\n') + '\n';
}

/**
 * Write the child's trust files under `dir` (GOV_HOME/ca): a combined bundle (system roots +
 * gov CA) for tools whose CA variable replaces the store, and the NODE_EXTRA_CA_CERTS file
 * (gov CA + whatever extra certs the user already had).
 */
export function writeTrustFiles(opts: {
  dir: string;
  run: string;
  govCaPem: string;
  inheritedNodeExtra?: string | undefined;
}): { bundle: string; nodeExtra: string; cleanup: () => void } {
  const bundle = join(opts.dir, 'bundle.pem');
  writeUnlessSame(bundle, systemRootsPem().trimEnd() + '\n' + opts.govCaPem);
  let nodeExtra = join(opts.dir, 'ca.pem');
  let cleanup = () => {};
  if (opts.inheritedNodeExtra && existsSync(opts.inheritedNodeExtra)) {
    nodeExtra = join(opts.dir, `node-extra-${opts.run}.pem`);
    writeFileAtomic(nodeExtra, opts.govCaPem + readFileSync(opts.inheritedNodeExtra, 'utf8'), 0o644, {
      durable: false,
    });
    const p = nodeExtra;
    cleanup = () => {
      try {
        rmSync(p, { force: true });
      } catch {
        /* best effort */
      }
    };
  }
  return { bundle, nodeExtra, cleanup };
}

/**
 * The bundle is the same from run to run until the system store or gov's CA changes: reading
 * it back is cheaper than rewriting 200 kB on every start. Derived data, rebuilt by the next
 * run if lost, so it needs no fsync.
 */
function writeUnlessSame(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) return;
  } catch {
    /* missing or unreadable: write it */
  }
  writeFileAtomic(path, text, 0o644, { durable: false });
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
/** Enough for the first certificate of any real bundle; bounds the read of a large file. */
const CA_SNIFF_BYTES = 64 * 1024;

/**
 * Whether `path` is a CA bundle: a readable regular file whose first certificate is a CA and
 * that holds no private key. A client certificate (not a CA, often next to its key) is not.
 */
export function isCaBundleFile(path: string): boolean {
  let fd: number | undefined;
  try {
    if (!statSync(path).isFile()) return false;
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(CA_SNIFF_BYTES);
    const text = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('latin1');
    if (text.includes('PRIVATE KEY-----')) return false;
    const first = PEM_CERT.exec(text);
    return first !== null && new X509Certificate(first[0]).ca;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Check a user-given CA file (`--upstream-ca`): it must exist and hold at least one PEM
 * certificate and no private key. Throws a config error naming the file and the fix.
 */
export function checkCaFile(path: string, flag: string): void {
  const fail = (what: string) =>
    new GovError('config', `${flag} ${path}: ${what}`, {
      hint: 'give a PEM file of CA certificates (-----BEGIN CERTIFICATE-----)',
    });
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fail(
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot read it (${code})`,
    );
  }
  if (text.includes('PRIVATE KEY-----')) throw fail('holds a private key; never hand gov a key as a CA');
  const certs = text.match(new RegExp(PEM_CERT.source, 'g')) ?? [];
  if (certs.length === 0) throw fail('holds no PEM certificate');
  for (const pem of certs) {
    try {
      new X509Certificate(pem);
    } catch {
      throw fail('holds a certificate that does not parse');
    }
  }
}
