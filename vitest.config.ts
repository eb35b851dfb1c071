import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    testTimeout: 30_000,
    // Set-up starts servers and browsers: on a loaded 2-core machine that can take a while.
    hookTimeout: 60_000,
    // Real processes and files: two cores, so keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
  },
});
