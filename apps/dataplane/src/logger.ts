import { pino, type Logger, type LoggerOptions } from 'pino';

/** Header names whose values never reach a log line, wherever they appear in a logged object. */
export const secretHeaderNames = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'] as const;

export function createLogger(level: LoggerOptions['level'], destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'gatehouse-dataplane' },
    // RFC 3339 like the control plane's lines: the embedded shape interleaves both in one stream.
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: secretHeaderNames.flatMap((name) => [`*.headers["${name}"]`, `headers["${name}"]`]),
      censor: '[REDACTED]',
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
