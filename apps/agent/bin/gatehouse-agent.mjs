#!/usr/bin/env node
// npm links bins at install time, before anything is built (it skips bins whose file is missing), so this lives
// outside dist/ and loads the build.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('gatehouse-agent: not built yet; run `npm run build` at the repository root');
  process.exit(1);
}
await import(main.href);
