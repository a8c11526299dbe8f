#!/usr/bin/env node
// The `gatehouse` bin npm links at install time, before anything is built (npm skips bins whose file is missing),
// so it lives outside dist/ and loads the build.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('gatehouse: the CLI is not built yet; run `npm run build` (or `npm start`) at the repository root');
  process.exit(1);
}
await import(main.href);
