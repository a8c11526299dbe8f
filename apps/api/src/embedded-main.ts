// `npm start`: the embedded shape (DESIGN.md §2) — control plane, dashboard and one data plane in this process, on
// PGlite under GATEHOUSE_DATA_DIR unless DATABASE_URL is set, connected in-process unless REDIS_URL is set.
import type { DataplaneEnv } from '@gatehouse/dataplane';
import { AuthService } from './auth/auth.service';
import { createLogger } from './common/logger';
import { DataDirectoryInUseError } from './embedded/data-directory-lock';
import { type EmbeddedGatehouse, startEmbedded } from './embedded/embedded';
import { type Env, EnvError, parseEnv } from './env';

/** Both halves of the environment, every problem of both listed at once. */
async function readEnvironment(source: NodeJS.ProcessEnv): Promise<{ env: Env; dataplaneEnv: DataplaneEnv }> {
  const dataplane = await import('@gatehouse/dataplane');
  const problems: string[] = [];
  let env: Env | undefined;
  let dataplaneEnv: DataplaneEnv | undefined;
  try {
    env = parseEnv(source);
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    problems.push(...error.problems);
  }
  try {
    // The token is the control plane's own (generated per boot unless set): the data plane presents it in-process.
    dataplaneEnv = dataplane.parseDataplaneEnv({
      ...source,
      GATEHOUSE_DATAPLANE_TOKEN: env?.GATEHOUSE_DATAPLANE_TOKEN ?? 'unused-when-the-control-plane-env-is-invalid',
    });
  } catch (error) {
    if (!(error instanceof dataplane.EnvError)) throw error;
    problems.push(...error.problems);
  }
  if (!env || !dataplaneEnv || problems.length > 0) throw new EnvError(problems);
  return { env, dataplaneEnv };
}

function banner(gatehouse: EmbeddedGatehouse, env: Env, setupRequired: boolean): string {
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

async function main(): Promise<void> {
  let environment;
  try {
    environment = await readEnvironment(process.env);
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const { env, dataplaneEnv } = environment;
  const logger = createLogger(env.LOG_LEVEL);
  const { createLogger: createDataplaneLogger } = await import('@gatehouse/dataplane');
  const gatehouse = await startEmbedded({
    env,
    dataplaneEnv,
    logger,
    dataplaneLogger: createDataplaneLogger(env.LOG_LEVEL),
  });
  // The line scripts and tests wait for, then the human-readable summary.
  logger.info(
    { event: 'gatehouse.ready', api_port: gatehouse.apiPort, dataplane_port: gatehouse.dataplanePort },
    'ready',
  );
  process.stdout.write(`${banner(gatehouse, env, await setupRequired())}\n`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    gatehouse.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  async function setupRequired(): Promise<boolean> {
    return (await gatehouse.app.get(AuthService, { strict: false }).getSetupStatus()).setup_required;
  }
}

/** Start-up failures an operator fixes by themselves get one line, not a stack trace. */
function explain(error: unknown): string | undefined {
  if (error instanceof DataDirectoryInUseError) return error.message;
  const { code, port } = error as { code?: unknown; port?: unknown };
  if (code === 'EADDRINUSE') {
    return `port ${String(port)} is already in use; stop what holds it or choose others with API_PORT, DATAPLANE_PORT and DATAPLANE_ADMIN_PORT`;
  }
  return undefined;
}

main().catch((error: unknown) => {
  const explanation = explain(error);
  console.error(explanation === undefined ? error : `gatehouse: ${explanation}`);
  process.exit(1);
});
