import { defineConfig } from 'vitest/config';

// Three projects: unit tests sit beside the code they test; integration tests pair
// our client with our server on loopback; interop tests need the real peers that
// scripts/peers starts (Dovecot) or installs (mpop, fetchmail, poplib).
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['src/**/*.test.ts'], testTimeout: 20_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          // cli-*.test.ts run the built binary: compile it once before the project starts.
          globalSetup: ['test/integration/cli-global-setup.ts'],
        },
      },
      {
        test: {
          name: 'interop',
          globalSetup: ['test/interop/global-setup.ts'],
          include: ['test/interop/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
