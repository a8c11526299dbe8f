import type { ArgumentsHost } from '@nestjs/common';
import { BadRequestException, NotFoundException } from '@nestjs/common';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { AppError } from './app-error';
import { ErrorCode, httpStatusForErrorCode } from './error-codes';

function run(exception: unknown): { status: number; body: unknown; headers: Record<string, string>; logged: string[] } {
  const logged: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => logged.push(line) });
  const result = { status: 0, body: undefined as unknown, headers: {} as Record<string, string>, logged };
  const response = {
    headersSent: false,
    setHeader: (name: string, value: string) => {
      result.headers[name] = value;
    },
    status(code: number) {
      result.status = code;
      return this;
    },
    json(body: unknown) {
      result.body = body;
      return this;
    },
  };
  const request = { id: 'req-1', method: 'GET', url: '/api/x', path: '/api/x' };
  const host = {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
  } as unknown as ArgumentsHost;
  new AllExceptionsFilter(logger).catch(exception, host);
  return result;
}

class FakePrismaError extends Error {
  override name = 'PrismaClientKnownRequestError';
  constructor(readonly code: string) {
    super('prisma');
  }
}

describe('AllExceptionsFilter', () => {
  it('shapes AppErrors with their mapped status, details and headers', () => {
    const result = run(
      new AppError(ErrorCode.LOGIN_RATE_LIMITED, 'slow down', [{ message: 'm', path: 'p' }], { 'retry-after': '7' }),
    );
    expect(result).toMatchObject({
      status: 429,
      headers: { 'retry-after': '7' },
      body: {
        error_code: 'LOGIN_RATE_LIMITED',
        message: 'slow down',
        details: [{ message: 'm', path: 'p' }],
        request_id: 'req-1',
      },
    });
  });

  it('maps Prisma unique and not-found errors to 409 and 404', () => {
    expect(run(new FakePrismaError('P2002'))).toMatchObject({ status: 409, body: { error_code: 'CONFLICT' } });
    expect(run(new FakePrismaError('P2025'))).toMatchObject({ status: 404, body: { error_code: 'NOT_FOUND' } });
  });

  it('maps Nest HTTP exceptions', () => {
    expect(run(new NotFoundException())).toMatchObject({ status: 404, body: { error_code: 'ROUTE_NOT_FOUND' } });
    expect(run(new BadRequestException('bad', { cause: new SyntaxError('x') }))).toMatchObject({
      status: 400,
      body: { error_code: 'MALFORMED_JSON' },
    });
  });

  it('answers unknown errors with an opaque 500 carrying the request id, and logs the stack', () => {
    const result = run(new Error('secret database password in a stack trace'));
    expect(result.status).toBe(500);
    expect(result.body).toEqual({
      error_code: 'INTERNAL_ERROR',
      message: 'Internal error; quote the request id when reporting it',
      details: [],
      request_id: 'req-1',
    });
    expect(JSON.stringify(result.body)).not.toContain('secret');
    expect(result.logged.join('')).toContain('secret database password');
  });

  it('maps every error code to a 4xx or 5xx status', () => {
    for (const code of Object.values(ErrorCode)) {
      const status = httpStatusForErrorCode(code);
      expect(status >= 400 && status < 600, code).toBe(true);
    }
  });
});
