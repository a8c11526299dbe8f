import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// Component and unit tests (jsdom). The browser walkthrough lives in e2e/ and runs in Debian Chromium instead.
export default defineConfig({
  plugins: [react()],
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test-setup.ts'],
    css: false,
    // Component tests drive a real React tree through user events; under a busy CI machine 5 s is too tight.
    testTimeout: 20_000,
    reporters: ['default', ['json', { outputFile: '../../output/test-results/dashboard.json' }]],
  },
});
