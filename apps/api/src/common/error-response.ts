import type { Request, Response } from 'express';
import { z } from 'zod';
import { type AppError } from './app-error';

export const ErrorDetailSchema = z
  .object({
    code: z.string().optional(),
    message: z.string(),
    path: z.string().optional(),
    line: z.number().int().optional(),
    column: z.number().int().optional(),
  })
  .meta({ id: 'ErrorDetail' });

/** The one error body of the API (DESIGN.md §5). */
export const ErrorResponseSchema = z
  .object({
    error_code: z.string().meta({ description: 'Stable code, see src/common/error-codes.ts' }),
    message: z.string(),
    details: z.array(ErrorDetailSchema),
    request_id: z.string().optional(),
  })
  .meta({ id: 'ErrorResponse' });
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;

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
