import { createHash } from 'node:crypto';
import { redactedFingerprintPrefix } from '@gatehouse/contracts';

/** Hashed in front of every value, so a fingerprint here never equals a hash of the same value made for anything else. */
const domain = 'gatehouse replay header v1\u0000';

/**
 * The recorded stand-in for a redacted header value (contracts' `redactedFingerprintPrefix`): equal values give
 * equal fingerprints, so a replayed rate limit keyed on the header still tells callers apart. An authorization
 * scheme (`Bearer`, `Basic`) is kept in front, because policies test it (`startsWith('Bearer ')`) and it is no secret.
 */
export function fingerprintRedactedValue(value: string): string {
  if (value.startsWith(redactedFingerprintPrefix) || /^[A-Za-z][\w-]* redacted:sha256:/.test(value)) return value;
  const scheme = /^([A-Za-z][\w-]*) +\S/.exec(value)?.[1];
  const digest = createHash('sha256').update(domain).update(value).digest('hex').slice(0, 16);
  return scheme === undefined
    ? `${redactedFingerprintPrefix}${digest}`
    : `${scheme} ${redactedFingerprintPrefix}${digest}`;
}
