import { randomUUID } from 'node:crypto';
import { requestEventSchema, requestLogBatchSchema, requestLogsQueueName } from '@gatehouse/contracts';
import { Queue, Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BullmqRequestEventSink } from '../src/events/bullmq-event-sink.js';
import { createDataplane, InProcessConfigSource } from '../src/index.js';
import { createLogger } from '../src/logger.js';
import { syncedEndpoint } from './helpers/config-server.js';
import { httpRequest } from './helpers/http.js';
import { assertRedisUp, sharedRedisUrl } from './helpers/redis-process.js';

/**
 * The BullMQ request-event sink wired into a data plane (what main.ts does when REDIS_URL is set): its own drop counter
 * is what /metrics reports, and stopping the data plane delivers what it buffered.
 */
describe('data plane with the BullMQ request-event sink', () => {
  // A key prefix of its own, so runs sharing the machine's Redis never see each other's jobs.
  const prefix = `gatehouse-test-${randomUUID().slice(0, 8)}`;
  let reader: Queue;

  beforeAll(async () => {
    await assertRedisUp();
    reader = new Queue(requestLogsQueueName, { connection: { url: sharedRedisUrl }, prefix });
    reader.on('error', () => undefined);
  });

  afterEach(async () => {
    await reader?.obliterate({ force: true }).catch(() => undefined);
  });

  afterAll(async () => {
    await reader?.obliterate({ force: true }).catch(() => undefined);
    await reader?.close().catch(() => undefined);
  });

  /** A data plane with `sink` serving one endpoint that answers every request 418 itself; not yet started. */
  function dataplaneWith(sink: BullmqRequestEventSink, endpointId: string, host: string) {
    const endpoint = syncedEndpoint({
      id: endpointId,
      url: `https://${host}`,
      traffic_policy: 'on_http_request:\n  - actions: [{ type: deny, config: { status_code: 418 } }]\n',
    });
    const source = new InProcessConfigSource({
      snapshot: () => ({
        revision: 1,
        generated_at: new Date().toISOString(),
        endpoints: [endpoint],
        ip_categories: [],
      }),
      changesSince: () => [],
    });
    const dataplane = createDataplane({
      port: 0,
      host: '127.0.0.1',
      adminPort: 0,
      configApi: source,
      changeFeed: source,
      eventSink: sink,
      logger: createLogger('silent'),
    });
    return { dataplane, source };
  }

  it('reports the sink’s drops on /metrics and flushes the buffer on stop', async () => {
    // Room for two events and no timed send: the rest is refused, and only stop() sends what is buffered.
    const sink = new BullmqRequestEventSink({
      redisUrl: sharedRedisUrl,
      prefix,
      source: 'dp-sink-test',
      maxBufferedEvents: 2,
      maxBatchWaitMs: 60_000,
    });
    const { dataplane } = dataplaneWith(sink, 'ep_sink', 'sink.example.com');
    const { port, adminPort } = await dataplane.start();
    try {
      for (let index = 0; index < 5; index++)
        expect((await httpRequest({ port, host: 'sink.example.com', path: `/r${index}` })).status).toBe(418);
      expect(sink.stats).toMatchObject({ accepted: 2, dropped: 3, buffered: 2 });
      const metrics = await httpRequest({ port: adminPort!, path: '/metrics' });
      expect(metrics.body).toMatch(/^gatehouse_dataplane_request_event_drops_total 3$/m);
      // Scraping again does not count the same drops twice.
      const again = await httpRequest({ port: adminPort!, path: '/metrics' });
      expect(again.body).toMatch(/^gatehouse_dataplane_request_event_drops_total 3$/m);
    } finally {
      await dataplane.stop();
    }
    expect(sink.stats).toMatchObject({ delivered: 2, buffered: 0 });
    const jobs = await reader.getJobs(['wait', 'waiting', 'prioritized'], 0, -1, true);
    const events = jobs.flatMap((job) =>
      requestLogBatchSchema.parse(job.data).events.map((event) => requestEventSchema.parse(event)),
    );
    expect(events.map((event) => event.path).sort()).toEqual(['/r0', '/r1']);
    expect(events.every((event) => event.endpoint_id === 'ep_sink' && event.policy_version === 1)).toBe(true);
  });

  it('serves traffic while the request-log queue is at its bound, shows it on /metrics, and delivers once drained', async () => {
    // One event per batch, two batches allowed in Redis: no worker runs, so from the third request on they wait here.
    const sink = new BullmqRequestEventSink({
      redisUrl: sharedRedisUrl,
      prefix,
      source: 'dp-bounded-test',
      maxBatchEvents: 1,
      maxQueuedBatches: 2,
      minRetryDelayMs: 20,
      maxRetryDelayMs: 100,
    });
    const { dataplane, source } = dataplaneWith(sink, 'ep_bounded', 'bounded.example.com');
    const { port, adminPort } = await dataplane.start();
    const taken: string[] = [];
    let worker: Worker | undefined;
    try {
      for (let index = 0; index < 6; index++)
        expect((await httpRequest({ port, host: 'bounded.example.com', path: `/b${index}` })).status).toBe(418);
      await vi.waitFor(
        () => {
          expect(sink.stats.delivered).toBe(2);
          expect(sink.stats.deferredSends).toBeGreaterThan(0);
        },
        { timeout: 10_000 },
      );
      expect(await reader.getJobCountByTypes('wait', 'prioritized', 'delayed')).toBe(2);
      expect(sink.stats).toMatchObject({ accepted: 6, buffered: 4, dropped: 0 });
      const metrics = (await httpRequest({ port: adminPort!, path: '/metrics' })).body;
      expect(metrics).toMatch(/^gatehouse_dataplane_request_log_queue_batches 2$/m);
      const deferred = /^gatehouse_dataplane_request_event_queue_full_total (\d+)$/m.exec(metrics);
      expect(Number(deferred?.[1])).toBeGreaterThan(0);
      // The fleet view hears of it with the next heartbeat.
      await dataplane.sync.heartbeat();
      const report = source.heartbeats.at(-1)?.request_events;
      expect(report).toMatchObject({ buffered: 4, dropped: 0, spilled: 0, queued_batches: 2 });
      expect(report?.deferred_sends).toBeGreaterThan(0);

      worker = new Worker(
        requestLogsQueueName,
        (job) => {
          for (const event of requestLogBatchSchema.parse(job.data).events)
            taken.push(requestEventSchema.parse(event).path);
          return Promise.resolve();
        },
        { connection: { url: sharedRedisUrl }, prefix, removeOnComplete: { count: 0 } },
      );
      worker.on('error', () => undefined);
      await vi.waitFor(
        () => expect({ buffered: sink.stats.buffered, taken: taken.length }).toEqual({ buffered: 0, taken: 6 }),
        {
          timeout: 10_000,
        },
      );
      expect(taken.sort()).toEqual(['/b0', '/b1', '/b2', '/b3', '/b4', '/b5']);
    } finally {
      await worker?.close();
      await dataplane.stop();
    }
  });
});
