/**
 * JWT (JWS compact serialization) verification for the `jwt-validation` action.
 *
 * The token's shape is judged here first, strictly and with messages that say what is wrong; jose (its WebCrypto
 * build, so the same code verifies tokens in the data plane and in the dashboard's policy simulator) then selects and
 * imports the keys and verifies the signature (`jws-keys.ts`), and the claims are checked last (`jwt-claims.ts`).
 * Fetching and caching a JWKS is I/O and therefore stays with the caller (`resolveKeys`).
 */
// jose's subpath entry, not its index (which loads every JOSE module): see jws-keys.ts.
import * as base64url from 'jose/base64url';
import { checkSignature, supportedJwsAlgorithms, type JwsAlgorithm } from './jws-keys.js';
import { checkClaims, quote, type ClaimRules } from './jwt-claims.js';

export { supportedJwsAlgorithms, type JwsAlgorithm } from './jws-keys.js';

export interface JwtVerifyOptions extends ClaimRules {
  /** Never contains `none`: such tokens are rejected whatever this list says. */
  allowedAlgorithms: readonly JwsAlgorithm[];
  /**
   * Candidate keys for a token header; the caller fetches and caches the JWKS (it is an I/O port). `jku` is passed
   * through untrusted: the caller must only honour URLs it has been configured with, never fetch an arbitrary one.
   * Entries are JWKs as parsed JSON; each is checked before use, and anything that is not a usable key is skipped.
   */
  resolveKeys(header: { kid?: string; alg: string; jku?: string }): Promise<readonly unknown[]>;
}

export type JwtFailureCode =
  | 'JWT_MALFORMED'
  | 'JWT_ALGORITHM_NOT_ALLOWED'
  | 'JWT_KEY_NOT_FOUND'
  | 'JWT_SIGNATURE_INVALID'
  | 'JWT_EXPIRED'
  | 'JWT_NOT_YET_VALID'
  | 'JWT_ISSUER_NOT_ALLOWED'
  | 'JWT_AUDIENCE_NOT_ALLOWED'
  | 'JWKS_UNAVAILABLE';

export type JwtVerification =
  | { ok: true; header: Record<string, unknown>; payload: Record<string, unknown>; signature: string }
  | {
      ok: false;
      code: JwtFailureCode;
      message: string;
      /** Present once the header decoded. */
      header?: Record<string, unknown>;
      /** Present only once the signature verified, so an unverified payload never reaches logs or expressions. */
      payload?: Record<string, unknown>;
    };

/** Real access tokens are a few KiB; the cap bounds the work an anonymous client can make us do. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

type Failure = Extract<JwtVerification, { ok: false }>;

export async function verifyJwt(token: string, options: JwtVerifyOptions): Promise<JwtVerification> {
  if (typeof token !== 'string' || token.length === 0) return fail('JWT_MALFORMED', 'token is empty');
  if (token.length > MAX_TOKEN_LENGTH) {
    return fail('JWT_MALFORMED', `token is ${token.length} characters long; at most ${MAX_TOKEN_LENGTH} are accepted`);
  }
  const segments = token.split('.');
  if (segments.length === 5) return fail('JWT_MALFORMED', 'token is an encrypted JWT (JWE), which is not supported');
  if (segments.length !== 3) {
    return fail('JWT_MALFORMED', `token has ${segments.length} dot-separated segments; a signed JWT has 3`);
  }
  const [encodedHeader, encodedPayload, encodedSignature] = segments as [string, string, string];

  const header = decodeJsonSegment(encodedHeader);
  if (!header) return fail('JWT_MALFORMED', 'token header is not a base64url-encoded JSON object');
  const headerProblem = checkHeader(header);
  if (headerProblem) return fail('JWT_MALFORMED', headerProblem, { header });

  // The algorithm is judged before the payload is even decoded, so `alg: none` tokens (often with an empty
  // signature) are reported as what they are rather than as malformed.
  const alg = header['alg'] as string;
  if (alg.toLowerCase() === 'none') {
    return fail('JWT_ALGORITHM_NOT_ALLOWED', 'token is unsigned (alg "none"), which is never accepted', { header });
  }
  if (!isJwsAlgorithm(alg) || !options.allowedAlgorithms.includes(alg)) {
    const allowed = options.allowedAlgorithms.filter((name) => isJwsAlgorithm(name)).join(', ') || 'none configured';
    return fail('JWT_ALGORITHM_NOT_ALLOWED', `token algorithm ${quote(alg)} is not allowed (allowed: ${allowed})`, {
      header,
    });
  }

  const payload = decodeJsonSegment(encodedPayload);
  if (!payload) return fail('JWT_MALFORMED', 'token payload is not a base64url-encoded JSON object', { header });
  const claimsProblem = checkClaimTypes(payload);
  if (claimsProblem) return fail('JWT_MALFORMED', claimsProblem, { header });

  const signature = decodeBase64Url(encodedSignature);
  if (!signature || signature.length === 0) {
    return fail('JWT_MALFORMED', 'token signature is missing or not base64url-encoded', { header });
  }

  const kid = typeof header['kid'] === 'string' ? header['kid'] : undefined;
  const jku = typeof header['jku'] === 'string' ? header['jku'] : undefined;
  let offeredKeys: readonly unknown[];
  try {
    offeredKeys = await options.resolveKeys({
      alg,
      ...(kid !== undefined && { kid }),
      ...(jku !== undefined && { jku }),
    });
  } catch (error) {
    const detail = error instanceof Error && error.message ? `: ${error.message}` : '';
    return fail('JWKS_UNAVAILABLE', `signing keys could not be loaded${detail}`, { header });
  }

  const signatureCheck = await checkSignature(token, alg, kid, offeredKeys);
  if (signatureCheck === 'no-fitting-key') return fail('JWT_KEY_NOT_FOUND', describeMissingKey(alg, kid), { header });
  if (signatureCheck === 'no-usable-key') {
    const why =
      'the matching keys are unusable: invalid, or weaker than RFC 7518 requires (RSA 2048 bits, HMAC as long as the hash)';
    return fail('JWT_KEY_NOT_FOUND', `${describeMissingKey(alg, kid)}; ${why}`, { header });
  }
  if (signatureCheck === 'invalid')
    return fail('JWT_SIGNATURE_INVALID', `token signature does not verify (${alg})`, { header });

  const claimsFailure = checkClaims(payload, options);
  if (claimsFailure) return { ok: false, ...claimsFailure, header, payload };
  return { ok: true, header, payload, signature: encodedSignature };
}

/**
 * The token from a header such as `Authorization: Bearer <token>`. The prefix is matched case-insensitively. Several
 * header values carrying different tokens are ambiguous (the upstream might read another one than we verified), so
 * they yield no token at all.
 */
