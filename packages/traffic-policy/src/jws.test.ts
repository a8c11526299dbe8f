import { constants, createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  extractBearerToken,
  MAX_TOKEN_LENGTH,
  supportedJwsAlgorithms,
  verifyJwt,
  type JwsAlgorithm,
  type JwtVerifyOptions,
} from './jws.js';

const NOW = Date.UTC(2026, 10, 24, 10, 0, 0) / 1000;
const ISSUER = 'https://idp.example.com/';
const AUDIENCE = 'https://mcp.example.com';

type Jwk = JsonWebKey & { kid?: string };

interface TestKey {
  /** The public JWK a JWKS would publish (for HS*, the shared secret). */
  jwk: Jwk;
  signWith(alg: JwsAlgorithm, data: Buffer): Buffer;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function rsaKey(kid: string): TestKey & { privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    jwk: { ...publicKey.export({ format: 'jwk' }), kid },
    signWith(alg, data) {
      const hash = `sha${alg.slice(2)}`;
      if (alg.startsWith('PS')) {
        return sign(hash, data, {
          key: privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: Number(alg.slice(2)) / 8,
        });
      }
      return sign(hash, data, privateKey);
    },
  };
}

function ecKey(kid: string, namedCurve: 'P-256' | 'P-384' | 'P-521'): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve });
  return {
    jwk: { ...publicKey.export({ format: 'jwk' }), kid },
    signWith: (alg, data) => sign(`sha${alg.slice(2)}`, data, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
  };
}

function ed25519Key(kid: string): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    jwk: { ...publicKey.export({ format: 'jwk' }), kid },
    signWith: (_alg, data) => sign(null, data, privateKey),
  };
}

function hmacKey(kid: string, secret: Buffer = randomBytes(64)): TestKey {
  return {
    jwk: { kty: 'oct', k: secret.toString('base64url'), kid },
    signWith: (alg, data) =>
      createHmac(`sha${alg.slice(2)}`, secret)
        .update(data)
        .digest(),
  };
}

const rsa = rsaKey('rsa-1');
const keysByAlgorithm: Record<JwsAlgorithm, TestKey> = {
  RS256: rsa,
  RS384: rsa,
  RS512: rsa,
  PS256: rsa,
  PS384: rsa,
  PS512: rsa,
  ES256: ecKey('ec-256', 'P-256'),
  ES384: ecKey('ec-384', 'P-384'),
  ES512: ecKey('ec-521', 'P-521'),
  EdDSA: ed25519Key('ed-1'),
  HS256: hmacKey('hs-1'),
  HS384: hmacKey('hs-1'),
  HS512: hmacKey('hs-1'),
};

function validClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', iat: NOW - 10, nbf: NOW - 10, exp: NOW + 3600, ...overrides };
}

function makeToken(
  key: TestKey,
  alg: JwsAlgorithm,
  payload: Record<string, unknown> = validClaims(),
  header: Record<string, unknown> = { alg, typ: 'JWT', kid: key.jwk.kid },
): string {
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  return `${signingInput}.${base64url(key.signWith(alg, Buffer.from(signingInput)))}`;
}

function options(keys: readonly Jwk[], overrides: Partial<JwtVerifyOptions> = {}): JwtVerifyOptions {
  return {
    allowedAlgorithms: supportedJwsAlgorithms,
    resolveKeys: () => Promise.resolve(keys),
    issuers: [ISSUER],
    audiences: [AUDIENCE],
    nowSeconds: NOW,
    ...overrides,
  };
}

