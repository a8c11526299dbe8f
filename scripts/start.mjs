// `npm start` (after building): Gatehouse in its embedded shape (DESIGN.md §2) — control plane, dashboard and one
// data plane in this one process, composed by apps/gatehouse. With no DATABASE_URL the data lives in PGlite under
// GATEHOUSE_DATA_DIR (default ./.gatehouse, migrated at boot); with no REDIS_URL config events, rate-limit counters
// and request logs stay in-process. Nothing else needs to be installed. The distributed shape is docker-compose.yml
// (see README).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../apps/gatehouse/dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('gatehouse: not built yet — run `npm start` (it builds first) or `npm run build`');
  process.exit(1);
}
await import(entry.href);
