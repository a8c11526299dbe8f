// `npm run test:e2e`: runs every *.test.mjs here with node's test runner (Node 20 takes a directory, not a glob).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const directory = fileURLToPath(new URL('.', import.meta.url));
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', directory], { stdio: 'inherit' });
process.exit(result.status ?? 1);
