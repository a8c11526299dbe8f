// jose's subpath entries, not its index: the index loads every JOSE module (JWE, JWT, key generation…), which a data
// plane paid at boot for a feature most policies never use (issue 18 item 5).
import type { JWK } from 'jose';
import * as errors from 'jose/errors';
import { createLocalJWKSet } from 'jose/jwks/local';
import { compactVerify } from 'jose/jws/compact/verify';
import { importJWK } from 'jose/key/import';

/**
 * Which of the offered keys may verify a token, and whether one does. jose selects the keys (`createLocalJWKSet`:
 * key type from the algorithm, `kid`, `alg`, `use`, `key_ops`, curve), imports them and verifies the JWS. What stays
 * here is what jose leaves to its caller: keeping only public members, the key sizes RFC 7518 requires, HMAC secrets
 * (jose's key sets refuse symmetric algorithms) and caching across JWKS refreshes.
 */

/** The JWS algorithms (RFC 7518) jwt-validation verifies; `none` is never one of them. */
export const supportedJwsAlgorithms = [
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
] as const;

export type JwsAlgorithm = (typeof supportedJwsAlgorithms)[number];

type HmacAlgorithm = Extract<JwsAlgorithm, `HS${string}`>;

export type SignatureCheck = 'verified' | 'invalid' | 'no-fitting-key' | 'no-usable-key';

/** Without a `kid` every fitting key is tried; the cap keeps a large JWKS from multiplying the cost of a bad token. */
const MAX_KEYS_TRIED = 10;
/** Enough for the key sets of every IdP a deployment plausibly trusts; the least recently used is dropped beyond it. */
const MAX_CACHED_KEY_SETS = 256;
const MIN_RSA_MODULUS_BITS = 2048;

/** The offered keys reduced to what verification uses, with their imports cached by jose or, for secrets, here. */
interface KeySet {
  readonly publicKeys: ReturnType<typeof createLocalJWKSet>;
  readonly secrets: readonly JWK[];
  /** By algorithm and index into `secrets`; `undefined` remembers a secret that is too short or does not import. */
  readonly importedSecrets: Map<string, Promise<CryptoKey | undefined>>;
}

/**
 * Key sets by the content of their keys rather than by object: a JWKS refresh hands over new objects for the same
 * keys, and they must not be imported again, while rotated key material under the same `kid` must be.
 */
const keySets = new Map<string, KeySet>();

/** Verifies the signature of `token`, whose shape was checked and whose `alg` is allowed, with the keys that fit. */
export async function checkSignature(
  token: string,
  alg: JwsAlgorithm,
  kid: string | undefined,
  offeredKeys: readonly unknown[],
): Promise<SignatureCheck> {
  const keys = await fittingKeys(keySetOf(offeredKeys), alg, kid);
  if (keys === undefined) return 'no-fitting-key';
  let usable = 0;
  for await (const key of keys) {
    if (key === undefined || !isStrongEnough(key)) continue;
    usable += 1;
    if (await verifiesWith(token, key, alg)) return 'verified';
    if (usable === MAX_KEYS_TRIED) break;
  }
  return usable === 0 ? 'no-usable-key' : 'invalid';
}

/** Imported keys one at a time; `undefined` stands for a fitting key that cannot be used. */
type KeyStream = AsyncIterable<CryptoKey> | Iterable<CryptoKey | Promise<CryptoKey | undefined>>;

/** The keys that fit the header, imported as they are tried; `undefined` when no key fits at all. */
async function fittingKeys(keySet: KeySet, alg: JwsAlgorithm, kid: string | undefined): Promise<KeyStream | undefined> {
  if (isHmacAlgorithm(alg)) {
    const secrets = keySet.secrets.flatMap((secret, index) =>
      fitsHeader(secret, alg, kid) ? [importSecretOnce(keySet, secret, index, alg)] : [],
    );
    return secrets.length === 0 ? undefined : secrets;
  }
  try {
    return [await keySet.publicKeys({ alg, kid })];
  } catch (error) {
    if (error instanceof errors.JWKSNoMatchingKey) return undefined;
    // Several keys fit (no kid, or a reused one): jose yields each that imports, in JWKS order.
    if (error instanceof errors.JWKSMultipleMatchingKeys) return error;
    // The one fitting key does not import (a member missing or invalid).
    return [];
  }
}

async function verifiesWith(token: string, key: CryptoKey, alg: JwsAlgorithm): Promise<boolean> {
  try {
    await compactVerify(token, key, { algorithms: [alg] });
    return true;
  } catch {
    // A signature that does not verify, or anything else jose refuses in a token whose shape we already checked:
    // either way the token is not proven.
    return false;
  }
}

