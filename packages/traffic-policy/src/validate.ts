import { analyzePolicy, type PolicyOptions } from './compile.js';
import type { PolicyIssue } from './errors.js';
import { parse, type ParsedPolicy } from './parse.js';

export interface ValidationResult {
  valid: boolean;
  errors: PolicyIssue[];
  warnings: PolicyIssue[];
}

/** Every issue of a policy (not just the first), split into errors and warnings, in document order. Never throws. */
export function validate(parsed: ParsedPolicy, options: PolicyOptions): ValidationResult {
  const { issues } = analyzePolicy(parsed, options);
  const ordered = [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
  const errors = ordered.filter((issue) => issue.severity === 'error');
  return { valid: errors.length === 0, errors, warnings: ordered.filter((issue) => issue.severity === 'warning') };
}

/** `validate(parse(text), options)`: what the API and the dashboard call on every save and keystroke. */
export function validatePolicy(text: string, options: PolicyOptions): ValidationResult {
  return validate(parse(text), options);
}