async function expectFailure(token: string, verifyOptions: JwtVerifyOptions, code: string) {
  const result = await verifyJwt(token, verifyOptions);
  if (result.ok) throw new Error(`expected ${code}, but the token verified`);
  expect(result.code).toBe(code);
  // Messages go to logs and response bodies; a bearer token in them would be a credential leak.
  for (const segment of token.split('.').filter((part) => part.length > 8))
    expect(result.message).not.toContain(segment);
  return result;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('verifyJwt: every supported algorithm', () => {
  it.each(supportedJwsAlgorithms)('verifies a %s token', async (alg) => {
    const key = keysByAlgorithm[alg];
    const token = makeToken(key, alg);
    const result = await verifyJwt(token, options([key.jwk], { allowedAlgorithms: [alg] }));
    expect(result).toEqual({
      ok: true,
      header: { alg, typ: 'JWT', kid: key.jwk.kid },
      payload: validClaims(),
      signature: token.split('.')[2],
    });
  });

  it.each(supportedJwsAlgorithms)('rejects a %s token whose payload was tampered with', async (alg) => {
    const key = keysByAlgorithm[alg];
    const [header, , signature] = makeToken(key, alg).split('.');
    const forged = `${header}.${base64url(JSON.stringify(validClaims({ sub: 'admin' })))}.${signature}`;
    const result = await expectFailure(forged, options([key.jwk]), 'JWT_SIGNATURE_INVALID');
    expect(result.payload).toBeUndefined();
    expect(result.header).toMatchObject({ alg });
  });
});

describe('verifyJwt: malformed tokens', () => {
  const key = keysByAlgorithm.RS256;
  const good = makeToken(key, 'RS256');
  const [goodHeader, goodPayload, goodSignature] = good.split('.') as [string, string, string];

  it.each([
    ['empty', ''],
    ['two segments', `${goodHeader}.${goodPayload}`],
    ['four segments', `${good}.extra`],
    ['a JWE (five segments)', 'a.b.c.d.e'],
    ['header not base64url', `${goodHeader}!.${goodPayload}.${goodSignature}`],
    ['header with standard-base64 characters', `${goodHeader}+/.${goodPayload}.${goodSignature}`],
    ['header not JSON', `${base64url('{alg:RS256')}.${goodPayload}.${goodSignature}`],
    ['header a JSON array', `${base64url('["RS256"]')}.${goodPayload}.${goodSignature}`],
    ['header without alg', `${base64url('{"typ":"JWT"}')}.${goodPayload}.${goodSignature}`],
    ['header kid not a string', `${base64url('{"alg":"RS256","kid":7}')}.${goodPayload}.${goodSignature}`],
    ['header with crit', `${base64url('{"alg":"RS256","crit":["b64"],"b64":false}')}.${goodPayload}.${goodSignature}`],
    ['header invalid UTF-8', `${base64url(Buffer.from([0x7b, 0xff, 0x7d]))}.${goodPayload}.${goodSignature}`],
    ['payload a JSON string', `${goodHeader}.${base64url('"hello"')}.${goodSignature}`],
    ['payload null', `${goodHeader}.${base64url('null')}.${goodSignature}`],
    [
      'payload exp a string',
      `${goodHeader}.${base64url(JSON.stringify(validClaims({ exp: '2030' })))}.${goodSignature}`,
    ],
    ['payload aud a number', `${goodHeader}.${base64url(JSON.stringify(validClaims({ aud: 5 })))}.${goodSignature}`],
    [
      'payload iss an array',
      `${goodHeader}.${base64url(JSON.stringify(validClaims({ iss: [ISSUER] })))}.${goodSignature}`,
    ],
    ['empty signature', `${goodHeader}.${goodPayload}.`],
    ['signature not base64url', `${goodHeader}.${goodPayload}.${goodSignature}=`],
  ])('rejects a token with %s as JWT_MALFORMED', async (_name, token) => {
    await expectFailure(token, options([key.jwk]), 'JWT_MALFORMED');
  });

  it('rejects a non-canonical base64url spelling of an otherwise valid token', async () => {
    // The last character of a 2-byte group carries 2 unused bits; flipping one keeps the decoded bytes identical.
    const lastSignatureCharacter = goodSignature.at(-1) ?? '';
    expect(goodSignature.length % 4).not.toBe(0);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(lastSignatureCharacter) ^ 1] ?? '';
    const variant = `${goodHeader}.${goodPayload}.${goodSignature.slice(0, -1)}${sibling}`;
    expect(Buffer.from(variant.split('.')[2] ?? '', 'base64url').equals(Buffer.from(goodSignature, 'base64url'))).toBe(
      true,
    );
    await expectFailure(variant, options([key.jwk]), 'JWT_MALFORMED');
    expect((await verifyJwt(good, options([key.jwk]))).ok).toBe(true);
  });

  it('rejects an otherwise valid token over the size cap', async () => {
    const token = makeToken(key, 'RS256', validClaims({ pad: 'x'.repeat(12_500) }));
    expect(token.length).toBeGreaterThan(MAX_TOKEN_LENGTH);
    const result = await expectFailure(token, options([key.jwk]), 'JWT_MALFORMED');
    expect(result.message).toBe(`token is ${token.length} characters long; at most ${MAX_TOKEN_LENGTH} are accepted`);
  });

  it('accepts a token just under the size cap', async () => {
    const token = makeToken(key, 'RS256', validClaims({ pad: 'x'.repeat(11_500) }));
    expect(token.length).toBeGreaterThan(MAX_TOKEN_LENGTH - 500);
    expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect((await verifyJwt(token, options([key.jwk]))).ok).toBe(true);
  });
});

