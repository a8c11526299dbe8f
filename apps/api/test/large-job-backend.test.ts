import { randomUUID } from 'node:crypto';
import { createRedisBackend, type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { largeJobBackend } from '../src/request-logs/large-job-backend';
import { TEST_REDIS_URL } from './test-env';

/** A Redis answer that must not be turned into a primitive: `<` on it throws instead of joining it. */
function unconvertible(fields: unknown[]): unknown[] {
  return Object.assign(fields, {
    [Symbol.toPrimitive]: () => {
      throw new Error('the answer was converted to a primitive');
    },
  });
}

describe('largeJobBackend (BullMQ backend of the request-log worker)', () => {
  const prefix = `gatehouse-test-large-job-${randomUUID()}`;
  let connection: Redis;

  beforeAll(() => {
    connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  });

  afterAll(async () => {
    const keys = await connection.keys(`${prefix}:*`);
    if (keys.length > 0) await connection.del(...keys);
    connection.disconnect();
  });

  it('hands a worker large jobs one after another, intact (the next job comes with the previous one finishing)', async () => {
    const queue = new Queue('large', { connection, prefix });
    const payload = (index: number) => ({ index, events: 'x'.repeat(300_000) });
    for (let index = 0; index < 5; index++) await queue.add('batch', payload(index));
    const seen: number[] = [];
    const worker = new Worker(
      'large',
      (job: Job<{ index: number; events: string }>) => {
        expect(job.data.events).toHaveLength(300_000);
        seen.push(job.data.index);
        return Promise.resolve({ inserted: 1 });
      },
      { connection, prefix, concurrency: 1 },
      largeJobBackend,
    );
    try {
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(5);
      expect(seen).toEqual([0, 1, 2, 3, 4]);
      expect(await queue.getJobCounts('completed', 'failed', 'wait', 'active')).toEqual({
        completed: 5,
        failed: 0,
        wait: 0,
        active: 0,
      });
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it("reads the script's answer without turning the next job into a string, where bullmq's own backend does", async () => {
    const nextJob = unconvertible([
      ['name', 'batch', 'data', '{"events":[]}', 'opts', '{}', 'timestamp', '1'],
      'j2',
      0,
      0,
    ]);
    const ours = largeJobBackend('large', { connection });
    const bullmqs = createRedisBackend('large', { connection });
    ours.execCommand = () => Promise.resolve(nextJob);
    bullmqs.execCommand = () => Promise.resolve(nextJob);
    const [job, id] = (await ours.moveToFinished('j1', [])) as [{ data: string } | null, string];
    expect(job?.data).toBe('{"events":[]}');
    expect(id).toBe('j2');
    // When this stops failing, bullmq fixed its check (it was `result < 0`) and largeJobBackend can go.
    await expect(bullmqs.moveToFinished('j1', [])).rejects.toThrow('converted to a primitive');
  });

  it('still turns an error status into bullmq’s error, and an empty answer into no next job', async () => {
    const backend = largeJobBackend('large', { connection });
    backend.execCommand = () => Promise.resolve(-2);
    await expect(backend.moveToFinished('j1', [])).rejects.toThrow(/Missing lock for job j1/);
    backend.execCommand = () => Promise.resolve(0);
    expect(await backend.moveToFinished('j1', [])).toEqual([]);
  });
});
