import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles the ceiling per attempt up to the cap, and draws within it', () => {
    const top = new Backoff(500, 30_000, () => 0.999_999);
    const delays = Array.from({ length: 10 }, () => top.next());
    expect(delays).toEqual([499, 999, 1_999, 3_999, 7_999, 15_999, 29_999, 29_999, 29_999, 29_999]);
    const bottom = new Backoff(500, 30_000, () => 0);
    expect(Array.from({ length: 5 }, () => bottom.next())).toEqual([0, 0, 0, 0, 0]);
  });

  it('spreads delays across the whole range (full jitter), and reset starts over', () => {
    const backoff = new Backoff(1_000, 30_000);
    for (let index = 0; index < 5; index++) backoff.next();
    const draws = Array.from({ length: 400 }, () => {
      const probe = new Backoff(1_000, 30_000);
      for (let index = 0; index < 5; index++) probe.next();
      return probe.next();
    });
    expect(Math.min(...draws)).toBeLessThan(5_000);
    expect(Math.max(...draws)).toBeGreaterThan(25_000);
    expect(draws.every((delay) => delay >= 0 && delay < 30_000)).toBe(true);
    backoff.reset();
    expect(backoff.attempt).toBe(0);
    expect(backoff.ceilingMs()).toBe(1_000);
  });
});
