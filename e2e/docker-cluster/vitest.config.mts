import { defineConfig } from 'vitest/config';

/**
 * Integration tests against a real Docker engine: images are built once per run in
 * src/global-setup.ts (deploy/build-images.sh, offline, never pulls), then every test starts its
 * own containers. One file at a time, one test at a time (2 cores), explicit timeouts, no retries.
 */
export default defineConfig({
  resolve: { conditions: ['@shardlab/source'] },
  ssr: { resolve: { conditions: ['@shardlab/source'] } },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['src/global-setup.ts'],
    // testcontainers: no Ryuk reaper container (it would have to be pulled; the tests clean up
    // after themselves), and containers' mapped ports are reached on localhost.
    env: {
      TESTCONTAINERS_RYUK_DISABLED: 'true',
      TESTCONTAINERS_HOST_OVERRIDE: 'localhost',
    },
    fileParallelism: false,
    sequence: { concurrent: false },
    retry: 0,
    testTimeout: 240_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
  },
});