function keySetOf(offeredKeys: readonly unknown[]): KeySet {
  const keys = Array.isArray(offeredKeys) ? offeredKeys.flatMap(verificationJwk) : [];
  const identity = JSON.stringify(keys);
  const cached = keySets.get(identity);
  if (cached !== undefined) {
    // Re-inserting marks the entry as recently used, so eviction below drops the least recently used set.
    keySets.delete(identity);
    keySets.set(identity, cached);
    return cached;
  }
  const keySet: KeySet = {
    publicKeys: createLocalJWKSet({ keys: keys.filter((key) => key.kty !== 'oct') }),
    secrets: keys.filter((key) => key.kty === 'oct'),
    importedSecrets: new Map(),
  };
  keySets.set(identity, keySet);
  if (keySets.size > MAX_CACHED_KEY_SETS) {
    const oldest = keySets.keys().next();
    if (!oldest.done) keySets.delete(oldest.value);
  }
  return keySet;
}

/**
 * The members of an offered key that verification and selection use, or none for a key that cannot verify. Only
 * public members are kept: a JWKS that leaks private ones (`d`, `p`, …) must not make us hold a private key. A key
 * whose `alg`, `use` or `key_ops` is malformed or rules out verifying is left out whole.
 */
function verificationJwk(key: unknown): JWK[] {
  if (!isRecord(key)) return [];
  const member = (name: string): string | undefined => {
    const value = key[name];
    return typeof value === 'string' ? value : undefined;
  };
  const { alg, use, key_ops: keyOps } = key;
  if (alg !== undefined && typeof alg !== 'string') return [];
  if (use !== undefined && use !== 'sig') return [];
  if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes('verify'))) return [];
  const selection: JWK = {
    kid: member('kid'),
    alg: member('alg'),
    use: member('use'),
    // Only `verify` is carried over: jose imports a key with its `key_ops` as usages, and WebCrypto refuses usages a
    // verification key cannot have.
    key_ops: keyOps === undefined ? undefined : ['verify'],
  };
  const kty = member('kty');
  if (kty === 'RSA') return [{ kty, n: member('n'), e: member('e'), ...selection }];
  if (kty === 'EC') return [{ kty, crv: member('crv'), x: member('x'), y: member('y'), ...selection }];
  if (kty === 'OKP') return [{ kty, crv: member('crv'), x: member('x'), ...selection }];
  if (kty === 'oct') return [{ kty, k: member('k'), ...selection }];
  return [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isHmacAlgorithm(alg: JwsAlgorithm): alg is HmacAlgorithm {
  return alg === 'HS256' || alg === 'HS384' || alg === 'HS512';
}

/** The selection `createLocalJWKSet` applies to public keys, for the secrets it leaves out. */
function fitsHeader(secret: JWK, alg: HmacAlgorithm, kid: string | undefined): boolean {
  return (
    (kid === undefined || secret.kid === kid) &&
    (secret.alg === undefined || secret.alg === alg) &&
    (secret.use === undefined || secret.use === 'sig') &&
    (secret.key_ops === undefined || secret.key_ops.includes('verify'))
  );
}

/**
 * jose hands an `oct` JWK back as its raw bytes, which it would import again on every verification; the CryptoKey is
 * imported once per key set and algorithm instead.
 */
function importSecretOnce(
  keySet: KeySet,
  secret: JWK,
  index: number,
  alg: HmacAlgorithm,
): Promise<CryptoKey | undefined> {
  const cacheKey = `${alg}/${index}`;
  let imported = keySet.importedSecrets.get(cacheKey);
  if (imported === undefined) keySet.importedSecrets.set(cacheKey, (imported = importSecret(secret, alg)));
  return imported;
}

/** RFC 7518 §3.2 requires a secret at least as long as the hash output; a shorter one cannot be used. */
async function importSecret(secret: JWK, alg: HmacAlgorithm): Promise<CryptoKey | undefined> {
  const hashBits = Number(alg.slice(2));
  try {
    const bytes = await importJWK(secret, alg);
    if (!(bytes instanceof Uint8Array) || bytes.length < hashBits / 8) return undefined;
    // Copied once, because WebCrypto takes only unshared memory and jose types its bytes as possibly shared.
    const rawSecret = new Uint8Array(bytes);
    return await crypto.subtle.importKey('raw', rawSecret, { name: 'HMAC', hash: `SHA-${hashBits}` }, false, [
      'verify',
    ]);
  } catch {
    return undefined;
  }
}

/** RFC 7518 §3.3 makes 2048 bits a MUST for RSA keys; a toy modulus imports fine in WebCrypto and proves little. */
function isStrongEnough(key: CryptoKey): boolean {
  const { algorithm } = key;
  if (!('modulusLength' in algorithm)) return true;
  return typeof algorithm.modulusLength === 'number' && algorithm.modulusLength >= MIN_RSA_MODULUS_BITS;
}
