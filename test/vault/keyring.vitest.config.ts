// Runs only the real-keyring test (the main vitest.config.ts excludes it from the default run).
// Usage, inside a session bus with gnome-keyring unlocked:
//   npx vitest run --config test/vault/keyring.vitest.config.ts
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/vault/keyring.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
