// The one place the API calls the Traffic Policy engine (packages/traffic-policy, ESM, loaded with require()).
import { parseCidr, policyDocumentJsonSchema, validatePolicy as validateWithEngine } from '@gatehouse/traffic-policy';

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
