import { findAbsentKeyRisks } from './analyze-absent-keys.js';
import type { EndpointType, PolicyOptions, PolicySecretReference, SecretValues } from './compiled-policy.js';
import { secretKey, type SecretReference } from './cel-secrets.js';
import type { IssueSeverity, PolicyIssue, ValidationErrorCode } from './errors.js';
import { formatPath, type DocumentPath, type ParsedPolicy } from './parse.js';

/**
 * The state of one validation-and-compile pass over a policy: every issue found so far, in the order the walk meets
 * them, and what the compiled policy as a whole will need. The phase, rule and action steps share one walk, so what
 * is checked is exactly what runs.
 */
export class PolicyWalk {
  readonly issues: PolicyIssue[];
  readonly endpointType: EndpointType;
  /** on_tcp_connect is allowed (PolicyOptions.acceptsConnections). */
  readonly acceptsConnections: boolean;
  readonly internalEndpointUrls: ReadonlySet<string> | undefined;
  /** Counted across the whole policy: only one authentication action may run. */
  authenticationActions = 0;
  needsRequestBody = false;
  readsMcp = false;
  readonly secretReferences: PolicySecretReference[] = [];
  /** Values of the secrets the policy names, when the options gave values. */
  readonly secretValues = new Map<string, string>();
  readonly secrets: SecretValues | undefined;
  readonly #knownSecrets: ReadonlyMap<string, ReadonlySet<string>> | undefined;
  /**
   * Fields computed from secret values that the values do not fit (a password too short, a JWKS URL that is no URL):
   * the action fails closed at runtime (SECRET_UNAVAILABLE); `checkSecretValues` reports them before a rotation.
   */
  readonly unusableSecretFields: { path: string; line: number; column: number; message: string }[] = [];
  /** The expressions of the rule being analyzed (newline-joined): they guard what its actions' configs evaluate. */
  ruleGuards = '';

  constructor(
    readonly parsed: ParsedPolicy,
    options: PolicyOptions,
  ) {
    this.issues = [...parsed.issues];
    this.endpointType = options.endpointType;
    this.acceptsConnections = options.acceptsConnections ?? options.endpointType === 'cloud';
    this.internalEndpointUrls = options.internalEndpointUrls;
    this.secrets = options.secrets;
    this.#knownSecrets = options.knownSecrets;
  }

  /**
   * Records the `secrets.get` calls of a CEL string at `path` (offsets inside it), keeps their values when given, and
   * reports names that do not exist when the options list the existing ones.
   */
  noteSecretReferences(references: readonly SecretReference[], path: DocumentPath): void {
    for (const { vault, name, offset } of references) {
      const position = this.parsed.locateInString(path, offset);
      this.secretReferences.push({ vault, name, path: formatPath(path), ...position });
      const value = this.secrets?.get(vault, name);
      if (value !== undefined) this.secretValues.set(secretKey(vault, name), value);
      const known = this.#knownSecrets;
      if (known === undefined) continue;
      const names = known.get(vault);
      if (names === undefined) {
        const vaults = [...known.keys()].sort();
        this.reportInString(
          'POLICY_SECRET_NOT_FOUND',
          `There is no vault "${vault}"; ${vaults.length === 0 ? 'no vault exists yet (create one under Vaults)' : `vaults: ${vaults.join(', ')}`}.`,
          path,
          offset,
        );
      } else if (!names.has(name)) {
        this.reportInString(
          'POLICY_SECRET_NOT_FOUND',
          `Vault "${vault}" has no secret "${name}"; ${names.size === 0 ? 'it has no secrets yet' : `its secrets: ${[...names].sort().join(', ')}`}.`,
          path,
          offset,
        );
      }
    }
  }

  hasErrors(): boolean {
    return this.issues.some((issue) => issue.severity === 'error');
  }

  /** Records an issue at the value at `path`, or at its key with `target: 'key'`. */
  noteUnusableSecretField(path: DocumentPath, message: string): void {
    this.unusableSecretFields.push({ path: formatPath(path), ...this.parsed.locate(path), message });
  }

  report(
    code: ValidationErrorCode,
    message: string,
    path: DocumentPath,
    severity: IssueSeverity = 'error',
    target: 'key' | 'value' = 'value',
  ): void {
    this.issues.push({ code, message, path: formatPath(path), ...this.parsed.locate(path, target), severity });
  }

  /** Records an error inside a string value (CEL, interpolation), at the offending character rather than the value. */
  reportInString(
    code: ValidationErrorCode,
    message: string,
    path: DocumentPath,
    offset: number,
    severity: IssueSeverity = 'error',
  ): void {
    this.issues.push({ code, message, path: formatPath(path), ...this.parsed.locateInString(path, offset), severity });
  }

  /** Warns about each access in `source` that fails when the request lacks a key (see analyze-absent-keys.ts). */
  warnAbsentKeys(source: string, path: DocumentPath, guards: string): void {
    for (const risk of findAbsentKeyRisks(source, guards))
      this.reportInString('POLICY_EXPRESSION_MAY_FAIL', risk.message, path, risk.offset, 'warning');
  }

  reportInvalidExpression(path: DocumentPath, failure: { message: string; offset: number }): void {
    this.reportInString('POLICY_EXPRESSION_INVALID', `Invalid expression: ${failure.message}`, path, failure.offset);
  }

  /** Notes a CEL source or template that reads `mcp.*`, so the data plane also looks for MCP calls in bodies. */
  noteSource(source: string): void {
    if (/\bmcp\./.test(source)) this.readsMcp = true;
  }
}

/**
 * A frozen copy with exactly `list.length` slots. An array grown by `push` keeps spare capacity (17 slots for one
 * element), and compiled policies live as long as their endpoint: with 10,000 endpoints loaded the spare slots were
 * over 10 MB of a data plane's heap.
 */
export function frozenExactCopy<T>(list: readonly T[]): readonly T[] {
  return Object.freeze(list.slice());
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A value as an issue message names it: its kind, and a short quote of strings, numbers and booleans. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return `the ${typeof value} ${value}`;
  return `the ${typeof value}`;
}