describe('verifyJwt: algorithms', () => {
  const key = keysByAlgorithm.RS256;

  it('rejects an algorithm outside the allow list and names the allowed ones', async () => {
    const result = await expectFailure(
      makeToken(key, 'RS384'),
      options([key.jwk], { allowedAlgorithms: ['RS256', 'ES256'] }),
      'JWT_ALGORITHM_NOT_ALLOWED',
    );
    expect(result.message).toBe('token algorithm "RS384" is not allowed (allowed: RS256, ES256)');
    expect(result.header).toMatchObject({ alg: 'RS384' });
  });

  it.each(['none', 'None', 'NONE'])(
    'rejects alg %s even when the allow list is tampered to contain it',
    async (alg) => {
      const token = `${base64url(JSON.stringify({ alg }))}.${base64url(JSON.stringify(validClaims()))}.`;
      const allowedAlgorithms = [...supportedJwsAlgorithms, alg] as JwsAlgorithm[];
      const result = await expectFailure(token, options([key.jwk], { allowedAlgorithms }), 'JWT_ALGORITHM_NOT_ALLOWED');
      expect(result.message).toBe('token is unsigned (alg "none"), which is never accepted');
    },
  );

  it('rejects an unknown algorithm', async () => {
    const token = `${base64url(JSON.stringify({ alg: 'ES256K' }))}.${base64url(JSON.stringify(validClaims()))}.AAAA`;
    await expectFailure(token, options([key.jwk]), 'JWT_ALGORITHM_NOT_ALLOWED');
  });

  it('does not let an HS256 token use an RSA public key as the HMAC secret (algorithm confusion)', async () => {
    const publicPem = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' });
    const confused: TestKey = {
      jwk: key.jwk,
      signWith: (_alg, data) => createHmac('sha256', publicPem).update(data).digest(),
    };
    const token = makeToken(confused, 'HS256');
    await expectFailure(token, options([key.jwk], { allowedAlgorithms: ['RS256', 'HS256'] }), 'JWT_KEY_NOT_FOUND');
  });
});

