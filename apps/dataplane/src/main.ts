import { parseEnvironmentOrExit, runUntilSignal } from '@gatehouse/runtime';
import { createDataplane } from './dataplane.js';
import { parseDataplaneEnv } from './env.js';
import { createLogger } from './logger.js';
import { dataplaneOptionsFromEnv } from './options-from-env.js';

// The distributed shape's entry point: environment → options → data plane, run until SIGTERM/SIGINT. With
// DATAPLANE_WORKERS > 1 this process is the cluster primary (it owns the ports, forks the workers, answers the admin
// port, rolls the workers on SIGHUP) and each forked worker runs this file again as a whole data plane. node:cluster
// and the cluster modules (prom-client's aggregator among them) load only then: a single process's boot (issue 18
// item 5: serving within 1 s) does not pay for them.
const env = parseEnvironmentOrExit(() => parseDataplaneEnv(process.env));
const logger = createLogger(env.LOG_LEVEL);

const cluster = env.DATAPLANE_WORKERS > 1 ? (await import('node:cluster')).default : undefined;

if (cluster?.isWorker === true) {
  const { runWorker } = await import('./cluster/worker.js');
  await runWorker(env, logger);
} else if (cluster !== undefined) {
  const { ClusterPrimary } = await import('./cluster/primary.js');
  await runUntilSignal(
    async () => {
      const primary = new ClusterPrimary(env, logger);
      const { port, adminPort } = await primary.start();
      process.on('SIGHUP', () => void primary.restart());
      // One machine-readable line for supervisors and tests that start the process on port 0.
      logger.info({ event: 'dataplane.ready', port, adminPort, workers: env.DATAPLANE_WORKERS }, 'ready');
      return primary;
    },
    (primary) => primary.stop(),
    logger,
  );
} else {
  // A single process has no one to hand its socket to: a restart signal would only end it (SIGHUP's default).
  process.on('SIGHUP', () => logger.warn('SIGHUP ignored: a rolling restart needs DATAPLANE_WORKERS of 2 or more'));
  await runUntilSignal(
    async () => {
      const dataplane = createDataplane(await dataplaneOptionsFromEnv(env, { logger }));
      const { port, adminPort } = await dataplane.start();
      logger.info({ event: 'dataplane.ready', port, adminPort, workers: 1 }, 'ready');
      return dataplane;
    },
    (dataplane) => dataplane.stop(),
    logger,
  );
}
