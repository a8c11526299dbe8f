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
    if (isPrismaKnownRequestError(exception)) {
      if (exception.code === 'P2002')
        return new AppError(ErrorCode.CONFLICT, 'A record with these values already exists');
      if (exception.code === 'P2025') return new AppError(ErrorCode.NOT_FOUND, 'The record does not exist');
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
