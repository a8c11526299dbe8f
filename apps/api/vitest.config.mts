import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Nest's dependency injection reads constructor types from decorator metadata, which esbuild does not emit.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Every file shares one Postgres database and truncates it: run files one after another.
    fileParallelism: false,
    // One worker keeps its module cache across files: Nest, Prisma and the engine load once, not once per file.
    isolate: false,
    testTimeout: 20_000,
    reporters: ['default', ['json', { outputFile: '../../output/test-results/api.json' }]],
    hookTimeout: 30_000,
  },
});
