import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createSettleCollection } from './settle-collection.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const options = { quietMs: 10, shrinkAfterMs: 30, youngBytes: 0, shrinkAttempts: 1, busyRequestsPerSecond: 10 };
const idle = () => 0;

describe('settle collection', () => {
  it('collects once after the quiet period, however often bulk work was reported before it', async () => {
    const collections: number[] = [];
    const settle = createSettleCollection(
      { ...options, quietMs: 300, youngBytes: Number.POSITIVE_INFINITY },
      { requests: idle, onCollected: (ms) => collections.push(ms) },
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
      { ...options, shrinkAttempts: 2 },
      { requests: idle, onCollected: (_ms, bytes) => young.push(bytes) },
    );
    settle.schedule();
    await sleep(600);
    expect(young).toHaveLength(3);
    expect(young[0]).toBeGreaterThan(0);
    settle.stop();
  });

  it('does not collect while traffic flows', async () => {
    let requests = 0;
    const traffic = setInterval(() => (requests += 5), 5);
    let collections = 0;
    const settle = createSettleCollection(options, { requests: () => requests, onCollected: () => collections++ });
    settle.schedule();
    await sleep(200);
    clearInterval(traffic);
    expect(collections).toBe(0);
    // Quiet again: the next bulk load's garbage is collected.
    settle.schedule();
    await sleep(200);
    expect(collections).toBeGreaterThanOrEqual(1);
    settle.stop();
  });

  it('does nothing once stopped, and leaves no gc global behind', async () => {
    let collections = 0;
    const settle = createSettleCollection(options, { requests: idle, onCollected: () => collections++ });
    settle.schedule();
    settle.stop();
    settle.schedule();
    await sleep(60);
    expect(collections).toBe(0);
    const used = createSettleCollection(
      { ...options, youngBytes: Number.POSITIVE_INFINITY },
      { requests: idle, onCollected: () => collections++ },
    );
    used.schedule();
    await sleep(60);
    expect(collections).toBe(1);
    // The flag was only set while making the collector's context: a context made now has no `gc`.
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