describe('verifyJwt: key selection', () => {
  const key = keysByAlgorithm.RS256;
  const other = rsaKey('rsa-2');

  it('passes kid, alg and jku to resolveKeys', async () => {
    const resolveKeys = vi.fn(() => Promise.resolve([key.jwk]));
    const token = makeToken(key, 'RS256', validClaims(), {
      alg: 'RS256',
      kid: 'rsa-1',
      jku: 'https://idp.example.com/jwks',
    });
    expect((await verifyJwt(token, options([], { resolveKeys }))).ok).toBe(true);
    expect(resolveKeys).toHaveBeenCalledWith({ alg: 'RS256', kid: 'rsa-1', jku: 'https://idp.example.com/jwks' });
  });

  it('uses only the key named by kid', async () => {
    const token = makeToken(other, 'RS256');
    expect((await verifyJwt(token, options([key.jwk, other.jwk]))).ok).toBe(true);
    // The signing key published under another kid must not be found through the token's kid.
    const mislabelled = makeToken(other, 'RS256', validClaims(), { alg: 'RS256', kid: 'rsa-1' });
    await expectFailure(mislabelled, options([key.jwk, other.jwk]), 'JWT_SIGNATURE_INVALID');
  });

  it('reports an unknown kid as JWT_KEY_NOT_FOUND', async () => {
    const token = makeToken(key, 'RS256', validClaims(), { alg: 'RS256', kid: 'rotated-away' });
    const result = await expectFailure(token, options([key.jwk, other.jwk]), 'JWT_KEY_NOT_FOUND');
    expect(result.message).toBe('no signing key with kid "rotated-away" fits algorithm RS256');
  });

  it('tries every fitting key when the token has no kid', async () => {
    const token = makeToken(other, 'RS256', validClaims(), { alg: 'RS256' });
    const ecJwk = keysByAlgorithm.ES256.jwk;
    expect((await verifyJwt(token, options([ecJwk, key.jwk, other.jwk]))).ok).toBe(true);
  });

  it('reports no fitting key when the JWKS holds only keys of another type', async () => {
    const token = makeToken(key, 'RS256', validClaims(), { alg: 'RS256' });
    await expectFailure(token, options([keysByAlgorithm.ES256.jwk, keysByAlgorithm.HS256.jwk]), 'JWT_KEY_NOT_FOUND');
    await expectFailure(token, options([]), 'JWT_KEY_NOT_FOUND');
  });

  it('skips a key whose alg differs from the token', async () => {
    const token = makeToken(key, 'RS256');
    await expectFailure(token, options([{ ...key.jwk, alg: 'RS512' }]), 'JWT_KEY_NOT_FOUND');
    expect((await verifyJwt(token, options([{ ...key.jwk, alg: 'RS256' }]))).ok).toBe(true);
  });

  it('skips a key meant for encryption', async () => {
    const token = makeToken(key, 'RS256');
    await expectFailure(token, options([{ ...key.jwk, use: 'enc' }]), 'JWT_KEY_NOT_FOUND');
    await expectFailure(token, options([{ ...key.jwk, key_ops: ['encrypt'] }]), 'JWT_KEY_NOT_FOUND');
    expect((await verifyJwt(token, options([{ ...key.jwk, use: 'sig', key_ops: ['verify'] }]))).ok).toBe(true);
  });

  it('skips an EC key on another curve', async () => {
    const token = makeToken(keysByAlgorithm.ES256, 'ES256', validClaims(), { alg: 'ES256' });
    const result = await expectFailure(token, options([keysByAlgorithm.ES384.jwk]), 'JWT_KEY_NOT_FOUND');
    expect(result.message).toBe('no signing key fits algorithm ES256');
  });

  it('uses a key only as its declared kty, whatever other members it carries', async () => {
    const hybrid: Jwk = {
      kty: 'oct',
      k: randomBytes(32).toString('base64url'),
      n: key.jwk.n,
      e: key.jwk.e,
      kid: 'rsa-1',
    };
    const result = await expectFailure(makeToken(key, 'RS256'), options([hybrid]), 'JWT_KEY_NOT_FOUND');
    expect(result.message).toBe('no signing key with kid "rsa-1" fits algorithm RS256');
  });

  it('verifies with the public part of a JWK that also carries private members', async () => {
    const withPrivate = { ...rsa.privateKey.export({ format: 'jwk' }), kid: 'rsa-1' };
    expect(withPrivate.d).toBeDefined();
    expect((await verifyJwt(makeToken(key, 'RS256'), options([withPrivate]))).ok).toBe(true);
  });

  it('reports a key that cannot be imported as JWT_KEY_NOT_FOUND', async () => {
    const broken: Jwk = { kty: 'RSA', kid: 'rsa-1', e: 'AQAB' };
    const result = await expectFailure(makeToken(key, 'RS256'), options([broken]), 'JWT_KEY_NOT_FOUND');
    expect(result.message).toMatch(
      /^no signing key with kid "rsa-1" fits algorithm RS256; the matching keys are unusable/,
    );
  });

  it('refuses RSA keys under 2048 bits', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const weak: TestKey = {
      jwk: { ...publicKey.export({ format: 'jwk' }), kid: 'weak' },
      signWith: (_alg, data) => sign('sha256', data, privateKey),
    };
    await expectFailure(makeToken(weak, 'RS256'), options([weak.jwk]), 'JWT_KEY_NOT_FOUND');
  });

  it('refuses HMAC keys shorter than the hash output', async () => {
    const short = hmacKey('short', randomBytes(31));
    await expectFailure(makeToken(short, 'HS256'), options([short.jwk]), 'JWT_KEY_NOT_FOUND');
    const exact = hmacKey('exact', randomBytes(32));
    expect((await verifyJwt(makeToken(exact, 'HS256'), options([exact.jwk]))).ok).toBe(true);
    await expectFailure(makeToken(exact, 'HS512'), options([exact.jwk]), 'JWT_KEY_NOT_FOUND');
  });

  it('counts every byte of an HMAC secret, leading zeros included', async () => {
    // A secret is not a number: 32 bytes that start with 0x00 are still 32 bytes, enough for HS256.
    const leadingZero = hmacKey('zero', Buffer.concat([Buffer.alloc(1), randomBytes(31)]));
    expect((await verifyJwt(makeToken(leadingZero, 'HS256'), options([leadingZero.jwk]))).ok).toBe(true);
  });

  it('uses a key whose key_ops allow verify among other operations', async () => {
    const token = makeToken(key, 'RS256');
    expect((await verifyJwt(token, options([{ ...key.jwk, key_ops: ['verify', 'encrypt'] }]))).ok).toBe(true);
  });

  it('skips a key whose alg is not a string', async () => {
    const token = makeToken(key, 'RS256');
    const resolveKeys = () => Promise.resolve([{ ...key.jwk, alg: 256 }]);
    await expectFailure(token, options([], { resolveKeys }), 'JWT_KEY_NOT_FOUND');
  });

  it('reports a failing key source as JWKS_UNAVAILABLE', async () => {
    const resolveKeys = () => Promise.reject(new Error('GET https://idp.example.com/jwks: 503'));
    const result = await expectFailure(makeToken(key, 'RS256'), options([], { resolveKeys }), 'JWKS_UNAVAILABLE');
    expect(result.message).toBe('signing keys could not be loaded: GET https://idp.example.com/jwks: 503');
  });

  it('imports a key once and reuses it for later tokens', async () => {
    const fresh = ecKey('cache-test', 'P-256');
    const importKey = vi.spyOn(crypto.subtle, 'importKey');
    for (let request = 0; request < 5; request += 1) {
      const token = makeToken(fresh, 'ES256', validClaims({ jti: `request-${request}` }));
      expect(await verifyJwt(token, options([fresh.jwk]))).toMatchObject({ ok: true });
    }
    expect(importKey).toHaveBeenCalledTimes(1);
    // A JWKS refresh hands us new objects for the same key: still the same identity, still no import.
    await verifyJwt(makeToken(fresh, 'ES256'), options([structuredClone(fresh.jwk)]));
    expect(importKey).toHaveBeenCalledTimes(1);
    // Rotated key material with the same kid is a different identity and must be imported, not served stale.
    const rotated = ecKey('cache-test', 'P-256');
    expect((await verifyJwt(makeToken(rotated, 'ES256'), options([rotated.jwk]))).ok).toBe(true);
    expect(importKey).toHaveBeenCalledTimes(2);
  });

  it('imports an HMAC secret once and reuses it for later tokens', async () => {
    const secret = hmacKey('hmac-cache-test');
    const importKey = vi.spyOn(crypto.subtle, 'importKey');
    for (let request = 0; request < 3; request += 1) {
      const token = makeToken(secret, 'HS256', validClaims({ jti: `request-${request}` }));
      expect(await verifyJwt(token, options([structuredClone(secret.jwk)]))).toMatchObject({ ok: true });
    }
    expect(importKey).toHaveBeenCalledTimes(1);
  });
});

