import { defineConfig } from 'vitest/config';

// Only the real Secret Service test (run by scripts/test-keyring.sh inside dbus-run-session).
export default defineConfig({
  test: { include: ['test/vault/keyring.test.ts'], testTimeout: 30_000, pool: 'forks' },
});
