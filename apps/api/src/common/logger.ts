import { createLogger as createProcessLogger } from '@gatehouse/runtime';
import { type LoggerService } from '@nestjs/common';
import type { Logger } from 'pino';

/** The control plane's pino logger (the shared factory: JSON lines, RFC 3339 times, secret headers redacted). */
export function createLogger(level: string): Logger {
  return createProcessLogger('gatehouse-api', level);
}

const BOOT_CHATTER = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/** Routes Nest's own log lines (bootstrap, route mapping) through pino, so every line is JSON. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    // Module loading and route mapping (dozens of lines per boot) say nothing an operator acts on.
    if (context !== undefined && BOOT_CHATTER.has(context)) this.logger.debug({ context }, String(message));
    else this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}

/** Nest injection token for the pino Logger. */
export const LOGGER = Symbol('LOGGER');