describe('verifyJwt: claims', () => {
  const key = keysByAlgorithm.ES256;
  const verify = (claims: Record<string, unknown>, overrides: Partial<JwtVerifyOptions> = {}) =>
    verifyJwt(makeToken(key, 'ES256', claims), options([key.jwk], overrides));

  it('rejects an expired token with a readable time and keeps the verified claims', async () => {
    const exp = Date.UTC(2026, 10, 24, 9, 0, 0) / 1000;
    const result = await verify(validClaims({ exp }));
    expect(result).toMatchObject({ ok: false, code: 'JWT_EXPIRED', message: 'token expired at 2026-11-24T09:00:00Z' });
    expect(result.payload).toMatchObject({ exp, sub: 'user-1' });
  });

  it('allows the default 60 s of clock skew on exp, and no more', async () => {
    expect((await verify(validClaims({ exp: NOW - 59 }))).ok).toBe(true);
    expect(await verify(validClaims({ exp: NOW - 60 }))).toMatchObject({ code: 'JWT_EXPIRED' });
  });

  it('honours a configured clock skew', async () => {
    expect(await verify(validClaims({ exp: NOW - 1 }), { clockSkewSeconds: 0 })).toMatchObject({ code: 'JWT_EXPIRED' });
    expect(await verify(validClaims({ exp: NOW }), { clockSkewSeconds: 0 })).toMatchObject({ code: 'JWT_EXPIRED' });
    expect((await verify(validClaims({ exp: NOW - 200 }), { clockSkewSeconds: 300 })).ok).toBe(true);
  });

  it('rejects a token before its nbf', async () => {
    const nbf = NOW + 3600;
    expect(await verify(validClaims({ nbf }))).toMatchObject({
      ok: false,
      code: 'JWT_NOT_YET_VALID',
      message: 'token is not valid before 2026-11-24T11:00:00Z',
    });
    expect((await verify(validClaims({ nbf: NOW + 60 }))).ok).toBe(true);
    expect(await verify(validClaims({ nbf: NOW + 61 }))).toMatchObject({ code: 'JWT_NOT_YET_VALID' });
  });

  it('rejects a token issued in the future', async () => {
    expect(await verify(validClaims({ iat: NOW + 600 }))).toMatchObject({ code: 'JWT_NOT_YET_VALID' });
    expect((await verify(validClaims({ iat: NOW + 30 }))).ok).toBe(true);
  });

  it('accepts a token without time claims', async () => {
    expect(await verify({ iss: ISSUER, aud: AUDIENCE })).toMatchObject({ ok: true });
  });

  it('shows an out-of-range time as a number instead of throwing', async () => {
    expect(await verify(validClaims({ exp: -1e20 }))).toMatchObject({
      code: 'JWT_EXPIRED',
      message: 'token expired at -100000000000000000000 (seconds since the epoch)',
    });
  });

  it('rejects an issuer outside the allow list', async () => {
    expect(await verify(validClaims({ iss: 'https://evil.example.com/' }))).toMatchObject({
      code: 'JWT_ISSUER_NOT_ALLOWED',
      message: 'token issuer "https://evil.example.com/" is not allowed',
    });
    expect(await verify(validClaims({ iss: undefined }))).toMatchObject({
      code: 'JWT_ISSUER_NOT_ALLOWED',
      message: 'token has no "iss" claim',
    });
    expect(await verify(validClaims(), { issuers: [] })).toMatchObject({ code: 'JWT_ISSUER_NOT_ALLOWED' });
  });

  it('treats a trailing slash as part of the issuer and says so', async () => {
    expect(await verify(validClaims({ iss: 'https://idp.example.com' }))).toMatchObject({
      code: 'JWT_ISSUER_NOT_ALLOWED',
      message:
        'token issuer "https://idp.example.com" is not allowed (an allowed issuer differs only by a trailing slash: "https://idp.example.com/")',
    });
    expect(await verify(validClaims(), { issuers: ['https://idp.example.com'] })).toMatchObject({
      code: 'JWT_ISSUER_NOT_ALLOWED',
    });
  });

  it('accepts any of several issuers', async () => {
    expect(
      (
        await verify(validClaims({ iss: 'https://second.example.com' }), {
          issuers: [ISSUER, 'https://second.example.com'],
        })
      ).ok,
    ).toBe(true);
  });

  it('accepts an audience array that contains an allowed audience', async () => {
    expect((await verify(validClaims({ aud: ['https://other.example.com', AUDIENCE] }))).ok).toBe(true);
  });

  it('rejects an audience array without an allowed audience', async () => {
    expect(
      await verify(validClaims({ aud: ['https://other.example.com', 'https://third.example.com'] })),
    ).toMatchObject({
      code: 'JWT_AUDIENCE_NOT_ALLOWED',
      message: 'token audience "https://other.example.com", "https://third.example.com" is not allowed',
    });
    expect(await verify(validClaims({ aud: [] }))).toMatchObject({ code: 'JWT_AUDIENCE_NOT_ALLOWED' });
  });

  it('rejects a wrong or missing string audience', async () => {
    expect(await verify(validClaims({ aud: 'https://other.example.com' }))).toMatchObject({
      code: 'JWT_AUDIENCE_NOT_ALLOWED',
    });
    expect(await verify(validClaims({ aud: undefined }))).toMatchObject({
      code: 'JWT_AUDIENCE_NOT_ALLOWED',
      message: 'token has no "aud" claim',
    });
  });

  it('ignores aud when no audiences are configured', async () => {
    expect((await verify(validClaims({ aud: 'https://anything.example.com' }), { audiences: [] })).ok).toBe(true);
    expect((await verify(validClaims({ aud: undefined }), { audiences: undefined })).ok).toBe(true);
  });

  it('checks the signature before any claim, so a forged token never reports claim problems', async () => {
    const [header, , signature] = makeToken(key, 'ES256').split('.');
    const forged = `${header}.${base64url(JSON.stringify(validClaims({ exp: NOW - 9999, iss: 'x' })))}.${signature}`;
    await expectFailure(forged, options([key.jwk]), 'JWT_SIGNATURE_INVALID');
  });
});

describe('extractBearerToken', () => {
  it.each([
    [['Bearer abc.def.ghi'], 'Bearer ', 'abc.def.ghi'],
    [['bearer abc.def.ghi'], 'Bearer ', 'abc.def.ghi'],
    [['  BEARER   abc.def.ghi  '], 'Bearer ', 'abc.def.ghi'],
    [['Basic dXNlcjpwYXNz', 'Bearer abc'], 'Bearer ', 'abc'],
    [['Bearer abc', 'Bearer abc'], 'Bearer ', 'abc'],
    [['Token abc'], 'token ', 'abc'],
    [['abc.def.ghi'], '', 'abc.def.ghi'],
  ] as const)('finds the token in %j with prefix %j', (values, prefix, expected) => {
    expect(extractBearerToken(values, prefix)).toBe(expected);
  });

  it.each([
    [undefined],
    [[]],
    [['Basic dXNlcjpwYXNz']],
    [['Bearer']],
    [['Bearer    ']],
    [['Bearerabc']],
    [['Bearer abc', 'Bearer xyz']],
  ])('finds no token in %j', (values) => {
    expect(extractBearerToken(values)).toBeUndefined();
  });
});
