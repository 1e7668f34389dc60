import { describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { statSync } from 'node:fs';
import { homePaths } from '../../src/home.js';
import { loadOrCreateCa, regenerateCa } from '../../src/proxy/ca.js';
import { LeafCertCache } from '../../src/proxy/leaf-cert-cache.js';
import { altNamesFor, positiveSerial } from '../../src/proxy/x509.js';
import { tempHome } from '../helpers/gov-process.js';

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

  it('regenerate replaces the CA', () => {
    const fresh = regenerateCa(paths);
    expect(fresh.certPem).not.toBe(ca.certPem);
  });
});
