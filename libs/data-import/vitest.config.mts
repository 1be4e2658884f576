import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@shardlab/source'] },
  ssr: { resolve: { conditions: ['@shardlab/source'] } },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
  },
});
