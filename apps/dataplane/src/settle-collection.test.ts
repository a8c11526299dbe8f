import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createSettleCollection } from './settle-collection.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('settle collection', () => {
  it('collects once after the quiet period, however often bulk work was reported before it', async () => {
    const collections: number[] = [];
    const settle = createSettleCollection(
      { quietMs: 300, shrinkAfterMs: 300, youngBytes: Number.POSITIVE_INFINITY, shrinkAttempts: 3 },
      (ms) => collections.push(ms),
    );
    settle.schedule();
    await sleep(150);
    settle.schedule();
    await sleep(200);
    // The second report restarted the quiet period.
    expect(collections).toHaveLength(0);
    await sleep(400);
    expect(collections).toHaveLength(1);
    expect(collections[0]).toBeGreaterThanOrEqual(0);
    settle.stop();
  });

  it('collects again while the young generation is still above the bound, at most the attempts given', async () => {
    const young: number[] = [];
    const settle = createSettleCollection(
      { quietMs: 10, shrinkAfterMs: 30, youngBytes: 0, shrinkAttempts: 2 },
      (_ms, bytes) => young.push(bytes),
    );
    settle.schedule();
    await sleep(600);
    expect(young).toHaveLength(3);
    expect(young[0]).toBeGreaterThan(0);
    settle.stop();
  });

  it('does nothing once stopped, and leaves no gc global behind', async () => {
    let collections = 0;
    const settle = createSettleCollection(
      { quietMs: 10, shrinkAfterMs: 10, youngBytes: 0, shrinkAttempts: 1 },
      () => collections++,
    );
    settle.schedule();
    settle.stop();
    settle.schedule();
    await sleep(60);
    expect(collections).toBe(0);
    const used = createSettleCollection(
      { quietMs: 1, shrinkAfterMs: 1, youngBytes: Number.POSITIVE_INFINITY, shrinkAttempts: 1 },
      () => {
        collections++;
      },
    );
    used.schedule();
    await sleep(30);
    expect(collections).toBe(1);
    // The flag was only set while making the collector's context: a context made now has no `gc`.
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
