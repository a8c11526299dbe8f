import { callerFingerprintPrefix, type RequestCaller } from '@gatehouse/contracts';
import { sha256Hex } from './codecs.js';
import type { PolicyContext } from './context.js';

/** Hashed in front of the bucket key so the logged fingerprint never equals the rate-limit store's key hash. */
const fingerprintDomain = 'gatehouse/caller-fingerprint\u0000';

/**
 * Who made the request, read from the results of the authentication and rate-limit actions that ran on each policy
 * context (cloud endpoint first, then the internal one): the first context that knows a fact wins. Only verified facts
 * count — a token jwt-validation rejected, or a user basic-auth did not authorize, identifies nobody (it is what the
 * client claimed, and the audit trail must not repeat a claim as an identity). Returns null when nothing identified
 * the caller.
 */
export function callerOf(contexts: readonly (PolicyContext | undefined)[]): RequestCaller | null {
  const caller: RequestCaller = {
    subject: null,
    client_id: null,
    issuer: null,
    basic_auth_user: null,
    credential_fingerprint: null,
  };
  for (const context of contexts) {
    if (context === undefined) continue;
    const results = context.actionResults;
    const token = verifiedTokenPayload(results.jwt_validation);
    if (token !== undefined) {
      caller.subject ??= stringClaim(token.sub);
      caller.client_id ??= stringClaim(token.client_id) ?? stringClaim(token.azp);
      caller.issuer ??= stringClaim(token.iss);
    }
    caller.basic_auth_user ??= authorizedBasicUser(results.basic_auth);
    caller.credential_fingerprint ??= bucketFingerprint(results.rate_limit);
  }
  return Object.values(caller).every((value) => value === null) ? null : caller;
}

/** The first verified token's payload (jwt-validation requires every configured token, so all agree on success). */
function verifiedTokenPayload(result: unknown): Record<string, unknown> | undefined {
  const tokens = (result as { tokens?: unknown } | undefined)?.tokens;
  if (!Array.isArray(tokens)) return undefined;
  for (const token of tokens as { verified?: unknown; payload?: unknown }[]) {
    if (token.verified === true && token.payload !== null && typeof token.payload === 'object') {
      return token.payload as Record<string, unknown>;
    }
  }
  return undefined;
}

function stringClaim(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function authorizedBasicUser(result: unknown): string | null {
  const credentials = (result as { credentials?: { authorized?: unknown; username?: unknown } } | undefined)
    ?.credentials;
  return credentials?.authorized === true ? stringClaim(credentials.username) : null;
}

/** The bucket key parts joined exactly as rate-limit joins them, hashed with a domain string, cut to 64 bits. */
function bucketFingerprint(result: unknown): string | null {
  const parts = (result as { bucket_key?: unknown } | undefined)?.bucket_key;
  // All-empty parts are the shared fallback bucket of a key that could not be computed: it identifies nobody.
  if (!Array.isArray(parts) || parts.every((part) => part === '')) return null;
  const bucket = parts.map((part) => `${String(part)}\u0000`).join('');
  return `${callerFingerprintPrefix}${sha256Hex(fingerprintDomain + bucket).slice(0, 16)}`;
}
