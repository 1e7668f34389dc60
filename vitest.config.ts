import { defineConfig } from 'vitest/config';

// Tests start hundreds of Node processes (gov, agents, servers), and Node 20 reads a
// NODE_EXTRA_CA_CERTS file at every start: a system bundle there (as some CI images set it)
// cost each one about 0.1 s of CPU, a fifth of the suite's. No test reaches a public host;
// the ones about this variable set it themselves.
delete process.env['NODE_EXTRA_CA_CERTS'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: ['test/vault/keyring.test.ts', 'node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 3,
    // A worker runs its files one after another in one process: no module graph (vitest's,
    // gov's, the SDKs') is loaded again per file, about a third of a second each. Files keep
    // no state at module level that another file could see (spies are on instances, fake
    // timers are restored, every gov under test is its own process with its own home).
    isolate: false,
    teardownTimeout: 10_000,
    // Ink draws only a final frame when it believes it runs in CI; the UI tests need live frames.
    env: { CI: 'false', CONTINUOUS_INTEGRATION: 'false' },
  },
});
