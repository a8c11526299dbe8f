import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * `<prefix>_` + 26 lower-case Crockford base32 characters: 48 bits of milliseconds then 80 random bits (ULID layout).
 * Ids sort by creation time, which is what `before_id` cursor pagination relies on.
 */
export function newId(prefix: string): string {
  let time = Date.now();
  const timePart: string[] = [];
  for (let index = 0; index < 10; index += 1) {
    timePart.unshift(CROCKFORD[time % 32] ?? '0');
    time = Math.floor(time / 32);
  }
  const random = randomBytes(10);
  let bits = 0n;
  for (const byte of random) bits = (bits << 8n) | BigInt(byte);
  const randomPart: string[] = [];
  for (let index = 0; index < 16; index += 1) {
    randomPart.unshift(CROCKFORD[Number(bits & 31n)] ?? '0');
    bits >>= 5n;
  }
  return `${prefix}_${timePart.join('')}${randomPart.join('')}`;
}

export const ID_PATTERN = (prefix: string): RegExp => new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`);
