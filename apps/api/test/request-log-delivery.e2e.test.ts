// The worker's side of at-least-once delivery. Losing nothing when Redis or a whole worker process is killed mid-stream,
// with a real data plane producing, is a whole-shape test: e2e/test/request-log-durability.test.ts.
import { redisNames, requestLogBatchSchema, requestLogsQueueName } from '@gatehouse/contracts';
import { sampleRequestEvent } from '@gatehouse/contracts/testing';
import { Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/common/logger';
import { RequestLogBatchProcessor } from '../src/request-logs/request-log-ingestion';
import { RequestLogIngestionWorker } from '../src/request-logs/request-log-ingestion-worker';
import { RequestLogsRepository } from '../src/request-logs/request-logs.repository';
import { waitFor } from './request-log-support';
import { RequestLogProducer } from './support/request-log-producer';
import { createTestApp, resetState, type TestApp } from './test-app';
import { TEST_REDIS_URL } from './test-env';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const names = redisNames(`gatehouse-delivery-${process.pid}`);

describe('request-log delivery is at least once, stored exactly once', () => {
  let testApp: TestApp;
  const cleanups: (() => Promise<void> | void)[] = [];
  const storedIds = async () =>
    (await testApp.db.query<{ id: string }>('SELECT id FROM request_logs')).rows.map((row) => row.id);

  beforeAll(async () => {
    testApp = await createTestApp();
  });
  beforeEach(async () => {
    await resetState(testApp, { keepAccounts: true });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    const keys = await testApp.redis.keys(`${names.bullmqPrefix}:*`);
    if (keys.length > 0) await testApp.redis.del(...keys);
  });
  afterAll(async () => {
    await testApp.close();
  });

  it('takes over the batches a dead worker held once their locks expire, and stores each event once', async () => {
    const producer = new RequestLogProducer({ redisUrl: TEST_REDIS_URL, names });
    cleanups.push(() => producer.close());
    const neverStored = Array.from({ length: 40 }, () => sampleRequestEvent());
    const storedUnacknowledged = Array.from({ length: 60 }, () => sampleRequestEvent());
    await producer.send(neverStored);
    await producer.send(storedUnacknowledged);

    // A worker that dies with two jobs in hand: BullMQ's manual fetch locks each job for 1 s and nothing renews the
    // locks, as with a process killed by SIGKILL. It died before storing the first batch and after storing the
    // second one, before acknowledging it (the window that makes delivery at least once).
    const processor = new RequestLogBatchProcessor(testApp.app.get(RequestLogsRepository), testApp.redis, logger, []);
    const dead = new Worker(requestLogsQueueName, null, {
      connection: { url: TEST_REDIS_URL, maxRetriesPerRequest: null },
      prefix: names.bullmqPrefix!,
      lockDuration: 1_000,
      autorun: false,
    });
    cleanups.push(() => dead.close());
    const first = await dead.getNextJob('dead-worker');
    const second = await dead.getNextJob('dead-worker');
    expect(requestLogBatchSchema.parse(first?.data).events).toEqual(neverStored);
    expect(requestLogBatchSchema.parse(second?.data).events).toEqual(storedUnacknowledged);
    expect(await processor.processBatch(second?.data)).toMatchObject({ inserted: 60, duplicates: 0 });
    await dead.close();

    const takeover = new RequestLogIngestionWorker(processor, logger, {
      redisUrl: TEST_REDIS_URL,
      prefix: names.bullmqPrefix,
      lockDurationMs: 1_000,
      stalledIntervalMs: 250,
    });
    takeover.start();
    cleanups.push(() => takeover.close());
    await takeover.waitUntilReady();
    // Traffic goes on meanwhile.
    const later = Array.from({ length: 10 }, () => Array.from({ length: 20 }, () => sampleRequestEvent()));
    await producer.sendBatches(later);

    const sent = [...neverStored, ...storedUnacknowledged, ...later.flat()].map((event) => event.id);
    await waitFor(async () => (await storedIds()).length >= sent.length, {
      timeoutMs: 10_000,
      message: 'the held batches were not taken over',
    });
    // Both held jobs came back: the stored one again (nothing inserted, all duplicates), the other for the first time.
    await waitFor(() => processor.totals.duplicates === storedUnacknowledged.length, {
      message: 'the stored but unacknowledged batch was not redelivered',
    });
    const stored = await storedIds();
    expect(stored).toHaveLength(sent.length);
    expect(new Set(stored)).toEqual(new Set(sent));
    expect(processor.totals).toMatchObject({ inserted: sent.length, invalid: 0 });
  });
});
