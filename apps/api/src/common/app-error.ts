import { type ErrorCode, httpStatusForErrorCode } from './error-codes';

/** One problem in an error body's `details`. Policy issues add line/column so editors can place a marker. */
export interface ErrorDetail {
  code?: string;
  message: string;
  path?: string;
  line?: number;
  column?: number;
}

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
