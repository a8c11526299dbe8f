import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // One file starts the server as a child process; running files one at a time keeps the 2-CPU machine predictable.
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '../../output/test-results/example-mcp-server.json' }]],
  },
});
