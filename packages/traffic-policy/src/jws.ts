/**
 * JWT (JWS compact serialization) verification for the `jwt-validation` action.
 *
 * Only WebCrypto and the other standard web globals are used, so the same code verifies tokens in the data plane and
 * in the dashboard's policy simulator. Fetching and caching a JWKS is I/O and therefore stays with the caller
 * (`resolveKeys`); this module only decides which of the offered keys may verify a token, and whether the token holds.
 */

export type JwsAlgorithm =
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'
  | 'HS256'
  | 'HS384'
  | 'HS512';

export const supportedJwsAlgorithms: readonly JwsAlgorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'HS256',
  'HS384',
  'HS512',
];

export interface JwtVerifyOptions {
  /** Never contains `none`: such tokens are rejected whatever this list says. */
  allowedAlgorithms: readonly JwsAlgorithm[];
  /**
   * Candidate keys for a token header; the caller fetches and caches the JWKS (it is an I/O port). `jku` is passed
   * through untrusted: the caller must only honour URLs it has been configured with, never fetch an arbitrary one.
   */
  resolveKeys(header: { kid?: string; alg: string; jku?: string }): Promise<readonly JsonWebKey[]>;
  /** `iss` must equal one of these exactly; a trailing slash matters. */
  issuers: readonly string[];
  /** When non-empty, `aud` (a string or an array) must contain one of these. */
  audiences?: readonly string[];
  nowSeconds: number;
  /** Applied to `exp`, `nbf` and an `iat` in the future. Default 60. */
  clockSkewSeconds?: number;
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
const DEFAULT_CLOCK_SKEW_SECONDS = 60;
/** Without a `kid` every fitting key is tried; the cap keeps a large JWKS from multiplying the cost of a bad token. */
const MAX_KEYS_TRIED = 10;
/** Enough for every key of every IdP a deployment plausibly trusts; the oldest is evicted beyond it. */
const MAX_CACHED_KEYS = 256;
/** Attacker-chosen strings (kid, iss, aud) are shortened before they go into a message. */
const MAX_ECHOED_LENGTH = 100;
const MIN_RSA_MODULUS_BYTES = 2048 / 8;

type KeyType = 'RSA' | 'EC' | 'OKP' | 'oct';

interface AlgorithmProfile {
  keyType: KeyType;
  /** `crv` the key must carry, for EC and OKP keys. */
  curve?: string;
  importParams: AlgorithmIdentifier | RsaHashedImportParams | EcKeyImportParams | HmacImportParams;
  verifyParams: AlgorithmIdentifier | RsaPssParams | EcdsaParams;
}

function rsaPkcs1(hash: string): AlgorithmProfile {
  return {
    keyType: 'RSA',
    importParams: { name: 'RSASSA-PKCS1-v1_5', hash },
    verifyParams: { name: 'RSASSA-PKCS1-v1_5' },
  };
}

function rsaPss(hash: string, hashBytes: number): AlgorithmProfile {
  // RFC 7518 §3.5 fixes the salt length to the hash output size.
  return {
    keyType: 'RSA',
    importParams: { name: 'RSA-PSS', hash },
    verifyParams: { name: 'RSA-PSS', saltLength: hashBytes },
  };
}

function ecdsa(curve: string, hash: string): AlgorithmProfile {
  // JWS carries ECDSA signatures as raw r||s (RFC 7518 §3.4), the same encoding WebCrypto verifies, so no DER step.
  return {
    keyType: 'EC',
    curve,
    importParams: { name: 'ECDSA', namedCurve: curve },
    verifyParams: { name: 'ECDSA', hash },
  };
}

function hmac(hash: string): AlgorithmProfile {
  return { keyType: 'oct', importParams: { name: 'HMAC', hash }, verifyParams: { name: 'HMAC' } };
}

const algorithmProfiles: Record<JwsAlgorithm, AlgorithmProfile> = {
  RS256: rsaPkcs1('SHA-256'),
  RS384: rsaPkcs1('SHA-384'),
  RS512: rsaPkcs1('SHA-512'),
  PS256: rsaPss('SHA-256', 32),
  PS384: rsaPss('SHA-384', 48),
  PS512: rsaPss('SHA-512', 64),
  ES256: ecdsa('P-256', 'SHA-256'),
  ES384: ecdsa('P-384', 'SHA-384'),
  ES512: ecdsa('P-521', 'SHA-512'),
  // Ed448 is not in WebCrypto everywhere, so EdDSA means Ed25519 here.
  EdDSA: { keyType: 'OKP', curve: 'Ed25519', importParams: { name: 'Ed25519' }, verifyParams: { name: 'Ed25519' } },
  HS256: hmac('SHA-256'),
  HS384: hmac('SHA-384'),
  HS512: hmac('SHA-512'),
};

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
  let offeredKeys: readonly JsonWebKey[];
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

