// The one place the API calls the Traffic Policy engine (packages/traffic-policy, ESM, loaded with require()).
import {
  compile,
  analyzePolicy,
  compileCidrSet,
  distinctSecrets,
  formatPath,
  parse,
  parseCidr,
  parseClientIpFilter,
  policyDocumentJsonSchema,
  runPolicyTests,
  validatePolicy as validateWithEngine,
} from '@gatehouse/traffic-policy';

export interface PolicyIssue {
  code: string;
  message: string;
  path: string;
  line: number;
  column: number;
  severity: 'error' | 'warning';
}

export interface PolicyValidationResult {
  valid: boolean;
  errors: PolicyIssue[];
  warnings: PolicyIssue[];
}

export interface PolicyValidationOptions {
  endpointType: 'cloud' | 'internal';
  /** Registered internal endpoint URLs; a cloud policy forwarding elsewhere gets a warning. */
  internalEndpointUrls: ReadonlySet<string>;
  /** Vault → secret names; a `secrets.get` naming another is POLICY_SECRET_NOT_FOUND. */
  knownSecrets?: ReadonlyMap<string, ReadonlySet<string>>;
}

export function validatePolicyText(text: string, options: PolicyValidationOptions): PolicyValidationResult {
  return validateWithEngine(text, options);
}

/** JSON Schema of a policy document, used in the OpenAPI descriptions of policy fields. */
export const policyJsonSchema: Record<string, unknown> = policyDocumentJsonSchema;

/**
 * An IPv4/IPv6 CIDR (`10.0.0.0/8`, `2607:6bc0::/48`) or a bare address, exactly as the engine parses it when it
 * matches client IPs: accepting anything the engine cannot parse would store a range that silently never matches.
 */
export function isCidrOrAddress(value: string): boolean {
  return parseCidr(value) !== undefined;
}

/** The request log's client filter, parsed the way the dashboard checks it (packages/traffic-policy ip.ts). */
export { parseClientIpFilter };

/** True when the address is inside the range (both as the engine parses them; an unparsable address is in none). */
export function addressInRange(address: string, range: string): boolean {
  return compileCidrSet([range]).contains(address);
}

/** A URL the gateway fetches at request time on a policy's behalf (jwt-validation JWKS), with where it is written. */
export interface PolicyFetchTarget {
  url: string;
  path: string;
  line: number;
  column: number;
}

/** Every jwt-validation `jws.keys.sources.additional_jkus` entry of a policy that parses (others have no targets). */
export function policyFetchTargets(text: string): PolicyFetchTarget[] {
  const parsed = parse(text);
  const document = parsed.document;
  if (document === null || typeof document !== 'object') return [];
  const targets: PolicyFetchTarget[] = [];
  for (const [phase, rules] of Object.entries(document as Record<string, unknown>)) {
    if (!Array.isArray(rules)) continue;
    rules.forEach((rule: unknown, ruleIndex) => {
      const actions = (rule as { actions?: unknown } | null)?.actions;
      if (!Array.isArray(actions)) return;
      actions.forEach((action: unknown, actionIndex) => {
        const { type, config } = (action ?? {}) as { type?: unknown; config?: unknown };
        if (type !== 'jwt-validation') return;
        const jkus = (config as { jws?: { keys?: { sources?: { additional_jkus?: unknown } } } } | undefined)?.jws?.keys
          ?.sources?.additional_jkus;
        if (!Array.isArray(jkus)) return;
        jkus.forEach((url: unknown, index) => {
          if (typeof url !== 'string') return;
          const path = [
            phase,
            ruleIndex,
            'actions',
            actionIndex,
            'config',
            'jws',
            'keys',
            'sources',
            'additional_jkus',
            index,
          ];
          const position = parsed.locate(path);
          targets.push({ url, path: formatPath(path), line: position.line, column: position.column });
        });
      });
    });
  }
  return targets;
}

export { compile as compilePolicy, runPolicyTests };
export { replayRequests, recordedOutcome, diffReplayResults, type ReplayResult } from '@gatehouse/traffic-policy';
/** The distinct secrets a policy names (`secrets.get('vault', 'name')`); none when it does not parse. */
export function policySecretReferences(
  text: string,
  endpointType: 'cloud' | 'internal',
): { vault: string; name: string }[] {
  // Most policies name no secret; skip the engine for them.
  if (!text.includes('secrets')) return [];
  return distinctSecrets(analyzePolicy(parse(text), { endpointType }).secretReferences);
}
