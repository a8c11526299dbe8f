import type { ErrorResponse } from '@gatehouse/contracts';
import type { Request, Response } from 'express';
import { type AppError } from './app-error';

export function requestIdOf(request: Request): string | undefined {
  const id = (request as Request & { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

export function sendAppError(request: Request, response: Response, error: AppError): void {
  const body: ErrorResponse = {
    error_code: error.code,
    message: error.message,
    details: error.details,
    request_id: requestIdOf(request),
  };
  for (const [name, value] of Object.entries(error.headers)) response.setHeader(name, value);
  response.status(error.status).json(body);
}
