import { describe, expect, it } from 'vitest';
import { newId } from './ids';

describe('newId', () => {
  it('is the prefix plus 26 lower-case Crockford base32 characters', () => {
    expect(newId('ep')).toMatch(/^ep_[0-9a-hjkmnp-tv-z]{26}$/);
  });
  it('sorts by creation time across milliseconds and never repeats', async () => {
    const first = newId('ep');
    await new Promise((resolve) => setTimeout(resolve, 2));
    const second = newId('ep');
    expect(first < second).toBe(true);
    const many = new Set(Array.from({ length: 10_000 }, () => newId('ep')));
    expect(many.size).toBe(10_000);
  });
  it('sorts in the order made within one millisecond (audit events of one transaction)', () => {
    // 10,000 ids take a few milliseconds: most share their millisecond with others.
    const made = Array.from({ length: 10_000 }, () => newId('ae'));
    expect([...made].sort()).toEqual(made);
  });
});
