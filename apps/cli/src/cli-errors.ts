// The CLI's failures and their exit codes. Commands throw these, and the API client rejects with its ApiError; cli.ts
// is the one place that prints either and exits.
import { ApiError } from '@gatehouse/api-client';
import type { ErrorDetail } from '@gatehouse/contracts';

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

/** What the CLI reports and exits with; anything else thrown is a bug. */
export type ReportedError = CliError | ApiError;

export function isReportedError(error: unknown): error is ReportedError {
  return error instanceof CliError || error instanceof ApiError;
}

/** Every failed API call, refused or unanswered, is an error (1); only the command line itself is a usage error. */
export function exitCodeOf(error: ReportedError): number {
  return error instanceof ApiError ? ExitCode.ERROR : error.exitCode;
}

export function formatApiErrorDetail(detail: ErrorDetail): string {
  const position = detail.line !== undefined ? `${detail.line}:${detail.column ?? 1} ` : '';
  const code = detail.code !== undefined ? `${detail.code} ` : '';
  const path = detail.path !== undefined && detail.path !== '' && position === '' ? `${detail.path}: ` : '';
  return `${position}${code}${path}${detail.message}`;
}

function formatApiError(error: ApiError): string[] {
  // No answer means no code from the API: the message names the URL and the reason (refused, timed out, …).
  const head = error.status === 0 ? `error: ${error.message}` : `error ${error.code}: ${error.message}`;
  const lines = [head, ...error.details.map((detail) => `  ${formatApiErrorDetail(detail)}`)];
  if (error.requestId !== undefined) lines.push(`  (request id ${error.requestId})`);
  if (error.code === 'UNAUTHENTICATED') lines.push('  hint: run `gatehouse login`, or set GATEHOUSE_API_KEY');
  return lines;
}

/** The lines cli.ts prints to stderr for a failure. */
export function formatError(error: ReportedError): string[] {
  if (error instanceof ApiError) return formatApiError(error);
  const lines = [`error: ${error.message}`, ...error.detailLines.map((line) => `  ${line}`)];
  if (error instanceof UsageError && error.command !== undefined) {
    lines.push(`  see: gatehouse ${error.command} --help`);
  }
  return lines;
}
