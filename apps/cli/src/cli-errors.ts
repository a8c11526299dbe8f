// The CLI's failures and their exit codes. Commands throw these; main.ts is the one place that prints them and exits.

/** Stable exit codes (documented in README.md). */
export const ExitCode = {
  OK: 0,
  /** Any failure: API error, network error, invalid file, refused operation. */
  ERROR: 1,
  /** Bad command line; also `diff` when changes are pending (like `terraform plan -detailed-exitcode`). */
  USAGE: 2,
  CHANGES_PENDING: 2,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.ERROR,
    /** Extra lines printed under the message (one problem each). */
    readonly detailLines: readonly string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A command line the CLI cannot run: unknown command or option, missing argument, refused without --yes. */
export class UsageError extends CliError {
  constructor(
    message: string,
    /** The command whose help explains the fix, e.g. `endpoints create`. */
    readonly command?: string,
  ) {
    super(message, ExitCode.USAGE);
    this.name = 'UsageError';
  }
}

/** One entry of the API's error `details` (apps/api/src/common/error-response.ts). */
export interface ApiErrorDetail {
  code?: string | undefined;
  message: string;
  path?: string | undefined;
  line?: number | undefined;
  column?: number | undefined;
}

/** An error body from the API: `{error_code, message, details, request_id}`. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly ApiErrorDetail[] = [],
    readonly requestId?: string,
  ) {
    super(message, ExitCode.ERROR, details.map(formatApiErrorDetail));
    this.name = 'ApiError';
  }
}

/** The API could not be reached at all (refused, DNS, TLS, timeout). */
export class NetworkError extends CliError {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`could not reach the Gatehouse API at ${url}: ${reason}`);
    this.name = 'NetworkError';
  }
}

export function formatApiErrorDetail(detail: ApiErrorDetail): string {
  const position = detail.line !== undefined ? `${detail.line}:${detail.column ?? 1} ` : '';
  const code = detail.code !== undefined ? `${detail.code} ` : '';
  const path = detail.path !== undefined && detail.path !== '' && position === '' ? `${detail.path}: ` : '';
  return `${position}${code}${path}${detail.message}`;
}

/** The lines main.ts prints to stderr for a failure. */
export function formatError(error: CliError): string[] {
  const head = error instanceof ApiError ? `error ${error.code}: ${error.message}` : `error: ${error.message}`;
  const lines = [head, ...error.detailLines.map((line) => `  ${line}`)];
  if (error instanceof ApiError && error.requestId !== undefined) lines.push(`  (request id ${error.requestId})`);
  if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') {
    lines.push('  hint: run `gatehouse login`, or set GATEHOUSE_API_KEY');
  }
  if (error instanceof UsageError && error.command !== undefined) {
    lines.push(`  see: gatehouse ${error.command} --help`);
  }
  return lines;
}
