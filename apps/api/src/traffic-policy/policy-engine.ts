// The one place the API calls the Traffic Policy engine (packages/traffic-policy, ESM, loaded with require()).
import {
  compile,
  analyzePolicy,
  checkSecretValues,
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
export const policyJsonSchema: Record<string, unknown> = policyDocumentJsonSchema();

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

/** A URL the gateway fetches at request time on a policy's behalf, with what it is and where it is written. */
export interface PolicyFetchTarget {
  url: string;
  /** For messages: `JWKS URL`, `OpenID issuer URL`, … */
  what: string;
  /**
   * Which outbound rules apply: `fetch` (https only unless allowed, like a JWKS) or `upstream` (an ai-gateway
   * base_url may be plain http on a private network, a self-hosted model, so it is judged like an upstream).
   */
  rules: 'fetch' | 'upstream';
  path: string;
  line: number;
  column: number;
}

/**
 * Where each action names URLs the data plane fetches (a list when the last key holds several): JWKS URLs, the
 * OpenID issuer (its discovery document, on the same origin) and an oauth provider's token and userinfo endpoints. An
 * oauth `authorization_url` is only where browsers are sent, so it is not a fetch target.
 */
const fetchTargetFields: Readonly<Record<string, readonly { keys: readonly string[]; what: string; list?: true }[]>> = {
  'jwt-validation': [{ keys: ['jws', 'keys', 'sources', 'additional_jkus'], what: 'JWKS URL', list: true }],
  'openid-connect': [{ keys: ['issuer_url'], what: 'OpenID issuer URL' }],
  oauth: [
    { keys: ['endpoints', 'token_url'], what: 'OAuth token URL' },
    { keys: ['endpoints', 'userinfo_url'], what: 'OAuth userinfo URL' },
  ],
};

/**
 * Every URL a policy makes the gateway dial on its own (the fields above, and ai-gateway `providers[].base_url` values
 * outside `.internal`: internal ones are endpoints, not dials). A policy that does not parse has none.
 */
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
        if (type === 'ai-gateway') {
          const providers = (config as { providers?: unknown } | undefined)?.providers;
          if (!Array.isArray(providers)) return;
          providers.forEach((provider: unknown, index) => {
            const url = (provider as { base_url?: unknown } | null)?.base_url;
            if (typeof url !== 'string' || isInternalUrl(url)) return;
            const path = [phase, ruleIndex, 'actions', actionIndex, 'config', 'providers', index, 'base_url'];
            const position = parsed.locate(path);
            targets.push({
              url,
              what: 'ai-gateway base_url',
              rules: 'upstream',
              path: formatPath(path),
              line: position.line,
              column: position.column,
            });
          });
          return;
        }
        for (const field of typeof type === 'string' ? (fetchTargetFields[type] ?? []) : []) {
          let value: unknown = config;
          for (const key of field.keys) value = (value as Record<string, unknown> | null | undefined)?.[key];
          const urls: [unknown, (string | number)[]][] = field.list
            ? Array.isArray(value)
              ? value.map((url: unknown, index) => [url, [...field.keys, index]])
              : []
            : [[value, [...field.keys]]];
          for (const [url, keys] of urls) {
            if (typeof url !== 'string') continue;
            const path = [phase, ruleIndex, 'actions', actionIndex, 'config', ...keys];
            const position = parsed.locate(path);
            targets.push({
              url,
              what: field.what,
              rules: 'fetch',
              path: formatPath(path),
              line: position.line,
              column: position.column,
            });
          }
        }
      });
    });
  }
  return targets;
}

function isInternalUrl(text: string): boolean {
  try {
    return new URL(text).hostname.endsWith('.internal');
  } catch {
    return false;
  }
}

export { compile as compilePolicy, runPolicyTests, checkSecretValues };
export { replayRequests, recordedOutcome, diffReplayResults, type ReplayResult } from '@gatehouse/traffic-policy';
/** The distinct secrets a policy names (`secrets.get('vault', 'name')`); none when it does not parse. */
export function policySecretReferences(
  text: string,
  rules: { endpointType: 'cloud' | 'internal'; acceptsConnections?: boolean },
): { vault: string; name: string }[] {
  // Most policies name no secret; skip the engine for them.
  if (!text.includes('secrets')) return [];
  return distinctSecrets(analyzePolicy(parse(text), rules).secretReferences);
}
