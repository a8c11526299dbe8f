import { monotonicFactory } from 'ulid';

/**
 * Monotonic within this process: ids made in the same millisecond (an endpoint and its first version, written in one
 * transaction with their audit events) still sort in the order they were made, so a newest-first list shows them as
 * they happened. Plain ULIDs are random within a millisecond.
 */
const nextUlid = monotonicFactory();

/**
 * `<prefix>_` + a ULID in lower case: 26 Crockford base32 characters, 48 bits of milliseconds then 80 random bits.
 * Ids sort by creation time, which is what `before_id` cursor pagination relies on.
 */
export function newId(prefix: string): string {
  return `${prefix}_${nextUlid().toLowerCase()}`;
}

export const ID_PATTERN = (prefix: string): RegExp => new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`);
