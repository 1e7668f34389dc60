import { describe, expect, it } from 'vitest';
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type SecureContext } from 'node:tls';
import { join } from 'node:path';
import { homePaths } from '../../src/home.js';
import { loadOrCreateCa, regenerateCa } from '../../src/proxy/ca.js';
import { LeafCertCache } from '../../src/proxy/leaf-cert-cache.js';
import { LeafStore } from '../../src/proxy/leaf-store.js';
import { altNamesFor, issuerOf, leafCertificatePem, positiveSerial } from '../../src/proxy/x509.js';
import { tempHome } from '../helpers/gov-process.js';
import { until } from '../helpers/until.js';

describe('CA and leaf certificates', () => {
  const paths = homePaths(tempHome());
  const ca = loadOrCreateCa(paths);
  const leaves = new LeafCertCache(ca);

  it('creates the CA once, key 0600 in a 0700 directory, and reuses it', () => {
    expect(statSync(paths.caKey).mode & 0o777).toBe(0o600);
    expect(statSync(paths.ca).mode & 0o777).toBe(0o700);
    expect(loadOrCreateCa(paths).certPem).toBe(ca.certPem);
    expect(new X509Certificate(ca.certPem).ca).toBe(true);
  });

  it('mints leaves with positive serials, the right SANs and at most 30 days of validity', async () => {
    for (const host of ['example.com', '127.0.0.1', '::1']) {
      const pem = await leaves.leafPem(host);
      const x = new X509Certificate(pem);
      expect(x.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
      expect(Number.parseInt(x.serialNumber.slice(0, 2), 16)).toBeLessThan(0x80);
      const days = (Date.parse(x.validTo) - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(0);
      expect(days).toBeLessThanOrEqual(30);
      if (host === 'example.com') expect(x.subjectAltName).toBe('DNS:example.com');
      if (host === '127.0.0.1') expect(x.subjectAltName).toBe('IP Address:127.0.0.1');
      if (host === '::1') expect(x.subjectAltName).toMatch(/^IP Address:0:0:0:0:0:0:0:1|^IP Address:::1/);
      expect(x.checkHost(host.includes(':') || /^\d/.test(host) ? 'nope.invalid' : host)).toBe(
        host === 'example.com' ? host : undefined,
      );
    }
  });

  it('strips brackets from IPv6 literals and never mints for "["', () => {
    expect(altNamesFor('[::1]')).toEqual([{ type: 7, ip: '::1' }]);
    expect(altNamesFor('localhost')).toEqual([{ type: 2, value: 'localhost' }]);
  });

  it('serials are always positive', () => {
    for (let i = 0; i < 500; i++) expect(positiveSerial()[0]).toBeLessThan(0x80);
  });

  it('caches one context per host and shares the in-flight mint', async () => {
    const [a, b] = await Promise.all([
      leaves.contextFor('Cache.Example'),
      leaves.contextFor('cache.example'),
    ]);
    expect(a).toBe(b);
  });

  it('warm() prepares the leaves of the named hosts in the background', async () => {
    const early = new LeafCertCache(ca);
    early.warm(['named-a.example', 'named-b.example', 'named-a.example']);
    await until(() => early.size === 2);
  });

  it('regenerate replaces the CA', () => {
    const fresh = regenerateCa(paths);
    expect(fresh.certPem).not.toBe(ca.certPem);
  });
});

/** The certificate a real TLS handshake presents with `ctx`. */
async function served(ctx: SecureContext): Promise<X509Certificate> {
  const server = createServer({ SNICallback: (_name, cb) => cb(null, ctx) });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  try {
    return await new Promise<X509Certificate>((resolve, reject) => {
      const s = connect(
        { port, host: '127.0.0.1', servername: 'x.example', rejectUnauthorized: false },
        () => {
          const cert = new X509Certificate(s.getPeerCertificate().raw);
          s.destroy();
          resolve(cert);
        },
      );
      s.on('error', reject);
    });
  } finally {
    server.close();
  }
}

const certFiles = (dir: string): string[] => readdirSync(dir).filter((n) => /^[0-9a-f]{40}\.pem$/.test(n));

describe('leaf store on disk', () => {
  const paths = homePaths(tempHome());
  const ca = loadOrCreateCa(paths);
  const dir = paths.caLeaves;

  async function storedKey(): Promise<{ pem: string; publicKey: ReturnType<typeof createPublicKey> }> {
    const pem = await new LeafStore(dir, ca.certPem).loadKey();
    if (pem === undefined) throw new Error('no stored leaf key');
    return { pem, publicKey: createPublicKey(createPrivateKey(pem)) };
  }

  it('hit: a later run serves the leaf an earlier run minted; key and files owner-only', async () => {
    const first = new LeafCertCache(ca, new LeafStore(dir, ca.certPem));
    const minted = (await served(await first.contextFor('Store.Example'))).serialNumber;
    await until(() => existsSync(dir) && certFiles(dir).length === 1);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
    const [file] = certFiles(dir);
    expect(statSync(join(dir, file!)).mode & 0o777).toBe(0o600);
    expect(new X509Certificate(readFileSync(join(dir, file!))).serialNumber).toBe(minted);

    const keyBefore = readFileSync(join(dir, 'key.pem'), 'utf8');
    const second = new LeafCertCache(ca, new LeafStore(dir, ca.certPem));
    expect((await served(await second.contextFor('store.example'))).serialNumber).toBe(minted);
    expect(readFileSync(join(dir, 'key.pem'), 'utf8')).toBe(keyBefore);
  });

  it('miss: an unknown host is not found and gets a fresh leaf', async () => {
    const { publicKey } = await storedKey();
    const store = new LeafStore(dir, ca.certPem);
    expect(await store.load('never.example', publicKey)).toBeUndefined();
    const cache = new LeafCertCache(ca, store);
    const serial = (await served(await cache.contextFor('never.example'))).serialNumber;
    expect(serial).toMatch(/^[0-9A-F]+$/);
  });

  /** Save `pem` as the entry for `host`, then load it back through a fresh store. */
  async function roundTrip(host: string, pem: string): Promise<string | undefined> {
    const { publicKey } = await storedKey();
    await new LeafStore(dir, ca.certPem).save(host, pem);
    return new LeafStore(dir, ca.certPem).load(host, publicKey);
  }

  function leafFor(host: string, spkiDer: Buffer, notAfter: Date, signer = ca): string {
    return leafCertificatePem({
      hosts: [host],
      spkiDer,
      issuer: issuerOf(signer.certPem, signer.key),
      notBefore: new Date(Date.now() - 3600_000),
      notAfter,
    });
  }

  it('a valid entry loads; expired, wrong-host, wrong-key and foreign-CA entries are ignored', async () => {
    const { publicKey } = await storedKey();
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const week = new Date(Date.now() + 7 * 86_400_000);
    expect(await roundTrip('ok.example', leafFor('ok.example', spki, week))).toContain('BEGIN CERTIFICATE');
    expect(await roundTrip('10.0.0.7', leafFor('10.0.0.7', spki, week))).toContain('BEGIN CERTIFICATE');

    // Expiring within the day counts as expired.
    expect(
      await roundTrip('old.example', leafFor('old.example', spki, new Date(Date.now() + 3600_000))),
    ).toBe(undefined);
    expect(await roundTrip('host.example', leafFor('other.example', spki, week))).toBeUndefined();
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    const otherSpki = otherKey.export({ type: 'spki', format: 'der' });
    expect(await roundTrip('key.example', leafFor('key.example', otherSpki, week))).toBeUndefined();
    const foreign = loadOrCreateCa(homePaths(tempHome()));
    expect(await roundTrip('ca.example', leafFor('ca.example', spki, week, foreign))).toBeUndefined();
    // The CA's own certificate is not a leaf.
    expect(await roundTrip('gov local interception CA', ca.certPem)).toBeUndefined();
  });

  it('a tampered file is ignored and removed: it can never make gov present a cert its CA did not sign', async () => {
    const { publicKey } = await storedKey();
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const store = new LeafStore(dir, ca.certPem);
    const host = 'tamper.example';
    await store.save(host, leafFor(host, spki, new Date(Date.now() + 7 * 86_400_000)));
    const file = certFiles(dir).find((n) =>
      new X509Certificate(readFileSync(join(dir, n))).subject.includes(host),
    );
    const path = join(dir, file!);
    const der = new X509Certificate(readFileSync(path)).raw;
    der.writeUInt8(der.readUInt8(der.length - 5) ^ 0xff, der.length - 5); // inside the signature
    writeFileSync(
      path,
      `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`,
    );
    expect(await new LeafStore(dir, ca.certPem).load(host, publicKey)).toBeUndefined();
    expect(existsSync(path)).toBe(false);

    await store.save(host, 'not a certificate');
    expect(await new LeafStore(dir, ca.certPem).load(host, publicKey)).toBeUndefined();

    // What a TLS client gets is a fresh leaf signed by the CA.
    const cache = new LeafCertCache(ca, new LeafStore(dir, ca.certPem));
    const cert = await served(await cache.contextFor(host));
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.checkHost(host)).toBe(host);
  });

  it('a damaged key file is replaced by a new key (0600); leaves for the old key are not used', async () => {
    const home = homePaths(tempHome());
    const own = loadOrCreateCa(home);
    const first = new LeafCertCache(own, new LeafStore(home.caLeaves, own.certPem));
    const minted = (await served(await first.contextFor('k.example'))).serialNumber;
    await until(() => existsSync(home.caLeaves) && certFiles(home.caLeaves).length === 1);
    writeFileSync(join(home.caLeaves, 'key.pem'), 'garbage', { mode: 0o600 });
    const second = new LeafCertCache(own, new LeafStore(home.caLeaves, own.certPem));
    expect((await served(await second.contextFor('k.example'))).serialNumber).not.toBe(minted);
    const key = readFileSync(join(home.caLeaves, 'key.pem'), 'utf8');
    expect(key).toContain('PRIVATE KEY');
    expect(statSync(join(home.caLeaves, 'key.pem')).mode & 0o777).toBe(0o600);
  });

  it('gov ca regenerate drops the leaves of the old CA', async () => {
    const home = homePaths(tempHome());
    const own = loadOrCreateCa(home);
    await new LeafCertCache(own, new LeafStore(home.caLeaves, own.certPem)).contextFor('r.example');
    await until(() => existsSync(home.caLeaves) && certFiles(home.caLeaves).length === 1);
    regenerateCa(home);
    expect(existsSync(home.caLeaves)).toBe(false);
  });
});
