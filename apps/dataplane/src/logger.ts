import { createLogger as createProcessLogger } from '@gatehouse/runtime';
import type { Logger, LoggerOptions } from 'pino';

/** The data plane's pino logger (the shared factory: JSON lines, RFC 3339 times, secret headers redacted). */
export function createLogger(level: LoggerOptions['level'], destination?: NodeJS.WritableStream): Logger {
  return createProcessLogger('gatehouse-dataplane', level, destination);
}
