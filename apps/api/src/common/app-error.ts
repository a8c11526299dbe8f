import type { ErrorDetail } from '@gatehouse/contracts';
import { type ErrorCode, httpStatusForErrorCode } from './error-codes';

/** The error every service throws; the exception filter turns it into `{error_code, message, details}`. */
export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
    /** Extra response headers, e.g. retry-after. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = httpStatusForErrorCode(code);
  }
}