  const candidates = selectCandidateKeys(offeredKeys, alg, kid);
  if (candidates.length === 0) return fail('JWT_KEY_NOT_FOUND', describeMissingKey(alg, kid), { header });

  const profile = algorithmProfiles[alg];
  const signingInput = new TextEncoder().encode(`${encodedHeader}.${encodedPayload}`);
  let usableKeys = 0;
  let verified = false;
  for (const candidate of candidates.slice(0, MAX_KEYS_TRIED)) {
    const cryptoKey = await importVerificationKey(candidate, alg);
    if (!cryptoKey) continue;
    usableKeys += 1;
    if (await verifySignature(profile, cryptoKey, signature, signingInput)) {
      verified = true;
      break;
    }
  }
  if (usableKeys === 0) {
    const why =
      'the matching keys are unusable: invalid, or weaker than RFC 7518 requires (RSA 2048 bits, HMAC as long as the hash)';
    return fail('JWT_KEY_NOT_FOUND', `${describeMissingKey(alg, kid)}; ${why}`, {
      header,
    });
  }
  if (!verified) return fail('JWT_SIGNATURE_INVALID', `token signature does not verify (${alg})`, { header });

  const claimsFailure = checkClaims(payload, options);
  if (claimsFailure) return { ...claimsFailure, header, payload };
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
  return Object.hasOwn(algorithmProfiles, name);
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

function checkClaims(payload: Record<string, unknown>, options: JwtVerifyOptions): Failure | undefined {
  const skew = Math.max(0, options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS);
  const now = options.nowSeconds;
  const { exp, nbf, iat, iss, aud } = payload as {
    exp?: number;
    nbf?: number;
    iat?: number;
    iss?: string;
    aud?: string | string[];
  };

  if (exp !== undefined && now - skew >= exp) return fail('JWT_EXPIRED', `token expired at ${formatInstant(exp)}`);
  if (nbf !== undefined && now + skew < nbf)
    return fail('JWT_NOT_YET_VALID', `token is not valid before ${formatInstant(nbf)}`);
  if (iat !== undefined && now + skew < iat) {
    return fail('JWT_NOT_YET_VALID', `token claims to be issued in the future, at ${formatInstant(iat)}`);
  }

  if (iss === undefined) return fail('JWT_ISSUER_NOT_ALLOWED', 'token has no "iss" claim');
  if (!options.issuers.includes(iss)) {
    return fail(
      'JWT_ISSUER_NOT_ALLOWED',
      `token issuer ${quote(iss)} is not allowed${trailingSlashHint(iss, options.issuers)}`,
    );
  }

  const audiences = options.audiences ?? [];
  if (audiences.length > 0) {
    const presented = aud === undefined ? [] : typeof aud === 'string' ? [aud] : aud;
    if (presented.length === 0) return fail('JWT_AUDIENCE_NOT_ALLOWED', 'token has no "aud" claim');
    if (!presented.some((value) => audiences.includes(value))) {
      const shown = presented.slice(0, 5).map(quote).join(', ') + (presented.length > 5 ? ', …' : '');
      return fail('JWT_AUDIENCE_NOT_ALLOWED', `token audience ${shown} is not allowed`);
    }
  }
  return undefined;
}

/** The most common issuer misconfiguration, so it is named instead of leaving people to diff URLs by eye. */
function trailingSlashHint(iss: string, issuers: readonly string[]): string {
  const toggled = iss.endsWith('/') ? iss.slice(0, -1) : `${iss}/`;
  return issuers.includes(toggled) ? ` (an allowed issuer differs only by a trailing slash: ${quote(toggled)})` : '';
}

function describeMissingKey(alg: string, kid: string | undefined): string {
  return kid === undefined
    ? `no signing key fits algorithm ${alg}`
    : `no signing key with kid ${quote(kid)} fits algorithm ${alg}`;
}

function quote(value: string): string {
  const shortened = value.length > MAX_ECHOED_LENGTH ? `${value.slice(0, MAX_ECHOED_LENGTH)}…` : value;
  return JSON.stringify(shortened);
}

/** `2026-11-24T10:00:00Z`; a value outside the Date range is shown as the raw number rather than throwing. */
function formatInstant(seconds: number): string {
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return `${seconds} (seconds since the epoch)`;
  return date.toISOString().replace('.000Z', 'Z');
}

// ---------------------------------------------------------------------------------------------------------------
// Keys

type KeyRecord = JsonWebKey & { kid?: unknown };

function selectCandidateKeys(keys: readonly JsonWebKey[], alg: JwsAlgorithm, kid: string | undefined): JsonWebKey[] {
  const profile = algorithmProfiles[alg];
  if (!Array.isArray(keys)) return [];
  return (keys as readonly KeyRecord[]).filter((key) => {
    if (typeof key !== 'object' || key === null) return false;
    if (kid !== undefined && key.kid !== kid) return false;
    // Matching `kty` to the algorithm is what stops algorithm confusion (e.g. an RSA public key used as an HMAC secret).
    if (key.kty !== profile.keyType) return false;
    if (profile.curve !== undefined && key.crv !== profile.curve) return false;
    if (key.alg !== undefined && key.alg !== alg) return false;
    if (key.use !== undefined && key.use !== 'sig') return false;
    if (key.key_ops !== undefined && !(Array.isArray(key.key_ops) && key.key_ops.includes('verify'))) return false;
    return true;
  });
}

/** Only the members needed to verify: a JWKS that leaks private members (`d`, `p`, …) must not make us hold a private key. */
function verificationJwk(key: JsonWebKey, keyType: KeyType): JsonWebKey {
  switch (keyType) {
    case 'RSA':
      return { kty: 'RSA', n: key.n, e: key.e };
    case 'EC':
      return { kty: 'EC', crv: key.crv, x: key.x, y: key.y };
    case 'OKP':
      return { kty: 'OKP', crv: key.crv, x: key.x };
    case 'oct':
      return { kty: 'oct', k: key.k };
  }
}

/**
 * Imported keys by identity. The identity is the algorithm plus the verification members themselves rather than a
 * digest of them: exact (no collision can map a token to another key's CryptoKey) and computed without an await.
 * Values are promises so concurrent first requests share one import; `undefined` remembers a key that cannot import.
 */
const importedKeys = new Map<string, Promise<CryptoKey | undefined>>();

function importVerificationKey(key: JsonWebKey, alg: JwsAlgorithm): Promise<CryptoKey | undefined> {
  const jwk = verificationJwk(key, algorithmProfiles[alg].keyType);
  const identity = [alg, jwk.kty, jwk.crv, jwk.n, jwk.e, jwk.x, jwk.y, jwk.k].map((part) => part ?? '').join('\u0000');
  const cached = importedKeys.get(identity);
  if (cached) {
    // Re-inserting marks the entry as recently used, so eviction below drops the least recently used key.
    importedKeys.delete(identity);
    importedKeys.set(identity, cached);
    return cached;
  }
  const imported = isStrongEnough(jwk, alg)
    ? crypto.subtle.importKey('jwk', jwk, algorithmProfiles[alg].importParams, false, ['verify']).then(
        (cryptoKey) => cryptoKey,
        () => undefined,
      )
    : Promise.resolve(undefined);
  importedKeys.set(identity, imported);
  if (importedKeys.size > MAX_CACHED_KEYS) {
    const oldest = importedKeys.keys().next();
    if (!oldest.done) importedKeys.delete(oldest.value);
  }
  return imported;
}

/**
 * RFC 7518 §3.2 and §3.3 make these sizes a MUST. WebCrypto would import a toy RSA modulus or a one-byte HMAC
 * secret, and a token verified with either proves little.
 */
function isStrongEnough(jwk: JsonWebKey, alg: JwsAlgorithm): boolean {
  if (jwk.kty === 'RSA') return significantLength(jwk.n) >= MIN_RSA_MODULUS_BYTES;
  if (jwk.kty === 'oct') return significantLength(jwk.k) >= Number(alg.slice(2)) / 8;
  return true;
}

function significantLength(member: string | undefined): number {
  const bytes = member === undefined ? undefined : decodeBase64Url(member);
  if (!bytes) return 0;
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start += 1;
  return bytes.length - start;
}

async function verifySignature(
  profile: AlgorithmProfile,
  key: CryptoKey,
  signature: Uint8Array<ArrayBuffer>,
  signingInput: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  try {
    return await crypto.subtle.verify(profile.verifyParams, key, signature, signingInput);
  } catch {
    // Some engines throw instead of answering false for a signature of the wrong length.
    return false;
  }
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

function decodeBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!BASE64URL_ALPHABET.test(text) || text.length % 4 === 1) return undefined;
  let binary: string;
  try {
    binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
  // atob ignores stray low bits in the last character, so several spellings decode alike; accepting only the
  // canonical one keeps a token from having look-alike variants (which would defeat replay or revocation lists).
  if (encodeBase64Url(bytes) !== text) return undefined;
  return bytes;
}

function encodeBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
