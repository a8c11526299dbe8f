import type { Env } from '@gatehouse/api/control-plane';
import type { EmbeddedGatehouse } from './embedded-gatehouse.js';

/** The human-readable summary printed once the embedded shape is ready (after the machine-readable ready line). */
export function describeEmbeddedGatehouse(gatehouse: EmbeddedGatehouse, env: Env, setupRequired: boolean): string {
  const api = `http://127.0.0.1:${gatehouse.apiPort}`;
  const signIn = setupRequired
    ? `open the dashboard and create the first admin (first-run setup)`
    : env.GATEHOUSE_ADMIN_EMAIL
      ? `sign in as ${env.GATEHOUSE_ADMIN_EMAIL} (GATEHOUSE_ADMIN_PASSWORD)`
      : 'sign in with your admin account';
  const storage =
    gatehouse.storage.kind === 'pglite'
      ? `PGlite in ${gatehouse.storage.directory}`
      : `Postgres at ${gatehouse.storage.database}`;
  return [
    '',
    'Gatehouse is running (embedded: control plane, dashboard and data plane in one process)',
    `  dashboard   ${api}/   — ${signIn}`,
    `  REST API    ${api}/api   (Swagger UI at ${api}/api/docs)`,
    `  traffic     http://127.0.0.1:${gatehouse.dataplanePort}   (routes by Host to your endpoints)`,
    ...(gatehouse.adminPort === null
      ? []
      : [`  data plane  http://127.0.0.1:${gatehouse.adminPort}/status   (/healthz, /readyz, /metrics)`]),
    `  data        ${storage}; config events via ${gatehouse.bus === 'redis' ? 'Redis' : 'the in-process bus'}`,
    '  Ctrl-C stops it; restarting keeps every endpoint, policy version and log.',
    '',
  ].join('\n');
}
