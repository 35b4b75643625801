import { defineConfig } from 'vitest/config';

const shared = {
  // Worker threads break the Temporal SDK's native module; forks do not.
  pool: 'forks' as const,
  testTimeout: 60_000,
  hookTimeout: 180_000,
  teardownTimeout: 30_000,
};

/**
 * Two projects: `unit` needs nothing running (npm run test:unit, seconds); `stack` gets one PostgreSQL, one Temporal
 * dev server and the workflow bundle from the global setup. `npm test` runs both.
 */
export default defineConfig({
  test: {
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      { test: { ...shared, name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          ...shared,
          name: 'stack',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**'],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
