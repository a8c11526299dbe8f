import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The signal tests start a Node child per case (tsx loads TypeScript): seconds on a loaded two-core machine.
    testTimeout: 30_000,
    reporters: ['default', ['json', { outputFile: '../../output/test-results/runtime.json' }]],
  },
});
