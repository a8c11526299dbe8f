// `npm start` (through scripts/start.mjs): the embedded shape (DESIGN.md §2) — control plane, dashboard and one data
// plane in this process, on PGlite under GATEHOUSE_DATA_DIR unless DATABASE_URL is set, connected in-process unless
// REDIS_URL is set.
import { createLogger } from '@gatehouse/api/control-plane';
import { createLogger as createDataplaneLogger } from '@gatehouse/dataplane';
import { parseEnvironmentOrExit, runUntilSignal } from '@gatehouse/runtime';
import { describeEmbeddedGatehouse } from './banner.js';
import { DataDirectoryInUseError } from './data-directory-lock.js';
import { startEmbeddedGatehouse } from './embedded-gatehouse.js';
import { readEmbeddedEnvironment } from './environment.js';

const { env, dataplaneEnv } = parseEnvironmentOrExit(() => readEmbeddedEnvironment(process.env));
const logger = createLogger(env.LOG_LEVEL);
await runUntilSignal(
  async () => {
    const gatehouse = await startEmbeddedGatehouse({
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
    process.stdout.write(`${describeEmbeddedGatehouse(gatehouse, env, await gatehouse.setupRequired())}\n`);
    return gatehouse;
  },
  (gatehouse) => gatehouse.stop(),
  logger,
  { explainStartFailure },
);

/** Start-up failures an operator fixes by themselves get one line, not a stack trace. */
function explainStartFailure(error: unknown): string | undefined {
  if (error instanceof DataDirectoryInUseError) return `gatehouse: ${error.message}`;
  const { code, port } = error as { code?: unknown; port?: unknown };
  if (code === 'EADDRINUSE') {
    return `gatehouse: port ${String(port)} is already in use; stop what holds it or choose others with API_PORT, DATAPLANE_PORT and DATAPLANE_ADMIN_PORT`;
  }
  return undefined;
}
