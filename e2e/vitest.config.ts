import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A shape boots several Node processes (and migrates a database) on a 2-CPU machine shared with other work.
    testTimeout: 90_000,
    hookTimeout: 180_000,
    // Files start whole shapes (API, worker, data planes, a Redis, a database): one at a time keeps ports, CPU and
    // failures readable.
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '../output/test-results/e2e.json' }]],
  },
});
