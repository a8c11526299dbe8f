// `npm start`: runs Gatehouse on this machine — migrates the database, then starts the control plane (which serves the
// dashboard at /) and one data plane, sharing a generated data-plane token, and prints where everything is.
// Until the embedded one-process shape exists this needs Postgres and Redis; unset DATABASE_URL / REDIS_URL default
// to the local servers. Ctrl-C stops both processes.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const environment = {
  ...process.env,
  DATABASE_URL: process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/gatehouse',
  REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
  GATEHOUSE_DATAPLANE_TOKEN: process.env.GATEHOUSE_DATAPLANE_TOKEN || randomBytes(32).toString('base64url'),
};
const apiPort = environment.API_PORT || '4000';
environment.GATEHOUSE_API_URL ||= `http://127.0.0.1:${apiPort}`;

function run(name, args, options = {}) {
  const child = spawn(process.execPath, args, { cwd: root, env: environment, stdio: options.stdio ?? 'inherit' });
  child.on('exit', (code, signal) => {
    if (options.oneShot) return;
    console.error(`gatehouse: ${name} exited (${signal ?? code}); stopping`);
    shutdown(typeof code === 'number' && code !== 0 ? code : 1);
  });
  return child;
}

const running = [];
function shutdown(code) {
  for (const child of running) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 200).unref();
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

const migrate = run('db:migrate', ['apps/api/scripts/db-migrate.mjs'], { oneShot: true });
const migrated = await new Promise((resolve) => migrate.on('exit', (code) => resolve(code === 0)));
if (!migrated) {
  console.error(
    `gatehouse: could not migrate ${environment.DATABASE_URL} — is Postgres running? (see README, "Quick start")`,
  );
  process.exit(1);
}

running.push(run('api', ['apps/api/dist/main.js']));
running.push(run('dataplane', ['apps/dataplane/dist/main.js']));

const dataplanePort = environment.DATAPLANE_PORT || '8080';
const adminPort = environment.DATAPLANE_ADMIN_PORT || '8081';
console.log(`
Gatehouse is starting:
  dashboard     http://127.0.0.1:${apiPort}/   (first visit: create the admin${environment.GATEHOUSE_ADMIN_EMAIL ? `, or sign in as ${environment.GATEHOUSE_ADMIN_EMAIL}` : ''})
  REST API      http://127.0.0.1:${apiPort}/api   (Swagger UI at /api/docs)
  traffic       http://127.0.0.1:${dataplanePort}   (routes by Host to your endpoints)
  data plane    http://127.0.0.1:${adminPort}/status   (/healthz, /readyz, /metrics)
`);
