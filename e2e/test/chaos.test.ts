import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisNames, type ConfigChangeEvent } from '@gatehouse/contracts';
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
  waitForApiHealth,
  waitForReady,
  workerMain,
  type ControlPlaneProcesses,
} from './shapes.js';
import { ApiClient } from './support/api.js';
import { startDurableRedis, type DurableRedis } from './support/durable-redis.js';
import { SteadyLoad, type LoadResult, type LoadTarget } from './support/load.js';
import { startOwnPostgres, type OwnPostgres } from './support/own-postgres.js';
import { stopAllProcesses, waitFor, type ManagedProcess } from './support/processes.js';

/**
 * The chaos suite (issue 20, item 7): the distributed shape (API, worker, two data planes) on a Redis and a Postgres
 * cluster this file starts itself (never the machine's), under steady load (~160 requests/s, each with its own
 * `check`), while one piece after another fails. After each failure: no request on the loaded config failed (every
 * answer is 200 with the endpoint's body) and every answered request is in the request log exactly once. Waits are on
 * conditions with timeouts; nothing asserts how long something took.
 */
const host = 'chaos.example.com';
const body = 'steady';
const policy = (text: string, status = 200) =>
  `on_http_request:\n  - actions:\n      - type: custom-response\n        config: { status_code: ${status}, body: "${text}" }\n`;
const redisPrefix = 'gatehouse-e2e-chaos';
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

interface Dataplane {
  name: string;
  id: string;
  dataDirectory: string;
  process: ManagedProcess;
  trafficPort: number;
  adminPort: number;
}

