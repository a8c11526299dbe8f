import { alwaysRedactedHeaders } from '@gatehouse/contracts';
import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * A process's pino logger: JSON lines naming the service, RFC 3339 timestamps (the embedded shape interleaves the
 * control plane's and the data plane's lines in one stream) and secret header values redacted in any logged object.
 */
export function createLogger(
  service: string,
  level: LoggerOptions['level'],
  destination?: NodeJS.WritableStream,
): Logger {
  const options: LoggerOptions = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      // The headers the request log never stores (DESIGN.md §7) never reach a log line either.
      paths: alwaysRedactedHeaders.flatMap((name) => [`*.headers["${name}"]`, `headers["${name}"]`]),
      censor: '[REDACTED]',
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
