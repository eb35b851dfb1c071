import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Real processes and files: two cores, so keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
  },
});
