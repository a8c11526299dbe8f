import type { z } from 'zod';
import { type ErrorResponse, ErrorResponseSchema } from '@gatehouse/contracts';

/** A response body validated against its documented schema, so every test also checks the published contract. */
export function bodyOf<S extends z.ZodType>(response: { body: unknown }, schema: S): z.output<S> {
  return schema.parse(response.body);
}

/** The standard error body `{error_code, message, details}`. */
export function errorOf(response: { body: unknown }): ErrorResponse {
  return ErrorResponseSchema.parse(response.body);
}
