import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Schemas } from '@gatehouse/api-client';
import { redisNames, requestLogsQueueName } from '@gatehouse/contracts';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  apiMain,
  dataplaneMain,
  migrateDatabase,
  migrateScript,
  newRunId,
  outputOf,
  requireBuilt,
  startControlPlaneProcesses,
  startDataplaneProcess,
  waitForReady,
  workerMain,
} from './shapes.js';
import { answerOf, ApiClient } from './support/api.js';
import { startDurableRedis, type DurableRedis } from './support/durable-redis.js';
import { GatewayClient, type SentRequest } from './support/gateway.js';
import { stopAllProcesses, waitFor, type ManagedProcess } from './support/processes.js';
import { RequestLogTail } from './support/request-log-tail.js';
import { runDatabase, type RunDatabase } from './support/services.js';

/**
 * The request-log pipeline (DESIGN.md §7) is at least once end to end and stores every request exactly once, even
 * when a piece of it dies mid-stream: a real data plane (`apps/dataplane/dist/main.js`) carries steady traffic and
 * its BullMQ sink queues one event per request in a Redis this file owns (so it can kill it); the worker
 * (`apps/api/dist/worker.js`) stores them in a Postgres database of the run's own; the API (`apps/api/dist/main.js`)
 * lists them and streams them on the live tail. Every request carries its own `check` query parameter, so each
 * request-log row names the request it came from.
 */

/** Requests per test besides those sent during the disruption, in waves at a steady pace (~400/s). */
const requestsPerTest = 2_000;
const wave = 20;
const waveEveryMs = 50;
const policy =
  'on_http_request:\n  - actions:\n      - type: custom-response\n        config: { status_code: 200, body: logged }\n';
/**
 * The data plane's DATAPLANE_EVENT_QUEUE_MAX_BATCHES: small, so every disruption that stops the worker taking batches
 * (held mid-insert, killed, stopped) also runs into it; the first ~5 s of such a stop reach it at this traffic's pace.
 */
const queueBound = 5;
/** GATEHOUSE_REDIS_PREFIX of every process: the names must agree or events go astray, which the tests would notice. */
const redisPrefix = 'gatehouse-e2e-durability';
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

