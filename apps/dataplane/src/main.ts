import { parseEnvironmentOrExit, runUntilSignal } from '@gatehouse/runtime';
import { createDataplane } from './dataplane.js';
import { parseDataplaneEnv } from './env.js';
import { createLogger } from './logger.js';
import { dataplaneOptionsFromEnv } from './options-from-env.js';

// The distributed shape's entry point: environment → options → data plane, run until SIGTERM/SIGINT.
const env = parseEnvironmentOrExit(() => parseDataplaneEnv(process.env));
const logger = createLogger(env.LOG_LEVEL);
await runUntilSignal(
  async () => {
    const dataplane = createDataplane(await dataplaneOptionsFromEnv(env, { logger }));
    const { port, adminPort } = await dataplane.start();
    // One machine-readable line for supervisors and tests that start the process on port 0.
    logger.info({ event: 'dataplane.ready', port, adminPort }, 'ready');
    return dataplane;
  },
  (dataplane) => dataplane.stop(),
  logger,
);
