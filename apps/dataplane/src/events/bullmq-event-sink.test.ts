import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { requestEventSchema, requestLogBatchSchema, requestLogsQueueName } from '@gatehouse/contracts';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BullmqRequestEventSink } from './bullmq-event-sink.js';
import { EventSpill, spillDirectoryName } from './event-spill.js';
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

/** Batches waiting for a worker, as the sink's bound counts them. */
function backlog(queue: Queue): Promise<number> {
  return queue.getJobCountByTypes('wait', 'prioritized', 'delayed');
}

/** A BullMQ worker standing in for the API's: it keeps the ids of the events in each batch it takes. */
function collectingWorker(port: number, ids: string[]): Worker {
  const worker = new Worker(
    requestLogsQueueName,
    (job) => {
      for (const event of requestLogBatchSchema.parse(job.data).events) ids.push(requestEventSchema.parse(event).id);
      return Promise.resolve();
    },
    { connection: { host: '127.0.0.1', port }, removeOnComplete: { count: 0 } },
  );
  worker.on('error', () => undefined);
  return worker;
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

  it('stores every character of an event as sent: a job is written as UTF-8 bytes, read back as the same text', async () => {
    const sink = newSink();
    await reader.waitUntilReady();
    const event = {
      ...requestEvent(0),
      path: '/café/日本語/🙂',
      user_agent: 'ünïcödé \u2028 "quoted" \\ back\\slash',
      mcp: { method: 'tools/call', tool: 'résumé_😀', protocol_version: '', kind: 'request', session_id: '' },
    } satisfies RequestEvent;
    expect(sink.emit(event)).toBe(true);
    expect(sink.emit(requestEvent(1))).toBe(true);
    await waitFor(() => sink.stats.delivered === 2);
    const jobs = await reader.getJobs(['wait'], 0, -1, true);
    expect(jobs).toHaveLength(1);
    // The stored bytes are the UTF-8 of the batch's JSON text: what a worker reads is what was emitted.
    const raw = new Redis(redis.url);
    const stored = await raw
      .hget(`bull:${requestLogsQueueName}:${jobs[0]!.id}`, 'data')
      .finally(() => raw.disconnect());
    const { events } = requestLogBatchSchema.parse(JSON.parse(stored!));
    expect(events[0]).toMatchObject({ path: event.path, user_agent: event.user_agent, mcp: event.mcp });
    expect(events[1]).toMatchObject({ path: '/item/1' });
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

  it('counts what it could not deliver by the close deadline as dropped when it has no spill directory', async () => {
    await redis.kill();
    const sink = newSink({ closeTimeoutMs: 100 });
    for (let index = 0; index < 1_203; index++) expect(sink.emit(requestEvent(index))).toBe(true);
    await sink.close();
    expect(sink.stats).toMatchObject({ accepted: 1_203, delivered: 0, dropped: 1_203, buffered: 0 });
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

  it('keeps batches here while the queue is at its bound (no worker), and sends them all once a worker drains it', async () => {
    const warnings: unknown[] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args), info: () => undefined, error: () => undefined };
    const sink = newSink({
      maxQueuedBatches: 3,
      maxBatchEvents: 10,
      minRetryDelayMs: 20,
      maxRetryDelayMs: 100,
      logger: logger as never,
    });
    await reader.waitUntilReady();
    const ids = Array.from({ length: 100 }, (_, index) => {
      const event = requestEvent(index);
      expect(sink.emit(event)).toBe(true);
      return event.id;
    });
    await waitFor(() => sink.stats.deferredSends >= 3);
    // Three batches in Redis, the other seven here: what a stopped worker leaves grows in the data plane, not in Redis.
    expect(await backlog(reader)).toBe(3);
    expect(sink.stats).toMatchObject({ delivered: 30, buffered: 70, queuedBatches: 3, dropped: 0 });
    // A full queue is not a failed send (Redis answers): retries go on being deferrals.
    const { sendFailures, deferredSends } = sink.stats;
    await waitFor(() => sink.stats.deferredSends > deferredSends + 2);
    expect(sink.stats.sendFailures).toBe(sendFailures);
    expect(sink.deferredSends()).toBe(sink.stats.deferredSends);
    expect(JSON.stringify(warnings)).toContain('request-log queue is full');

    const taken: string[] = [];
    const worker = collectingWorker(redis.port, taken);
    try {
      await waitFor(() => sink.stats.buffered === 0 && taken.length >= 100, 15_000);
      expect([...taken].sort()).toEqual([...ids].sort());
      expect(sink.stats).toMatchObject({ delivered: 100, dropped: 0 });
    } finally {
      await worker.close();
    }
  });

  it("counts every producer's batches against the bound, those delayed for a retry included", async () => {
    await reader.waitUntilReady();
    // Another data plane's batch waiting, and two a failing worker put back for a retry (Postgres down).
    await reader.add('other-dataplane', { events: [] });
    await reader.add('retrying', { events: [] }, { delay: 60_000 });
    await reader.add('retrying', { events: [] }, { delay: 60_000 });
    const sink = newSink({ maxQueuedBatches: 3, minRetryDelayMs: 20, maxRetryDelayMs: 50 });
    sink.emit(requestEvent(0));
    await waitFor(async () => {
      await sink.flush();
      return sink.stats.deferredSends > 0;
    });
    expect(sink.stats).toMatchObject({ delivered: 0, buffered: 1, queuedBatches: 3 });
    expect(sink.stats.deferredSends).toBeGreaterThan(0);
    await reader.obliterate({ force: true });
    await waitFor(() => sink.stats.delivered === 1, 5_000);
    expect((await queuedBatches(reader)).events).toHaveLength(1);
  });

  it('reads the backlog at most once per check interval while under the bound, counting its own sends between', async () => {
    await reader.waitUntilReady();
    const sink = newSink({ maxQueuedBatches: 4, maxBatchEvents: 1, queueCheckIntervalMs: 60_000 });
    for (let index = 0; index < 3; index++) {
      sink.emit(requestEvent(index));
      // (The first attempts may find the sink's connection not yet up.)
      await waitFor(async () => {
        await sink.flush();
        return sink.stats.delivered === index + 1;
      });
    }
    // One reading (0) before the first send, then its own three sends counted on top: no second round trip.
    expect(sink.stats).toMatchObject({ delivered: 3, queuedBatches: 3, deferredSends: 0 });
    await reader.add('other-dataplane', { events: [] });
    sink.emit(requestEvent(3));
    await sink.flush();
    // Its own count says 3 < 4, so it sent; at the bound now, every attempt reads the queue again.
    expect(sink.stats).toMatchObject({ delivered: 4, queuedBatches: 4 });
    sink.emit(requestEvent(4));
    await sink.flush();
    expect(sink.stats).toMatchObject({ delivered: 4, queuedBatches: 5, deferredSends: 1 });
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

describe('request events spilled to GATEHOUSE_DATA_DIR (real redis-server, real files)', () => {
  let redis: OwnRedis;
  let reader: Queue;
  let dataDirectory: string;
  const sinks: BullmqRequestEventSink[] = [];
  const newSink = (options: Partial<ConstructorParameters<typeof BullmqRequestEventSink>[0]> = {}) => {
    const sink = new BullmqRequestEventSink({
      redisUrl: redis.url,
      source: 'dp-spill-test',
      spill: { dataDirectory, maxBytes: 64 * 1024 * 1024 },
      ...options,
    });
    sinks.push(sink);
    return sink;
  };
  const spillFiles = async () => {
    try {
      return await readdir(join(dataDirectory, spillDirectoryName));
    } catch {
      return [];
    }
  };
  const queuedIds = async () => (await queuedBatches(reader)).events.map((event) => requestEventSchema.parse(event).id);

  beforeAll(async () => {
    redis = new OwnRedis(await freePort());
    await redis.start();
    reader = new Queue(requestLogsQueueName, { connection: { host: '127.0.0.1', port: redis.port } });
    reader.on('error', () => undefined);
  });
  beforeEach(async () => {
    dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-spill-'));
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((sink) => sink.close()));
    await redis.start();
    await reader.obliterate({ force: true }).catch(() => undefined);
    await rm(dataDirectory, { recursive: true, force: true });
  });
  afterAll(async () => {
    await reader.close().catch(() => undefined);
    await redis.kill();
  });

  it('writes what Redis did not take at shutdown to disk, and the next start delivers it and removes the file', async () => {
    // Far longer than the test's timeout: close must not wait for a Redis that is down when it can spill.
    const first = newSink({ closeTimeoutMs: 600_000 });
    await waitFor(() => {
      first.emit(requestEvent(-1));
      return first.stats.delivered > 0;
    });
    await first.flush();
    expect(first.stats.buffered).toBe(0);
    await redis.kill();
    const ids = Array.from({ length: 1_234 }, (_, index) => {
      const event = requestEvent(index);
      expect(first.emit(event)).toBe(true);
      return event.id;
    });
    await first.close();
    expect(first.stats).toMatchObject({ spilled: 1_234, dropped: 0 });
    const files = await spillFiles();
    expect(files).toHaveLength(1);
    const lines = (await readFile(join(dataDirectory, spillDirectoryName, files[0]!), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1_234);

    await redis.start();
    await reader.obliterate({ force: true });
    const second = newSink();
    await waitFor(() => second.stats.replayed === 1_234, 15_000);
    expect((await queuedIds()).sort()).toEqual([...ids].sort());
    await waitFor(async () => (await spillFiles()).length === 0);
    expect(second.stats).toMatchObject({ replayed: 1_234, dropped: 0, spilled: 0 });
  });

  it('skips a torn last line (a crash mid-write) and delivers the rest', async () => {
    const directory = join(dataDirectory, spillDirectoryName);
    await mkdir(directory, { recursive: true });
    const events = [requestEvent(1), requestEvent(2), requestEvent(3)];
    const gone = spawn(process.execPath, ['-e', '']);
    await once(gone, 'exit');
    const file = join(directory, `spill-${gone.pid}-deadbeef.jsonl`);
    await writeFile(file, events.map((event) => `${JSON.stringify(event)}\n`).join(''));
    await appendFile(file, JSON.stringify(requestEvent(4)).slice(0, 40));
    const sink = newSink();
    await waitFor(() => sink.stats.replayed === 3, 15_000);
    expect((await queuedIds()).sort()).toEqual(events.map((event) => event.id).sort());
    await waitFor(async () => (await spillFiles()).length === 0);
  });

  it('spills to disk instead of dropping when the buffer is full while Redis is down, and delivers it all', async () => {
    const sink = newSink({ maxBufferedEvents: 100, maxBatchEvents: 50 });
    await waitFor(() => {
      sink.emit(requestEvent(-1));
      return sink.stats.delivered > 0;
    });
    await reader.obliterate({ force: true });
    await redis.kill();
    const ids = Array.from({ length: 1_000 }, (_, index) => {
      const event = requestEvent(index);
      expect(sink.emit(event)).toBe(true);
      return event.id;
    });
    await waitFor(() => sink.stats.spilled > 0 && sink.stats.buffered <= 100);
    expect(sink.stats.dropped).toBe(0);
    await redis.start();
    await waitFor(async () => sink.stats.buffered === 0 && (await spillFiles()).length === 0, 20_000);
    await waitFor(async () => new Set(await queuedIds()).size >= 1_000, 10_000);
    const delivered = new Set(await queuedIds());
    for (const id of ids) expect(delivered.has(id), id).toBe(true);
    expect(sink.stats.dropped).toBe(0);
    expect(sink.stats.replayed).toBe(sink.stats.spilled);
  });

  it('moves the buffer to disk once Redis has been away long, and delivers it when Redis is back', async () => {
    const sink = newSink({ spill: { dataDirectory, maxBytes: 64 * 1024 * 1024, afterFailingMs: 300 } });
    await waitFor(() => {
      sink.emit(requestEvent(-1));
      return sink.stats.delivered > 0;
    });
    await sink.flush();
    await reader.obliterate({ force: true });
    await redis.kill();
    const ids = Array.from({ length: 50 }, (_, index) => {
      const event = requestEvent(index);
      sink.emit(event);
      return event.id;
    });
    // Far below the memory bound: only the length of the outage moves them to disk.
    await waitFor(() => sink.stats.spilled === 50 && sink.stats.buffered === 0, 10_000);
    expect((await spillFiles()).length).toBe(1);
    await redis.start();
    await waitFor(async () => sink.stats.replayed === 50 && (await spillFiles()).length === 0, 15_000);
    expect((await queuedIds()).sort()).toEqual([...ids].sort());
    expect(sink.stats.dropped).toBe(0);
  });

  it('moves the buffer to disk while the queue stays full, and delivers it, within the bound, once a worker drains it', async () => {
    const sink = newSink({
      maxQueuedBatches: 2,
      maxBatchEvents: 10,
      minRetryDelayMs: 20,
      maxRetryDelayMs: 100,
      spill: { dataDirectory, maxBytes: 64 * 1024 * 1024, afterFailingMs: 300 },
    });
    await reader.waitUntilReady();
    const ids = Array.from({ length: 60 }, (_, index) => {
      const event = requestEvent(index);
      sink.emit(event);
      return event.id;
    });
    // Two batches in Redis; after 300 ms of a full queue the other 40 events wait on disk, not in memory.
    await waitFor(() => sink.stats.spilled === 40 && sink.stats.buffered === 0, 10_000);
    expect(await backlog(reader)).toBe(2);
    // Delivery from disk obeys the same bound.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sink.stats.replayed).toBe(0);
    expect(await backlog(reader)).toBe(2);

    const taken: string[] = [];
    const worker = collectingWorker(redis.port, taken);
    try {
      await waitFor(async () => sink.stats.replayed === 40 && (await spillFiles()).length === 0, 15_000);
      await waitFor(() => taken.length >= 60, 10_000);
      expect([...taken].sort()).toEqual([...ids].sort());
      expect(sink.stats.dropped).toBe(0);
    } finally {
      await worker.close();
    }
  });

  it('drops, counts and logs past the spill bound, and never throws', async () => {
    await redis.kill();
    const errors: unknown[] = [];
    const logger = { warn: () => undefined, info: () => undefined, error: (...args: unknown[]) => errors.push(args) };
    const sink = newSink({
      maxBufferedEvents: 10,
      closeTimeoutMs: 100,
      spill: { dataDirectory, maxBytes: 20 * 1_024 },
      logger: logger as never,
    });
    for (let index = 0; index < 200; index++) expect(sink.emit(requestEvent(index))).toBe(true);
    await sink.close();
    const { spilled, dropped } = sink.stats;
    expect(spilled).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThan(0);
    expect(spilled + dropped).toBe(200);
    expect(JSON.stringify(errors)).toContain('spill file is full');
    const files = await spillFiles();
    const text = await readFile(join(dataDirectory, spillDirectoryName, files[0]!), 'utf8');
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(20 * 1_024);
    expect(text.trim().split('\n')).toHaveLength(spilled);
  });
});

describe('EventSpill claims', () => {
  it('takes files of processes that are gone, never those of a running one', async () => {
    const dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-spill-claim-'));
    try {
      const directory = join(dataDirectory, spillDirectoryName);
      await mkdir(directory, { recursive: true });
      const line = `${JSON.stringify(requestEvent(1))}\n`;
      // The parent of this test runner is running; a child that exited is not.
      const gone = spawn(process.execPath, ['-e', '']);
      await once(gone, 'exit');
      await writeFile(join(directory, `spill-${process.ppid}-aaaaaaaa.jsonl`), line);
      await writeFile(join(directory, `spill-${gone.pid}-bbbbbbbb.jsonl`), line);
      const spill = new EventSpill({ dataDirectory, maxBytes: 1_024 });
      const claimed = await spill.claim();
      expect(claimed?.path).toMatch(new RegExp(`replay-${process.pid}-[0-9a-f]+-${gone.pid}-bbbbbbbb\\.jsonl$`));
      expect((await spill.read(claimed!)).events).toHaveLength(1);
      await spill.remove(claimed!);
      // The running process's file stays its own.
      expect(await spill.claim()).toBeUndefined();
      expect(await readdir(directory)).toEqual([`spill-${process.ppid}-aaaaaaaa.jsonl`]);
    } finally {
      await rm(dataDirectory, { recursive: true, force: true });
    }
  });
});