interface Pipeline {
  apiUrl: string;
  api: ApiClient;
  apiKey: string;
  redis: DurableRedis;
  databaseUrl: string;
  /** The run's database, for counting rows while waiting (the assertions read the REST API). */
  db: pg.Client;
  dataplane: { id: string; process: ManagedProcess; trafficPort: number; adminPort: number };
  /** Every worker process started so far, the running one last. */
  workers: readonly ManagedProcess[];
  startWorker(): Promise<ManagedProcess>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * The distributed shape's processes for one data plane, with the environment docker-compose.yml gives them, on a
 * Redis that survives SIGKILL (append-only file) and a database of this run's own.
 */
async function startPipeline(): Promise<Pipeline> {
  requireBuilt(apiMain, workerMain, dataplaneMain, migrateScript);
  const runId = newRunId();
  const processes: ManagedProcess[] = [];
  let database: RunDatabase | undefined;
  let redis: DurableRedis | undefined;
  let db: pg.Client | undefined;
  let dataDirectory: string | undefined;
  let stopped: Promise<void> | undefined;
  const output = () => `${outputOf(processes)}\n${redis?.output() ?? ''}`;
  const stop = () =>
    (stopped ??= (async () => {
      await db?.end().catch(() => undefined);
      for (const managed of [...processes].reverse()) await managed.stop();
      await redis?.destroy();
      await database?.drop();
      if (dataDirectory !== undefined) await rm(dataDirectory, { recursive: true, force: true });
    })());

  try {
    database = runDatabase(runId);
    redis = await startDurableRedis();
    await migrateDatabase(database);
    const controlPlane = await startControlPlaneProcesses({
      databaseUrl: database.url,
      redisUrl: redis.url,
      redisPrefix,
      processes,
    });
    dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-durability-'));
    const dataplaneId = `dataplane-${runId}`;
    const dataplane = await startDataplaneProcess({
      name: 'dataplane',
      id: dataplaneId,
      controlPlane,
      dataDirectory,
      processes,
      // Heartbeats every second, so the fleet view's request-event counters follow the disruptions within the tests.
      environment: { DATAPLANE_EVENT_QUEUE_MAX_BATCHES: String(queueBound), DATAPLANE_HEARTBEAT_INTERVAL_MS: '1000' },
    });
    await waitForReady(dataplane.adminPort, dataplane.process, 60_000);
    const { apiUrl } = controlPlane;

    db = new pg.Client({ connectionString: database.url });
    await db.connect();
    const client = new ApiClient(apiUrl);
    await client.login(admin.email, admin.password);
    const key = await answerOf(
      client.client.POST('/api/api-keys', { body: { description: `e2e durability ${runId}`, role: 'editor' } }),
    );
    client.useApiKey(key.body.secret);
    return {
      apiUrl,
      api: client,
      apiKey: key.body.secret,
      databaseUrl: database.url,
      redis,
      db,
      dataplane: { ...dataplane, id: dataplaneId },
      workers: controlPlane.workers,
      startWorker: controlPlane.startWorker,
      output,
      stop,
    };
  } catch (error) {
    const context = output();
    await stop();
    throw new Error(`the request-log pipeline did not start: ${(error as Error).message}\n${context}`, {
      cause: error,
    });
  }
}

function checkOf(row: { query: string }): string {
  return new URLSearchParams(row.query).get('check') ?? '';
}

/** The sum of a metric's series whose line contains `labelFilter`. */
function metricValue(metrics: string, name: string, labelFilter = ''): number {
  return metrics
    .split('\n')
    .filter((line) => (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) && line.includes(labelFilter))
    .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('request-log durability — a data plane, Redis, the worker and the API as processes', () => {
  let pipeline: Pipeline | undefined;

  beforeAll(async () => {
    pipeline = await startPipeline();
  });

  afterEach((context) => {
    // The processes' own logs are what explains a failure here; print them next to it.
    if (context.task.result?.state === 'fail' && pipeline !== undefined) console.error(pipeline.output());
  });

  afterAll(async () => {
    try {
      await pipeline?.stop();
    } finally {
      await stopAllProcesses();
    }
  });

  /** A cloud endpoint that answers every request itself, once the data plane serves it; `sent` gets the probes. */
  async function createServedEndpoint(host: string, sent: SentRequest[], tailFirst: boolean) {
    const { api, apiUrl, apiKey, dataplane } = pipeline!;
    const created = await api.createEndpoint({ url: `https://${host}`, traffic_policy: policy });
    expect(created.status).toBe(201);
    const endpointId = created.body.id;
    // Opened before any request reaches the endpoint, so the tail must deliver every row the listing has.
    const tail = tailFirst
      ? await RequestLogTail.open(apiUrl, { endpoint_id: endpointId }, { authorization: `Bearer ${apiKey}` })
      : undefined;
    const gateway = new GatewayClient('dataplane', dataplane.trafficPort, host, sent);
    // Until the endpoint reaches the data plane, a probe gets 404 (and belongs to no endpoint's log).
    let probes = 0;
    await waitFor(async () => (await gateway.send({ check: `probe-${probes++}` })).status === 200, {
      timeoutMs: 15_000,
      what: `the data plane to serve ${host}`,
    });
    return { endpointId, tail, gateway };
  }

  /**
   * Steady traffic in waves, each request with its own `check`: `requestsPerTest / 2` requests, then more for as long as
   * `disrupt` runs, then another `requestsPerTest / 2`. Resolves with the requests it sent.
   */
  async function sendSteadily(gateway: GatewayClient, label: string, disrupt: () => Promise<void>): Promise<number> {
    const started = Date.now();
    let sent = 0;
    let waves = 0;
    const sendWave = async () => {
      await Promise.all(Array.from({ length: wave }, () => gateway.send({ check: `${label}-${sent++}` })));
      waves += 1;
      await sleep(Math.max(0, started + waves * waveEveryMs - Date.now()));
    };
    while (sent < requestsPerTest / 2) await sendWave();
    let disrupted = false;
    const disruption = disrupt().finally(() => {
      disrupted = true;
    });
    // Traffic goes on while the disruption happens, as it would in production.
    while (!disrupted) await sendWave();
    await disruption;
    const resumedAt = sent;
    while (sent < resumedAt + requestsPerTest / 2) await sendWave();
    return sent;
  }

  /** Waits until the endpoint has `expected` rows in the database, then returns them as the REST API lists them. */
  async function waitForRows(endpointId: string, expected: number): Promise<Schemas['RequestLogSummary'][]> {
    const { db, api } = pipeline!;
    let stored = 0;
    await waitFor(
      async () => {
        const result = await db.query<{ count: number }>(
          'SELECT count(*)::int AS count FROM request_logs WHERE endpoint_id = $1',
          [endpointId],
        );
        stored = result.rows[0]?.count ?? 0;
        return stored >= expected;
      },
      { timeoutMs: 45_000, intervalMs: 250, what: `${expected} request-log rows`, context: () => `${stored} so far` },
    );
    return api.listRequestLogs(endpointId);
  }

  /**
   * Blocks inserts into request_logs (reads go on) and resolves once the worker is stuck in one: from then on it holds
   * jobs it took from the queue and has not finished, and the batches arriving meanwhile wait in Redis. Returns the
   * release. Held briefly: the worker's insert statement gives up after DATABASE_STATEMENT_TIMEOUT_MS (10 s; BullMQ then
   * retries the job later).
   */
  async function holdWorkerMidInsert(): Promise<() => Promise<void>> {
    const holder = new pg.Client({ connectionString: pipeline!.databaseUrl });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE request_logs IN SHARE MODE');
    await waitFor(
      async () => {
        const waiting = await holder.query<{ count: number }>(
          `SELECT count(*)::int AS count FROM pg_locks
           WHERE NOT granted AND locktype = 'relation' AND relation = 'request_logs'::regclass
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        return (waiting.rows[0]?.count ?? 0) > 0;
      },
      { timeoutMs: 10_000, intervalMs: 20, what: 'the worker to wait for its insert' },
    );
    return async () => {
      await holder.query('ROLLBACK');
      await holder.end();
    };
  }

  async function dataplaneMetrics(): Promise<string> {
    const response = await request(`http://127.0.0.1:${pipeline!.dataplane.adminPort}/metrics`);
    return response.body.text();
  }

  it('loses nothing when Redis is killed and restarted mid-stream (count in = count out, on the tail too)', async () => {
    const { redis } = pipeline!;
    const sent: SentRequest[] = [];
    const { endpointId, tail, gateway } = await createServedEndpoint('redis-kill.example.com', sent, true);
    try {
      const total = await sendSteadily(gateway, 'redis-kill', async () => {
        // Redis dies with jobs in the worker's hands and others queued: only what Redis persisted survives.
        const release = await holdWorkerMidInsert();
        try {
          const waitingJobs = `${redisNames(redisPrefix).bullmqPrefix}:${requestLogsQueueName}:wait`;
          await waitFor(async () => Number(await redis.command('LLEN', waitingJobs)) > 0, {
            timeoutMs: 8_000,
            what: `batches waiting in ${waitingJobs}`,
          });
          await redis.kill();
          await sleep(1_000);
          await redis.restart();
        } finally {
          await release();
        }
      });
      const traffic = sent.filter((entry) => entry.check.startsWith('redis-kill-'));
      expect(traffic).toHaveLength(total);
      expect(total, 'requests sent during the disruption').toBeGreaterThan(requestsPerTest);
      // Traffic never noticed: the sink buffers in memory while Redis is away.
      expect(traffic.filter((entry) => entry.status !== 200)).toEqual([]);

      const expected = sent.filter((entry) => entry.status !== 404).map((entry) => entry.check);
      const rows = await waitForRows(endpointId, expected.length);
      // Count in = count out: every request once, none twice, nothing else.
      expect(rows.map(checkOf).sort()).toEqual(expected.sort());

      const metrics = await dataplaneMetrics();
      expect(metricValue(metrics, 'gatehouse_dataplane_requests_total', `endpoint="${endpointId}"`)).toBe(
        expected.length,
      );
      expect(metrics).toMatch(/^gatehouse_dataplane_request_event_drops_total 0$/m);
      // The sink really saw its hand-overs to the queue fail while Redis was away, and sent them again.
      expect(metricValue(metrics, 'gatehouse_dataplane_request_event_send_failures_total')).toBeGreaterThan(0);

      // The live tail delivered every row exactly once, although its channel went down with Redis.
      await waitFor(() => tail!.logs.length >= rows.length, {
        timeoutMs: 30_000,
        what: 'the live tail to deliver every row',
        context: () => `${tail!.logs.length} of ${rows.length} so far`,
      });
      await sleep(300);
      expect(tail!.logs.map((log) => log.id).sort()).toEqual(rows.map((row) => row.id).sort());
    } finally {
      await tail?.close();
      await gateway.close();
    }
  });

  /** Batches waiting in Redis for a worker, as the data plane's bound counts them. */
  async function queuedBatches(): Promise<number> {
    const { redis } = pipeline!;
    const queue = `${redisNames(redisPrefix).bullmqPrefix}:${requestLogsQueueName}`;
    const [waiting, prioritized, delayed] = await Promise.all([
      redis.command('LLEN', `${queue}:wait`),
      redis.command('ZCARD', `${queue}:prioritized`),
      redis.command('ZCARD', `${queue}:delayed`),
    ]);
    return Number(waiting) + Number(prioritized) + Number(delayed);
  }

  it('keeps events in the data plane, not in Redis, while no worker runs, and stores every one when one is back', async () => {
    const sent: SentRequest[] = [];
    const { endpointId, gateway } = await createServedEndpoint('worker-stopped.example.com', sent, false);
    let peak = 0;
    try {
      const total = await sendSteadily(gateway, 'worker-stopped', async () => {
        await pipeline!.workers.at(-1)!.stop();
        // ~3 s of traffic (~1,200 requests, a dozen batches; 11 measured without the bound) with nothing taking
        // batches from the queue.
        const until = Date.now() + 3_000;
        while (Date.now() < until) {
          peak = Math.max(peak, await queuedBatches());
          await sleep(50);
        }
        await pipeline!.startWorker();
      });
      // The queue filled to the bound and no further: the rest waited in the data plane, and traffic never noticed.
      expect(peak).toBe(queueBound);
      const traffic = sent.filter((entry) => entry.check.startsWith('worker-stopped-'));
      expect(traffic).toHaveLength(total);
      expect(traffic.filter((entry) => entry.status !== 200)).toEqual([]);
      const metrics = await dataplaneMetrics();
      expect(metricValue(metrics, 'gatehouse_dataplane_request_event_queue_full_total')).toBeGreaterThan(0);

      const expected = sent.filter((entry) => entry.status !== 404).map((entry) => entry.check);
      const rows = await waitForRows(endpointId, expected.length);
      expect(rows.map(checkOf).sort()).toEqual(expected.sort());
      expect(await dataplaneMetrics()).toMatch(/^gatehouse_dataplane_request_event_drops_total 0$/m);

      // The fleet view tells it too: sends were held back, and nothing waits or was lost now.
      let reported: Schemas['Dataplane']['request_events'] = null;
      await waitFor(
        async () => {
          const fleet = await pipeline!.api.client.GET('/api/dataplanes');
          reported = fleet.data?.dataplanes.find((row) => row.id === pipeline!.dataplane.id)?.request_events ?? null;
          return reported !== null && reported.deferred_sends > 0 && reported.buffered === 0;
        },
        {
          timeoutMs: 10_000,
          what: 'the heartbeat to report the held-back sends',
          context: () => JSON.stringify(reported),
        },
      );
      expect(reported).toMatchObject({ buffered: 0, dropped: 0 });
    } finally {
      await gateway.close();
    }
  });

  it('loses nothing when the worker process is killed mid-stream and another one takes over', async () => {
    const sent: SentRequest[] = [];
    const { endpointId, gateway } = await createServedEndpoint('worker-kill.example.com', sent, false);
    const first = pipeline!.workers.at(-1)!;
    try {
      const total = await sendSteadily(gateway, 'worker-kill', async () => {
        // Killed while storing a batch: the jobs it held are lost to it, not to the queue.
        const release = await holdWorkerMidInsert();
        try {
          await first.kill();
        } finally {
          await release();
        }
        await pipeline!.startWorker();
      });
      expect(first.child.signalCode).toBe('SIGKILL');
      const traffic = sent.filter((entry) => entry.check.startsWith('worker-kill-'));
      expect(traffic).toHaveLength(total);
      expect(total, 'requests sent during the disruption').toBeGreaterThan(requestsPerTest);
      expect(traffic.filter((entry) => entry.status !== 200)).toEqual([]);

      // Jobs the killed worker held come back once their locks expire (10 s), to the worker that took over.
      const expected = sent.filter((entry) => entry.status !== 404).map((entry) => entry.check);
      const rows = await waitForRows(endpointId, expected.length);
      expect(rows.map(checkOf).sort()).toEqual(expected.sort());
      const stored = await pipeline!.db.query<{ count: number; requests: number }>(
        'SELECT count(*)::int AS count, count(DISTINCT query)::int AS requests FROM request_logs WHERE endpoint_id = $1',
        [endpointId],
      );
      expect(stored.rows[0]).toEqual({ count: expected.length, requests: expected.length });
      expect(await dataplaneMetrics()).toMatch(/^gatehouse_dataplane_request_event_drops_total 0$/m);
    } finally {
      await gateway.close();
    }
  });
});
