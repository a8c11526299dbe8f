import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatContentSecurityPolicy } from '@gatehouse/contracts';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// monaco-editor >= 0.5x has an "exports" map ("./*" -> "./esm/vs/*.js"), so deep imports such as
// "monaco-editor/esm/vs/editor/editor.worker.js" (used by monaco-worker-manager, a monaco-yaml dependency) no longer
// resolve. Alias them back to the real files.
const monacoEsmVs = dirname(fileURLToPath(import.meta.resolve('monaco-editor')));

// Where `vite dev` and `vite preview` send /api. In production the API serves the built dashboard itself, same origin.
const apiTarget = process.env.GATEHOUSE_DASHBOARD_API_URL ?? 'http://127.0.0.1:4000';
const apiProxy = { '/api': { target: apiTarget, changeOrigin: false } };
// `vite preview` (what the Chromium walkthrough drives) serves the build under the production CSP the API sends, so a
// change that needs a looser policy fails that test instead of production. (`vite dev` injects inline scripts: none.)
const previewHeaders = { 'content-security-policy': formatContentSecurityPolicy() };

export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: [{ find: /^monaco-editor\/esm\/vs\/(.*)$/, replacement: `${monacoEsmVs}/$1` }],
  },
  // monaco-yaml's worker is pre-bundled up front so the dev server does not reload the page when it first loads.
  optimizeDeps: { include: ['monaco-yaml/yaml.worker.js'] },
  build: { chunkSizeWarningLimit: 8000, sourcemap: false },
  worker: { format: 'es' },
  server: { host: '127.0.0.1', port: 5173, proxy: apiProxy },
  preview: { host: '127.0.0.1', port: 4173, proxy: apiProxy, headers: previewHeaders },
});
