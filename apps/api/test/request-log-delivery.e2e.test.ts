import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BullmqRequestEventSink } from '../../dataplane/src/events/bullmq-event-sink';
import { CreatedApiKeyResponseSchema } from '../src/api-keys/api-keys.dto';
import { createLogger } from '../src/common/logger';
import { RequestLogBatchProcessor, RequestLogIngestionWorker } from '../src/request-logs/request-log-ingestion';
import { RequestLogsRepository } from '../src/request-logs/request-logs.repository';
import { bodyOf } from './http';
import { freePort, OwnRedisServer, requestEvent, SseClient, waitFor } from './request-log-support';
import { createTestApp, resetState, setupAdmin, type TestApp } from './test-app';
import { TEST_REDIS_URL } from './test-env';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Emits `total` events in small bursts (like live traffic) and returns their ids; `during` runs half-way. */
async function emitSteadily(
  sink: BullmqRequestEventSink,
  total: number,
  during: () => Promise<void>,
): Promise<Set<string>> {
  const ids = new Set<string>();
  const burst = 50;
  for (let sent = 0; sent < total; sent += burst) {
    if (sent === Math.floor(total / 2 / burst) * burst) await during();
    for (let index = 0; index < burst && sent + index < total; index++) {
      const event = requestEvent();
      ids.add(event.id);
      expect(sink.emit(event as never)).toBe(true);
    }
    await sleep(10);
  }
  return ids;
}

/** `npm run worker`'s ingestion in a child process that the test can SIGKILL. */
class WorkerProcess {
  #child: ChildProcess | undefined;

  async start(redisUrl: string, prefix: string): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, 'support/request-log-worker-process.ts'), redisUrl, prefix, '1500'],
      { cwd: path.join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.#child = child;
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
    });
    await waitFor(() => output.includes('ready'), { timeoutMs: 45_000, message: 'worker process did not start' });
  }

  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

describe('request-log delivery is at least once, stored exactly once', () => {
  let testApp: TestApp;
  let viewerKey: string;
  let baseUrl: string;
  const prefix = `gatehouse-delivery-${process.pid}`;
  const cleanups: (() => Promise<void> | void)[] = [];
  const count = async () =>
    Number(
      (await testApp.db.query<{ count: string }>('SELECT count(DISTINCT id) AS count FROM request_logs')).rows[0]
        ?.count,
    );

  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    const admin = await setupAdmin(testApp);
    const key = await admin.post('/api/api-keys').send({ description: 'tail', role: 'viewer' }).expect(201);
    viewerKey = bodyOf(key, CreatedApiKeyResponseSchema).secret;
    const server = testApp.app.getHttpServer() as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(async () => {
    await resetState(testApp, { keepAccounts: true });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    const keys = await testApp.redis.keys(`${prefix}:*`);
    if (keys.length > 0) await testApp.redis.del(...keys);
  });
  afterAll(async () => {
    await testApp.close();
  });

  it('loses nothing when Redis is killed and restarted mid-stream (count in = count out, on the tail too)', async () => {
    const redis = new OwnRedisServer(await freePort());
    await redis.start();
    cleanups.push(() => redis.destroy());
    const processor = new RequestLogBatchProcessor(testApp.app.get(RequestLogsRepository), testApp.redis, logger, []);
    // A job in hand when Redis died is stalled after the restart: retried once its lock (2 s here) expires.
    const worker = new RequestLogIngestionWorker(processor, logger, {
      redisUrl: redis.url,
      prefix,
      lockDurationMs: 2_000,
      stalledIntervalMs: 500,
    });
    worker.start();
    cleanups.push(() => worker.close());
    await worker.waitUntilReady();
    const sink = new BullmqRequestEventSink({ redisUrl: redis.url, prefix, closeTimeoutMs: 10_000 });
    cleanups.push(() => sink.close());
    const tail = await SseClient.connect(`${baseUrl}/api/request-logs/stream`, {
      authorization: `Bearer ${viewerKey}`,
    });
    cleanups.push(() => tail.close());
    await waitFor(() => tail.comments.includes('connected'));

    const ids = await emitSteadily(sink, 3_000, async () => {
      await redis.kill();
      await sleep(300);
      await redis.start();
    });
    await waitFor(async () => (await count()) === ids.size, { timeoutMs: 30_000, message: 'rows were lost' });
    expect(sink.stats.dropped).toBe(0);
    expect(sink.stats.sendFailures).toBeGreaterThan(0);
    await waitFor(() => tail.events.length >= ids.size, { message: 'the tail missed rows' });
    await sleep(200);
    const streamed = tail.dataOf().map((log) => log.id);
    expect(streamed).toHaveLength(ids.size);
    expect(new Set(streamed)).toEqual(ids);
  }, 90_000);

  it('loses nothing when the worker process is killed mid-stream and another one takes over', async () => {
    const first = new WorkerProcess();
    await first.start(TEST_REDIS_URL, prefix);
    cleanups.push(() => first.kill());
    const sink = new BullmqRequestEventSink({ redisUrl: TEST_REDIS_URL, prefix });
    cleanups.push(() => sink.close());
    const second = new WorkerProcess();
    cleanups.push(() => second.kill());

    const ids = await emitSteadily(sink, 4_000, async () => {
      await first.kill();
      await second.start(TEST_REDIS_URL, prefix);
    });
    await waitFor(async () => (await count()) === ids.size, { timeoutMs: 30_000, message: 'rows were lost' });
    const stored = await testApp.db.query<{ id: string }>('SELECT id FROM request_logs');
    expect(new Set(stored.rows.map((row) => row.id))).toEqual(ids);
    expect(stored.rowCount).toBe(ids.size);
  }, 90_000);
});