describe('chaos: the distributed shape on its own Redis and Postgres, under load', () => {
  const runId = newRunId();
  const processes: ManagedProcess[] = [];
  const directories: string[] = [];
  let postgres: OwnPostgres | undefined;
  let redis: DurableRedis | undefined;
  let controlPlane: ControlPlaneProcesses;
  let currentApi: ManagedProcess;
  let api: ApiClient;
  let db: pg.Client | undefined;
  let databaseUrl = '';
  let endpointId = '';
  const dataplanes: Dataplane[] = [];
  let load: SteadyLoad;
  const timings: Record<string, number> = {};

  const output = () => `${outputOf(processes)}\n${redis?.output() ?? ''}`;
  const targets = (): LoadTarget[] => dataplanes.map(({ name, trafficPort }) => ({ name, trafficPort }));

  async function startDataplane(name: string, id: string, dataDirectory: string): Promise<Dataplane> {
    const started = await startDataplaneProcess({ name, id, controlPlane, dataDirectory, processes });
    await waitForReady(started.adminPort, started.process, 60_000);
    return { ...started, id, dataDirectory };
  }

  async function connectDb(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: databaseUrl });
    // The database is stopped on purpose in one scenario; the client is reconnected after.
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  beforeAll(async () => {
    requireBuilt(apiMain, workerMain, dataplaneMain, migrateScript);
    const started = Date.now();
    postgres = await startOwnPostgres();
    redis = await startDurableRedis();
    databaseUrl = postgres.url('gatehouse_chaos');
    await migrateDatabase({ name: 'gatehouse_chaos', url: databaseUrl, drop: () => Promise.resolve() });
    controlPlane = await startControlPlaneProcesses({ databaseUrl, redisUrl: redis.url, redisPrefix, processes });
    currentApi = controlPlane.api;
    for (const name of ['dataplane-1', 'dataplane-2']) {
      const dataDirectory = await mkdtemp(join(tmpdir(), `gatehouse-e2e-chaos-${name}-`));
      directories.push(dataDirectory);
      dataplanes.push(await startDataplane(name, `${name}-${runId}`, dataDirectory));
    }
    api = new ApiClient(controlPlane.apiUrl);
    expect((await api.login(admin.email, admin.password)).status).toBe(200);
    const created = await api.createEndpoint({ url: `https://${host}`, traffic_policy: policy(body) });
    expect(created.status).toBe(201);
    endpointId = created.body.id;
    for (const dataplane of dataplanes)
      await waitFor(
        async () => {
          const response = await request(`http://127.0.0.1:${dataplane.trafficPort}/`, { headers: { host } });
          return (await response.body.text()) === body;
        },
        { timeoutMs: 15_000, what: `${dataplane.name} to serve the endpoint`, context: output },
      );
    db = await connectDb();
    load = new SteadyLoad(targets(), host);
    load.start();
    timings.setup = Date.now() - started;
  }, 180_000);

  afterEach((context) => {
    if (context.task.result?.state === 'fail') console.error(output());
  });

  afterAll(async () => {
    try {
      await load?.close();
      await db?.end().catch(() => undefined);
      for (const managed of [...processes].reverse()) await managed.stop(10_000);
      await redis?.destroy();
      await postgres?.destroy();
      await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
    } finally {
      await stopAllProcesses();
      console.info(`chaos timings (ms): ${JSON.stringify(timings)}`);
    }
  }, 120_000);

  /** Runs a failure under load, labelled `phase`: a second of steady traffic before and after it. */
  async function underLoad(phase: string, disrupt: () => Promise<void>): Promise<LoadResult[]> {
    const started = Date.now();
    load.setPhase(phase);
    await sleep(1_000);
    await disrupt();
    await sleep(1_000);
    load.setPhase(`${phase}-after`);
    timings[phase] = Date.now() - started;
    return load.of(phase);
  }

  /** Every answer of the phase is the loaded config's: 200 with its body. */
  function expectNoFailures(phase: string, results: LoadResult[]): void {
    expect(results.length, `requests sent during ${phase}`).toBeGreaterThan(100);
    const failed = results.filter((result) => result.status !== 200 || result.body !== body);
    expect(failed.slice(0, 10), `${failed.length} failed requests during ${phase}`).toEqual([]);
  }

  /** Waits until every answered request so far has a request-log row, then checks none has two. */
  async function expectEveryAnswerLoggedOnce(): Promise<void> {
    const started = Date.now();
    const answered = load.results.filter((result) => result.status !== 0).map((result) => result.check);
    const expected = new Set(answered);
    let missing = expected.size;
    let duplicates: string[] = [];
    await waitFor(
      async () => {
        const rows = await db!.query<{ check: string; count: number }>(
          `SELECT substring(query from 'check=([^&]*)') AS check, count(*)::int AS count
             FROM request_logs WHERE endpoint_id = $1 AND query LIKE 'check=%' GROUP BY 1`,
          [endpointId],
        );
        const stored = new Map(rows.rows.map((row) => [row.check, row.count]));
        missing = [...expected].filter((check) => !stored.has(check)).length;
        duplicates = [...stored].filter(([, count]) => count > 1).map(([check]) => check);
        return missing === 0;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: `${expected.size} request-log rows`,
        context: () => `${missing} missing\n${output()}`,
      },
    );
    expect(duplicates, 'requests logged twice').toEqual([]);
    timings[`rows-after-${Object.keys(timings).length}`] = Date.now() - started;
  }

  async function metrics(dataplane: Dataplane): Promise<string> {
    return (await request(`http://127.0.0.1:${dataplane.adminPort}/metrics`)).body.text();
  }

  function metricValue(text: string, name: string): number {
    const line = text.split('\n').find((entry) => entry.startsWith(`${name} `));
    return line === undefined ? 0 : Number(line.slice(name.length + 1));
  }

  it('Redis killed for 3 s: traffic goes on, the request log catches up', async () => {
    const results = await underLoad('redis-kill', async () => {
      await redis!.kill();
      await sleep(3_000);
      await redis!.restart();
    });
    expectNoFailures('redis-kill', results);
    await expectEveryAnswerLoggedOnce();
  });

  it('API killed for 3 s: traffic goes on from the loaded config', async () => {
    const results = await underLoad('api-kill', async () => {
      await currentApi.kill();
      await sleep(3_000);
      currentApi = await controlPlane.restartApi();
    });
    expectNoFailures('api-kill', results);
    expect((await api.login(admin.email, admin.password)).status).toBe(200);
    await expectEveryAnswerLoggedOnce();
  });

  it('Postgres stopped for 3 s: traffic goes on, the worker stores the backlog once it is back', async () => {
    const results = await underLoad('postgres-stop', async () => {
      await postgres!.stop();
      await sleep(3_000);
      await postgres!.start();
    });
    expectNoFailures('postgres-stop', results);
    await db!.end().catch(() => undefined);
    db = await connectDb();
    await waitForApiHealth(controlPlane.apiUrl, currentApi, 30_000);
    await expectEveryAnswerLoggedOnce();
  });

  it('a forged change message and a policy row written without the API never change a response', async () => {
    const results = await underLoad('config-attacks', async () => {
      const latest = Number(
        (await db!.query<{ revision: string }>('SELECT max(revision) AS revision FROM config_changes')).rows[0]!
          .revision,
      );
      const forgedSource = policy('forged', 418);
      const forged: ConfigChangeEvent = {
        revision: latest + 1,
        kind: 'endpoint.upserted',
        entity_id: endpointId,
        endpoint: {
          id: endpointId,
          url: `https://${host}`,
          type: 'cloud',
          proto: 'https',
          host,
          port: 443,
          upstream_url: null,
          upstream_host_header: 'preserve',
          policy: { version: 99, sha256: sha256(forgedSource), source: forgedSource },
          policy_rejected: null,
          shadow_policy: null,
          agent: null,
          request_log_capture: { headers: false, bodies: false },
        },
        ip_category: null,
        created_at: new Date().toISOString(),
      };
      await redis!.command('PUBLISH', redisNames(redisPrefix).configChannel, JSON.stringify(forged));
      // An empty source made the active version straight in Postgres, then published by an unrelated change.
      const next = Number(
        (
          await db!.query<{ version: number }>(
            'SELECT max(version)::int AS version FROM policy_versions WHERE endpoint_id = $1',
            [endpointId],
          )
        ).rows[0]!.version,
      );
      await db!.query(
        `INSERT INTO policy_versions (endpoint_id, version, source, sha256, message, created_by)
         VALUES ($1, $2, '', $3, 'bypassed the API', 'sql')`,
        [endpointId, next + 1, sha256('')],
      );
      await db!.query('UPDATE endpoints SET active_policy_version = $2 WHERE id = $1', [endpointId, next + 1]);
      const patched = await api.client.PATCH('/api/endpoints/{id}', {
        params: { path: { id: endpointId } },
        body: { description: 'touched after the bad row' },
      });
      expect(patched.response.status).toBe(200);
      const revision = Number(
        (await db!.query<{ revision: string }>('SELECT max(revision) AS revision FROM config_changes')).rows[0]!
          .revision,
      );
      for (const dataplane of dataplanes)
        await waitFor(
          async () => {
            const status = (await (await request(`http://127.0.0.1:${dataplane.adminPort}/status`)).body.json()) as {
              applied_revision: number;
              failing_endpoints: unknown[];
            };
            return status.applied_revision >= revision && status.failing_endpoints.length === 1;
          },
          {
            timeoutMs: 10_000,
            what: `${dataplane.name} to process revision ${revision} and report it`,
            context: output,
          },
        );
    });
    expectNoFailures('config-attacks', results);
    for (const dataplane of dataplanes) {
      const text = await metrics(dataplane);
      expect(metricValue(text, 'gatehouse_dataplane_failing_endpoints')).toBe(1);
    }
    // A valid policy through the API clears the failure (same body, so the load's check still holds).
    const fixed = await api.client.PATCH('/api/endpoints/{id}', {
      params: { path: { id: endpointId } },
      body: { traffic_policy: `${policy(body)}# fixed\n` },
    });
    expect(fixed.response.status).toBe(200);
    for (const dataplane of dataplanes)
      await waitFor(async () => metricValue(await metrics(dataplane), 'gatehouse_dataplane_failing_endpoints') === 0, {
        timeoutMs: 10_000,
        what: `${dataplane.name} to apply the fixed policy`,
        context: output,
      });
    await expectEveryAnswerLoggedOnce();
  });

  it('data plane SIGTERM under load with Redis down: its undelivered events go to disk and arrive once at the next start', async () => {
    const stopping = dataplanes[1]!;
    const spillDirectory = join(stopping.dataDirectory, 'request-events');
    let spilledLines = 0;
    let copy = '';
    const results = await underLoad('sigterm', async () => {
      await redis!.kill();
      // Both data planes now hold events in memory that Redis did not take.
      await waitFor(
        async () => metricValue(await metrics(stopping), 'gatehouse_dataplane_request_event_send_failures_total') > 0,
        { timeoutMs: 10_000, what: `${stopping.name} to see the request-log queue fail` },
      );
      await sleep(500);
      // SIGTERM while the load still reaches it; the balancer (the load client) takes it out once it stops listening.
      await stopping.process.stop(20_000);
      dataplanes.splice(1, 1);
      load.setTargets(targets());
      expect(stopping.process.child.exitCode, stopping.process.output()).toBe(0);
      const files = await readdir(spillDirectory);
      expect(files).toHaveLength(1);
      copy = join(stopping.dataDirectory, 'spill-copy.jsonl');
      await copyFile(join(spillDirectory, files[0]!), copy);
      spilledLines = (await readFile(copy, 'utf8')).trim().split('\n').length;
      await redis!.restart();
    });
    expectNoFailures('sigterm', results);
    // It really was under load when it stopped: it answered requests of this phase, and the ones that found it no
    // longer listening went to the other data plane.
    expect(results.filter((result) => result.via === stopping.name).length).toBeGreaterThan(0);
    console.info(
      `chaos sigterm: ${results.filter((result) => result.via === stopping.name).length} answered by ${stopping.name}, ` +
        `${results.filter((result) => result.refused > 0).length} refused and sent to the other, ` +
        `${spilledLines} events spilled`,
    );
    expect(spilledLines, 'events the stopped data plane wrote to disk').toBeGreaterThan(0);
    expect(stopping.process.output()).toMatch(/written to disk; the next start delivers them/);

    // The next start (same id, same data directory) delivers the file and removes it.
    const restarted = await startDataplane(stopping.name, stopping.id, stopping.dataDirectory);
    dataplanes.push(restarted);
    load.setTargets(targets());
    await waitFor(async () => (await readdir(spillDirectory)).length === 0, {
      timeoutMs: 20_000,
      what: 'the spill file to be delivered and removed',
      context: output,
    });
    expect(metricValue(await metrics(restarted), 'gatehouse_dataplane_request_event_replayed_total')).toBe(
      spilledLines,
    );
    await expectEveryAnswerLoggedOnce();

    // Delivered twice (a crash after sending but before removing the file would do this): still stored once.
    // Named as the stopped process's file (that pid is gone), so the next start takes it over.
    await copyFile(copy, join(spillDirectory, `spill-${stopping.process.child.pid}-feedface.jsonl`));
    const again = await startDataplane(`${stopping.name}-again`, `${stopping.id}-again`, stopping.dataDirectory);
    dataplanes.push(again);
    load.setTargets(targets());
    await waitFor(async () => (await readdir(spillDirectory)).length === 0, {
      timeoutMs: 20_000,
      what: 'the copied spill file to be delivered again',
      context: output,
    });
    expect(metricValue(await metrics(again), 'gatehouse_dataplane_request_event_replayed_total')).toBe(spilledLines);
    load.setPhase('final');
    await sleep(500);
    await expectEveryAnswerLoggedOnce();
  });

  it('the API lists every answered request exactly once', async () => {
    await load.stop();
    const answered = load.results.filter((result) => result.status !== 0);
    expect(answered.length).toBe(load.results.length);
    await expectEveryAnswerLoggedOnce();
    const rows = await api.listRequestLogs(endpointId);
    const checks = rows.map((row) => new URLSearchParams(row.query).get('check') ?? '').filter((check) => check !== '');
    expect(checks.length).toBe(new Set(checks).size);
    expect(checks.sort()).toEqual(answered.map((result) => result.check).sort());
    console.info(`chaos: ${answered.length} requests, ${checks.length} request-log rows`);
  });
});
