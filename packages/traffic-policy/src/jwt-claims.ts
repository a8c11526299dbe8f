/**
 * The claim checks of `jwt-validation` once a token's signature holds: lifetime (`exp`, `nbf`, `iat` with clock skew),
 * then issuer, then audience, each failure with a message that says what to fix. Kept here rather than left to jose's
 * `jwtVerify` because the order, the future-`iat` check without a maximum age and the messages are part of the
 * action's documented behaviour.
 */

export type ClaimFailureCode =
  'JWT_EXPIRED' | 'JWT_NOT_YET_VALID' | 'JWT_ISSUER_NOT_ALLOWED' | 'JWT_AUDIENCE_NOT_ALLOWED';

export interface ClaimRules {
  /** `iss` must equal one of these exactly; a trailing slash matters. */
  issuers: readonly string[];
  /** When non-empty, `aud` (a string or an array) must contain one of these. */
  audiences?: readonly string[];
  nowSeconds: number;
  /** Applied to `exp`, `nbf` and an `iat` in the future. Default 60. */
  clockSkewSeconds?: number;
}

const DEFAULT_CLOCK_SKEW_SECONDS = 60;
/** Attacker-chosen strings (kid, iss, aud) are shortened before they go into a message. */
const MAX_ECHOED_LENGTH = 100;

/** Why the claims fail, or `undefined` when they hold. The claim types were checked before the signature. */
export function checkClaims(
  payload: Record<string, unknown>,
  rules: ClaimRules,
): { code: ClaimFailureCode; message: string } | undefined {
  const skew = Math.max(0, rules.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS);
  const now = rules.nowSeconds;
  const { exp, nbf, iat, iss, aud } = payload as {
    exp?: number;
    nbf?: number;
    iat?: number;
    iss?: string;
    aud?: string | string[];
  };

  if (exp !== undefined && now - skew >= exp)
    return { code: 'JWT_EXPIRED', message: `token expired at ${formatInstant(exp)}` };
  if (nbf !== undefined && now + skew < nbf)
    return { code: 'JWT_NOT_YET_VALID', message: `token is not valid before ${formatInstant(nbf)}` };
  if (iat !== undefined && now + skew < iat) {
    return { code: 'JWT_NOT_YET_VALID', message: `token claims to be issued in the future, at ${formatInstant(iat)}` };
  }

  if (iss === undefined) return { code: 'JWT_ISSUER_NOT_ALLOWED', message: 'token has no "iss" claim' };
  if (!rules.issuers.includes(iss)) {
    return {
      code: 'JWT_ISSUER_NOT_ALLOWED',
      message: `token issuer ${quote(iss)} is not allowed${trailingSlashHint(iss, rules.issuers)}`,
    };
  }

  const audiences = rules.audiences ?? [];
  if (audiences.length > 0) {
    const presented = aud === undefined ? [] : typeof aud === 'string' ? [aud] : aud;
    if (presented.length === 0) return { code: 'JWT_AUDIENCE_NOT_ALLOWED', message: 'token has no "aud" claim' };
    if (!presented.some((value) => audiences.includes(value))) {
      const shown = presented.slice(0, 5).map(quote).join(', ') + (presented.length > 5 ? ', …' : '');
      return { code: 'JWT_AUDIENCE_NOT_ALLOWED', message: `token audience ${shown} is not allowed` };
    }
  }
  return undefined;
}

/** A JSON-quoted value for a message, shortened when long: tokens are attacker-chosen text. */
export function quote(value: string): string {
  const shortened = value.length > MAX_ECHOED_LENGTH ? `${value.slice(0, MAX_ECHOED_LENGTH)}…` : value;
  return JSON.stringify(shortened);
}

/** The most common issuer misconfiguration, so it is named instead of leaving people to diff URLs by eye. */
function trailingSlashHint(iss: string, issuers: readonly string[]): string {
  const toggled = iss.endsWith('/') ? iss.slice(0, -1) : `${iss}/`;
  return issuers.includes(toggled) ? ` (an allowed issuer differs only by a trailing slash: ${quote(toggled)})` : '';
}

/** `2026-11-24T10:00:00Z`; a value outside the Date range is shown as the raw number rather than throwing. */
function formatInstant(seconds: number): string {
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return `${seconds} (seconds since the epoch)`;
  return date.toISOString().replace('.000Z', 'Z');
}