export function extractBearerToken(
  headerValues: readonly string[] | undefined,
  prefix = 'Bearer ',
): string | undefined {
  if (!headerValues) return undefined;
  const lowerPrefix = prefix.toLowerCase();
  let found: string | undefined;
  for (const value of headerValues) {
    const trimmed = value.trimStart();
    if (!trimmed.toLowerCase().startsWith(lowerPrefix)) continue;
    const token = trimmed.slice(prefix.length).trim();
    if (token === '') continue;
    if (found !== undefined && found !== token) return undefined;
    found = token;
  }
  return found;
}

function fail(code: JwtFailureCode, message: string, extra: Pick<Failure, 'header' | 'payload'> = {}): Failure {
  return { ok: false, code, message, ...extra };
}

function isJwsAlgorithm(name: string): name is JwsAlgorithm {
  return (supportedJwsAlgorithms as readonly string[]).includes(name);
}

function checkHeader(header: Record<string, unknown>): string | undefined {
  if (typeof header['alg'] !== 'string' || header['alg'] === '') return 'token header has no "alg"';
  if ('kid' in header && typeof header['kid'] !== 'string') return 'token header "kid" is not a string';
  if ('jku' in header && typeof header['jku'] !== 'string') return 'token header "jku" is not a string';
  // RFC 7515 §4.1.11: an extension we do not understand but the issuer marked critical must fail the token.
  if ('crit' in header) return 'token header lists critical extensions ("crit"), which are not supported';
  return undefined;
}

function checkClaimTypes(payload: Record<string, unknown>): string | undefined {
  for (const name of ['exp', 'nbf', 'iat']) {
    if (name in payload && !(typeof payload[name] === 'number' && Number.isFinite(payload[name]))) {
      return `token claim "${name}" is not a number of seconds`;
    }
  }
  if ('iss' in payload && typeof payload['iss'] !== 'string') return 'token claim "iss" is not a string';
  const aud = payload['aud'];
  if (
    aud !== undefined &&
    typeof aud !== 'string' &&
    !(Array.isArray(aud) && aud.every((item) => typeof item === 'string'))
  ) {
    return 'token claim "aud" is neither a string nor an array of strings';
  }
  return undefined;
}

function describeMissingKey(alg: string, kid: string | undefined): string {
  return kid === undefined
    ? `no signing key fits algorithm ${alg}`
    : `no signing key with kid ${quote(kid)} fits algorithm ${alg}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

const BASE64URL_ALPHABET = /^[A-Za-z0-9_-]*$/;

function decodeJsonSegment(segment: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64Url(segment);
  if (!bytes || bytes.length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function decodeBase64Url(text: string): Uint8Array | undefined {
  if (!BASE64URL_ALPHABET.test(text)) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = base64url.decode(text);
  } catch {
    return undefined;
  }
  // A base64 decoder ignores stray low bits in the last character, so several spellings decode alike; accepting only
  // the canonical one keeps a token from having look-alike variants (which would defeat replay or revocation lists).
  return base64url.encode(bytes) === text ? bytes : undefined;
}
