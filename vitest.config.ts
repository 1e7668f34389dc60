import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: ['test/vault/keyring.test.ts', 'node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 3,
    teardownTimeout: 10_000,
    // Ink draws only a final frame when it believes it runs in CI; the UI tests need live frames.
    env: { CI: 'false', CONTINUOUS_INTEGRATION: 'false' },
  },
});
