import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCaBundleFile } from '../../src/launcher/ca-bundle.js';
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
});
