import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { requestEventSchema, requestLogBatchSchema, requestLogsQueueName } from '@gatehouse/contracts';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BullmqRequestEventSink } from './bullmq-event-sink.js';
import type { RequestEvent } from './request-event.js';

/** A redis-server of this test's own on a free port, so killing it never touches the machine's Redis. */
class OwnRedis {
  #child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.#child !== undefined) return;
    this.#child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    for (let attempt = 0; attempt < 100; attempt++) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.ping();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        probe.disconnect();
      }
    }
    throw new Error(`redis-server on port ${this.port} did not start (is redis-server installed?)`);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

function requestEvent(index: number): RequestEvent {
  return {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    endpoint_id: 'ep_sink',
    endpoint_url: 'https://mcp.example.com',
    policy_version: 1,
    method: 'GET',
    host: 'mcp.example.com',
    path: `/item/${index}`,
    query: '',
    status: 200,
    duration_ms: 1.5,
    upstream_duration_ms: 1,
    bytes_in: 0,
    bytes_out: 10,
    client_ip: '127.0.0.1',
    client_ip_categories: [],
    user_agent: 'test',
    forwarded_to: 'https://mcp.example.internal',
    decision: { phase: 'on_http_request', rule_index: 0, rule_name: null, action: 'forward-internal' },
    rules_matched: [{ phase: 'on_http_request', rule_index: 0, rule_name: null, endpoint_id: 'ep_sink' }],
    error_code: null,
    logs: [],
    mcp: null,
    trace_id: 'a'.repeat(32),
    runtime_errors: [],
  };
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Every event in the queue's waiting jobs (no worker runs here), batch sizes in order. */
async function queuedBatches(queue: Queue): Promise<{ sizes: number[]; events: unknown[] }> {
  const jobs = await queue.getJobs(['wait', 'waiting', 'prioritized'], 0, -1, true);
  const batches = jobs.map((job) => requestLogBatchSchema.parse(job.data));
  return { sizes: batches.map((batch) => batch.events.length), events: batches.flatMap((batch) => batch.events) };
}

describe('BullmqRequestEventSink (real redis-server)', () => {
  let redis: OwnRedis;
  let reader: Queue;
  const sinks: BullmqRequestEventSink[] = [];
  const newSink = (options: Partial<ConstructorParameters<typeof BullmqRequestEventSink>[0]> = {}) => {
    const sink = new BullmqRequestEventSink({ redisUrl: redis.url, source: 'dp-test', ...options });
    sinks.push(sink);
    return sink;
  };

  beforeAll(async () => {
    redis = new OwnRedis(await freePort());
    await redis.start();
    reader = new Queue(requestLogsQueueName, { connection: { host: '127.0.0.1', port: redis.port } });
    reader.on('error', () => undefined);
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((sink) => sink.close()));
    await redis.start();
    await reader.obliterate({ force: true }).catch(() => undefined);
  });
  afterAll(async () => {
    await reader.close().catch(() => undefined);
    await redis.kill();
  });

  it('returns at once and batches by size (500) and by time (250 ms)', async () => {
    const sink = newSink();
    await reader.waitUntilReady();
    // emit is synchronous (a boolean, never a promise): the request path cannot wait on Redis through it.
    for (let index = 0; index < 1_203; index++) expect(sink.emit(requestEvent(index))).toBe(true);
    await waitFor(() => sink.stats.delivered === 1_203);
    const { sizes, events } = await queuedBatches(reader);
    expect(sizes.sort((a, b) => b - a)).toEqual([500, 500, 203]);
    expect(events.map((event) => requestEventSchema.parse(event).path).sort()).toEqual(
      Array.from({ length: 1_203 }, (_, index) => `/item/${index}`).sort(),
    );

    const beforeSmall = performance.now();
    sink.emit(requestEvent(9_999));
    await waitFor(() => sink.stats.delivered === 1_204);
    // A lone event waits for the 250 ms batching window instead of being sent at once.
    expect(performance.now() - beforeSmall).toBeGreaterThanOrEqual(200);
    expect(sink.stats).toMatchObject({ accepted: 1_204, dropped: 0, buffered: 0, batches: 4 });
  });

  it('buffers while Redis is down and delivers everything once it is back', async () => {
    const sink = newSink();
    await waitFor(() => {
      sink.emit(requestEvent(-1));
      return sink.stats.delivered > 0;
    });
    const ids = new Set<string>();
    await redis.kill();
    for (let index = 0; index < 2_000; index++) {
      const event = requestEvent(index);
      ids.add(event.id);
      expect(sink.emit(event)).toBe(true);
    }
    await waitFor(() => sink.stats.sendFailures > 0);
    expect(sink.stats.buffered).toBeGreaterThanOrEqual(2_000);
    await redis.start();
    await waitFor(() => sink.stats.buffered === 0, 15_000);
    const { events } = await queuedBatches(reader);
    const delivered = new Set(events.map((event) => requestEventSchema.parse(event).id));
    for (const id of ids) expect(delivered.has(id), id).toBe(true);
    expect(sink.stats.dropped).toBe(0);
  });

  it('drops and counts past the buffer bound, never throwing', async () => {
    await redis.kill();
    const sink = newSink({ maxBufferedEvents: 100, closeTimeoutMs: 100 });
    const results = Array.from({ length: 150 }, (_, index) => sink.emit(requestEvent(index)));
    expect(results.filter(Boolean)).toHaveLength(100);
    expect(sink.stats).toMatchObject({ accepted: 100, dropped: 50, buffered: 100 });
  });

  it('never sends secret headers or their copies in log metadata', async () => {
    const sink = newSink({ redactHeaders: ['X-Api-Key'] });
    const event = {
      ...requestEvent(1),
      logs: [{ authorization: 'Bearer secret-token', note: 'kept' }],
      request_headers: { Authorization: 'Bearer secret-token', 'x-api-key': 'k', accept: '*/*' },
      response_headers: { 'set-cookie': ['session=1'], 'content-type': 'text/plain' },
    };
    expect(sink.emit(event)).toBe(true);
    await sink.flush();
    await waitFor(() => sink.stats.delivered === 1);
    const { events } = await queuedBatches(reader);
    const stored = requestEventSchema.parse(events[0]);
    expect(stored.request_headers).toEqual({ accept: '*/*' });
    expect(stored.response_headers).toEqual({ 'content-type': 'text/plain' });
    expect(stored.logs).toEqual([{ authorization: '[REDACTED]', note: 'kept' }]);
    expect(JSON.stringify(events)).not.toContain('secret-token');
  });

  it('delivers what is buffered on close and refuses events afterwards', async () => {
    const sink = newSink({ maxBatchWaitMs: 60_000 });
    for (let index = 0; index < 10; index++) sink.emit(requestEvent(index));
    await sink.close();
    expect(sink.stats.delivered).toBe(10);
    expect(sink.emit(requestEvent(11))).toBe(false);
    expect((await queuedBatches(reader)).events).toHaveLength(10);
  });
});
