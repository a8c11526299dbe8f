import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Builds dist/ (the integration tests run the real binary) and checks that the API is built.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    // The integration files each start API processes on their own databases; one file at a time keeps the two
    // shared cores, ports and Postgres connections from interfering and keeps failures readable.
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '../../output/test-results/cli.json' }]],
  },
});
