import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { AppError } from './app-error';
import { ErrorCode } from './error-codes';
import { sendAppError } from './error-response';
import { LOGGER } from './logger';

/** Prisma's known request errors, recognized by shape so this filter does not import the database client. */
interface PrismaKnownRequestError {
  name: 'PrismaClientKnownRequestError';
  code: string;
  meta?: Record<string, unknown>;
}
function isPrismaKnownRequestError(error: unknown): error is PrismaKnownRequestError {
  return error instanceof Error && error.name === 'PrismaClientKnownRequestError' && 'code' in error;
}

/** Prisma codes meaning "the database is not there right now" (unreachable, timed out, pool exhausted). */
const UNAVAILABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2037']);
/** What the pg driver adapter reports for the same conditions. */
const UNAVAILABLE_ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
/** Postgres SQLSTATEs: query_canceled (statement_timeout), admin/crash shutdown, cannot connect now, too many connections. */
const UNAVAILABLE_SQLSTATES = new Set(['57014', '57P01', '57P02', '57P03', '53300']);
/**
 * Postgres refusing the text itself (22021: a NUL byte, which no text column can hold; 22P05: a character it cannot
 * convert) — an id in the URL like `%00` or a body string with `\u0000`. The request is bad, not the server: a 400,
 * never a 500. Prisma wraps the driver's error (meta.driverAdapterError.cause); raw queries throw it as it is.
 */
function isUnstorableText(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const meta = (error as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } } })
    .meta;
  const codes = [
    (error as { code?: unknown }).code,
    meta?.driverAdapterError?.cause?.originalCode,
    meta?.driverAdapterError?.cause?.code,
  ];
  return codes.some((code) => code === '22021' || code === '22P05');
}

/** Errors the pg driver throws as plain Errors (no Prisma wrapper) when a connection times out or drops. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|ECONNREFUSED|ECONNRESET|Can't reach database server|canceling statement due to statement timeout/i;
/** Seconds a client should wait before retrying while the database is away. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** True when `error` says the database is unreachable, overloaded or timed out, rather than that the request is bad. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'PrismaClientInitializationError') return true;
  if (isPrismaKnownRequestError(error)) {
    if (UNAVAILABLE_PRISMA_CODES.has(error.code)) return true;
    const cause = (
      error.meta?.driverAdapterError as { cause?: { kind?: string; code?: string; originalCode?: string } }
    )?.cause;
    if (cause?.kind !== undefined && UNAVAILABLE_ADAPTER_KINDS.has(cause.kind)) return true;
    if (cause?.originalCode !== undefined && UNAVAILABLE_SQLSTATES.has(cause.originalCode)) return true;
    if (cause?.code !== undefined && UNAVAILABLE_SQLSTATES.has(cause.code)) return true;
  }
  return UNAVAILABLE_MESSAGES.test(error.message);
}

/**
 * The one place errors become responses: `{error_code, message, details}` with the status mapped from the code.
 * Unknown errors are logged with their stack and answered with an opaque 500 carrying the request id.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    if (response.headersSent) {
      this.logger.error({ err: exception, req_id: (request as Request & { id?: unknown }).id }, 'error after headers');
      response.end();
      return;
    }
    sendAppError(request, response, this.toAppError(exception, request));
  }

  private toAppError(exception: unknown, request: Request): AppError {
    if (exception instanceof AppError) return exception;
    if (isUnstorableText(exception))
      return new AppError(
        ErrorCode.VALIDATION_FAILED,
        'The request contains a NUL character (\\u0000) or other text the database cannot store or look up',
      );
    if (isPrismaKnownRequestError(exception)) {
      if (exception.code === 'P2002')
        return new AppError(ErrorCode.CONFLICT, 'A record with these values already exists');
      if (exception.code === 'P2025') return new AppError(ErrorCode.NOT_FOUND, 'The record does not exist');
    }
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn(
        {
          err: exception,
          req_id: (request as Request & { id?: unknown }).id,
          method: request.method,
          url: request.url,
        },
        'database unavailable',
      );
      return new AppError(
        ErrorCode.SERVICE_UNAVAILABLE,
        'The database is unavailable or not answering; retry shortly',
        [],
        { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) },
      );
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 404) {
        return new AppError(ErrorCode.ROUTE_NOT_FOUND, `No route for ${request.method} ${request.path}`);
      }
      if (status === 413) return new AppError(ErrorCode.PAYLOAD_TOO_LARGE, 'The request body is too large');
      if (status === 400 && exception.cause instanceof SyntaxError) {
        return new AppError(ErrorCode.MALFORMED_JSON, 'The body is not valid JSON');
      }
      if (status >= 400 && status < 500) return new AppError(ErrorCode.VALIDATION_FAILED, exception.message);
    }
    this.logger.error(
      { err: exception, req_id: (request as Request & { id?: unknown }).id, method: request.method, url: request.url },
      'unhandled error',
    );
    return new AppError(ErrorCode.INTERNAL_ERROR, 'Internal error; quote the request id when reporting it');
  }
}
