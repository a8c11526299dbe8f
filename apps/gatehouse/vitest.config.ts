import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Each file boots a whole embedded Gatehouse (PGlite created and migrated) on a 2-CPU machine shared with others.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // One at a time: each file owns ports and a data directory, and PGlite is CPU-heavy while it migrates.
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '../../output/test-results/gatehouse.json' }]],
  },
});
