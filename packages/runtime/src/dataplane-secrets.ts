import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * How secret values travel from the control plane to data planes (issue 15): AES-256-GCM under a key both derive
 * with HKDF-SHA256 from GATEHOUSE_DATAPLANE_TOKEN, which they already share, so the distributed shape needs no new
 * variable. Each value has a random 96-bit nonce and its vault and name as associated data, so a sealed value cannot be
 * moved to another secret. Data planes open them into memory only; the last-known-good file keeps the sealed form.
 *
 * Sealed form: `v1.<base64url(nonce ‖ ciphertext ‖ 16-byte tag)>`.
 */
const version = 'v1';
const nonceBytes = 12;
const tagBytes = 16;

export function deriveDataplaneSecretsKey(dataplaneToken: string): Buffer {
  return Buffer.from(
    hkdfSync(
      'sha256',
      Buffer.from(dataplaneToken, 'utf8'),
      Buffer.from('gatehouse', 'utf8'),
      Buffer.from('gatehouse data-plane secrets v1', 'utf8'),
      32,
    ),
  );
}

/**
 * The secret data planes derive sign-in cookie keys from (openid-connect, oauth): every data plane of an installation
 * holds the same token, so a session cookie set by one opens on all of them. A separate HKDF label keeps it
 * independent of the secrets key.
 */
export function deriveDataplaneSessionSecret(dataplaneToken: string): Buffer {
  return Buffer.from(
    hkdfSync(
      'sha256',
      Buffer.from(dataplaneToken, 'utf8'),
      Buffer.from('gatehouse', 'utf8'),
      Buffer.from('gatehouse data-plane sign-in sessions v1', 'utf8'),
      32,
    ),
  );
}

/** The associated data binding a value to its place: vault and name cannot contain NUL. */
export function secretAad(vault: string, name: string): Buffer {
  return Buffer.from(`${vault}\u0000${name}`, 'utf8');
}

export function sealForDataplanes(key: Buffer, vault: string, name: string, value: string): string {
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(secretAad(vault, name));
  const encrypted = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return `${version}.${Buffer.concat([nonce, encrypted, cipher.getAuthTag()]).toString('base64url')}`;
}

/** The value, or throws when the key, the vault/name binding or the bytes are wrong (never says which byte). */
export function openFromControlPlane(key: Buffer, vault: string, name: string, sealed: string): string {
  if (!sealed.startsWith(`${version}.`)) throw new Error(`secret ${vault}/${name}: unknown sealed format`);
  const bytes = Buffer.from(sealed.slice(version.length + 1), 'base64url');
  if (bytes.length < nonceBytes + tagBytes) throw new Error(`secret ${vault}/${name}: sealed value too short`);
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, nonceBytes));
  decipher.setAAD(secretAad(vault, name));
  decipher.setAuthTag(bytes.subarray(bytes.length - tagBytes));
  try {
    return Buffer.concat([
      decipher.update(bytes.subarray(nonceBytes, bytes.length - tagBytes)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw new Error(`secret ${vault}/${name} could not be opened: wrong GATEHOUSE_DATAPLANE_TOKEN or altered data`);
  }
}
