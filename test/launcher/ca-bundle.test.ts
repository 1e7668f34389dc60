import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCaBundleFile, writeTrustFiles } from '../../src/launcher/ca-bundle.js';
import { buildChildEnv } from '../../src/launcher/child-env.js';
import { makeThrowawayPki } from '../../scripts/lib/throwaway-pki.js';

describe('CA bundle detection by content', () => {
  const pki = makeThrowawayPki({ name: 'detect CA', ips: ['127.0.0.1'], validDays: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'gov-cadetect-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('a CA certificate (or a bundle starting with one) is a CA bundle', () => {
    expect(isCaBundleFile(file('ca.pem', pki.caPem))).toBe(true);
    expect(isCaBundleFile(file('bundle.pem', '# comment\n' + pki.caPem + pki.caPem))).toBe(true);
  });

  it('a client certificate, a certificate with its key, garbage, a directory or no file is not', () => {
    expect(isCaBundleFile(file('leaf.pem', pki.certPem))).toBe(false);
    expect(isCaBundleFile(file('leaf-key.pem', pki.caPem + pki.keyPem))).toBe(false);
    expect(
      isCaBundleFile(file('junk.pem', '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n')),
    ).toBe(false);
    expect(isCaBundleFile(dir)).toBe(false);
    expect(isCaBundleFile(join(dir, 'missing.pem'))).toBe(false);
  });

  it('the child env points every inherited CA-bundle variable at gov bundle, and leaves the rest', () => {
    const ca = file('corp.pem', pki.caPem);
    const leaf = file('client.pem', pki.certPem);
    const env = buildChildEnv({
      parent: {
        MY_TOOL_CA: ca,
        GIT_SSL_CERT: leaf,
        PIP_CERT: '/etc/none',
        NODE_EXTRA_CA_CERTS: ca,
        HOME: '/',
      },
      proxyUrl: 'http://gov:t@127.0.0.1:1',
      caBundlePath: '/h/ca/bundle.pem',
      nodeExtraCaPath: '/h/ca/ca.pem',
      preloadPath: '/p.cjs',
      runId: 'r',
      keepNoProxy: false,
      placeholders: {},
      isCaBundleFile,
    });
    expect(env['MY_TOOL_CA']).toBe('/h/ca/bundle.pem');
    expect(env['PIP_CERT']).toBe('/h/ca/bundle.pem');
    expect(env['GIT_SSL_CERT']).toBe(leaf);
    expect(env['NODE_EXTRA_CA_CERTS']).toBe('/h/ca/ca.pem');
    expect(env['HOME']).toBe('/');
  });

  it('reads each inherited path once, however many variables name it', () => {
    const ca = file('shared.pem', pki.caPem);
    const asked: string[] = [];
    const env = buildChildEnv({
      parent: { A_CA: ca, B_CA: ca, C_CA: ca, SSL_CERT_FILE: ca, PWD: dir },
      proxyUrl: 'http://gov:t@127.0.0.1:1',
      caBundlePath: '/h/ca/bundle.pem',
      nodeExtraCaPath: '/h/ca/ca.pem',
      preloadPath: '/p.cjs',
      runId: 'r',
      keepNoProxy: false,
      placeholders: {},
      isCaBundleFile: (p) => {
        asked.push(p);
        return isCaBundleFile(p);
      },
    });
    expect([env['A_CA'], env['B_CA'], env['C_CA'], env['SSL_CERT_FILE']]).toEqual(
      Array(4).fill('/h/ca/bundle.pem'),
    );
    // SSL_CERT_FILE is replaced anyway: not read. PWD names a directory: read, not a bundle.
    expect(asked.sort()).toEqual([dir, ca].sort());
  });

  it('leaves an unchanged bundle.pem in place, and rewrites it when the CA changes', () => {
    const home = mkdtempSync(join(tmpdir(), 'gov-trust-'));
    const first = writeTrustFiles({ dir: home, run: 'r1', govCaPem: pki.caPem });
    const before = statSync(first.bundle).ino;
    writeTrustFiles({ dir: home, run: 'r2', govCaPem: pki.caPem });
    expect(statSync(first.bundle).ino).toBe(before);
    const other = makeThrowawayPki({ name: 'another CA', ips: ['127.0.0.1'], validDays: 1 });
    writeTrustFiles({ dir: home, run: 'r3', govCaPem: other.caPem });
    expect(readFileSync(first.bundle, 'utf8').endsWith(other.caPem)).toBe(true);
  });
});
