import type { z } from 'zod';
import type { DocumentPath } from './parse.js';
import { describeValue, type PolicyWalk } from './policy-walk.js';

/**
 * Reports the zod issues of an action's config as policy issues at their place in the document. `configPath` is where
 * the config sits; `raw` is the config as written (zod's issues do not carry the offending value).
 */
export function reportConfigIssues(
  walk: PolicyWalk,
  actionType: string,
  error: z.ZodError,
  raw: unknown,
  configPath: DocumentPath,
): void {
  // zod also runs a field's other checks when its type is wrong ("expected array" plus "Too big" for a string where a
  // list belongs); the type mismatch is the one worth reading.
  const wrongTypeAt = new Set(
    error.issues.filter((issue) => issue.code === 'invalid_type').map((issue) => issue.path.map(String).join('\u0000')),
  );
  for (const issue of error.issues) {
    const issuePath = [
      ...configPath,
      ...issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment)),
    ];
    if (issue.code !== 'invalid_type' && wrongTypeAt.has(issue.path.map(String).join('\u0000'))) continue;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        walk.report(
          'POLICY_UNKNOWN_FIELD',
          `"${key}" is not a field of ${actionType} config.`,
          [...issuePath, key],
          'error',
          'key',
        );
      }
    } else if (issue.code === 'invalid_key') {
      // A bad map key (a header name with a space): reported at the key, with the key check's own message.
      walk.report(
        'POLICY_CONFIG_INVALID',
        `${actionType} ${issue.path.join('.')}: ${issue.issues[0]?.message ?? 'invalid key'}`,
        issuePath,
        'error',
        'key',
      );
    } else {
      const where = issue.path.length === 0 ? 'config' : issue.path.join('.');
      walk.report(
        'POLICY_CONFIG_INVALID',
        `${actionType} ${where}: ${describeZodIssue(issue, valueAt(raw, issue.path))}`,
        issuePath,
      );
    }
  }
}

/**
 * zod leaves `input` out of its issues, so the offending value is looked up in the raw config: without it every wrong
 * type read "is required".
 */
export function describeZodIssue(issue: z.core.$ZodIssue, value: { found: boolean; value?: unknown }): string {
  if (issue.code === 'invalid_type') {
    return value.found
      ? `expected ${issue.expected}, got ${describeValue(value.value)}`
      : `is required (${issue.expected})`;
  }
  if (issue.code === 'invalid_union') {
    const expected = [
      ...new Set(issue.errors.flat().flatMap((inner) => (inner.code === 'invalid_type' ? [inner.expected] : []))),
    ];
    if (expected.length > 0)
      return `expected ${expected.join(' or ')}, got ${value.found ? describeValue(value.value) : 'nothing'}`;
  }
  // A schema's own message (e.g. why a known value is refused) wins over the generic list; zod's defaults start so.
  if (issue.code === 'invalid_value' && !/^Invalid (option|input)/.test(issue.message)) return issue.message;
  if (issue.code === 'invalid_value') {
    const allowed = issue.values.map((allowedValue) => JSON.stringify(allowedValue)).join(', ');
    return value.found ? `must be one of ${allowed}` : `is required (one of ${allowed})`;
  }
  return issue.message;
}

/** The value at `path` inside `root`, own properties only; `found: false` when the path leads nowhere. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value?: unknown } {
  let current = root;
  for (const segment of path) {
    if (
      current === null ||
      typeof current !== 'object' ||
      typeof segment === 'symbol' ||
      !Object.hasOwn(current, segment)
    )
      return { found: false };
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current === undefined ? { found: false } : { found: true, value: current };
}
