/** What runUntilSignal logs through (a pino logger fits). */
export interface LifecycleLogger {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface RunUntilSignalOptions {
  /**
   * A one-line explanation of a start-up failure an operator fixes by themselves (a port in use, a locked data
   * directory); `undefined` prints the error with its stack.
   */
  explainStartFailure?: (error: unknown) => string | undefined;
}

/**
 * The lifecycle every Gatehouse process shares: start, then run until SIGTERM or SIGINT, stop, exit. The first signal
 * starts the drain; a second one is only acknowledged, so an impatient Ctrl-C (or an orchestrator repeating SIGTERM)
 * cannot cut a drain short by accident; a third one ends the process at once with exit 1. The exit code is 0 after a
 * clean stop and 1 when starting or stopping failed. Signals are handled here and nowhere else (no framework shutdown
 * hooks): each entry point's `stop` decides the order its parts stop in.
 */
export async function runUntilSignal<Running>(
  start: () => Promise<Running>,
  stop: (running: Running) => Promise<void>,
  logger: LifecycleLogger,
  options: RunUntilSignalOptions = {},
): Promise<void> {
  let running: Running;
  try {
    running = await start();
  } catch (error) {
    console.error(options.explainStartFailure?.(error) ?? error);
    process.exit(1);
  }
  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 2) {
      logger.info({ signal }, 'still draining; a third signal exits at once');
      return;
    }
    if (signals > 2) {
      logger.error({ signal }, 'exiting before the drain finished');
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down');
    stop(running).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
