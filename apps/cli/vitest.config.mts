import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@shardlab/source'] },
  ssr: { resolve: { conditions: ['@shardlab/source'] } },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    // Fresh browser bundles (report.html's and the dashboard's script) for the tests that open the pages.
    globalSetup: ['../../tools/bundle-browser.mjs'],
    testTimeout: 60_000,
  },
});
