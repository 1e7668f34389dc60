import { describe, expect, it } from 'vitest';
import { buildChildEnv, CA_BUNDLE_VARS, PROXY_VARS } from '../../src/launcher/child-env.js';
import { exitCodeFor } from '../../src/launcher/spawn-child.js';

const base = {
  proxyUrl: 'http://gov:tok@127.0.0.1:4000',
  caBundlePath: '/h/ca/bundle.pem',
  nodeExtraCaPath: '/h/ca/ca.pem',
  preloadPath: '/opt/gov/preload/node-proxy.cjs',
  runId: 'r1',
  keepNoProxy: false,
  placeholders: { GITHUB_TOKEN: 'gov-ph-github-token-abc' },
};

describe('the child environment', () => {
  it('sets every proxy and CA variable, overriding inherited ones', () => {
    const env = buildChildEnv({
      ...base,
      parent: { HTTP_PROXY: 'http://corp:3128', SSL_CERT_FILE: '/x', PATH: '/bin', NODE_USE_ENV_PROXY: '1' },
    });
    for (const k of PROXY_VARS) expect(env[k]).toBe(base.proxyUrl);
    for (const k of CA_BUNDLE_VARS) expect(env[k]).toBe(base.caBundlePath);
    expect(env['NODE_EXTRA_CA_CERTS']).toBe(base.nodeExtraCaPath);
    expect(env['PATH']).toBe('/bin');
    expect(env['GOV_RUN_ID']).toBe('r1');
    expect(env['NODE_USE_ENV_PROXY']).toBeUndefined();
  });

  it('removes NO_PROXY unless asked to keep it', () => {
    const parent = { NO_PROXY: 'localhost', no_proxy: '127.0.0.1' };
    const env = buildChildEnv({ ...base, parent });
    expect(env['NO_PROXY']).toBeUndefined();
    expect(env['no_proxy']).toBeUndefined();
    expect(buildChildEnv({ ...base, parent, keepNoProxy: true })['NO_PROXY']).toBe('localhost');
  });

  it("strips gov's own settings, above all the vault passphrase", () => {
    const env = buildChildEnv({
      ...base,
      parent: { GOV_VAULT_PASSPHRASE: 'hunter2', GOV_HOME: '/h', GOV_DEBUG: '1' },
    });
    expect(Object.keys(env).filter((k) => k.startsWith('GOV_'))).toEqual(['GOV_RUN_ID']);
    expect(JSON.stringify(env)).not.toContain('hunter2');
  });

  it('appends the preload to NODE_OPTIONS, quoting paths with spaces', () => {
    const env = buildChildEnv({ ...base, parent: { NODE_OPTIONS: '--max-old-space-size=512' } });
    expect(env['NODE_OPTIONS']).toBe('--max-old-space-size=512 --require /opt/gov/preload/node-proxy.cjs');
    const spaced = buildChildEnv({ ...base, preloadPath: '/my dir/p.cjs', parent: {} });
    expect(spaced['NODE_OPTIONS']).toBe('--require "/my dir/p.cjs"');
  });

  it('gives credential placeholders, never values', () => {
    const env = buildChildEnv({ ...base, parent: { GITHUB_TOKEN: 'ghp_real' } });
    expect(env['GITHUB_TOKEN']).toBe('gov-ph-github-token-abc');
  });

  it('maps exits to codes: own code, or 128+signal', () => {
    expect(exitCodeFor(3, null)).toBe(3);
    expect(exitCodeFor(null, 'SIGTERM')).toBe(143);
    expect(exitCodeFor(null, 'SIGKILL')).toBe(137);
  });
});
