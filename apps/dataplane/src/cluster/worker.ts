import type { Logger } from 'pino';
import { createDataplane } from '../dataplane.js';
import type { DataplaneEnv } from '../env.js';
import { dataplaneOptionsFromEnv } from '../options-from-env.js';
import { isPrimaryMessage, type StartMessage, type WorkerMessage } from './protocol.js';

/**
 * A cluster worker: waits for its identity from the primary, runs a whole data plane on the primary's shared
 * listening socket (node:cluster hands it connections; the admin port is the primary's), reports readiness, status and
 * metrics when asked, and drains when told to — or when the primary is gone, or on its own SIGTERM/SIGINT (a signal
 * sent to the whole process group).
 */
export async function runWorker(env: DataplaneEnv, rootLogger: Logger): Promise<void> {
  const send = (message: WorkerMessage) => process.send?.(message);
  const start = await new Promise<StartMessage>((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isPrimaryMessage(message) || message.type !== 'gatehouse:start') return;
      process.off('message', onMessage);
      resolve(message);
    };
    process.on('message', onMessage);
    send({ type: 'gatehouse:hello' });
  });
  const logger = rootLogger.child({ worker: start.index });
  const dataplane = createDataplane(
    await dataplaneOptionsFromEnv(env, {
      logger,
      adminPort: null,
      dataplaneId: start.dataplaneId,
      writeLastKnownGood: start.writeLastKnownGood,
      gatewayPorts: [start.adminPort],
    }),
  );

  let draining: Promise<void> | undefined;
  const drain = (reason: string) => {
    draining ??= (async () => {
      logger.info({ reason }, 'worker draining');
      try {
        await dataplane.stop();
        process.exit(0);
      } catch (error) {
        logger.error({ err: error }, 'worker drain failed');
        process.exit(1);
      }
    })();
  };
  process.on('message', (message: unknown) => {
    if (!isPrimaryMessage(message)) return;
    if (message.type === 'gatehouse:drain') drain('primary');
    else if (message.type === 'gatehouse:report') {
      if (message.what === 'health')
        send({ type: 'gatehouse:health', requestId: message.requestId, ...dataplane.report() });
      else
        void dataplane.metrics.registry
          .getMetricsAsJSON()
          .then((metrics) => send({ type: 'gatehouse:metrics', requestId: message.requestId, metrics }));
    }
  });
  process.on('disconnect', () => drain('primary gone'));
  process.on('SIGTERM', () => drain('SIGTERM'));
  process.on('SIGINT', () => drain('SIGINT'));
  // A SIGHUP to the process group is the primary's to act on (rolling restart); by default it would end this worker.
  process.on('SIGHUP', () => undefined);

  try {
    const { port } = await dataplane.start();
    send({ type: 'gatehouse:ready', port });
  } catch (error) {
    logger.error({ err: error }, 'worker failed to start');
    process.exit(1);
  }
}
