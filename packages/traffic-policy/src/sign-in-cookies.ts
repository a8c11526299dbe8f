// jose's subpath entries, not its index (which loads every JOSE module): see jws-keys.ts.
import * as base64url from 'jose/base64url';
import { compactDecrypt } from 'jose/jwe/compact/decrypt';
import { CompactEncrypt } from 'jose/jwe/compact/encrypt';
import type { SessionKeyring } from './ports.js';

/**
 * Sealed cookies for the sign-in actions (openid-connect, oauth): JWE compact serialization, `dir` + A256GCM, so a
 * cookie is both encrypted (the browser cannot read the identity or the access token in it) and authenticated (any
 * change fails to open). The key is derived with HKDF-SHA256 from a keyring secret, per endpoint, per action and per
 * purpose (`session` or `flow`): a cookie sealed for one endpoint, or a flow cookie presented as a session, does not
 * open anywhere else. The JWE header names the keyring secret by id, so a new secret can be put first while the
 * previous one still opens what it sealed. WebCrypto and jose only: this runs in the browser's editor too.
 */

export type CookiePurpose = 'session' | 'flow';

/** Derived keys by secret id and info; bounded because endpoints come and go with config swaps. */
const derivedKeys = new Map<string, Promise<CryptoKey>>();
const MAX_DERIVED_KEYS = 4096;

/**
 * Cookies already opened, by secret id, binding and value → their plaintext. A browser sends the same session cookie
 * on every request until it is renewed, and opening it (WebCrypto AES-GCM through jose) costs far more than the rest of
 * a request's policy. Exact: the same value under the same key always opens to the same plaintext; a secret dropped
 * from the keyring is checked before the cache is read. Bounded, oldest entries first out.
 */
const openedCookies = new Map<string, string>();
const MAX_OPENED_COOKIES = 4096;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What one sealed cookie is bound to; all parts end up in the HKDF info. */
export interface CookieBinding {
  endpointId: string;
  actionType: string;
  authId: string;
  purpose: CookiePurpose;
}

function infoOf(binding: CookieBinding): string {
  // NUL cannot appear in endpoint ids, action types or auth ids (the schema limits auth_id to a token).
  return `gatehouse sign-in cookie v1\u0000${binding.endpointId}\u0000${binding.actionType}\u0000${binding.authId}\u0000${binding.purpose}`;
}

function deriveKey(secretId: string, secret: Uint8Array, info: string): Promise<CryptoKey> {
  const cacheKey = `${secretId}\u0000${info}`;
  let key = derivedKeys.get(cacheKey);
  if (key === undefined) {
    if (derivedKeys.size >= MAX_DERIVED_KEYS) derivedKeys.delete(derivedKeys.keys().next().value!);
    key = (async () => {
      const material = await crypto.subtle.importKey('raw', secret as Uint8Array<ArrayBuffer>, 'HKDF', false, [
        'deriveBits',
      ]);
      const bits = await crypto.subtle.deriveBits(
        { name: 'HKDF', hash: 'SHA-256', salt: encoder.encode('gatehouse'), info: encoder.encode(info) },
        material,
        256,
      );
      // Imported once as a CryptoKey: handing jose raw bytes would import them again on every cookie.
      return crypto.subtle.importKey('raw', bits, 'AES-GCM', false, ['encrypt', 'decrypt']);
    })();
    derivedKeys.set(cacheKey, key);
  }
  return key;
}

/** Seals `payload` with the keyring's first secret. Throws when the keyring is empty (a data plane bug). */
export async function sealCookie(
  keyring: SessionKeyring,
  binding: CookieBinding,
  payload: Record<string, unknown>,
): Promise<string> {
  const current = keyring.secrets[0];
  if (current === undefined) throw new Error('the session keyring has no secret');
  const key = await deriveKey(current.id, current.secret, infoOf(binding));
  return new CompactEncrypt(encoder.encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: current.id })
    .encrypt(key);
}

/** The payload of a cookie this keyring sealed for `binding`; undefined for anything else (tampered, foreign, junk). */
export async function openCookie(
  keyring: SessionKeyring,
  binding: CookieBinding,
  value: string,
): Promise<Record<string, unknown> | undefined> {
  // A sealed cookie has five segments and is never longer than a browser keeps; anything else is not ours.
  if (value.length > 8192 || value.split('.').length !== 5) return undefined;
  let kid: unknown;
  try {
    kid = (JSON.parse(decoder.decode(base64url.decode(value.slice(0, value.indexOf('.'))))) as { kid?: unknown }).kid;
  } catch {
    return undefined;
  }
  const entry = keyring.secrets.find((secret) => secret.id === kid);
  if (entry === undefined) return undefined;
  const info = infoOf(binding);
  const cacheKey = `${entry.id}\u0000${info}\u0000${value}`;
  try {
    let text = openedCookies.get(cacheKey);
    if (text === undefined) {
      const key = await deriveKey(entry.id, entry.secret, info);
      const { plaintext } = await compactDecrypt(value, key, {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      text = decoder.decode(plaintext);
      if (openedCookies.size >= MAX_OPENED_COOKIES) openedCookies.delete(openedCookies.keys().next().value!);
      openedCookies.set(cacheKey, text);
    }
    // Parsed on every use: callers change the session they get (activity, identity) before sealing it again.
    const payload = JSON.parse(text) as unknown;
    return payload !== null && typeof payload === 'object' && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** 32 random bytes, base64url: state, nonce, PKCE verifier and session ids. */
export function randomToken(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
}

/** RFC 7636 S256: base64url(SHA-256(verifier)). */
export async function pkceChallenge(verifier: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(verifier))));
}

/**
 * `identity.id`: ngrok's is the id of an Identity record it stores; Gatehouse keeps no identity store (sessions live
 * in sealed cookies), so the id is derived — `idt_` and 26 base32 characters of SHA-256 over the issuer and the
 * provider's user id. The same user of the same issuer gets the same id on every endpoint, data plane and session;
 * it does not reveal the user id (which `identity.provider_user_id` gives anyway) to anyone without the issuer.
 */
export async function identityIdOf(namespace: string, providerUserId: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', encoder.encode(`gatehouse-identity\n${namespace}\n${providerUserId}`)),
  );
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest.subarray(0, 17)) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return `idt_${out}`;
}
