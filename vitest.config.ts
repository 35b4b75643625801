import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Worker threads break the Temporal SDK's native module; forks do not.
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
