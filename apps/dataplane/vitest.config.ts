import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Files start real servers, Redis children and data plane processes; running them one at a time keeps ports,
    // CPU and Redis keys from interfering and keeps failures readable.
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '../../output/test-results/dataplane.json' }]],
  },
});
