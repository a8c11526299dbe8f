// Local policy validation with the same engine the API runs, so problems show up with file:line:col before any
// request (and `policy validate` needs no server).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { EndpointType } from '@gatehouse/contracts';
import { type ValidationResult, validatePolicy } from '@gatehouse/traffic-policy';
import { CliError } from './cli-errors.js';
import { formatIssue, type Io, type PositionedIssue } from './output.js';
import { readAllStdin } from './prompt.js';

export interface PolicySource {
  text: string;
  /** How issues name the file: the path as given, or `<stdin>`. */
  name: string;
}

/** `-f FILE`, or `-f -` for stdin. */
export async function readPolicySource(io: Io, file: string): Promise<PolicySource> {
  if (file === '-') return { text: await readAllStdin(io), name: '<stdin>' };
  try {
    return { text: await readFile(resolve(io.cwd, file), 'utf8'), name: file };
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export function validatePolicyText(
  text: string,
  endpointType: EndpointType,
  internalEndpointUrls?: ReadonlySet<string>,
): ValidationResult {
  return validatePolicy(text, {
    endpointType,
    ...(internalEndpointUrls === undefined ? {} : { internalEndpointUrls }),
  });
}

/** The API's warnings for a saved policy, on stderr in the same format. */
export function printPolicyWarnings(io: Io, name: string, warnings: readonly PositionedIssue[] | undefined): void {
  for (const warning of warnings ?? []) io.stderr(`${formatIssue(name, { ...warning, severity: 'warning' })}\n`);
}

/** Every issue as `file:line:col CODE message`, errors first. */
export function formatValidation(name: string, result: ValidationResult): string[] {
  return [...result.errors, ...result.warnings].map((issue) => formatIssue(name, issue));
}

/**
 * Validates before a save and throws (exit 1) with every error. Warnings are left to the API's answer, which knows the
 * registered internal endpoints (unknown forward-internal targets).
 */
export function assertPolicyValid(source: PolicySource, endpointType: EndpointType): void {
  const result = validatePolicyText(source.text, endpointType);
  if (!result.valid) {
    throw new CliError(
      `${source.name} is not a valid ${endpointType} policy (${result.errors.length} error${result.errors.length === 1 ? '' : 's'}); nothing was saved`,
      1,
      result.errors.map((issue) => formatIssue(source.name, issue)),
    );
  }
}
