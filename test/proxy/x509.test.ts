import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { homePaths } from '../../src/home.js';
import { loadOrCreateCa } from '../../src/proxy/ca.js';
import { LeafCertCache } from '../../src/proxy/leaf-cert-cache.js';
import { caCertificatePem, positiveSerial } from '../../src/proxy/x509.js';
import { certificateSubject } from '../../src/proxy/der.js';
import { ROOT, tempHome } from '../helpers/gov-process.js';

function openssl(pem: string, dir: string): string {
  const file = join(dir, `cert-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, pem);
  return execFileSync('openssl', ['x509', '-in', file, '-noout', '-text'], { encoding: 'utf8' });
}

describe('certificates built from ASN.1 schemas and signed with node:crypto', () => {
  const home = tempHome();
  const paths = homePaths(home);
  const ca = loadOrCreateCa(paths);
  const leaves = new LeafCertCache(ca);

  it('the CA: self-signed v3 ECDSA P-256, CA:TRUE pathlen 0 (critical), keyCertSign, key 0600', () => {
    const text = openssl(ca.certPem, home);
    expect(text).toContain('Version: 3 (0x2)');
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
    expect(text).toContain('ASN1 OID: prime256v1');
    expect(text).toMatch(/Issuer: CN ?= ?gov local interception CA, O ?= ?gov/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toContain('Subject Key Identifier');
    const x = new X509Certificate(ca.certPem);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(statSync(paths.caKey).mode & 0o777).toBe(0o600);
  });

  it('leaves: positive serial, DNS / IPv4 / IPv6 SANs, serverAuth, ≤ 30 days, verified by openssl', async () => {
    const caFile = join(home, 'ca-for-verify.pem');
    writeFileSync(caFile, ca.certPem);
    for (const [host, san] of [
      ['api.example.com', 'DNS:api.example.com'],
      ['10.1.2.3', 'IP Address:10.1.2.3'],
      ['[2001:db8::1]', 'IP Address:2001:DB8:0:0:0:0:0:1'],
      ['::ffff:10.0.0.1', 'IP Address:0:0:0:0:0:FFFF:A00:1'],
      ['fe80:1:2:3:4:5:6:7', 'IP Address:FE80:1:2:3:4:5:6:7'],
    ] as const) {
      const pem = await leaves.leafPem(host);
      const text = openssl(pem, home);
      expect(text).toContain(san);
      expect(text).toContain('TLS Web Server Authentication');
      expect(text).toMatch(/Key Usage: critical\s+Digital Signature/);
      expect(text).toContain('CA:FALSE');
      expect(text).toContain('Authority Key Identifier');
      expect(text).toContain('id-ecPublicKey');
      expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
      // The key identifier is SHA-1 of the EC point (RFC 5280 §4.2.1.2 method 1).
      const x509 = new X509Certificate(pem);
      const point = x509.publicKey.export({ type: 'spki', format: 'der' }).subarray(-65);
      const ski = createHash('sha1')
        .update(point)
        .digest('hex')
        .toUpperCase()
        .replace(/(..)(?!$)/g, '$1:');
      expect(text).toMatch(new RegExp(`Subject Key Identifier:\\s+${ski}`));
      const x = new X509Certificate(pem);
      expect(x.issuer).toBe(new X509Certificate(ca.certPem).subject);
      expect(Number.parseInt(x.serialNumber.slice(0, 2), 16)).toBeLessThan(0x80);
      expect((Date.parse(x.validTo) - Date.now()) / 86_400_000).toBeLessThanOrEqual(30);
      const leafFile = join(home, 'leaf.pem');
      writeFileSync(leafFile, pem);
      const verify = execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', caFile, leafFile], {
        encoding: 'utf8',
      });
      expect(verify.trim()).toBe(`${leafFile}: OK`);
    }
  });

  it('a host name too long for a commonName still gets its SAN', async () => {
    const host = `${'a'.repeat(60)}.example.com`;
    const x = new X509Certificate(await leaves.leafPem(host));
    expect(x.subject).toBe('CN=gov-intercepted');
    expect(x.subjectAltName).toBe(`DNS:${host}`);
  });

  it('serials are positive and non-zero-led', () => {
    for (let i = 0; i < 200; i++) {
      const s = positiveSerial();
      expect(s[0]).toBeLessThan(0x80);
      expect(s[0]).toBeGreaterThan(0);
    }
  });
});

describe('several gov processes creating the CA at once on a fresh GOV_HOME', () => {
  it('all end up with the same CA', async () => {
    const home = tempHome();
    const script = `import { homePaths } from ${JSON.stringify(join(ROOT, 'dist/src/home.js'))};
import { loadOrCreateCa } from ${JSON.stringify(join(ROOT, 'dist/src/proxy/ca.js'))};
process.stdout.write(loadOrCreateCa(homePaths(process.argv[1])).certPem);`;
    const runOne = () =>
      new Promise<string>((resolve, reject) => {
        const c = spawn(process.execPath, ['--input-type=module', '-e', script, home], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const t = setTimeout(() => c.kill('SIGKILL'), 30_000);
        c.on('close', (code) => {
          clearTimeout(t);
          if (code === 0) resolve(out);
          else reject(new Error(err));
        });
      });
    const pems = await Promise.all(Array.from({ length: 6 }, runOne));
    const onDisk = readFileSync(homePaths(home).caCert, 'utf8');
    expect(new Set(pems)).toEqual(new Set([onDisk]));
  });
});

/** A CA as gov created them before it switched to ECDSA: RSA-2048, sha256WithRSAEncryption. */
function writeRsaCa(home: string): void {
  const paths = homePaths(home);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  mkdirSync(paths.ca, { recursive: true, mode: 0o700 });
  writeFileSync(paths.caKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(
    paths.caCert,
    caCertificatePem({
      cn: 'gov local interception CA',
      org: 'gov',
      publicKeyDer: publicKey.export({ type: 'spki', format: 'der' }),
      key: privateKey,
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: new Date(Date.now() + 365 * 86_400_000),
    }),
  );
}

describe('CAs that gov did not create this way', () => {
  it('an RSA CA from an earlier gov keeps working: its leaves are RSA-signed and verify', async () => {
    const home = tempHome();
    writeRsaCa(home);
    const ca = loadOrCreateCa(homePaths(home));
    expect(ca.key.asymmetricKeyType).toBe('rsa');
    const pem = await new LeafCertCache(ca).leafPem('api.example.com');
    expect(openssl(pem, home)).toContain('Signature Algorithm: sha256WithRSAEncryption');
    const caFile = join(home, 'rsa-ca.pem');
    const leafFile = join(home, 'rsa-leaf.pem');
    writeFileSync(caFile, ca.certPem);
    writeFileSync(leafFile, pem);
    const verify = execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', caFile, leafFile], {
      encoding: 'utf8',
    });
    expect(verify.trim()).toBe(`${leafFile}: OK`);
  });

  it('a CA key that does not match the certificate is refused with a clear error', () => {
    const home = tempHome();
    writeRsaCa(home);
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    writeFileSync(homePaths(home).caKey, other.export({ type: 'pkcs8', format: 'pem' }));
    expect(() => loadOrCreateCa(homePaths(home))).toThrow(/CA key does not belong to the CA certificate/);
  });

  it('a CA key gov cannot sign leaves with (Ed25519) is refused with a clear error', () => {
    const home = tempHome();
    writeRsaCa(home);
    const ed = generateKeyPairSync('ed25519').privateKey;
    writeFileSync(homePaths(home).caKey, ed.export({ type: 'pkcs8', format: 'pem' }));
    expect(() => loadOrCreateCa(homePaths(home))).toThrow(/type ed25519 cannot sign certificates/);
  });
});

describe('reading a certificate back (der.certificateSubject)', () => {
  it('finds the subject and key of a certificate openssl made, and refuses truncated DER', () => {
    const home = tempHome();
    const key = join(home, 'k.pem');
    const cert = join(home, 'c.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-subj',
        '/CN=someone else/O=elsewhere',
        '-days',
        '2',
      ],
      { stdio: 'ignore' },
    );
    const pem = readFileSync(cert, 'utf8');
    const x = new X509Certificate(pem);
    const { subjectDer, spkiDer } = certificateSubject(x.raw);
    expect(subjectDer.toString('latin1')).toContain('someone else');
    expect(spkiDer.equals(x.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    for (const cut of [1, 3, 10, 40, x.raw.length - 200]) {
      expect(() => certificateSubject(x.raw.subarray(0, cut))).toThrow(/DER/);
    }
  });
});
