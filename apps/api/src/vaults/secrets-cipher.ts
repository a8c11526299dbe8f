import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { secretAad } from '@gatehouse/runtime';

/**
 * Secret values at rest (issue 15): AES-256-GCM under GATEHOUSE_SECRETS_KEY, a random 96-bit nonce per row, and the
 * vault and name as associated data, so a ciphertext copied onto another row does not open. Each row stores the id of
 * the key that sealed it (a hash prefix, never the key): rotating the key means adding the new one, re-sealing every
 * row (read with the old id, write with the new) and removing the old — rows name which key they need, so a
 * half-finished rotation is visible and a wrong key fails closed instead of returning garbage.
 */
export interface SealedSecret {
  keyId: string;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

export class SecretUnreadableError extends Error {
  constructor(vault: string, name: string, why: string) {
    super(`secret ${vault}/${name} cannot be opened: ${why}`);
    this.name = 'SecretUnreadableError';
  }
}

/** The 32 key bytes from base64, base64url or hex text; undefined when the text is none of those at 32 bytes. */
export function parseSecretsKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === 32) return bytes;
  }
  return undefined;
}

export class SecretsCipher {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('GATEHOUSE_SECRETS_KEY must be 32 bytes');
    this.keyId = `k-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
  }

  seal(vault: string, name: string, value: string): SealedSecret {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(secretAad(vault, name));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return { keyId: this.keyId, nonce, ciphertext };
  }

  open(vault: string, name: string, sealed: SealedSecret): string {
    if (sealed.keyId !== this.keyId) {
      throw new SecretUnreadableError(
        vault,
        name,
        `sealed under key ${sealed.keyId}, the configured key is ${this.keyId}`,
      );
    }
    const bytes = Buffer.from(sealed.ciphertext);
    if (bytes.length < 16) throw new SecretUnreadableError(vault, name, 'the stored ciphertext is truncated');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(sealed.nonce));
    decipher.setAAD(secretAad(vault, name));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnreadableError(
        vault,
        name,
        'authentication failed (altered, moved from another row, or another key)',
      );
    }
  }
}
