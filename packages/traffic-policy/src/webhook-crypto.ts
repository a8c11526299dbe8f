/**
 * The byte-level helpers webhook verification needs, on WebCrypto only (`crypto.subtle`), so the engine stays usable in
 * the browser. Every comparison of secret-derived bytes is constant-time.
 */

export type HashName = 'SHA-1' | 'SHA-256' | 'SHA-512';

export type Bytes = Uint8Array<ArrayBuffer>;

export async function hmac(hash: HashName, key: Uint8Array, ...parts: (Uint8Array | string)[]): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey('raw', ownBuffer(key), { name: 'HMAC', hash }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, concat(parts)));
}

export async function digest(hash: HashName, ...parts: (Uint8Array | string)[]): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(hash, concat(parts)));
}

/**
 * ECDSA P-256 / SHA-256 with a public key given as base64 DER (SubjectPublicKeyInfo, what SendGrid shows) and a
 * DER-encoded signature; WebCrypto wants the raw r‖s form, so the DER is unpacked first.
 */
export async function verifyEcdsaP256(publicKeySpki: Uint8Array, derSignature: Uint8Array, data: Uint8Array) {
  const raw = derToRawEcdsaSignature(derSignature, 32);
  if (!raw) return false;
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey(
      'spki',
      ownBuffer(publicKeySpki),
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['verify'],
    );
  } catch {
    return undefined;
  }
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, ownBuffer(raw), ownBuffer(data));
}

/** RSA PKCS #1 v1.5 with a public key given as DER SubjectPublicKeyInfo (Amazon SNS); false for a key that is not RSA. */
export async function verifyRsaPkcs1(
  hash: HashName,
  publicKeySpki: Uint8Array,
  signature: Uint8Array,
  data: Uint8Array,
): Promise<boolean> {
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('spki', ownBuffer(publicKeySpki), { name: 'RSASSA-PKCS1-v1_5', hash }, false, [
      'verify',
    ]);
  } catch {
    return false;
  }
  return crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, ownBuffer(signature), ownBuffer(data));
}

/** `SEQUENCE { INTEGER r, INTEGER s }` → r‖s, each left-padded to `size` bytes; undefined when it is not that shape. */
function derToRawEcdsaSignature(der: Uint8Array, size: number): Uint8Array | undefined {
  if (der[0] !== 0x30) return undefined;
  let offset = 2;
  if ((der[1] ?? 0) & 0x80) offset = 2 + ((der[1] ?? 0) & 0x7f);
  const raw = new Uint8Array(size * 2);
  for (let index = 0; index < 2; index += 1) {
    if (der[offset] !== 0x02) return undefined;
    const length = der[offset + 1] ?? 0;
    let integer = der.subarray(offset + 2, offset + 2 + length);
    if (integer.length !== length) return undefined;
    while (integer.length > size && integer[0] === 0) integer = integer.subarray(1);
    if (integer.length > size) return undefined;
    raw.set(integer, size * (index + 1) - integer.length);
    offset += 2 + length;
  }
  return offset === der.length ? raw : undefined;
}

/** Always examines every byte, so the time taken says nothing about where a forged signature first differs. */
export function constantTimeEqual(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  let difference = 0;
  for (let index = 0; index < left.length; index += 1) difference |= (left[index] ?? 0) ^ (right[index] ?? 0);
  return difference === 0;
}

/** Every entry is compared even after a match, for the same reason as above. */
export function anyMatches(presented: readonly (Uint8Array | undefined)[], expected: Uint8Array): boolean {
  let matched = false;
  for (const signature of presented) {
    if (signature && constantTimeEqual(signature, expected)) matched = true;
  }
  return matched;
}

export function utf8(text: string): Bytes {
  return new TextEncoder().encode(text);
}

export function concat(parts: readonly (Uint8Array | string)[]): Bytes {
  const bytes = parts.map((part) => (typeof part === 'string' ? utf8(part) : part));
  if (bytes.length === 1) return ownBuffer(bytes[0] ?? new Uint8Array());
  const joined = new Uint8Array(bytes.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of bytes) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** WebCrypto's types want a view of a plain ArrayBuffer; copy only a view of anything else (e.g. a SharedArrayBuffer). */
export function ownBuffer(bytes: Uint8Array): Bytes {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Bytes) : new Uint8Array(bytes);
}

export function decodeHex(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(text)) return undefined;
  const bytes = new Uint8Array(text.length / 2);
  for (let index = 0; index < bytes.length; index += 1)
    bytes[index] = parseInt(text.slice(index * 2, index * 2 + 2), 16);
  return bytes;
}

export function encodeHex(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += byte.toString(16).padStart(2, '0');
  return text;
}

/** Standard base64 (padding optional); URL-safe letters are accepted too, since some senders use them. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length === 0 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return undefined;
  const standard = text.replace(/-/g, '+').replace(/_/g, '/');
  let binary: string;
  try {
    binary = atob(standard.padEnd(Math.ceil(standard.length / 4) * 4, '='));
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
